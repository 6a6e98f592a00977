package generate

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
)

// checkLoggingExtras covers what the snapshot and event settings need
// beyond their CUE types (issue 14).
func checkLoggingExtras(e *env.Environment) []env.Issue {
	var out []env.Issue
	if e.EventsEnabled() {
		out = append(out, promDuration(p("logging", "events", "retention"), e.Logging.Events.Retention)...)
	}
	if !e.SnapshotsEnabled() {
		return out
	}
	sn := e.Logging.Elasticsearch.Snapshots
	at := func(f ...string) []string { return append(p("logging", "elasticsearch", "snapshots"), f...) }
	if sn.Credentials == nil {
		out = append(out, env.Errorf(at("enabled"), "snapshots need S3 keys: set logging.elasticsearch.snapshots.credentials.accessKeyId and secretAccessKey to Secret references in the logging namespace (ECK loads them into the keystore)"))
	}
	s3, ok := e.S3(sn.S3)
	if !ok {
		out = append(out, env.Errorf(at("enabled"), "snapshots need an S3 endpoint: map storage.roles.object to a FlashBlade with flashblade.s3, or set logging.elasticsearch.snapshots.s3"))
	} else if s3.PrivateCA {
		// Elasticsearch's S3 client trusts the JVM's CA store only;
		// Vigil does not build a trust store for it.
		s3at := at("s3")
		if sn.S3 == nil {
			s3at = p("storage", "backends", e.Storage.Roles.Object, "flashblade", "s3")
		}
		out = append(out, env.Errorf(append(s3at, "privateCA"), "Elasticsearch's S3 client trusts only the JVM's public CAs, and Vigil cannot give it a private CA: give the endpoint a publicly trusted certificate, or set logging.elasticsearch.snapshots.s3 to another endpoint"))
	}
	if sn.MinCount > sn.MaxCount {
		out = append(out, env.Errorf(at("minCount"), fmt.Sprintf("minCount %d is above maxCount %d: SLM would refuse the policy", sn.MinCount, sn.MaxCount)))
	}
	out = append(out, promDuration(at("expireAfter"), sn.ExpireAfter)...)
	out = append(out, promDuration(at("maxAge"), sn.MaxAge)...)
	return out
}
