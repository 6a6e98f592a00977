package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
)

// kubelet: what every node's kubelet reports on /metrics (pods and
// containers it runs, runtime operations, pod start, PLEG, volumes) and on
// /metrics/probes (the outcome of the pods' probes). Its series carry the
// kubelet's address as instance; kubelet_node_name maps it to the node.
func kubelet(e *env.Environment) *dashboard.DashboardBuilder {
	k := fmt.Sprintf(`job=%q,metrics_path="/metrics",instance=~"$instance"`, prometheusoperator.KubeletJob)
	probes := fmt.Sprintf(`job=%q,metrics_path="/metrics/probes",instance=~"$instance"`, prometheusoperator.KubeletJob)
	p99 := func(metric, by string) string {
		return fmt.Sprintf(`histogram_quantile(0.99, sum by (%s, le) (rate(%s_bucket{%s}[$__rate_interval])))`, by, metric, k)
	}
	return newBoard("vigil-kubelet", "", "The kubelets: pods and containers they run, container runtime operations, pod start and PLEG latency, probes.", "kubernetes", "kubelet").
		WithVariable(labelVar("instance", "Kubelet", fmt.Sprintf(`kubelet_node_name{job=%q,metrics_path="/metrics"}`, prometheusoperator.KubeletJob), "instance")).
		WithRow(row("Overview")).
		WithPanel(singleStat("Kubelets", "Kubelets reporting.", "none", `sum(kubelet_node_name{`+k+`})`)).
		WithPanel(singleStat("Running pods", "Pods with a running sandbox.", "none", `sum(kubelet_running_pods{`+k+`})`)).
		WithPanel(singleStat("Running containers", "Containers running.", "none", `sum(kubelet_running_containers{`+k+`,container_state="running"})`)).
		WithPanel(singleStat("Volumes", "Volumes the volume manager wants mounted.", "none", `sum(volume_manager_total_volumes{`+k+`,state="desired_state_of_world"})`)).
		WithPanel(timeSeries("Running pods per kubelet", "Pods with a running sandbox on each node.", "none",
			q(`sum by (instance) (kubelet_running_pods{`+k+`}) * on (instance) group_left (node) max by (instance, node) (kubelet_node_name{`+k+`})`, "{{node}}"))).
		WithPanel(timeSeries("Evictions", "Pods evicted per interval, by signal.", "none",
			q(`sum by (eviction_signal) (increase(kubelet_evictions{`+k+`}[$__rate_interval]))`, "{{eviction_signal}}"))).
		WithRow(row("Container runtime")).
		WithPanel(timeSeries("Runtime operations", "Container runtime operations per second, by type.", "ops",
			q(`sum by (operation_type) (rate(kubelet_runtime_operations_total{`+k+`}[$__rate_interval]))`, "{{operation_type}}"))).
		WithPanel(timeSeries("Runtime operation errors", "Failed container runtime operations per second, by type.", "ops",
			q(`sum by (operation_type) (rate(kubelet_runtime_operations_errors_total{`+k+`}[$__rate_interval]))`, "{{operation_type}}"))).
		WithPanel(timeSeries("Runtime operation latency (p99)", "99th percentile duration of runtime operations, by type.", "s",
			q(p99("kubelet_runtime_operations_duration_seconds", "operation_type"), "{{operation_type}}"))).
		WithPanel(timeSeries("Pod start latency (p99)", "99th percentile time from a pod's creation to its containers started, per kubelet.", "s",
			q(p99("kubelet_pod_start_duration_seconds", "instance"), "{{instance}}"))).
		WithPanel(timeSeries("PLEG relist latency (p99)", "99th percentile of the pod lifecycle event generator's relist: slow relists make the node NotReady.", "s",
			q(p99("kubelet_pleg_relist_duration_seconds", "instance"), "{{instance}}"))).
		WithPanel(timeSeries("Storage operation latency (p99)", "99th percentile of volume operations, by plugin and operation.", "s",
			q(p99("storage_operation_duration_seconds", "volume_plugin, operation_name"), "{{volume_plugin}} {{operation_name}}"))).
		WithRow(row("Probes")).
		WithPanel(timeSeries("Probe results", "Liveness, readiness and startup probes per second, by type and result.", "ops",
			q(`sum by (probe_type, result) (rate(prober_probe_total{`+probes+`}[$__rate_interval]))`, "{{probe_type}} {{result}}"))).
		WithPanel(instantTable("Failing probes", "Containers whose probes failed in the last 5 minutes.", "none",
			`sum by (namespace, pod, container, probe_type) (increase(prober_probe_total{`+probes+`,result="failed"}[5m])) > 0`))
}
