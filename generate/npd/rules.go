package npd

import (
	"regexp"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/kubestatemetrics"
	"github.com/vigil-stack/vigil/generate/stack"
)

// ConditionsSelector is the label matcher regex of the conditions the
// monitors own, for kube_node_status_condition{condition=~…} or
// problem_gauge{type=~…}.
func ConditionsSelector(monitors []Monitor) string {
	var types []string
	for _, m := range monitors {
		for _, c := range m.Conditions() {
			types = append(types, regexp.QuoteMeta(c.Type))
		}
	}
	return strings.Join(types, "|")
}

func rules(e *env.Environment, meta metav1.ObjectMeta, monitors []Monitor) *monitoringv1.PrometheusRule {
	alert := func(name, expr, dur, severity, summary, description string) monitoringv1.Rule {
		r := monitoringv1.Rule{
			Alert:       name,
			Expr:        intstr.FromString(expr),
			Labels:      map[string]string{"severity": severity},
			Annotations: map[string]string{"summary": summary, "description": description, "runbook_url": stack.VigilRunbook(name)},
		}
		if dur != "" {
			r.For = ptr.To(monitoringv1.Duration(dur))
		}
		return r
	}
	npdJob := `job="` + Job + `"`

	// A condition is alerted from one source only, so that it fires once:
	// kube-state-metrics' view of the Node when it runs (it also covers a
	// condition NPD set before it restarted), else NPD's own gauge.
	conds := ConditionsSelector(monitors)
	onNode := `kube_node_status_condition{job="` + kubestatemetrics.Job + `", condition=~"` + conds + `", status="true"} == 1`
	inNPD := `max by (node, condition) (label_replace(problem_gauge{` + npdJob + `, type=~"` + conds + `"}, "condition", "$1", "type", "(.*)")) == 1`
	condExpr := inNPD
	if e.Monitoring.KubeStateMetrics.Enabled {
		condExpr = onNode
	}
	var out []monitoringv1.Rule
	out = append(out, alert("NodeProblemConditionActive", condExpr, "5m", "critical",
		"Node Problem Detector reports a node problem",
		`{{ $labels.node }} has condition {{ $labels.condition }}: the node is unhealthy and may need to be drained and repaired. See the node's conditions and events (kubectl describe node {{ $labels.node }}).`))
	if e.Monitoring.KubeStateMetrics.Enabled {
		// NPD sees a problem the Node does not show: its updates to the
		// API server fail, and whatever acts on node conditions is blind.
		out = append(out, alert("NodeProblemNotPublished", inNPD+` unless on (node, condition) (`+onNode+`)`, "15m", "warning",
			"Node Problem Detector cannot publish a node condition",
			`Node Problem Detector on {{ $labels.node }} detects {{ $labels.condition }}, but the Node does not show it: check its logs and its permission to update node status.`))
	}

	var events []string
	for _, m := range monitors {
		for _, r := range m.AlertingEvents {
			events = append(events, regexp.QuoteMeta(r))
		}
	}
	if len(events) > 0 {
		out = append(out, alert("NodeKernelProblem",
			`sum by (node, reason) (increase(problem_counter{`+npdJob+`, reason=~"`+strings.Join(events, "|")+`"}[15m])) > 0`,
			"", "warning",
			"The kernel of a node reports a problem",
			`{{ $labels.node }} logged {{ $value | humanize }} {{ $labels.reason }} kernel messages in 15 minutes; see the node's events.`))
	}
	if hasEvent(monitors, "OOMKilling") {
		out = append(out, alert("NodeFrequentOOMKills",
			`sum by (node) (increase(problem_counter{`+npdJob+`, reason="OOMKilling"}[30m])) > 5`,
			"", "info",
			"The OOM killer is busy on a node",
			`The kernel killed {{ $value | humanize }} processes for lack of memory on {{ $labels.node }} in 30 minutes: limits are too low or the node is overcommitted.`))
	}
	out = append(out, alert("NodeProblemDetectorDown", `up{`+npdJob+`} == 0`, "15m", "warning",
		"Node Problem Detector cannot be scraped",
		`Prometheus cannot scrape Node Problem Detector on {{ $labels.node }}: problems on that node go unnoticed.`))

	return &monitoringv1.PrometheusRule{
		ObjectMeta: meta,
		Spec:       monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{Name: "node-problem-detector", Rules: out}}},
	}
}

// hasEvent reports whether a temporary rule of an enabled monitor has the
// reason.
func hasEvent(monitors []Monitor, reason string) bool {
	for _, m := range monitors {
		if c, ok := m.Config.(*SystemLogMonitor); ok {
			for _, r := range c.Rules {
				if r.Type == Temporary && r.Reason == reason {
					return true
				}
			}
		}
	}
	return false
}
