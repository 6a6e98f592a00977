package prometheus

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/thanos"
)

// longTerm adds what sends samples beyond the local TSDB: the remote-write
// endpoints and, with Thanos on, the sidecar and the replica external label
// the querier and the compactor deduplicate on.
func longTerm(e *env.Environment, spec *monitoringv1.PrometheusSpec) error {
	for _, name := range env.SortedKeys(e.Monitoring.RemoteWrite) {
		rw, err := remoteWrite(name, e.Monitoring.RemoteWrite[name])
		if err != nil {
			return fmt.Errorf("monitoring.remoteWrite.%s: %w", name, err)
		}
		spec.RemoteWrite = append(spec.RemoteWrite, rw)
	}
	if !e.ThanosEnabled() {
		return nil
	}
	sidecar, vols, containers, err := thanos.Sidecar(e)
	if err != nil {
		return err
	}
	spec.Thanos = sidecar
	spec.Volumes = append(spec.Volumes, vols...)
	spec.Containers = append(spec.Containers, containers...)
	spec.ReplicaExternalLabelName = ptr(thanos.ReplicaLabel)
	return nil
}

func keyRef(r env.SecretRef) corev1.SecretKeySelector {
	return corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Secret}, Key: r.Key}
}

func remoteWrite(name string, r env.RemoteWrite) (monitoringv1.RemoteWriteSpec, error) {
	out := monitoringv1.RemoteWriteSpec{
		URL:           monitoringv1.URL(r.URL),
		Name:          ptr(name),
		RemoteTimeout: ptr(monitoringv1.Duration(r.RemoteTimeout)),
	}
	auth := 0
	if b := r.BasicAuth; b != nil {
		auth++
		out.BasicAuth = &monitoringv1.BasicAuth{Username: keyRef(b.Username), Password: keyRef(b.Password)}
	}
	if t := r.BearerToken; t != nil {
		auth++
		k := keyRef(*t)
		out.Authorization = &monitoringv1.Authorization{SafeAuthorization: monitoringv1.SafeAuthorization{Type: "Bearer", Credentials: &k}}
	}
	if s := r.SigV4; s != nil {
		auth++
		if (s.AccessKey == nil) != (s.SecretKey == nil) {
			return out, fmt.Errorf("sigv4 needs both accessKey and secretKey, or neither")
		}
		v := &monitoringv1.Sigv4{Region: s.Region, Profile: s.Profile, RoleArn: s.RoleARN}
		if s.AccessKey != nil {
			a, k := keyRef(*s.AccessKey), keyRef(*s.SecretKey)
			v.AccessKey, v.SecretKey = &a, &k
		}
		out.Sigv4 = v
	}
	if auth > 1 {
		return out, fmt.Errorf("set one of basicAuth, bearerToken and sigv4, not %d", auth)
	}
	q := r.Queue
	qc := &monitoringv1.QueueConfig{
		Capacity: q.Capacity, MinShards: q.MinShards, MaxShards: q.MaxShards,
		MaxSamplesPerSend: q.MaxSamplesPerSend, RetryOnRateLimit: q.RetryOnRateLimit,
	}
	for _, d := range []struct {
		in  string
		out **monitoringv1.Duration
	}{{q.BatchSendDeadline, &qc.BatchSendDeadline}, {q.MinBackoff, &qc.MinBackoff}, {q.MaxBackoff, &qc.MaxBackoff}} {
		if d.in != "" {
			*d.out = ptr(monitoringv1.Duration(d.in))
		}
	}
	out.QueueConfig = qc
	for _, c := range r.WriteRelabelConfigs {
		rc := monitoringv1.RelabelConfig{
			Separator: c.Separator, TargetLabel: c.TargetLabel, Regex: c.Regex,
			Modulus: int64(c.Modulus), Replacement: c.Replacement, Action: c.Action,
		}
		for _, l := range c.SourceLabels {
			rc.SourceLabels = append(rc.SourceLabels, monitoringv1.LabelName(l))
		}
		out.WriteRelabelConfigs = append(out.WriteRelabelConfigs, rc)
	}
	return out, nil
}
