package blackbox_test

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	vgen "github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/blackbox"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// build renders the whole stack of e, since the Probes follow the other
// components' Ingresses, and returns the blackbox objects and the Ingresses.
func build(t *testing.T, e *env.Environment) (bb *stack.Set, ingresses []*networkingv1.Ingress) {
	t.Helper()
	all, err := vgen.Build(e)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	bb = &stack.Set{}
	for _, r := range all.Resources() {
		if r.Component == blackbox.Component {
			bb.Add(r.Component, r.Layer, r.Object)
		}
	}
	return bb, stacktest.Find[*networkingv1.Ingress](all)
}

func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s, ingresses := build(t, e)
			stacktest.Check(t, s)
			stacktest.Golden(t, name, blackbox.Component, s)

			// On by default in prod, off elsewhere unless switched on.
			if want := e.Tier == env.TierProd; e.Monitoring.BlackboxExporter.Enabled != want {
				t.Errorf("tier %s: blackbox exporter enabled %v, want %v by default", e.Tier, e.Monitoring.BlackboxExporter.Enabled, want)
			}
			if !e.Monitoring.BlackboxExporter.Enabled {
				if n := len(s.Resources()); n != 0 {
					t.Errorf("disabled, but %d objects", n)
				}
				return
			}
			checkExporter(t, e, s)

			// One Probe per Ingress with a host, probing each host.
			probes := stacktest.Find[*monitoringv1.Probe](s)
			var want, got []string
			for _, ing := range ingresses {
				for _, r := range ing.Spec.Rules {
					if r.Host != "" {
						want = append(want, ing.Namespace+"/"+ing.Name+" "+r.Host)
					}
				}
			}
			for _, p := range probes {
				l := p.Spec.Targets.StaticConfig.Labels
				for _, u := range p.Spec.Targets.StaticConfig.Targets {
					host := strings.SplitN(strings.SplitN(u, "://", 2)[1], "/", 2)[0]
					got = append(got, l["namespace"]+"/"+l[blackbox.LabelIngress]+" "+host)
				}
				if p.Spec.Module != blackbox.ModuleHTTP2xx || p.Spec.JobName != blackbox.ProbeJob {
					t.Errorf("Probe %s: module %q job %q", p.Name, p.Spec.Module, p.Spec.JobName)
				}
				if _, ok := blackbox.DefaultConfig().Modules[p.Spec.Module]; !ok {
					t.Errorf("Probe %s uses module %s the exporter does not configure", p.Name, p.Spec.Module)
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if len(want) == 0 {
				t.Fatalf("%s renders no Ingress with a host: nothing to probe", name)
			}
			if d := cmp.Diff(want, got); d != "" {
				t.Errorf("probed hosts (-ingresses +probes):\n%s", d)
			}

			// Deterministic.
			again, _ := build(t, e)
			if !bytes.Equal(stacktest.Render(t, s), stacktest.Render(t, again)) {
				t.Error("two builds render different objects")
			}
		})
	}
}

// checkExporter: restricted pods, configuration as the exporter reads it,
// metrics scraped, only Prometheus let in.
func checkExporter(t *testing.T, e *env.Environment, s *stack.Set) {
	t.Helper()
	ns := e.Monitoring.Namespace
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, blackbox.Name)
	pod := d.Spec.Template.Spec
	if pod.SecurityContext == nil || pod.SecurityContext.RunAsNonRoot == nil || !*pod.SecurityContext.RunAsNonRoot {
		t.Errorf("pod may run as root")
	}
	for _, c := range pod.Containers {
		sc := c.SecurityContext
		if sc == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation || sc.Capabilities == nil || !slices.Contains(sc.Capabilities.Drop, "ALL") {
			t.Errorf("container %s is not restricted: %+v", c.Name, sc)
		}
		if !stack.KnownImage(c.Image) {
			t.Errorf("container %s: image %s is not pinned", c.Name, c.Image)
		}
	}
	if d.Spec.Template.Annotations["checksum/config"] == "" {
		t.Errorf("no configuration checksum: a changed configuration would not roll the pod")
	}

	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, blackbox.Name)
	var cfg blackbox.Config
	if err := yaml.UnmarshalStrict([]byte(cm.Data["config.yml"]), &cfg); err != nil {
		t.Fatalf("configuration: %v", err)
	}
	if d := cmp.Diff(blackbox.DefaultConfig(), cfg); d != "" {
		t.Errorf("configuration (-want +got):\n%s", d)
	}
	// The names the exporter reads (config/config.go, yaml tags).
	var raw map[string]map[string]map[string]any
	if err := yaml.Unmarshal([]byte(cm.Data["config.yml"]), &raw); err != nil {
		t.Fatal(err)
	}
	http := raw["modules"][blackbox.ModuleHTTP2xx]["http"].(map[string]any)
	for _, k := range []string{"preferred_ip_protocol", "ip_protocol_fallback", "valid_http_versions", "method"} {
		if _, ok := http[k]; !ok {
			t.Errorf("http module lacks %s: %v", k, http)
		}
	}

	sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, s, ns, blackbox.Name)
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != blackbox.PortName {
		t.Errorf("ServiceMonitor endpoints %+v", sm.Spec.Endpoints)
	}
	np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, ns, blackbox.Name)
	if len(np.Spec.Ingress) != 1 || len(np.Spec.Ingress[0].From) != 1 || np.Spec.Ingress[0].From[0].PodSelector == nil {
		t.Errorf("NetworkPolicy ingress %+v: only Prometheus may ask for probes", np.Spec.Ingress)
	}
	for _, p := range stacktest.Find[*monitoringv1.Probe](s) {
		if want := blackbox.Name + "." + ns + ".svc:9115"; p.Spec.ProberSpec.URL != want {
			t.Errorf("Probe %s prober %s, want %s", p.Name, p.Spec.ProberSpec.URL, want)
		}
	}
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		stacktest.CheckRules(t, pr.Name, pr)
	}
}

// Targets: https for a host the Ingress terminates TLS for, http
// otherwise; the rule's first path; no wildcard or host-less rules; sorted
// whatever the order of the Set.
func TestTargets(t *testing.T) {
	ing := func(ns, name string, tls []string, rules ...networkingv1.IngressRule) *networkingv1.Ingress {
		i := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: networkingv1.IngressSpec{Rules: rules}}
		if tls != nil {
			i.Spec.TLS = []networkingv1.IngressTLS{{Hosts: tls}}
		}
		return i
	}
	rule := func(host, path string) networkingv1.IngressRule {
		r := networkingv1.IngressRule{Host: host}
		if path != "" {
			r.HTTP = &networkingv1.HTTPIngressRuleValue{Paths: []networkingv1.HTTPIngressPath{{Path: path}}}
		}
		return r
	}
	var s stack.Set
	s.Add("x", stack.Instances,
		ing("z", "b", nil, rule("b.example", "")),
		ing("a", "grafana", []string{"g.example"}, rule("g.example", "/grafana"), rule("plain.example", "")),
		ing("a", "catchall", nil, rule("", "/"), rule("*.example", "/")),
	)
	got := blackbox.Targets(&s)
	want := []blackbox.Target{
		{Namespace: "a", Ingress: "grafana", URL: "http://plain.example/"},
		{Namespace: "a", Ingress: "grafana", URL: "https://g.example/grafana"},
		{Namespace: "z", Ingress: "b", URL: "http://b.example/"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Targets (-want +got):\n%s", d)
	}
}

// The configuration round-trips through JSON with the exporter's field
// names and nothing else.
func TestConfigFieldNames(t *testing.T) {
	b, err := json.Marshal(blackbox.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"Prober", "ValidHTTPVersions", "PreferredIPProtocol"} {
		if strings.Contains(string(b), bad) {
			t.Errorf("configuration has Go field name %s: %s", bad, b)
		}
	}
}
