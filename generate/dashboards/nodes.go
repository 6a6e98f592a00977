package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/kubestatemetrics"
	"github.com/vigil-stack/vigil/generate/npd"
)

// nodeProblems: the conditions the enabled NPD monitors own, as
// kube-state-metrics sees them on the Node objects, and the events NPD
// counts (problem_counter, labelled with the node by NPD's PodMonitor).
func nodeProblems(e *env.Environment) *dashboard.DashboardBuilder {
	ksm := fmt.Sprintf(`job=%q`, kubestatemetrics.Job)
	events := fmt.Sprintf(`job=%q,node=~"$node"`, npd.Job)
	b := newBoard("vigil-node-problems", "", "Problems the Node Problem Detector reports: node conditions and kernel, runtime and kubelet events.", "kubernetes", "npd").
		WithVariable(labelVar("node", "Node", "kube_node_info", "node")).
		WithVariable(labelVar("namespace", "Namespace", "kube_namespace_status_phase", "namespace")).
		WithRow(row("Nodes"))

	if conds := npd.ConditionsSelector(npd.Monitors(e.NodeProblemDetector.Monitors)); conds != "" {
		conditions := fmt.Sprintf(`%s,condition=~"%s",status="true",node=~"$node"`, ksm, conds)
		problemNodes := `max by (node) (kube_node_status_condition{` + conditions + `}) > 0`
		b = b.
			WithPanel(singleStat("Nodes with a problem", "Selected nodes with at least one NPD condition true.", "none",
				`count(`+problemNodes+`) or vector(0)`)).
			WithPanel(singleStat("Problem events (1h)", "Events NPD counted on the selected nodes in the last hour.", "none",
				`sum(increase(problem_counter{`+events+`}[1h])) or vector(0)`)).
			WithPanel(singleStat("Not ready nodes", "Selected nodes whose Ready condition is not true.", "none",
				`sum(kube_node_status_condition{`+ksm+`,condition="Ready",status=~"false|unknown",node=~"$node"})`)).
			WithPanel(singleStat("Unschedulable nodes", "Selected nodes that are cordoned.", "none",
				`sum(kube_node_spec_unschedulable{`+ksm+`,node=~"$node"})`)).
			WithPanel(instantTable("Problem conditions now", "Each true NPD condition of each node.", "none",
				`max by (node, condition) (kube_node_status_condition{`+conditions+`}) > 0`)).
			WithPanel(timeSeries("Problem conditions", "Nodes with each NPD condition true.", "none",
				q(`sum by (condition) (kube_node_status_condition{`+conditions+`})`, "{{condition}}"))).
			WithPanel(timeSeries("Problem events by reason", "Events NPD counts (OOMKilling, TaskHung, KernelOops, IOError, …), per node and reason.", "none",
				q(`sum by (node, reason) (increase(problem_counter{`+events+`}[$__rate_interval])) > 0`, "{{node}} {{reason}}"))).
			WithRow(row("Workloads on nodes with a problem")).
			WithPanel(instantTable("Pods on nodes with a problem", "Pods of the selected namespaces running on a node with an NPD condition true.", "none",
				`count by (node, namespace) (kube_pod_info{`+ksm+`,namespace=~"$namespace",node=~"$node"} * on (node) group_left () (`+problemNodes+`))`))
		return b
	}
	// No condition monitor is on: only events.
	return b.
		WithPanel(timeSeries("Problem events by reason", "Events NPD counts, per node and reason.", "none",
			q(`sum by (node, reason) (increase(problem_counter{`+events+`}[$__rate_interval])) > 0`, "{{node}} {{reason}}"))).
		WithPanel(instantTable("Pods on the selected nodes", "Pods of the selected namespaces per node.", "none",
			`count by (node, namespace) (kube_pod_info{`+ksm+`,namespace=~"$namespace",node=~"$node"})`))
}
