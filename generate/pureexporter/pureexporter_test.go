package pureexporter_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/pureexporter"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := pureexporter.Generate(e, &s); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	stacktest.Check(t, &s)
	return &s
}

func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Golden(t, name, pureexporter.Component, s)
			// Every environment with monitoring alerts on its volumes.
			stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, e.Monitoring.Namespace, pureexporter.VolumeRulesName)
			if !e.PureExporterEnabled() && len(stacktest.Find[*monitoringv1alpha1.ScrapeConfig](s)) > 0 {
				t.Errorf("pure exporter disabled, but ScrapeConfigs rendered")
			}
		})
	}
}

func TestProdScrapeConfigs(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	ns := e.Monitoring.Namespace

	var names []string
	for _, sc := range stacktest.Find[*monitoringv1alpha1.ScrapeConfig](s) {
		names = append(names, sc.Name)
	}
	want := []string{"purefa-fa-dc1-array", "purefa-fa-dc1-volumes", "purefb-fb-dc1-array", "purefb-fb-dc1-clients", "purefb-fb-dc1-usage"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("ScrapeConfigs (-want +got):\n%s", d)
	}

	tests := []struct {
		name, job, path, interval, timeout, target string
		params                                     map[string][]string
		https                                      bool
		tokenKey                                   string
	}{
		{"purefb-fb-dc1-array", pureexporter.JobFBArray, "/metrics/array", "30s", "30s", "pure-fb-om-exporter.monitoring.svc:9491", map[string][]string{"endpoint": {"10.20.0.20"}}, false, "fb-dc1"},
		{"purefb-fb-dc1-clients", pureexporter.JobFBClients, "/metrics/clients", "5m", "2m", "pure-fb-om-exporter.monitoring.svc:9491", map[string][]string{"endpoint": {"10.20.0.20"}}, false, "fb-dc1"},
		{"purefb-fb-dc1-usage", pureexporter.JobFBUsage, "/metrics/usage", "5m", "2m", "pure-fb-om-exporter.monitoring.svc:9491", map[string][]string{"endpoint": {"10.20.0.20"}}, false, "fb-dc1"},
		{"purefa-fa-dc1-array", pureexporter.JobFAArray, "/metrics/array", "30s", "30s", "10.20.0.10", map[string][]string{"namespace": {"purefa"}}, true, "fa-dc1"},
		{"purefa-fa-dc1-volumes", pureexporter.JobFAVolumes, "/metrics/volumes", "5m", "2m", "10.20.0.10", map[string][]string{"namespace": {"purefa"}}, true, "fa-dc1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sc := stacktest.FindNamed[*monitoringv1alpha1.ScrapeConfig](t, s, ns, tt.name).Spec
			if *sc.JobName != tt.job || *sc.MetricsPath != tt.path {
				t.Errorf("job %s path %s, want %s %s", *sc.JobName, *sc.MetricsPath, tt.job, tt.path)
			}
			if string(*sc.ScrapeInterval) != tt.interval || string(*sc.ScrapeTimeout) != tt.timeout {
				t.Errorf("interval/timeout %s/%s, want %s/%s", *sc.ScrapeInterval, *sc.ScrapeTimeout, tt.interval, tt.timeout)
			}
			if len(sc.StaticConfigs) != 1 || !slices.Equal(sc.StaticConfigs[0].Targets, []monitoringv1alpha1.Target{monitoringv1alpha1.Target(tt.target)}) {
				t.Errorf("targets %v, want %s", sc.StaticConfigs, tt.target)
			}
			array := tt.tokenKey
			if got := sc.StaticConfigs[0].Labels[pureexporter.LabelArray]; got != array {
				t.Errorf("instance label %q, want the array name %q", got, array)
			}
			if d := cmp.Diff(tt.params, sc.Params); d != "" {
				t.Errorf("params (-want +got):\n%s", d)
			}
			a := sc.Authorization
			if a == nil || a.Type != "Bearer" || a.Credentials.Name != "pure-exporter-tokens" || a.Credentials.Key != tt.tokenKey {
				t.Errorf("authorization %+v, want Bearer from pure-exporter-tokens/%s", a, tt.tokenKey)
			}
			native := sc.Scheme != nil && *sc.Scheme == monitoringv1.SchemeHTTPS && sc.TLSConfig != nil && *sc.TLSConfig.InsecureSkipVerify
			if native != tt.https {
				t.Errorf("scheme %v tls %+v, want native HTTPS %v", sc.Scheme, sc.TLSConfig, tt.https)
			}
		})
	}
}

func TestProdExporter(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	ns := e.Monitoring.Namespace
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, pureexporter.FBExporterName)
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != stack.PureFBExporter.Ref() {
		t.Errorf("image %s", c.Image)
	}
	if slices.ContainsFunc(c.Args, func(a string) bool { return a == "--tokens" }) {
		t.Errorf("the exporter must take tokens from Prometheus, not a file: %v", c.Args)
	}
	if sc := c.SecurityContext; !*sc.RunAsNonRoot || *sc.RunAsUser == 0 || !*sc.ReadOnlyRootFilesystem {
		t.Errorf("securityContext %+v", sc)
	}
	svc := stacktest.FindNamed[*corev1.Service](t, s, ns, pureexporter.FBExporterName)
	if svc.Spec.Ports[0].Port != 9491 {
		t.Errorf("service port %d", svc.Spec.Ports[0].Port)
	}
	// prod's FlashArray runs Purity 6.7.2: native endpoint, no FA exporter.
	for _, d := range stacktest.Find[*appsv1.Deployment](s) {
		if d.Name == pureexporter.LegacyFAExporterName {
			t.Errorf("legacy FlashArray exporter rendered for a native array")
		}
	}
}

func TestDisabled(t *testing.T) {
	t.Run("monitoring off", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.Monitoring.Enabled = false
		var s stack.Set
		if err := pureexporter.Generate(e, &s); err != nil {
			t.Fatal(err)
		}
		if n := len(s.Resources()); n != 0 {
			t.Errorf("%d objects with monitoring off", n)
		}
	})
	t.Run("exporter off", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.PureExporter.Enabled = false
		s := generate(t, e)
		for _, r := range s.Resources() {
			if r.Component != pureexporter.StorageAlertsComponent {
				t.Errorf("%s %s rendered with the exporter off", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName())
			}
		}
	})
}

func TestFlashArrayVariants(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.PureExporter.FlashBlades = nil
	e.PureExporter.FlashArrays = map[string]env.PureFlashArray{
		"old": {Endpoint: "fa-old.example.com", PurityVersion: "6.5.3", LegacyExporter: true, Token: env.SecretRef{Secret: "t", Key: "old"}},
		"new": {Endpoint: "https://fa-new.example.com:8443/", PurityVersion: "6.7.2", Token: env.SecretRef{Secret: "t", Key: "new"}},
	}
	s := generate(t, e)
	ns := e.Monitoring.Namespace

	// No blade: no FB exporter; a legacy array: the FA exporter.
	stacktest.FindNamed[*appsv1.Deployment](t, s, ns, pureexporter.LegacyFAExporterName)
	if got := len(stacktest.Find[*appsv1.Deployment](s)); got != 1 {
		t.Errorf("%d Deployments, want only the legacy FA exporter", got)
	}

	old := stacktest.FindNamed[*monitoringv1alpha1.ScrapeConfig](t, s, ns, "purefa-old-array").Spec
	if got := old.StaticConfigs[0].Targets[0]; got != "pure-fa-om-exporter.monitoring.svc:9490" {
		t.Errorf("legacy target %s", got)
	}
	if d := cmp.Diff(map[string][]string{"endpoint": {"fa-old.example.com"}}, old.Params); d != "" {
		t.Errorf("legacy params: %s", d)
	}
	if old.Scheme != nil || old.TLSConfig != nil {
		t.Errorf("the legacy exporter is plain HTTP inside the cluster: scheme %v tls %v", old.Scheme, old.TLSConfig)
	}

	nw := stacktest.FindNamed[*monitoringv1alpha1.ScrapeConfig](t, s, ns, "purefa-new-volumes").Spec
	if got := nw.StaticConfigs[0].Targets[0]; got != "fa-new.example.com:8443" {
		t.Errorf("native target %s, want host:port without scheme or slash", got)
	}

	// Only FlashArray rules when there is no blade.
	pr := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, ns, pureexporter.ArrayRulesName)
	var groups []string
	for _, g := range pr.Spec.Groups {
		groups = append(groups, g.Name)
	}
	if d := cmp.Diff([]string{"pure-flasharray", "pure-scrape"}, groups); d != "" {
		t.Errorf("rule groups (-want +got):\n%s", d)
	}
}

func TestSlowIntervalShorterThanCap(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.PureExporter.Interval = "1m"
	e.PureExporter.SlowInterval = "90s"
	s := generate(t, e)
	sc := stacktest.FindNamed[*monitoringv1alpha1.ScrapeConfig](t, s, e.Monitoring.Namespace, "purefb-fb-dc1-usage").Spec
	if *sc.ScrapeTimeout != "1m30s" {
		t.Errorf("timeout %s, want the whole 90s interval", *sc.ScrapeTimeout)
	}
	sc = stacktest.FindNamed[*monitoringv1alpha1.ScrapeConfig](t, s, e.Monitoring.Namespace, "purefb-fb-dc1-array").Spec
	if *sc.ScrapeTimeout != "30s" {
		t.Errorf("timeout %s, want the 30s cap", *sc.ScrapeTimeout)
	}
}
