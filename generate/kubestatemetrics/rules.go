package kubestatemetrics

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// rules alert when kube-state-metrics itself fails: every kube_* alert,
// node conditions from Node Problem Detector included, goes blind with it.
func rules(meta metav1.ObjectMeta) *monitoringv1.PrometheusRule {
	job := `job="` + Job + `"`
	errorRatio := func(metric string) string {
		return `sum by (namespace, job) (rate(` + metric + `{` + job + `, result="error"}[5m]))
/ sum by (namespace, job) (rate(` + metric + `{` + job + `}[5m])) > 0.01`
	}
	alert := func(name, expr, dur, severity, summary, description string) monitoringv1.Rule {
		// kube-prometheus has runbooks for the error alerts; it watches
		// kube-state-metrics being up with TargetDown only.
		runbook := stack.UpstreamRunbook("kube-state-metrics", name)
		if name == "KubeStateMetricsDown" {
			runbook = stack.VigilRunbook(name)
		}
		return monitoringv1.Rule{
			Alert:       name,
			Expr:        intstr.FromString(expr),
			For:         ptr.To(monitoringv1.Duration(dur)),
			Labels:      map[string]string{"severity": severity},
			Annotations: map[string]string{"summary": summary, "description": description, "runbook_url": runbook},
		}
	}
	return &monitoringv1.PrometheusRule{
		ObjectMeta: meta,
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: "kube-state-metrics",
			Rules: []monitoringv1.Rule{
				alert("KubeStateMetricsDown", `absent(up{`+job+`} == 1)`, "15m", "critical",
					"kube-state-metrics is down",
					"Prometheus has not scraped kube-state-metrics for 15 minutes: alerts on Kubernetes objects and node conditions cannot fire."),
				alert("KubeStateMetricsListErrors", errorRatio("kube_state_metrics_list_total"), "15m", "critical",
					"kube-state-metrics fails to list objects",
					"{{ $value | humanizePercentage }} of kube-state-metrics' list requests fail: its metrics are incomplete. Check its RBAC and the API server."),
				alert("KubeStateMetricsWatchErrors", errorRatio("kube_state_metrics_watch_total"), "15m", "critical",
					"kube-state-metrics fails to watch objects",
					"{{ $value | humanizePercentage }} of kube-state-metrics' watches fail: its metrics may be stale. Check its RBAC and the API server."),
			},
		}}},
	}
}
