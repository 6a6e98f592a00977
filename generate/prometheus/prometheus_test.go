package prometheus_test

import (
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/namespaces"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := prometheus.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Check(t, s)
			stacktest.Golden(t, name, prometheus.Component, s)
			for _, r := range s.Resources() {
				if r.Layer != stack.Instances {
					t.Errorf("%T %s in layer %s, want instances", r.Object, r.Object.GetName(), r.Layer)
				}
			}
		})
	}
}

func TestPrometheusSpecProd(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	p := stacktest.FindNamed[*monitoringv1.Prometheus](t, s, "monitoring", prometheus.Name).Spec

	if *p.Replicas != 2 || p.Retention != "30d" || p.RetentionSize != "850GB" || p.ScrapeInterval != "30s" {
		t.Errorf("replicas %d retention %s size %s interval %s", *p.Replicas, p.Retention, p.RetentionSize, p.ScrapeInterval)
	}
	if *p.Image != stack.Prometheus.Ref() || p.Version != stack.Prometheus.Version {
		t.Errorf("image %s version %s", *p.Image, p.Version)
	}
	pvc := p.Storage.VolumeClaimTemplate.Spec
	if *pvc.StorageClassName != "vigil-block" || pvc.Resources.Requests.Storage().String() != "1Ti" {
		t.Errorf("volume claim %s %s", *pvc.StorageClassName, pvc.Resources.Requests.Storage())
	}
	if d := cmp.Diff(map[string]string{"cluster": "dc1-prod", "platform": "data"}, p.ExternalLabels); d != "" {
		t.Errorf("external labels (-want +got):\n%s", d)
	}
	if p.Resources.Requests.Cpu().String() != "2" || p.Resources.Limits.Memory().String() != "16Gi" {
		t.Errorf("resources %v", p.Resources)
	}
	empty := &metav1.LabelSelector{}
	for name, sel := range map[string]*metav1.LabelSelector{
		"serviceMonitorSelector": p.ServiceMonitorSelector, "serviceMonitorNamespaceSelector": p.ServiceMonitorNamespaceSelector,
		"podMonitorSelector": p.PodMonitorSelector, "podMonitorNamespaceSelector": p.PodMonitorNamespaceSelector,
		"probeSelector": p.ProbeSelector, "probeNamespaceSelector": p.ProbeNamespaceSelector,
		"scrapeConfigSelector": p.ScrapeConfigSelector, "scrapeConfigNamespaceSelector": p.ScrapeConfigNamespaceSelector,
		"ruleSelector": p.RuleSelector, "ruleNamespaceSelector": p.RuleNamespaceSelector,
	} {
		// nil would mean "select nothing" (or the deprecated unmanaged
		// mode); {} selects everything.
		if sel == nil || !cmp.Equal(sel, empty) {
			t.Errorf("%s = %v, want {}", name, sel)
		}
	}
	if !slices.Equal(p.EnableFeatures, []monitoringv1.EnableFeature{"exemplar-storage"}) || *p.Exemplars.MaxSize != 100000 {
		t.Errorf("exemplars: features %v, %+v", p.EnableFeatures, p.Exemplars)
	}
	am := p.Alerting.Alertmanagers
	if len(am) != 1 || am[0].Name != alertmanager.ServiceName || *am[0].Namespace != "monitoring" || am[0].Port.String() != alertmanager.WebPortName {
		t.Errorf("alerting %+v", am)
	}
	sc := p.SecurityContext
	if *sc.FSGroup != 2000 || *sc.RunAsUser != 1000 || !*sc.RunAsNonRoot {
		t.Errorf("securityContext %+v", sc)
	}
	if p.ServiceAccountName != prometheus.ServiceAccountName {
		t.Errorf("service account %s", p.ServiceAccountName)
	}
	if p.Affinity == nil || p.Affinity.PodAntiAffinity == nil {
		t.Error("two replicas without anti-affinity")
	}
	// The operator overwrites instance with the CR name: the labels
	// Vigil puts on the pods must agree with it.
	for k, v := range prometheus.PodSelector() {
		if p.PodMetadata.Labels[k] != v {
			t.Errorf("pod label %s=%q, the operator sets %q", k, p.PodMetadata.Labels[k], v)
		}
	}
}

func TestClusterNameLabelKeepsAnExplicitOne(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.Prometheus.ExternalLabels = map[string]string{"cluster": "global-name"}
	p := stacktest.FindNamed[*monitoringv1.Prometheus](t, generate(t, e), "monitoring", prometheus.Name)
	if p.Spec.ExternalLabels["cluster"] != "global-name" {
		t.Errorf("cluster label %q", p.Spec.ExternalLabels["cluster"])
	}
}

func TestExemplarsOff(t *testing.T) {
	e := stacktest.Example(t, "staging")
	e.Correlation.Exemplars = false
	p := stacktest.FindNamed[*monitoringv1.Prometheus](t, generate(t, e), "monitoring", prometheus.Name)
	if p.Spec.EnableFeatures != nil || p.Spec.Exemplars != nil {
		t.Errorf("exemplars off: features %v exemplars %v", p.Spec.EnableFeatures, p.Spec.Exemplars)
	}
}

// stack.md rule 8: a Role and RoleBinding in every monitored namespace,
// granting discovery of what monitors resolve to.
func TestRoleInEveryMonitoredNamespace(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		e := stacktest.Example(t, name)
		s := generate(t, e)
		var roles, bindings []string
		for _, r := range stacktest.Find[*rbacv1.Role](s) {
			if r.Name == prometheus.ServiceAccountName {
				roles = append(roles, r.Namespace)
				if !grants(r.Rules, "discovery.k8s.io", "endpointslices", "watch") || !grants(r.Rules, "", "pods", "list") ||
					!grants(r.Rules, "", "endpoints", "get") || !grants(r.Rules, "networking.k8s.io", "ingresses", "list") ||
					!grants(r.Rules, "", "services", "watch") {
					t.Errorf("%s: role in %s lacks discovery permissions: %+v", name, r.Namespace, r.Rules)
				}
			}
		}
		for _, b := range stacktest.Find[*rbacv1.RoleBinding](s) {
			if b.Name == prometheus.ServiceAccountName {
				bindings = append(bindings, b.Namespace)
				if b.Subjects[0].Name != prometheus.ServiceAccountName || b.Subjects[0].Namespace != e.Monitoring.Namespace {
					t.Errorf("%s: binding in %s binds %+v", name, b.Namespace, b.Subjects)
				}
			}
		}
		want := namespaces.Monitored(e)
		if d := cmp.Diff(want, roles); d != "" {
			t.Errorf("%s: Role namespaces (-Monitored +got):\n%s", name, d)
		}
		if d := cmp.Diff(want, bindings); d != "" {
			t.Errorf("%s: RoleBinding namespaces (-Monitored +got):\n%s", name, d)
		}
	}
}

func grants(rules []rbacv1.PolicyRule, group, res, verb string) bool {
	for _, r := range rules {
		if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, res) && slices.Contains(r.Verbs, verb) {
			return true
		}
	}
	return false
}

func TestClusterRole(t *testing.T) {
	s := generate(t, stacktest.Example(t, "dev"))
	cr := stacktest.FindNamed[*rbacv1.ClusterRole](t, s, "", prometheus.ServiceAccountName)
	if !grants(cr.Rules, "", "nodes/metrics", "get") {
		t.Error("no nodes/metrics")
	}
	found := false
	for _, r := range cr.Rules {
		found = found || slices.Contains(r.NonResourceURLs, "/metrics")
	}
	if !found {
		t.Error("no /metrics nonResourceURL")
	}
}

func TestPodDisruptionBudgetOnlyWithReplicas(t *testing.T) {
	for _, c := range []struct {
		env  string
		want int
	}{{"prod", 1}, {"staging", 0}, {"dev", 0}} {
		s := generate(t, stacktest.Example(t, c.env))
		pdbs := stacktest.Find[*policyv1.PodDisruptionBudget](s)
		if len(pdbs) != c.want {
			t.Errorf("%s: %d PDBs, want %d", c.env, len(pdbs), c.want)
			continue
		}
		for _, p := range pdbs {
			if p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
				t.Errorf("%s: PDB %+v, want maxUnavailable 1", c.env, p.Spec)
			}
			if !cmp.Equal(p.Spec.Selector.MatchLabels, prometheus.PodSelector()) {
				t.Errorf("%s: PDB selector %v", c.env, p.Spec.Selector.MatchLabels)
			}
		}
	}
}

func TestServiceAndMonitorSelectEachOther(t *testing.T) {
	s := generate(t, stacktest.Example(t, "prod"))
	svc := stacktest.FindNamed[*corev1.Service](t, s, "monitoring", prometheus.ServiceName)
	if !cmp.Equal(svc.Spec.Selector, prometheus.PodSelector()) {
		t.Errorf("service selector %v", svc.Spec.Selector)
	}
	sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, s, "monitoring", prometheus.ServiceName)
	for k, v := range sm.Spec.Selector.MatchLabels {
		if svc.Labels[k] != v {
			t.Errorf("ServiceMonitor selects %s=%s, the Service has %q", k, v, svc.Labels[k])
		}
	}
}

func TestNetworkPolicy(t *testing.T) {
	s := generate(t, stacktest.Example(t, "prod"))
	np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, "monitoring", prometheus.ServiceName)
	from := map[string][]int{}
	for _, in := range np.Spec.Ingress {
		for _, f := range in.From {
			for _, p := range in.Ports {
				from[f.PodSelector.MatchLabels[stack.LabelName]] = append(from[f.PodSelector.MatchLabels[stack.LabelName]], p.Port.IntValue())
			}
		}
	}
	if d := cmp.Diff(map[string][]int{"grafana": {9090}, "prometheus": {9090, 8080}}, from); d != "" {
		t.Errorf("ingress (-want +got):\n%s", d)
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	if n := len(generate(t, e).Resources()); n != 0 {
		t.Errorf("monitoring disabled: %d objects", n)
	}
}
