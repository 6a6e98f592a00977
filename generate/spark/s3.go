package spark

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/vigil-stack/vigil/generate/env"
)

// EventLogDir is the s3a:// URI of the event log prefix,
// "s3a://<bucket>/<prefix>/". It is the one place both ends of the event
// log are derived from: the jobs' spark.eventLog.dir and the History
// Server's spark.history.fs.logDirectory. Slashes around and doubled inside
// the prefix are dropped; "." and ".." segments are refused, since S3 keys
// keep them literally while Hadoop paths resolve them.
func EventLogDir(bucket, prefix string) (string, error) {
	p, err := cleanPrefix(prefix)
	if err != nil {
		return "", err
	}
	if bucket == "" {
		return "", fmt.Errorf("event log bucket is empty")
	}
	if p == "" {
		return "s3a://" + bucket + "/", nil
	}
	return "s3a://" + bucket + "/" + p + "/", nil
}

// cleanPrefix normalises an event log prefix to segments joined by single
// slashes, without leading or trailing slash.
func cleanPrefix(prefix string) (string, error) {
	var segs []string
	for _, s := range strings.Split(prefix, "/") {
		switch s {
		case "":
			continue
		case ".", "..":
			return "", fmt.Errorf("event log prefix %q: a %q segment names a different directory to Hadoop than to S3; remove it", prefix, s)
		}
		segs = append(segs, s)
	}
	return strings.Join(segs, "/"), nil
}

// placeholderKey is the object key the bootstrap Job creates so that the
// prefix exists: S3A sees a prefix with no objects as a missing directory,
// and both the History Server and the event log writer fail on it. The
// History Server skips files whose name starts with a dot.
func placeholderKey(prefix string) (string, error) {
	p, err := cleanPrefix(prefix)
	if err != nil {
		return "", err
	}
	if p == "" {
		return ".keep", nil
	}
	return p + "/.keep", nil
}

// s3Target is the resolved S3 endpoint of the event log.
type s3Target struct {
	// Endpoint is fs.s3a.endpoint: the endpoint as configured, without a
	// trailing slash.
	Endpoint  string
	Scheme    string // "http" or "https"
	Host      string // host[:port]
	Region    string
	PathStyle bool
	// CABundle is the private CA to trust, for https only.
	CABundle *env.SecretRef
}

func resolveS3(e *env.Environment) (s3Target, error) {
	s3, ok := e.S3(e.Spark.HistoryServer.S3)
	if !ok {
		return s3Target{}, fmt.Errorf("no S3 endpoint for the event log: set spark.historyServer.s3 or map storage.roles.object to a FlashBlade with flashblade.s3")
	}
	endpoint := strings.TrimSuffix(s3.Endpoint, "/")
	t := s3Target{Endpoint: endpoint, Region: s3.Region, PathStyle: s3.PathStyle}
	raw := endpoint
	if !strings.Contains(raw, "://") {
		// S3A's default (fs.s3a.connection.ssl.enabled=true) for an
		// endpoint without a scheme.
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return s3Target{}, fmt.Errorf("S3 endpoint %q is not a host or URL", s3.Endpoint)
	}
	t.Scheme, t.Host = u.Scheme, u.Host
	if t.Scheme == "https" {
		t.CABundle = s3.CABundle
	}
	return t, nil
}

// TLS reports whether the endpoint is reached over https.
func (t s3Target) TLS() bool { return t.Scheme == "https" }

// ObjectURL is the HTTP URL of an object, path-style or virtual-host style
// as the endpoint is configured.
func (t s3Target) ObjectURL(bucket, key string) string {
	if t.PathStyle {
		return t.Scheme + "://" + t.Host + "/" + bucket + "/" + key
	}
	return t.Scheme + "://" + bucket + "." + t.Host + "/" + key
}

// hadoopS3A are the spark.hadoop.fs.s3a.* settings jobs and the History
// Server share: where the endpoint is, how it is addressed and signed, and
// that credentials come from the environment (AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY, set from Secret references).
func hadoopS3A(t s3Target, s S3A) Properties {
	return Properties{
		"spark.hadoop.fs.s3a.endpoint":                 t.Endpoint,
		"spark.hadoop.fs.s3a.endpoint.region":          t.Region,
		"spark.hadoop.fs.s3a.path.style.access":        fmt.Sprint(t.PathStyle),
		"spark.hadoop.fs.s3a.connection.ssl.enabled":   fmt.Sprint(t.TLS()),
		"spark.hadoop.fs.s3a.aws.credentials.provider": s.CredentialsProvider,
	}
}
