package rules

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/intstr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/nodeexporter"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
)

// RecordsName is the PrometheusRule of the recording rules the Kubernetes
// dashboards read (package dashboards): per-container usage joined with
// the node the pod runs on, the requests and limits of active pods, the
// workload each pod belongs to, and the node-exporter USE figures per
// node. The names are kube-prometheus's (kubernetes-mixin and node-mixin),
// so queries written against either read them; the expressions are
// Vigil's own.
const RecordsName = "records-rules"

// Recording rule names.
const (
	// Per container, with the pod's node as a label (from kube_pod_info):
	// cAdvisor does not know the node name, only the kubelet's address.
	RecordContainerCPU        = "node_namespace_pod_container:container_cpu_usage_seconds_total:sum_rate5m"
	RecordContainerMemory     = "node_namespace_pod_container:container_memory_working_set_bytes"
	RecordContainerMemoryRSS  = "node_namespace_pod_container:container_memory_rss"
	RecordPodCPURequests      = "cluster:namespace:pod_cpu:active:kube_pod_container_resource_requests"
	RecordPodCPULimits        = "cluster:namespace:pod_cpu:active:kube_pod_container_resource_limits"
	RecordPodMemoryRequests   = "cluster:namespace:pod_memory:active:kube_pod_container_resource_requests"
	RecordPodMemoryLimits     = "cluster:namespace:pod_memory:active:kube_pod_container_resource_limits"
	RecordWorkloadPod         = "namespace_workload_pod:kube_pod_owner:relabel"
	RecordNodeCPUs            = "instance:node_num_cpu:sum"
	RecordNodeCPUUtilisation  = "instance:node_cpu_utilisation:rate5m"
	RecordNodeLoadPerCPU      = "instance:node_load1_per_cpu:ratio"
	RecordNodeMemUtilisation  = "instance:node_memory_utilisation:ratio"
	RecordNodeMajorFaults     = "instance:node_vmstat_pgmajfault:rate5m"
	RecordNodeDiskIOTime      = "instance_device:node_disk_io_time_seconds:rate5m"
	RecordNodeDiskIOWeighted  = "instance_device:node_disk_io_time_weighted_seconds:rate5m"
	RecordNodeNetReceive      = "instance:node_network_receive_bytes_excluding_lo:rate5m"
	RecordNodeNetTransmit     = "instance:node_network_transmit_bytes_excluding_lo:rate5m"
	RecordNodeNetReceiveDrop  = "instance:node_network_receive_drop_excluding_lo:rate5m"
	RecordNodeNetTransmitDrop = "instance:node_network_transmit_drop_excluding_lo:rate5m"
)

// WorkloadTypes are the values of the workload_type label of
// RecordWorkloadPod: the kinds whose pods it maps to a workload.
var WorkloadTypes = []string{"daemonset", "deployment", "job", "statefulset"}

// diskDevices are the block devices worth their own series: disks,
// device-mapper and md volumes, not loop devices or partitions' ram disks
// (node-mixin's selector).
const diskDevices = `(/dev/)?(mmcblk.p.+|nvme.+|rbd.+|sd.+|vd.+|xvd.+|dm-.+|md.+|dasd.+)`

// records returns the recording rule groups e can feed: the Kubernetes
// ones need kube-state-metrics (the node and owner of a pod, its phase),
// the node ones the node exporter.
func records(e *env.Environment) []monitoringv1.RuleGroup {
	var out []monitoringv1.RuleGroup
	if e.Monitoring.KubeStateMetrics.Enabled {
		out = append(out, containerRecords(), requestRecords(), workloadRecords())
	}
	if e.Monitoring.NodeExporter.Enabled {
		out = append(out, nodeRecords(fmt.Sprintf(`job=%q`, nodeexporter.Job)))
	}
	return out
}

func record(name, expr string, labels map[string]string) monitoringv1.Rule {
	return monitoringv1.Rule{Record: name, Expr: intstr.FromString(expr), Labels: labels}
}

// podNode is one series per pod with its node: topk keeps a single one when
// kube-state-metrics briefly reports a pod on two nodes (a reschedule with
// the same name, StatefulSets), which would break the one-to-one join.
const podNode = `topk by (namespace, pod) (1, max by (namespace, pod, node) (kube_pod_info{node!=""}))`

func containerRecords() monitoringv1.RuleGroup {
	// Container cgroups only: the pod-level cgroup has no container label
	// and would count every container twice.
	cadvisor := fmt.Sprintf(`job=%q,metrics_path="/metrics/cadvisor",container!=""`, prometheusoperator.KubeletJob)
	return monitoringv1.RuleGroup{Name: "k8s.rules.container", Rules: []monitoringv1.Rule{
		record(RecordContainerCPU, `sum by (namespace, pod, container) (rate(container_cpu_usage_seconds_total{`+cadvisor+`}[5m])) `+
			`* on (namespace, pod) group_left (node) `+podNode, nil),
		record(RecordContainerMemory, `max by (namespace, pod, container) (container_memory_working_set_bytes{`+cadvisor+`}) `+
			`* on (namespace, pod) group_left (node) `+podNode, nil),
		record(RecordContainerMemoryRSS, `max by (namespace, pod, container) (container_memory_rss{`+cadvisor+`}) `+
			`* on (namespace, pod) group_left (node) `+podNode, nil),
	}}
}

// requestRecords are the requests and limits of the pods that hold node
// capacity (Pending or Running), per container: finished pods keep their
// kube_pod_container_resource_* series until deleted.
func requestRecords() monitoringv1.RuleGroup {
	active := `max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1)`
	r := func(name, metric, resource string) monitoringv1.Rule {
		return record(name, fmt.Sprintf(`%s{resource=%q} * on (namespace, pod) group_left () %s`, metric, resource, active), nil)
	}
	return monitoringv1.RuleGroup{Name: "k8s.rules.pod_resources", Rules: []monitoringv1.Rule{
		r(RecordPodCPURequests, "kube_pod_container_resource_requests", "cpu"),
		r(RecordPodCPULimits, "kube_pod_container_resource_limits", "cpu"),
		r(RecordPodMemoryRequests, "kube_pod_container_resource_requests", "memory"),
		r(RecordPodMemoryLimits, "kube_pod_container_resource_limits", "memory"),
	}}
}

// workloadRecords map each pod to the workload that owns it, one rule per
// kind under the same name with a workload_type label: a Deployment owns
// its pods through a ReplicaSet, the others directly. Pods of a bare
// ReplicaSet or of no owner have no workload.
func workloadRecords() monitoringv1.RuleGroup {
	direct := func(kind, typ string) monitoringv1.Rule {
		return record(RecordWorkloadPod,
			fmt.Sprintf(`max by (namespace, workload, pod) (label_replace(kube_pod_owner{owner_kind=%q}, "workload", "$1", "owner_name", "(.*)"))`, kind),
			map[string]string{"workload_type": typ})
	}
	deployment := record(RecordWorkloadPod,
		`max by (namespace, workload, pod) (label_replace(`+
			`label_replace(kube_pod_owner{owner_kind="ReplicaSet"}, "replicaset", "$1", "owner_name", "(.*)") `+
			`* on (namespace, replicaset) group_left (owner_name) `+
			`topk by (namespace, replicaset) (1, max by (namespace, replicaset, owner_name) (kube_replicaset_owner{owner_kind="Deployment"})), `+
			`"workload", "$1", "owner_name", "(.*)"))`,
		map[string]string{"workload_type": "deployment"})
	return monitoringv1.RuleGroup{Name: "k8s.rules.pod_owner", Rules: []monitoringv1.Rule{
		deployment,
		direct("DaemonSet", "daemonset"),
		direct("StatefulSet", "statefulset"),
		direct("Job", "job"),
	}}
}

// nodeRecords are the USE figures of each node (instance is the node name,
// see package nodeexporter).
func nodeRecords(job string) monitoringv1.RuleGroup {
	notLo := job + `,device!="lo"`
	disk := fmt.Sprintf(`%s,device=~%q`, job, diskDevices)
	return monitoringv1.RuleGroup{Name: "node-exporter.rules", Rules: []monitoringv1.Rule{
		record(RecordNodeCPUs, `count without (cpu, mode) (node_cpu_seconds_total{`+job+`,mode="idle"})`, nil),
		// Idle, waiting for I/O and stolen by the hypervisor are time the
		// node's own work did not get.
		record(RecordNodeCPUUtilisation, `1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{`+job+`,mode=~"idle|iowait|steal"}[5m])))`, nil),
		record(RecordNodeLoadPerCPU, `node_load1{`+job+`} / `+RecordNodeCPUs+`{`+job+`}`, nil),
		record(RecordNodeMemUtilisation, `1 - node_memory_MemAvailable_bytes{`+job+`} / node_memory_MemTotal_bytes{`+job+`}`, nil),
		record(RecordNodeMajorFaults, `rate(node_vmstat_pgmajfault{`+job+`}[5m])`, nil),
		record(RecordNodeDiskIOTime, `rate(node_disk_io_time_seconds_total{`+disk+`}[5m])`, nil),
		record(RecordNodeDiskIOWeighted, `rate(node_disk_io_time_weighted_seconds_total{`+disk+`}[5m])`, nil),
		record(RecordNodeNetReceive, `sum without (device) (rate(node_network_receive_bytes_total{`+notLo+`}[5m]))`, nil),
		record(RecordNodeNetTransmit, `sum without (device) (rate(node_network_transmit_bytes_total{`+notLo+`}[5m]))`, nil),
		record(RecordNodeNetReceiveDrop, `sum without (device) (rate(node_network_receive_drop_total{`+notLo+`}[5m]))`, nil),
		record(RecordNodeNetTransmitDrop, `sum without (device) (rate(node_network_transmit_drop_total{`+notLo+`}[5m]))`, nil),
	}}
}
