package prometheusoperator_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/relabel"
	appsv1 "k8s.io/api/apps/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			var s stack.Set
			if err := prometheusoperator.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, &s)
			stacktest.Golden(t, name, prometheusoperator.Component, &s)

			for _, r := range s.Resources() {
				want := stack.Operators
				if r.Object.GetName() == prometheusoperator.KubeletService {
					want = stack.Content
				}
				if r.Layer != want {
					t.Errorf("%T %s in layer %s, want %s", r.Object, r.Object.GetName(), r.Layer, want)
				}
				if ns := r.Object.GetNamespace(); ns != "" && ns != e.Monitoring.Namespace {
					t.Errorf("%T %s in namespace %s, want %s", r.Object, r.Object.GetName(), ns, e.Monitoring.Namespace)
				}
			}
		})
	}
}

func TestCRDsReferencedAtTheAPIModuleTag(t *testing.T) {
	e := stacktest.Example(t, "prod")
	var s stack.Set
	if err := prometheusoperator.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	ups := s.Upstreams()
	if len(ups) != 1 {
		t.Fatalf("%d upstreams, want the CRDs only", len(ups))
	}
	u := ups[0]
	if u.Layer != stack.CRDs || u.URL != "https://github.com/prometheus-operator/prometheus-operator" ||
		u.Tag != "v0.95.2" || u.Path != "./example/prometheus-operator-crd" {
		t.Errorf("CRD upstream %+v", u)
	}
	if u.Tag != stack.PrometheusOperator.Version {
		t.Errorf("CRD tag %s differs from the operator image %s", u.Tag, stack.PrometheusOperator.Version)
	}
}

func TestDeployment(t *testing.T) {
	e := stacktest.Example(t, "staging")
	var s stack.Set
	if err := prometheusoperator.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	d := stacktest.FindNamed[*appsv1.Deployment](t, &s, "monitoring", prometheusoperator.Name)
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != stack.PrometheusOperator.Ref() {
		t.Errorf("image %s", c.Image)
	}
	for _, want := range []string{
		"--prometheus-config-reloader=" + stack.ConfigReloader.Ref(),
		"--kubelet-service=kube-system/kubelet",
		"--config-reloader-memory-limit=50Mi",
	} {
		if !slices.Contains(c.Args, want) {
			t.Errorf("args lack %s: %v", want, c.Args)
		}
	}
	if sc := c.SecurityContext; !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation || !*sc.RunAsNonRoot {
		t.Errorf("container securityContext not restricted: %+v", sc)
	}
	if d.Spec.Template.Spec.ServiceAccountName != prometheusoperator.Name {
		t.Errorf("service account %s", d.Spec.Template.Spec.ServiceAccountName)
	}
	for k, v := range d.Spec.Selector.MatchLabels {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("selector %s=%s does not match the pod labels", k, v)
		}
	}
}

// The operator must be able to do everything upstream's RBAC allows it, in
// particular manage the StatefulSets, Secrets and the kubelet endpoints.
func TestClusterRole(t *testing.T) {
	var s stack.Set
	if err := prometheusoperator.Generate(stacktest.Example(t, "dev"), &s); err != nil {
		t.Fatal(err)
	}
	cr := stacktest.FindNamed[*rbacv1.ClusterRole](t, &s, "", prometheusoperator.Name)
	allows := func(group, res, verb string) bool {
		for _, r := range cr.Rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, res) &&
				(slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*")) {
				return true
			}
		}
		return false
	}
	for _, c := range []struct{ group, res, verb string }{
		{"monitoring.coreos.com", "alertmanagerconfigs", "list"},
		{"monitoring.coreos.com", "prometheuses/status", "update"},
		{"apps", "statefulsets", "create"},
		{"", "secrets", "get"},
		{"", "endpoints", "update"},
		{"discovery.k8s.io", "endpointslices", "create"},
		{"", "namespaces", "watch"},
		{"storage.k8s.io", "storageclasses", "get"},
	} {
		if !allows(c.group, c.res, c.verb) {
			t.Errorf("ClusterRole does not allow %s on %s/%s", c.verb, c.group, c.res)
		}
	}
	crb := stacktest.FindNamed[*rbacv1.ClusterRoleBinding](t, &s, "", prometheusoperator.Name)
	if crb.Subjects[0].Namespace != "monitoring" || crb.RoleRef.Name != cr.Name {
		t.Errorf("binding %+v", crb)
	}
}

func TestNetworkPolicyAdmitsOnlyPrometheus(t *testing.T) {
	var s stack.Set
	if err := prometheusoperator.Generate(stacktest.Example(t, "prod"), &s); err != nil {
		t.Fatal(err)
	}
	np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, &s, "monitoring", prometheusoperator.Name)
	if len(np.Spec.Ingress) != 1 || np.Spec.Ingress[0].From[0].PodSelector.MatchLabels[stack.LabelName] != "prometheus" ||
		np.Spec.Ingress[0].Ports[0].Port.IntValue() != prometheusoperator.MetricsPort {
		t.Errorf("ingress %+v", np.Spec.Ingress)
	}
}

func TestKubeletServiceMonitor(t *testing.T) {
	var s stack.Set
	if err := prometheusoperator.Generate(stacktest.Example(t, "prod"), &s); err != nil {
		t.Fatal(err)
	}
	sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, &s, "monitoring", prometheusoperator.KubeletService)
	if !slices.Equal(sm.Spec.NamespaceSelector.MatchNames, []string{"kube-system"}) {
		t.Errorf("namespace selector %v", sm.Spec.NamespaceSelector)
	}
	var paths []string
	for _, ep := range sm.Spec.Endpoints {
		paths = append(paths, ep.Path)
		if ep.Port != "https-metrics" || ep.Scheme == nil || *ep.Scheme != monitoringv1.SchemeHTTPS {
			t.Errorf("endpoint %s: port %s scheme %v", ep.Path, ep.Port, ep.Scheme)
		}
	}
	if strings.Join(paths, ",") != "/metrics,/metrics/cadvisor,/metrics/probes" {
		t.Errorf("paths %v", paths)
	}
}

// promRelabel turns the metric relabelings of an endpoint into the
// configuration Prometheus runs, with the operator's defaults (separator
// ";", regex anchored by Prometheus).
func promRelabel(t *testing.T, rcs []monitoringv1.RelabelConfig) []*relabel.Config {
	t.Helper()
	var out []*relabel.Config
	for _, rc := range rcs {
		re, err := relabel.NewRegexp(rc.Regex)
		if err != nil {
			t.Fatalf("regex %q: %v", rc.Regex, err)
		}
		c := &relabel.Config{
			SourceLabels:         model.LabelNames{},
			Separator:            ";",
			Regex:                re,
			Action:               relabel.Action(strings.ToLower(rc.Action)),
			Replacement:          "$1",
			NameValidationScheme: model.UTF8Validation,
		}
		for _, l := range rc.SourceLabels {
			c.SourceLabels = append(c.SourceLabels, model.LabelName(l))
		}
		if err := c.Validate(model.UTF8Validation); err != nil {
			t.Fatalf("relabel config %+v: %v", rc, err)
		}
		out = append(out, c)
	}
	return out
}

// The cAdvisor endpoint drops the series kube-prometheus drops and keeps
// every series a dashboard or alert needs; series run through Prometheus's
// own relabelling code.
func TestKubeletCAdvisorDrops(t *testing.T) {
	var s stack.Set
	if err := prometheusoperator.Generate(stacktest.Example(t, "prod"), &s); err != nil {
		t.Fatal(err)
	}
	sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, &s, "monitoring", prometheusoperator.KubeletService)
	var cadvisor []*relabel.Config
	for _, ep := range sm.Spec.Endpoints {
		switch ep.Path {
		case "/metrics/cadvisor":
			cadvisor = promRelabel(t, ep.MetricRelabelConfigs)
		default:
			if len(ep.MetricRelabelConfigs) != 0 {
				t.Errorf("%s drops series: %+v", ep.Path, ep.MetricRelabelConfigs)
			}
		}
	}
	if len(cadvisor) == 0 {
		t.Fatal("the cAdvisor endpoint drops nothing")
	}
	for _, c := range []struct {
		series string
		keep   bool
	}{
		{`container_cpu_usage_seconds_total{namespace="spark",pod="p",container="c"}`, true},
		{`container_memory_working_set_bytes{namespace="spark",pod="p",container="c"}`, true},
		{`container_cpu_cfs_throttled_periods_total{namespace="spark",pod="p",container="c"}`, true},
		{`container_spec_memory_limit_bytes{namespace="spark",pod="p",container="c"}`, true},
		{`container_spec_memory_limit_bytes{id="/system.slice/containerd.service"}`, false},
		{`container_threads{id="/system.slice"}`, false},
		{`container_last_seen{id="/"}`, false},
		{`container_start_time_seconds{namespace="spark",pod="p",container="c"}`, true},
		{`container_tasks_state{namespace="spark",pod="p",container="c",state="running"}`, false},
		{`container_network_tcp_usage_total{namespace="spark",pod="p"}`, false},
		{`container_blkio_device_usage_total{namespace="spark",pod="p",container="c",device="sda"}`, false},
		{`container_blkio_device_usage_total{namespace="spark",pod="p",container="",device="sda"}`, true},
		{`container_fs_usage_bytes{id="/"}`, true},
	} {
		m, err := stacktest.PromQL.ParseMetric(c.series)
		if err != nil {
			t.Fatalf("%s: %v", c.series, err)
		}
		keep := relabel.ProcessBuilder(labels.NewBuilder(m), cadvisor...)
		if keep != c.keep {
			t.Errorf("%s: kept %v, want %v", c.series, keep, c.keep)
		}
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	var s stack.Set
	if err := prometheusoperator.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	if len(s.Resources()) != 0 || len(s.Upstreams()) != 0 {
		t.Errorf("monitoring disabled: %d objects, %d upstreams", len(s.Resources()), len(s.Upstreams()))
	}
}
