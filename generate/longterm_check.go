package generate

import (
	"fmt"
	"strings"

	"github.com/vigil-stack/vigil/generate/env"
)

// checkLongTerm covers remote write and Thanos: one authentication method
// per endpoint, a complete SigV4 key pair, an S3 endpoint Thanos can reach,
// and a querier that does not observe its own environment.
func checkLongTerm(e *env.Environment) []env.Issue {
	var out []env.Issue
	for _, name := range env.SortedKeys(e.Monitoring.RemoteWrite) {
		rw := e.Monitoring.RemoteWrite[name]
		at := func(f ...string) []string { return append(p("monitoring", "remoteWrite", name), f...) }
		var methods []string
		if rw.BasicAuth != nil {
			methods = append(methods, "basicAuth")
		}
		if rw.BearerToken != nil {
			methods = append(methods, "bearerToken")
		}
		if rw.SigV4 != nil {
			methods = append(methods, "sigv4")
			if (rw.SigV4.AccessKey == nil) != (rw.SigV4.SecretKey == nil) {
				out = append(out, env.Errorf(at("sigv4"), "sigv4 needs both accessKey and secretKey, or neither (the pod's AWS identity then signs)"))
			}
		}
		if len(methods) > 1 {
			out = append(out, env.Errorf(at(methods[1]), fmt.Sprintf("Prometheus authenticates a remote write one way; this endpoint sets %s: keep one", strings.Join(methods, " and "))))
		}
	}
	t := e.Monitoring.Thanos
	if !e.ThanosEnabled() {
		return out
	}
	s3, ok := e.S3(t.ObjectStorage.S3)
	if !ok {
		out = append(out, env.Errorf(p("monitoring", "thanos", "objectStorage"), "Thanos uploads blocks to S3: map storage.roles.object to a FlashBlade with flashblade.s3, or set monitoring.thanos.objectStorage.s3"))
	} else {
		at := p("monitoring", "thanos", "objectStorage", "s3")
		if t.ObjectStorage.S3 == nil {
			at = p("storage", "backends", e.Storage.Roles.Object, "flashblade", "s3")
		}
		if strings.HasPrefix(s3.Endpoint, "https://") && s3.PrivateCA && s3.CABundle == nil {
			out = append(out, env.Errorf(append(at, "caBundle"), "an https endpoint with a private CA needs its CA bundle: set caBundle to a Secret reference"))
		}
	}
	if _, self := t.Observe[e.Name]; self {
		out = append(out, env.Errorf(p("monitoring", "thanos", "observe", e.Name), "an environment's querier already asks its own sidecars and store gateway; observing itself counts every series twice: remove this entry"))
	}
	return out
}

// longTermSecretRefs are the secret references of remote write and Thanos,
// for SecretRefs.
func longTermSecretRefs(e *env.Environment) []SecretRefUse {
	var out []SecretRefUse
	add := func(r *env.SecretRef, path ...string) {
		if r != nil {
			out = append(out, SecretRefUse{Path: path, Ref: r})
		}
	}
	for _, n := range env.SortedKeys(e.Monitoring.RemoteWrite) {
		rw := e.Monitoring.RemoteWrite[n]
		if b := rw.BasicAuth; b != nil {
			add(&b.Username, "monitoring", "remoteWrite", n, "basicAuth", "username")
			add(&b.Password, "monitoring", "remoteWrite", n, "basicAuth", "password")
		}
		add(rw.BearerToken, "monitoring", "remoteWrite", n, "bearerToken")
		if s := rw.SigV4; s != nil {
			add(s.AccessKey, "monitoring", "remoteWrite", n, "sigv4", "accessKey")
			add(s.SecretKey, "monitoring", "remoteWrite", n, "sigv4", "secretKey")
		}
	}
	o := e.Monitoring.Thanos.ObjectStorage
	if c := o.Credentials; c != nil && e.ThanosEnabled() {
		add(&c.AccessKeyID, "monitoring", "thanos", "objectStorage", "credentials", "accessKeyId")
		add(&c.SecretAccessKey, "monitoring", "thanos", "objectStorage", "credentials", "secretAccessKey")
	}
	if o.S3 != nil {
		add(o.S3.CABundle, "monitoring", "thanos", "objectStorage", "s3", "caBundle")
	}
	return out
}
