package tracing_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/generate/tracing"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := tracing.Generate(e, &s); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	stacktest.Check(t, &s)
	return &s
}

// config decodes the YAML file of a ConfigMap.
func config(t *testing.T, s *stack.Set, ns, name, key string) map[string]any {
	t.Helper()
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, name)
	var m map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data[key]), &m); err != nil {
		t.Fatalf("%s/%s %s: %v", ns, name, key, err)
	}
	return m
}

// at walks a decoded YAML document.
func at(t *testing.T, m any, path ...string) any {
	t.Helper()
	for _, p := range path {
		mm, ok := m.(map[string]any)
		if !ok {
			t.Fatalf("%s: not a map at %q", strings.Join(path, "."), p)
		}
		if m, ok = mm[p]; !ok {
			t.Fatalf("%s: no %q", strings.Join(path, "."), p)
		}
	}
	return m
}

func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Golden(t, name, tracing.Component, s)
			if !e.Tracing.Enabled && len(s.Resources()) > 0 {
				t.Errorf("tracing disabled, %d objects rendered", len(s.Resources()))
			}
		})
	}
}

func TestProdTempo(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	ns := e.Tracing.Namespace

	col := config(t, s, ns, tracing.CollectorName, "config.yaml")
	if got := at(t, col, "exporters", "otlp_grpc/tempo", "endpoint"); got != "tempo.tracing.svc:4317" {
		t.Errorf("collector exports to %v", got)
	}
	procs := at(t, col, "service", "pipelines", "traces", "processors")
	if d := cmp.Diff([]any{"memory_limiter", "k8s_attributes", "batch"}, procs); d != "" {
		t.Errorf("processor order (memory limiter first, k8s_attributes before batch) (-want +got):\n%s", d)
	}
	meta := at(t, col, "processors", "k8s_attributes", "extract", "metadata").([]any)
	for _, a := range []string{tracing.AttrNamespace, tracing.AttrPod} {
		if !slices.Contains(meta, any(a)) {
			t.Errorf("k8s_attributes does not extract %s: %v", a, meta)
		}
	}
	if got := at(t, col, "service", "telemetry", "metrics", "readers").([]any)[0]; !cmp.Equal(at(t, got, "pull", "exporter", "prometheus"), map[string]any{"host": "0.0.0.0", "port": float64(8888)}) {
		t.Errorf("collector metrics reader %v, want 0.0.0.0:8888", got)
	}

	cr := stacktest.FindNamed[*rbacv1.ClusterRole](t, s, "", "vigil-otel-collector")
	var resources []string
	for _, r := range cr.Rules {
		if !cmp.Equal(r.Verbs, []string{"get", "list", "watch"}) {
			t.Errorf("verbs %v: read only", r.Verbs)
		}
		resources = append(resources, r.Resources...)
	}
	if d := cmp.Diff([]string{"pods", "namespaces", "replicasets"}, resources); d != "" {
		t.Errorf("collector RBAC (-want +got):\n%s", d)
	}

	tc := config(t, s, ns, tracing.TempoName, "tempo.yaml")
	want := map[string]any{
		"bucket": "traces", "endpoint": "10.20.2.20", "region": "us-east-1", "insecure": true, "forcepathstyle": true,
	}
	if d := cmp.Diff(want, at(t, tc, "storage", "trace", "s3")); d != "" {
		t.Errorf("tempo s3 (-want +got):\n%s", d)
	}
	for _, p := range [][]string{
		{"backend_scheduler", "provider", "compaction", "compaction", "block_retention"},
		{"backend_worker", "compaction", "block_retention"},
	} {
		if got := at(t, tc, p...); got != "168h" {
			t.Errorf("%s = %v, want tracing.tempo.retention", strings.Join(p, "."), got)
		}
	}
	if strings.Contains(strings.ToLower(stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, tracing.TempoName).Data["tempo.yaml"]), "secret") {
		t.Errorf("tempo.yaml must not hold S3 keys")
	}

	sts := stacktest.FindNamed[*appsv1.StatefulSet](t, s, ns, tracing.TempoName)
	c := sts.Spec.Template.Spec.Containers[0]
	var envs []string
	for _, v := range c.Env {
		if v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil || v.ValueFrom.SecretKeyRef.Name != "tempo-s3" {
			t.Errorf("env %s not from the tempo-s3 Secret", v.Name)
		}
		envs = append(envs, v.Name)
	}
	if d := cmp.Diff([]string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}, envs); d != "" {
		t.Errorf("tempo env (-want +got):\n%s", d)
	}
	pvc := sts.Spec.VolumeClaimTemplates[0].Spec
	if *pvc.StorageClassName != "vigil-block" || pvc.Resources.Requests.Storage().String() != "10Gi" {
		t.Errorf("tempo volume %s %s, want vigil-block 10Gi", *pvc.StorageClassName, pvc.Resources.Requests.Storage())
	}
	if sts.Spec.Template.Annotations["vigil.dev/config-sha256"] == "" {
		t.Errorf("tempo pods do not roll on config changes")
	}

	pr := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, ns, tracing.RulesName)
	var alerts []string
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			alerts = append(alerts, r.Alert)
		}
	}
	for _, a := range []string{"OTelCollectorRefusedSpans", "OTelCollectorExportFailing", "OTelCollectorDroppingSpans", "TempoDown"} {
		if !slices.Contains(alerts, a) {
			t.Errorf("missing alert %s in %v", a, alerts)
		}
	}
	if len(stacktest.Find[*policyv1.PodDisruptionBudget](s)) != 0 {
		t.Errorf("a PodDisruptionBudget for one collector replica blocks drains")
	}
}

func TestJaeger(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Tracing.Backend = env.BackendJaeger
	e.Tracing.Tempo.Credentials = nil
	e.Tracing.Collector.Replicas = 2
	s := generate(t, e)
	lns := e.Logging.Namespace

	for _, st := range stacktest.Find[*appsv1.StatefulSet](s) {
		t.Errorf("StatefulSet %s rendered with Jaeger", st.Name)
	}
	col := config(t, s, e.Tracing.Namespace, tracing.CollectorName, "config.yaml")
	if got := at(t, col, "exporters", "otlp_grpc/jaeger", "endpoint"); got != "jaeger.logging.svc:4317" {
		t.Errorf("collector exports to %v", got)
	}
	jc := config(t, s, lns, tracing.JaegerName, "config.yaml")
	es := at(t, jc, "extensions", "jaeger_storage", "backends", "elasticsearch", "elasticsearch")
	if got := at(t, es, "server_urls"); !cmp.Equal(got, []any{"https://logging-es-http.logging.svc:9200"}) {
		t.Errorf("server_urls %v", got)
	}
	if got := at(t, es, "auth", "basic", "password_file"); got != "/etc/jaeger/es-password/elastic" {
		t.Errorf("password_file %v", got)
	}
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, lns, tracing.JaegerName)
	var secrets []string
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Secret != nil {
			secrets = append(secrets, v.Secret.SecretName)
		}
	}
	if d := cmp.Diff([]string{"logging-es-elastic-user", "logging-es-http-certs-public"}, secrets); d != "" {
		t.Errorf("Jaeger mounts ECK's Secrets (-want +got):\n%s", d)
	}
	stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, s, lns, tracing.JaegerName)
	stacktest.FindNamed[*policyv1.PodDisruptionBudget](t, s, e.Tracing.Namespace, tracing.CollectorName)
	if got := tracing.BackendURL(e); got != "http://jaeger.logging.svc:16686" {
		t.Errorf("BackendURL %s", got)
	}
}

func TestTempoHTTPSWithPrivateCA(t *testing.T) {
	e := stacktest.Example(t, "prod")
	fb := e.Storage.Backends["flashblade"]
	fb.FlashBlade.S3 = &env.S3Endpoint{
		Endpoint: "https://s3.fb.example.com:8443/", Region: "dc1", PathStyle: true, PrivateCA: true,
		CABundle: &env.SecretRef{Secret: "fb-ca", Key: "ca.pem"},
	}
	e.Storage.Backends["flashblade"] = fb
	s := generate(t, e)
	ns := e.Tracing.Namespace
	s3 := at(t, config(t, s, ns, tracing.TempoName, "tempo.yaml"), "storage", "trace", "s3")
	want := map[string]any{
		"bucket": "traces", "endpoint": "s3.fb.example.com:8443", "region": "dc1", "insecure": false,
		"forcepathstyle": true, "tls_ca_path": "/etc/tempo/s3-ca/ca.pem",
	}
	if d := cmp.Diff(want, s3); d != "" {
		t.Errorf("tempo s3 (-want +got):\n%s", d)
	}
	sts := stacktest.FindNamed[*appsv1.StatefulSet](t, s, ns, tracing.TempoName)
	if !slices.ContainsFunc(sts.Spec.Template.Spec.Volumes, func(v corev1.Volume) bool {
		return v.Secret != nil && v.Secret.SecretName == "fb-ca"
	}) {
		t.Errorf("the CA bundle Secret is not mounted")
	}
}

func TestMonitoringOff(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	s := generate(t, e)
	for _, r := range s.Resources() {
		if r.Layer == stack.Content {
			t.Errorf("%s %s rendered without monitoring", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName())
		}
	}
}

func TestErrors(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Tracing.Tempo.Credentials = nil
	var s stack.Set
	if err := tracing.Generate(e, &s); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("Tempo without credentials: err = %v", err)
	}
	e = stacktest.Example(t, "prod")
	e.Tracing.Backend = "zipkin"
	if err := tracing.Generate(e, &s); err == nil {
		t.Errorf("unknown backend accepted")
	}
}
