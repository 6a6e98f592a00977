package rules

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/intstr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/prometheusoperator"
)

// Recording rules of the kubernetes-resources group. The names follow
// Prometheus's level:metric:operations convention, as kube-prometheus's do,
// so dashboards written against either read them.
const (
	// requestsCPU and requestsMemory are the requests of each namespace's
	// pods that hold (or wait for) node capacity: Pending and Running, not
	// Succeeded or Failed ones, whose requests no longer count.
	requestsCPU    = "namespace_cpu:kube_pod_container_resource_requests:sum"
	requestsMemory = "namespace_memory:kube_pod_container_resource_requests:sum"
)

// requestsRecord is the recording rule of requests of resource by
// namespace.
func requestsRecord(name, resource string) monitoringv1.Rule {
	return monitoringv1.Rule{
		Record: name,
		Expr: intstr.FromString(`sum by (namespace) (kube_pod_container_resource_requests{resource="` + resource + `"} ` +
			`* on (namespace, pod) group_left () max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Running"} == 1))`),
	}
}

// kubernetesResources alerts on capacity: CPU throttling (from cAdvisor, so
// always) and, with kube-state-metrics, requests and quotas beyond what the
// nodes can give and ResourceQuotas running full.
func kubernetesResources(ksm bool) monitoringv1.RuleGroup {
	cadvisor := fmt.Sprintf(`job=%q,metrics_path="/metrics/cadvisor"`, prometheusoperator.KubeletJob)
	alerts := []alert{{
		// The share of CFS periods in which the container hit its CPU
		// limit: latency suffers long before the CPU looks busy.
		name: "CPUThrottlingHigh",
		expr: `sum by (namespace, pod, container) (increase(container_cpu_cfs_throttled_periods_total{` + cadvisor + `,container!=""}[5m])) ` +
			`/ sum by (namespace, pod, container) (increase(container_cpu_cfs_periods_total{` + cadvisor + `,container!=""}[5m])) > 0.25`,
		dur:         "15m",
		severity:    "info",
		summary:     "Processes experience elevated CPU throttling.",
		description: `{{ $value | humanizePercentage }} throttling of CPU in namespace {{ $labels.namespace }} for container {{ $labels.container }} in pod {{ $labels.pod }}.`,
		area:        "kubernetes",
	}}
	if ksm {
		alerts = append(alerts, overcommit("CPU", "cpu", requestsCPU), overcommit("Memory", "memory", requestsMemory),
			quotaOvercommit("CPU", "cpu"), quotaOvercommit("Memory", "memory"),
			alert{
				name: "KubeQuotaAlmostFull",
				expr: `kube_resourcequota{type="used"} / ignoring (type) (kube_resourcequota{type="hard"} > 0) > 0.9 < 1`,
				dur:  "15m", severity: "info",
				summary:     "Namespace quota is going to be full.",
				description: `Namespace {{ $labels.namespace }} is using {{ $value | humanizePercentage }} of its {{ $labels.resource }} quota.`,
				area:        "kubernetes",
			},
			alert{
				name: "KubeQuotaFullyUsed",
				expr: `kube_resourcequota{type="used"} / ignoring (type) (kube_resourcequota{type="hard"} > 0) == 1`,
				dur:  "15m", severity: "info",
				summary:     "Namespace quota is fully used.",
				description: `Namespace {{ $labels.namespace }} is using {{ $value | humanizePercentage }} of its {{ $labels.resource }} quota: new objects that need more are refused.`,
				area:        "kubernetes",
			},
			alert{
				name: "KubeQuotaExceeded",
				expr: `kube_resourcequota{type="used"} / ignoring (type) (kube_resourcequota{type="hard"} > 0) > 1`,
				dur:  "15m", severity: "warning",
				summary:     "Namespace quota has exceeded the limits.",
				description: `Namespace {{ $labels.namespace }} is using {{ $value | humanizePercentage }} of its {{ $labels.resource }} quota (the quota was lowered below current use).`,
				area:        "kubernetes",
			},
		)
	}
	g := group("kubernetes-resources", alerts...)
	if ksm {
		g.Rules = append([]monitoringv1.Rule{requestsRecord(requestsCPU, "cpu"), requestsRecord(requestsMemory, "memory")}, g.Rules...)
	}
	return g
}

// overcommit fires when the pods' requests would not fit on the nodes
// left after losing the largest one. A one-node cluster cannot survive
// that by definition, so it is left out rather than alerting forever.
func overcommit(title, resource, record string) alert {
	alloc := `kube_node_status_allocatable{resource="` + resource + `"}`
	spare := `(sum(` + alloc + `) - max(` + alloc + `))`
	return alert{
		name:        "Kube" + title + "Overcommit",
		expr:        `sum(` + record + `) - ` + spare + ` > 0 and ` + spare + ` > 0`,
		dur:         "10m",
		severity:    "warning",
		summary:     "Cluster has overcommitted " + title + " resource requests.",
		description: "Cluster has overcommitted " + title + " resource requests for Pods by {{ $value | humanize }} and cannot tolerate node failure.",
		area:        "kubernetes",
	}
}

// quotaOvercommit fires when the namespaces' ResourceQuotas together allow
// requests of half again the nodes' capacity. A namespace's effective
// quota is its smallest: "cpu" and "requests.cpu" both limit requests.
func quotaOvercommit(title, resource string) alert {
	return alert{
		name: "Kube" + title + "QuotaOvercommit",
		expr: `sum(min by (namespace) (kube_resourcequota{type="hard",resource=~"` + resource + `|requests.` + resource + `"})) ` +
			`/ sum(kube_node_status_allocatable{resource="` + resource + `"}) > 1.5`,
		dur:         "5m",
		severity:    "warning",
		summary:     "Cluster has overcommitted " + title + " resource requests.",
		description: "Cluster has overcommitted " + title + " resource requests for Namespaces: their quotas allow {{ $value | humanizePercentage }} of the allocatable capacity.",
		area:        "kubernetes",
	}
}
