package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/table"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/rules"
)

// The compute-resources views of kube-prometheus — cluster, namespace,
// workload, pod — on the recording rules of package rules (records.go):
// usage per container with its node, requests and limits of active pods,
// and the workload each pod belongs to. Each level's table drills down to
// the next; the pod board links to the pod's logs and traces.
//
// There is no cluster variable: one Grafana reads one Prometheus, whose
// series carry no cluster label (cluster is an external label, added only
// to what leaves Prometheus), so the cluster board is the top of the
// drill-down.

// cadvisorJob selects the cAdvisor series of the kubelets.
var cadvisorJob = fmt.Sprintf(`job=%q,metrics_path="/metrics/cadvisor"`, prometheusoperator.KubeletJob)

// computeEnabled: the views need kube-state-metrics (a pod's node, phase
// and owner), from which the recording rules are computed.
func computeEnabled(e *env.Environment) bool { return e.Monitoring.KubeStateMetrics.Enabled }

// sumBy sums a recorded series by labels under a selector.
func sumBy(labels, record, selector string) string {
	return fmt.Sprintf("sum by (%s) (%s{%s})", labels, record, selector)
}

// usageTable is the table of CPU and memory usage, requests and limits by
// labels under a selector.
func usageTable(title, description, labels, selector string) *table.PanelBuilder {
	return multiTable(title, description, "short",
		q(sumBy(labels, rules.RecordContainerCPU, selector), "CPU usage"),
		q(sumBy(labels, rules.RecordPodCPURequests, selector), "CPU requests"),
		q(sumBy(labels, rules.RecordPodCPULimits, selector), "CPU limits"),
		q(sumBy(labels, rules.RecordContainerMemory, selector), "Memory usage"),
		q(sumBy(labels, rules.RecordPodMemoryRequests, selector), "Memory requests"),
		q(sumBy(labels, rules.RecordPodMemoryLimits, selector), "Memory limits")).
		OverrideByRegexp("^Memory .*", []dashboard.DynamicConfigValue{{Id: "unit", Value: "bytes"}})
}

func computeCluster(e *env.Environment) *dashboard.DashboardBuilder {
	alloc := func(resource string) string {
		return fmt.Sprintf(`sum(kube_node_status_allocatable{resource=%q})`, resource)
	}
	share := func(record, resource string) string { return fmt.Sprintf("sum(%s) / %s", record, alloc(resource)) }
	return newBoard(UIDCluster, "", "CPU and memory of the cluster by namespace: usage, requests and limits against what the nodes can give. Click a namespace to open it.", "kubernetes", "resources").
		WithRow(row("Headlines")).
		WithPanel(singleStat("CPU usage", "CPU used over the nodes' allocatable CPU.", "percentunit", share(rules.RecordContainerCPU, "cpu"))).
		WithPanel(singleStat("CPU requests commitment", "CPU requested by active pods over allocatable CPU.", "percentunit", share(rules.RecordPodCPURequests, "cpu"))).
		WithPanel(singleStat("CPU limits commitment", "CPU limits of active pods over allocatable CPU.", "percentunit", share(rules.RecordPodCPULimits, "cpu"))).
		WithPanel(singleStat("Memory usage", "Working set over the nodes' allocatable memory.", "percentunit", share(rules.RecordContainerMemory, "memory"))).
		WithPanel(singleStat("Memory requests commitment", "Memory requested by active pods over allocatable memory.", "percentunit", share(rules.RecordPodMemoryRequests, "memory"))).
		WithPanel(singleStat("Memory limits commitment", "Memory limits of active pods over allocatable memory.", "percentunit", share(rules.RecordPodMemoryLimits, "memory"))).
		WithPanel(singleStat("Namespaces", "Namespaces with running containers.", "none",
			`count(count by (namespace) (`+rules.RecordContainerCPU+`))`)).
		WithPanel(singleStat("Pods", "Pods with running containers.", "none",
			`count(count by (namespace, pod) (`+rules.RecordContainerCPU+`))`)).
		WithRow(row("By namespace")).
		WithPanel(timeSeries("CPU usage by namespace", "CPU cores used by each namespace's containers.", "short",
			q(sumBy("namespace", rules.RecordContainerCPU, ""), "{{namespace}}")).
			DataLinks(links(drillSeries("Namespace ${__field.labels.namespace}", UIDNamespace, "namespace")))).
		WithPanel(timeSeries("Memory usage by namespace", "Working set of each namespace's containers.", "bytes",
			q(sumBy("namespace", rules.RecordContainerMemory, ""), "{{namespace}}")).
			DataLinks(links(drillSeries("Namespace ${__field.labels.namespace}", UIDNamespace, "namespace")))).
		WithPanel(usageTable("Namespaces", "Usage, requests and limits per namespace; click a row to open the namespace.", "namespace", "").
			DataLinks(links(drill("Open namespace", UIDNamespace, "namespace")))).
		WithRow(row("Network by namespace")).
		WithPanel(timeSeries("Receive bandwidth", "Bytes received per second by each namespace's pods.", "Bps",
			q(`sum by (namespace) (rate(container_network_receive_bytes_total{`+cadvisorJob+`,namespace!=""}[$__rate_interval]))`, "{{namespace}}"))).
		WithPanel(timeSeries("Transmit bandwidth", "Bytes sent per second by each namespace's pods.", "Bps",
			q(`sum by (namespace) (rate(container_network_transmit_bytes_total{`+cadvisorJob+`,namespace!=""}[$__rate_interval]))`, "{{namespace}}")))
}

func computeNamespace(e *env.Environment) *dashboard.DashboardBuilder {
	ns := `namespace=~"$namespace"`
	return newBoard(UIDNamespace, "", "CPU and memory of the pods and workloads of a namespace. Click a pod or a workload to open it.", "kubernetes", "resources").
		WithVariable(labelVar("namespace", "Namespace", "kube_pod_info", "namespace")).
		WithRow(row("Pods in $namespace")).
		WithPanel(timeSeries("CPU usage by pod", "CPU cores used by each pod.", "short",
			q(sumBy("namespace, pod", rules.RecordContainerCPU, ns), "{{pod}}")).
			DataLinks(links(drillSeries("Pod ${__field.labels.pod}", UIDPod, "namespace", "pod")))).
		WithPanel(timeSeries("Memory usage by pod", "Working set of each pod.", "bytes",
			q(sumBy("namespace, pod", rules.RecordContainerMemory, ns), "{{pod}}")).
			DataLinks(links(drillSeries("Pod ${__field.labels.pod}", UIDPod, "namespace", "pod")))).
		WithPanel(usageTable("Pods", "Usage, requests and limits per pod; click a row to open the pod.", "namespace, pod", ns).
			DataLinks(links(drill("Open pod", UIDPod, "namespace", "pod")))).
		WithRow(row("Workloads in $namespace")).
		WithPanel(multiTable("Workloads", "Pods, CPU and memory per workload; click a row to open the workload.", "short",
			q(`count by (namespace, workload, workload_type) (`+rules.RecordWorkloadPod+`{`+ns+`})`, "Pods"),
			q(`sum by (namespace, workload, workload_type) (`+rules.RecordContainerCPU+`{`+ns+`} * on (namespace, pod) group_left (workload, workload_type) `+rules.RecordWorkloadPod+`{`+ns+`})`, "CPU usage"),
			q(`sum by (namespace, workload, workload_type) (`+rules.RecordContainerMemory+`{`+ns+`} * on (namespace, pod) group_left (workload, workload_type) `+rules.RecordWorkloadPod+`{`+ns+`})`, "Memory usage")).
			OverrideByName("Memory usage", []dashboard.DynamicConfigValue{{Id: "unit", Value: "bytes"}}).
			DataLinks(links(drill("Open workload", UIDWorkload, "namespace", "workload")))).
		WithRow(row("Network in $namespace")).
		WithPanel(timeSeries("Receive bandwidth by pod", "Bytes received per second by each pod.", "Bps",
			q(`sum by (pod) (rate(container_network_receive_bytes_total{`+cadvisorJob+`,`+ns+`}[$__rate_interval]))`, "{{pod}}"))).
		WithPanel(timeSeries("Transmit bandwidth by pod", "Bytes sent per second by each pod.", "Bps",
			q(`sum by (pod) (rate(container_network_transmit_bytes_total{`+cadvisorJob+`,`+ns+`}[$__rate_interval]))`, "{{pod}}")))
}

func computeWorkload(e *env.Environment) *dashboard.DashboardBuilder {
	ns := `namespace=~"$namespace"`
	owner := fmt.Sprintf(`%s{%s,workload=~"$workload"}`, rules.RecordWorkloadPod, ns)
	ofWorkload := func(record string) string {
		return fmt.Sprintf(`sum by (namespace, pod) (%s{%s} * on (namespace, pod) group_left () %s)`, record, ns, owner)
	}
	return newBoard(UIDWorkload, "", "CPU and memory of the pods of a workload (Deployment, StatefulSet, DaemonSet or Job). Click a pod to open it.", "kubernetes", "resources").
		WithVariable(labelVar("namespace", "Namespace", "kube_pod_info", "namespace")).
		WithVariable(labelVar("workload", "Workload", rules.RecordWorkloadPod+`{namespace=~"$namespace"}`, "workload")).
		WithRow(row("Pods of $workload")).
		WithPanel(timeSeries("CPU usage by pod", "CPU cores used by each pod of the workload.", "short",
			q(ofWorkload(rules.RecordContainerCPU), "{{pod}}")).
			DataLinks(links(drillSeries("Pod ${__field.labels.pod}", UIDPod, "namespace", "pod")))).
		WithPanel(timeSeries("Memory usage by pod", "Working set of each pod of the workload.", "bytes",
			q(ofWorkload(rules.RecordContainerMemory), "{{pod}}")).
			DataLinks(links(drillSeries("Pod ${__field.labels.pod}", UIDPod, "namespace", "pod")))).
		WithPanel(multiTable("Pods", "Usage, requests and limits per pod of the workload; click a row to open the pod.", "short",
			q(ofWorkload(rules.RecordContainerCPU), "CPU usage"),
			q(ofWorkload(rules.RecordPodCPURequests), "CPU requests"),
			q(ofWorkload(rules.RecordPodCPULimits), "CPU limits"),
			q(ofWorkload(rules.RecordContainerMemory), "Memory usage"),
			q(ofWorkload(rules.RecordPodMemoryRequests), "Memory requests"),
			q(ofWorkload(rules.RecordPodMemoryLimits), "Memory limits")).
			OverrideByRegexp("^Memory .*", []dashboard.DynamicConfigValue{{Id: "unit", Value: "bytes"}}).
			DataLinks(links(drill("Open pod", UIDPod, "namespace", "pod"))))
}

func computePod(e *env.Environment) *dashboard.DashboardBuilder {
	sel := `namespace=~"$namespace",pod=~"$pod"`
	byContainer := func(record string) string { return sumBy("container", record, sel) }
	b := newBoard(UIDPod, "", "CPU, memory, throttling, network and restarts of a pod's containers, with links to its logs and traces.", "kubernetes", "resources").
		WithVariable(labelVar("namespace", "Namespace", "kube_pod_info", "namespace")).
		WithVariable(labelVar("pod", "Pod", `kube_pod_info{namespace=~"$namespace"}`, "pod"))
	signals, err := signalLinks(e, "${namespace}", "${pod}")
	cpu := timeSeries("CPU usage", "CPU cores used by each container, with its requests and limits.", "short",
		q(byContainer(rules.RecordContainerCPU), "{{container}}"),
		q(byContainer(rules.RecordPodCPURequests), "{{container}} requests"),
		q(byContainer(rules.RecordPodCPULimits), "{{container}} limits"))
	if err != nil {
		// Marshalling a map of strings cannot fail; the builder carries
		// the error to Build should that ever change.
		cpu.RecordError("links", err)
	} else if len(signals) > 0 {
		cpu.Links(signals)
	}
	b = b.
		WithRow(row("Containers of $pod")).
		WithPanel(cpu).
		WithPanel(timeSeries("Memory usage", "Working set and RSS of each container, with its requests and limits.", "bytes",
			q(byContainer(rules.RecordContainerMemory), "{{container}} working set"),
			q(byContainer(rules.RecordContainerMemoryRSS), "{{container}} rss"),
			q(byContainer(rules.RecordPodMemoryRequests), "{{container}} requests"),
			q(byContainer(rules.RecordPodMemoryLimits), "{{container}} limits"))).
		WithPanel(timeSeries("CPU throttling", "Share of CFS periods in which each container hit its CPU limit.", "percentunit",
			q(`sum by (container) (increase(container_cpu_cfs_throttled_periods_total{`+cadvisorJob+`,`+sel+`,container!=""}[$__rate_interval])) / sum by (container) (increase(container_cpu_cfs_periods_total{`+cadvisorJob+`,`+sel+`,container!=""}[$__rate_interval]))`, "{{container}}"))).
		WithPanel(timeSeries("Container restarts", "Restarts of each container over the interval.", "none",
			q(`sum by (container) (increase(kube_pod_container_status_restarts_total{`+sel+`}[$__rate_interval]))`, "{{container}}"))).
		WithPanel(timeSeries("Network", "Bytes received and sent per second.", "Bps",
			q(`sum by (pod) (rate(container_network_receive_bytes_total{`+cadvisorJob+`,`+sel+`}[$__rate_interval]))`, "{{pod}} receive"),
			q(`sum by (pod) (rate(container_network_transmit_bytes_total{`+cadvisorJob+`,`+sel+`}[$__rate_interval]))`, "{{pod}} transmit"))).
		WithPanel(instantTable("Last termination reasons", "Why each container last ended (OOMKilled, Error, …).", "none",
			`max by (container, reason) (kube_pod_container_status_last_terminated_reason{`+sel+`}) > 0`))
	if e.Logging.Enabled {
		b = b.WithRow(row("Logs of $pod")).
			WithPanel(logLines("Pod logs", "Log lines of the selected pods, newest first; a trace id in a line links to its trace.",
				fmt.Sprintf(`%s:${namespace:lucene} AND %s:${pod:lucene}`, correlation.FieldNamespace, correlation.FieldPod)))
	}
	return b
}

// links is a list of link builders.
func links(ls ...cog.Builder[dashboard.DashboardLink]) []cog.Builder[dashboard.DashboardLink] {
	return ls
}
