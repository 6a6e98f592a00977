package dashboards

import (
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/env"
)

// clusterHealth: nodes (kube-state-metrics, node-exporter), the workloads
// of the selected namespaces (kube-state-metrics, cAdvisor) and the health
// of scraping and alerting.
func clusterHealth(e *env.Environment) *dashboard.DashboardBuilder {
	const ns = `namespace=~"$namespace"`
	return newBoard("vigil-cluster-health", "", "Nodes, workloads and scraping of the cluster.", "kubernetes").
		WithVariable(labelVar("namespace", "Namespace", "kube_namespace_status_phase", "namespace")).
		WithRow(row("Nodes")).
		WithPanel(singleStat("Nodes ready", "Nodes whose Ready condition is true.", "none",
			`sum(kube_node_status_condition{condition="Ready",status="true"})`)).
		WithPanel(singleStat("Nodes not ready", "Nodes whose Ready condition is false or unknown.", "none",
			`sum(kube_node_status_condition{condition="Ready",status=~"false|unknown"})`)).
		WithPanel(singleStat("Unschedulable nodes", "Cordoned nodes.", "none",
			`sum(kube_node_spec_unschedulable)`)).
		WithPanel(singleStat("Firing alerts", "Alerts firing now, all severities.", "none",
			`count(ALERTS{alertstate="firing"}) or vector(0)`)).
		WithPanel(timeSeries("Node CPU utilisation", "Share of CPU time not idle, per node.", "percentunit",
			q(`1 - avg by (instance) (rate(node_cpu_seconds_total{mode="idle"}[$__rate_interval]))`, "{{instance}}"))).
		WithPanel(timeSeries("Node memory utilisation", "Share of memory not available to new processes, per node.", "percentunit",
			q(`1 - node_memory_MemAvailable_bytes / node_memory_MemTotal_bytes`, "{{instance}}"))).
		WithRow(row("Workloads in $namespace")).
		WithPanel(timeSeries("CPU usage", "CPU cores used by the containers of each namespace.", "short",
			q(`sum by (namespace) (rate(container_cpu_usage_seconds_total{`+ns+`,container!=""}[$__rate_interval]))`, "{{namespace}}"))).
		WithPanel(timeSeries("Memory working set", "Memory of the containers of each namespace, as the OOM killer counts it.", "bytes",
			q(`sum by (namespace) (container_memory_working_set_bytes{`+ns+`,container!=""})`, "{{namespace}}"))).
		WithPanel(timeSeries("Pods by phase", "Pods of the selected namespaces by phase.", "none",
			q(`sum by (phase) (kube_pod_status_phase{`+ns+`})`, "{{phase}}"))).
		WithPanel(timeSeries("Container restarts", "Restarts per pod over the interval.", "none",
			q(`sum by (namespace, pod) (increase(kube_pod_container_status_restarts_total{`+ns+`}[$__rate_interval])) > 0`, "{{namespace}}/{{pod}}"))).
		WithPanel(instantTable("Pods not ready", "Pods whose Ready condition is false now.", "none",
			`sum by (namespace, pod) (kube_pod_status_ready{`+ns+`,condition="false"}) > 0`)).
		WithRow(row("Scraping")).
		WithPanel(timeSeries("Targets down by job", "Scrape targets Prometheus cannot reach.", "none",
			q(`count by (job) (up == 0)`, "{{job}}"))).
		WithPanel(timeSeries("Scrape duration by job", "Slowest scrape of each job.", "s",
			q(`max by (job) (scrape_duration_seconds)`, "{{job}}")))
}
