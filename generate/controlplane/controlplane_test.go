package controlplane_test

import (
	"slices"
	"sort"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"

	"github.com/vigil-stack/vigil/generate/controlplane"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := controlplane.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	stacktest.Check(t, &s)
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](&s) {
		stacktest.CheckRules(t, pr.Name, pr)
	}
	return &s
}

func monitors(s *stack.Set) []string {
	var out []string
	for _, m := range stacktest.Find[*monitoringv1.ServiceMonitor](s) {
		out = append(out, m.Name)
	}
	sort.Strings(out)
	return out
}

func ruleFiles(s *stack.Set) []string {
	var out []string
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		out = append(out, pr.Name)
	}
	sort.Strings(out)
	return out
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			s := generate(t, stacktest.Example(t, name))
			stacktest.Golden(t, name, controlplane.Component, s)
		})
	}
}

// What is scraped follows the cluster's kind and the provider: a managed
// control plane gets the API server, and CoreDNS only where the provider
// runs it where Prometheus can see it.
func TestScrapedByKind(t *testing.T) {
	for _, c := range []struct {
		name   string
		change func(*env.Environment)
		want   []string
	}{
		{"prod (self-managed, etcd)", nil, []string{"coredns", "etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}},
		{"self-managed without etcd", func(e *env.Environment) { e.Monitoring.ControlPlane.SelfManaged.Etcd.Enabled = false },
			[]string{"coredns", "kube-apiserver", "kube-controller-manager", "kube-scheduler"}},
		{"self-managed, scheduler off", func(e *env.Environment) { e.Monitoring.ControlPlane.SelfManaged.Scheduler.Enabled = false },
			[]string{"coredns", "etcd", "kube-apiserver", "kube-controller-manager"}},
		{"eks", managed("eks"), []string{"coredns", "kube-apiserver"}},
		{"aks", managed("aks"), []string{"coredns", "kube-apiserver"}},
		{"gke", managed("gke"), []string{"kube-apiserver"}},
		{"managed, no provider", managed(""), []string{"kube-apiserver"}},
		{"control plane off", func(e *env.Environment) { e.Monitoring.ControlPlane.Enabled = false }, nil},
		{"monitoring off", func(e *env.Environment) { e.Monitoring.Enabled = false }, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := stacktest.Example(t, "prod")
			if c.change != nil {
				c.change(e)
			}
			s := generate(t, e)
			if d := cmp.Diff(c.want, monitors(s)); d != "" {
				t.Errorf("ServiceMonitors (-want +got):\n%s", d)
			}
			// Every monitor has its rules, none more.
			var want []string
			for _, m := range c.want {
				want = append(want, m+"-rules")
			}
			if d := cmp.Diff(want, ruleFiles(s)); d != "" {
				t.Errorf("PrometheusRules (-want +got):\n%s", d)
			}
		})
	}
}

func managed(provider string) func(*env.Environment) {
	return func(e *env.Environment) {
		e.Cluster.ControlPlane = env.ControlPlaneManaged
		e.Monitoring.ControlPlane.SelfManaged = nil
		e.Monitoring.ControlPlane.Managed = &env.ManagedControlPlane{Provider: provider, CoreDNS: env.ManagedControlPlaneDNS{Enabled: true}}
	}
}

// With endpoints the Services have no selector and an EndpointSlice lists
// the addresses on the configured port; without, they select kubeadm's
// static pods. CoreDNS is always found by its pods.
func TestDiscovery(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.ControlPlane.SelfManaged.Scheduler.Port = 11259
	s := generate(t, e)
	svc := stacktest.FindNamed[*corev1.Service](t, s, controlplane.Namespace, "vigil-kube-scheduler")
	if svc.Spec.Selector != nil || svc.Spec.ClusterIP != corev1.ClusterIPNone {
		t.Errorf("scheduler Service with endpoints: selector %v, clusterIP %q", svc.Spec.Selector, svc.Spec.ClusterIP)
	}
	slice := stacktest.FindNamed[*discoveryv1.EndpointSlice](t, s, controlplane.Namespace, "vigil-kube-scheduler")
	var addrs []string
	for _, ep := range slice.Endpoints {
		addrs = append(addrs, ep.Addresses...)
	}
	if d := cmp.Diff(e.Monitoring.ControlPlane.SelfManaged.Endpoints, addrs); d != "" {
		t.Errorf("EndpointSlice addresses (-want +got):\n%s", d)
	}
	if slice.Labels[discoveryv1.LabelServiceName] != svc.Name || *slice.Ports[0].Port != 11259 || *slice.Ports[0].Name != svc.Spec.Ports[0].Name {
		t.Errorf("EndpointSlice does not back the Service: labels %v, ports %v", slice.Labels, slice.Ports)
	}
	dns := stacktest.FindNamed[*corev1.Service](t, s, controlplane.Namespace, "vigil-coredns")
	if dns.Spec.Selector["k8s-app"] != "kube-dns" {
		t.Errorf("CoreDNS Service selector %v", dns.Spec.Selector)
	}

	e.Monitoring.ControlPlane.SelfManaged.Endpoints = nil
	s = generate(t, e)
	if n := len(stacktest.Find[*discoveryv1.EndpointSlice](s)); n != 0 {
		t.Errorf("%d EndpointSlices without endpoints", n)
	}
	svc = stacktest.FindNamed[*corev1.Service](t, s, controlplane.Namespace, "vigil-kube-scheduler")
	if d := cmp.Diff(map[string]string{"component": "kube-scheduler", "tier": "control-plane"}, svc.Spec.Selector); d != "" {
		t.Errorf("scheduler Service selector (-want +got):\n%s", d)
	}
}

// etcd is scraped with the client certificate by Secret reference (which
// makes the Secret a prerequisite of the etcd unit alone) and its serving
// certificate is verified.
func TestEtcdClientCertificate(t *testing.T) {
	e := stacktest.Example(t, "prod")
	var s stack.Set
	if err := controlplane.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	var etcd *monitoringv1.ServiceMonitor
	for _, r := range s.Resources() {
		m, ok := r.Object.(*monitoringv1.ServiceMonitor)
		if !ok {
			continue
		}
		if (m.Name == controlplane.EtcdJob) != (r.Component == controlplane.EtcdComponent) {
			t.Errorf("ServiceMonitor %s in component %s", m.Name, r.Component)
		}
		if m.Name == controlplane.EtcdJob {
			etcd = m
		}
	}
	if etcd == nil {
		t.Fatal("no etcd ServiceMonitor")
	}
	tls := etcd.Spec.Endpoints[0].TLSConfig
	c := e.Monitoring.ControlPlane.SelfManaged.Etcd.ClientCertificate
	if tls == nil || tls.CA.Secret == nil || tls.Cert.Secret == nil || tls.KeySecret == nil {
		t.Fatalf("etcd TLS config %+v", tls)
	}
	got := []string{tls.CA.Secret.Name + "/" + tls.CA.Secret.Key, tls.Cert.Secret.Name + "/" + tls.Cert.Secret.Key, tls.KeySecret.Name + "/" + tls.KeySecret.Key}
	want := []string{c.CA.Secret + "/" + c.CA.Key, c.Cert.Secret + "/" + c.Cert.Key, c.Key.Secret + "/" + c.Key.Key}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("etcd certificate references (-want +got):\n%s", d)
	}
	if tls.InsecureSkipVerify != nil && *tls.InsecureSkipVerify {
		t.Error("etcd's serving certificate is not verified")
	}
}

// The API server's metric relabelings drop the buckets no rule reads, in
// both spellings of le (Prometheus 3 writes 1 as 1.0), and keep the ones
// the SLO rules read.
func TestAPIServerBucketDrops(t *testing.T) {
	s := generate(t, stacktest.Example(t, "dev"))
	m := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, s, "monitoring", "kube-apiserver")
	var cfgs []*relabel.Config
	for _, rc := range m.Spec.Endpoints[0].MetricRelabelConfigs {
		c := relabel.DefaultRelabelConfig
		c.Action = relabel.Action(rc.Action)
		c.Regex = relabel.MustNewRegexp(rc.Regex)
		c.SourceLabels = nil
		for _, l := range rc.SourceLabels {
			c.SourceLabels = append(c.SourceLabels, model.LabelName(l))
		}
		cfgs = append(cfgs, &c)
	}
	kept := func(name, le string) bool {
		lb := labels.NewBuilder(labels.FromStrings("__name__", name, "le", le))
		return relabel.ProcessBuilder(lb, cfgs...)
	}
	sli := "apiserver_request_sli_duration_seconds_bucket"
	for _, le := range []string{"1", "1.0", "5", "5.0", "30", "30.0", "0.05", "+Inf"} {
		if !kept(sli, le) {
			t.Errorf("%s{le=%q} dropped; the SLO rules read it", sli, le)
		}
	}
	for _, le := range []string{"0.4", "1.25", "3", "3.0", "45", "45.0"} {
		if kept(sli, le) {
			t.Errorf("%s{le=%q} kept", sli, le)
		}
		if le != "45" && le != "45.0" && kept("apiserver_request_duration_seconds_bucket", le) {
			t.Errorf("apiserver_request_duration_seconds_bucket{le=%q} kept", le)
		}
	}
	if !kept("apiserver_request_total", "") || kept("etcd_server_has_leader", "") {
		t.Error("the drops reach beyond buckets and the etcd client's series")
	}
}

// Every control-plane alert that kube-prometheus names links to its runbook
// there; Vigil's own link to docs/runbooks.md.
func TestRunbooks(t *testing.T) {
	s := generate(t, stacktest.Example(t, "prod"))
	upstream := []string{"KubeAPIErrorBudgetBurn", "KubeClientCertificateExpiration", "KubeAggregatedAPIErrors", "KubeAggregatedAPIDown",
		"KubeAPIDown", "KubeAPIInstanceUnreachable", "KubeAPITerminatedRequests", "KubeSchedulerDown", "KubeSchedulerInstanceUnreachable",
		"KubeControllerManagerDown", "KubeControllerManagerInstanceUnreachable"}
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				if r.Alert == "" {
					continue
				}
				want := stack.VigilRunbook(r.Alert)
				if slices.Contains(upstream, r.Alert) {
					want = stack.UpstreamRunbook("kubernetes", r.Alert)
				}
				if got := r.Annotations["runbook_url"]; got != want {
					t.Errorf("%s: runbook %s, want %s", r.Alert, got, want)
				}
			}
		}
	}
}
