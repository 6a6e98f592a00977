package prometheus_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestRemoteWrite(t *testing.T) {
	e := stacktest.Example(t, "cloud")
	p := stacktest.FindNamed[*monitoringv1.Prometheus](t, generate(t, e), "monitoring", prometheus.Name)
	if len(p.Spec.RemoteWrite) != 1 {
		t.Fatalf("remoteWrite %v", p.Spec.RemoteWrite)
	}
	rw := p.Spec.RemoteWrite[0]
	if *rw.Name != "amp" || rw.Sigv4 == nil || rw.Sigv4.Region != "eu-west-1" || rw.Sigv4.AccessKey != nil {
		t.Errorf("remote write %+v", rw)
	}
	if q := rw.QueueConfig; q == nil || q.MaxShards != 200 || q.MaxSamplesPerSend != 1000 || !q.RetryOnRateLimit {
		t.Errorf("queue %+v", rw.QueueConfig)
	}
	if d := cmp.Diff([]monitoringv1.RelabelConfig{{
		SourceLabels: []monitoringv1.LabelName{"__name__"},
		Regex:        "apiserver_request_duration_seconds_bucket|etcd_request_duration_seconds_bucket",
		Action:       "drop",
	}}, rw.WriteRelabelConfigs); d != "" {
		t.Errorf("writeRelabelConfigs (-want +got):\n%s", d)
	}
	if p.Spec.Thanos != nil {
		t.Error("cloud has no Thanos, but its Prometheus has a sidecar")
	}
}

func TestRemoteWriteAuth(t *testing.T) {
	ref := env.SecretRef{Secret: "rw", Key: "token"}
	for name, tc := range map[string]struct {
		rw      env.RemoteWrite
		wantErr string
	}{
		"bearer": {rw: env.RemoteWrite{BearerToken: &ref}},
		"basic":  {rw: env.RemoteWrite{BasicAuth: &env.BasicAuth{Username: ref, Password: ref}}},
		"two methods": {
			rw:      env.RemoteWrite{BearerToken: &ref, BasicAuth: &env.BasicAuth{Username: ref, Password: ref}},
			wantErr: "one of basicAuth, bearerToken and sigv4",
		},
		"half a key pair": {
			rw:      env.RemoteWrite{SigV4: &env.SigV4{Region: "eu-west-1", AccessKey: &ref}},
			wantErr: "both accessKey and secretKey",
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, "dev")
			tc.rw.URL, tc.rw.RemoteTimeout = "https://mimir.example.com/api/v1/push", "30s"
			e.Monitoring.RemoteWrite = env.RemoteWrites{"mimir": tc.rw}
			var s stack.Set
			err := prometheus.Generate(e, &s)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				rw := stacktest.FindNamed[*monitoringv1.Prometheus](t, &s, "monitoring", prometheus.Name).Spec.RemoteWrite[0]
				if a := rw.Authorization; a != nil && (a.Type != "Bearer" || a.Credentials.Name != "rw") {
					t.Errorf("authorization %+v", a)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "monitoring.remoteWrite.mimir") {
				t.Errorf("got %v, want an error naming monitoring.remoteWrite.mimir and %q", err, tc.wantErr)
			}
		})
	}
}
