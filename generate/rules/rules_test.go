package rules_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/nodeexporter"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/rules"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := rules.Generate(e, &s); err != nil {
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
			stacktest.Golden(t, name, rules.Component, s)
			for _, r := range s.Resources() {
				if r.Layer != stack.Content || r.Object.GetNamespace() != e.Monitoring.Namespace {
					t.Errorf("%s in %s/%s, want content/%s", r.Object.GetName(), r.Layer, r.Object.GetNamespace(), e.Monitoring.Namespace)
				}
				if r.Object.GetAnnotations()["kustomize.toolkit.fluxcd.io/substitute"] != "disabled" {
					t.Errorf("%s: Flux would substitute ${…} in rule templates", r.Object.GetName())
				}
			}
		})
	}
}

func alerts(s *stack.Set) map[string][]monitoringv1.Rule {
	out := map[string][]monitoringv1.Rule{}
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				out[r.Alert] = append(out[r.Alert], r)
			}
		}
	}
	return out
}

func TestDefaultAlerts(t *testing.T) {
	got := alerts(generate(t, stacktest.Example(t, "prod")))
	for _, name := range []string{
		"TargetDown", "Watchdog", "InfoInhibitor",
		"PrometheusRuleFailures", "PrometheusTSDBCompactionsFailing", "PrometheusNotificationQueueRunningFull", "PrometheusBadConfig",
		"AlertmanagerFailedToSendAlerts", "AlertmanagerFailedReload",
		"KubeNodeNotReady", "KubeletDown", "KubePodCrashLooping", "KubePersistentVolumeFillingUp", "KubeJobFailed",
		"KubeDeploymentReplicasMismatch", "PrometheusOperatorReconcileErrors",
	} {
		rs := got[name]
		if len(rs) == 0 {
			t.Errorf("default alert %s missing", name)
			continue
		}
		for _, r := range rs {
			if !strings.HasPrefix(r.Annotations["runbook_url"], rules.RunbookBase+"/") {
				t.Errorf("%s: runbook_url %q", name, r.Annotations["runbook_url"])
			}
		}
	}
	var sev []string
	for _, r := range got["KubePersistentVolumeFillingUp"] {
		sev = append(sev, r.Labels["severity"])
	}
	if d := cmp.Diff([]string{"critical", "warning"}, sev); d != "" {
		t.Errorf("KubePersistentVolumeFillingUp severities (-want +got):\n%s", d)
	}
}

// Without kube-state-metrics, its series never exist: no alert may rely on
// them.
func TestNoKubeStateMetricsAlertsWithoutIt(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.KubeStateMetrics.Enabled = false
	for name, rs := range alerts(generate(t, e)) {
		for _, r := range rs {
			if strings.Contains(r.Expr.String(), "kube_") {
				t.Errorf("%s uses kube-state-metrics: %s", name, r.Expr.String())
			}
		}
	}
	if len(alerts(generate(t, e))["KubeletDown"]) == 0 {
		t.Error("KubeletDown needs only the kubelet and must stay")
	}
}

// Every job a default rule selects is the job of a ServiceMonitor of the
// stack, so no rule watches a series that cannot exist.
func TestJobsExist(t *testing.T) {
	e := stacktest.Example(t, "prod")
	var s stack.Set
	for _, g := range []func(*env.Environment, *stack.Set) error{prometheus.Generate, alertmanager.Generate, prometheusoperator.Generate, nodeexporter.Generate} {
		if err := g(e, &s); err != nil {
			t.Fatal(err)
		}
	}
	jobs := map[string]bool{}
	services := stacktest.Find[*corev1.Service](&s)
	for _, sm := range stacktest.Find[*monitoringv1.ServiceMonitor](&s) {
		if sm.Spec.JobLabel != "" {
			jobs[sm.Spec.Selector.MatchLabels[sm.Spec.JobLabel]] = true
			continue
		}
		for _, svc := range services {
			if svc.Namespace == sm.Namespace && selects(sm.Spec.Selector.MatchLabels, svc.Labels) {
				jobs[svc.Name] = true
			}
		}
	}
	if len(jobs) != 5 {
		t.Fatalf("jobs %v, want prometheus, alertmanager, operator, kubelet and node-exporter", jobs)
	}
	for _, d := range rules.Defaults(e) {
		for _, g := range d.Groups {
			for _, r := range g.Rules {
				expr, err := stacktest.PromQL.ParseExpr(r.Expr.String())
				if err != nil {
					t.Fatalf("%s: %v", r.Alert, err)
				}
				parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
					vs, ok := n.(*parser.VectorSelector)
					if !ok {
						return nil
					}
					for _, m := range vs.LabelMatchers {
						if m.Name == "job" && m.Type == labels.MatchEqual && !jobs[m.Value] {
							t.Errorf("%s selects job %q, which no ServiceMonitor produces (%v)", r.Alert, m.Value, jobs)
						}
						if m.Name == "namespace" && m.Type == labels.MatchEqual && m.Value != e.Monitoring.Namespace {
							t.Errorf("%s selects namespace %q", r.Alert, m.Value)
						}
					}
					return nil
				})
			}
		}
	}
}

func selects(sel, labels map[string]string) bool {
	for k, v := range sel {
		if labels[k] != v {
			return false
		}
	}
	return true
}

func TestUserGroups(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	pr := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, "monitoring", rules.UserRuleName("etl-pipelines"))
	if len(pr.Spec.Groups) != 1 || pr.Spec.Groups[0].Name != "etl-pipelines" {
		t.Fatalf("groups %+v", pr.Spec.Groups)
	}
	r := pr.Spec.Groups[0].Rules[0]
	if r.Alert != "NightlyETLLate" || *r.For != "15m" {
		t.Errorf("rule %s for %v", r.Alert, r.For)
	}
	if d := cmp.Diff(map[string]string{"severity": "critical", "team": "etl", "namespace": "spark-etl"}, r.Labels); d != "" {
		t.Errorf("labels (-want +got):\n%s", d)
	}
	if r.Annotations["summary"] == "" || r.Annotations["description"] == "" || r.Annotations["runbook_url"] == "" {
		t.Errorf("annotations %v", r.Annotations)
	}
	if pr.Labels[stack.LabelComponent] != "user-rules" {
		t.Errorf("labels %v", pr.Labels)
	}
	stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, "monitoring", rules.UserRuleName("spark-capacity"))
}

func TestUserGroupEdgeCases(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.Rules = map[string]env.RuleGroup{
		"b-group": {Interval: "1m", Alerts: map[string]env.Alert{
			"Zed":   {Expr: "up == 0", Severity: "info", Summary: "z", Description: "zz", Runbook: "https://runbooks.example/zed", Labels: map[string]string{"severity": "critical"}},
			"Alpha": {Expr: "vector(1)", For: "1m", Severity: "warning", Summary: "a"},
		}},
	}
	s := generate(t, e)
	stacktest.Check(t, s)
	g := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, s, "monitoring", rules.UserRuleName("b-group")).Spec.Groups[0]
	if *g.Interval != "1m" || g.Rules[0].Alert != "Alpha" || g.Rules[1].Alert != "Zed" {
		t.Errorf("group %+v", g)
	}
	// An empty description falls back to the summary.
	if a := g.Rules[0].Annotations; a["description"] != "a" {
		t.Errorf("Alpha: annotations %v", a)
	}
	zed := g.Rules[1]
	if zed.Labels["severity"] != "info" || zed.Annotations["runbook_url"] != "https://runbooks.example/zed" || zed.For != nil {
		t.Errorf("Zed: labels %v annotations %v for %v", zed.Labels, zed.Annotations, zed.For)
	}

	e.Monitoring.Rules["empty"] = env.RuleGroup{}
	var s2 stack.Set
	if err := rules.Generate(e, &s2); err == nil {
		t.Error("an empty rule group was accepted; Prometheus rejects it")
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	if n := len(generate(t, e).Resources()); n != 0 {
		t.Errorf("monitoring disabled: %d objects", n)
	}
}
