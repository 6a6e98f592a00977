package thanos

import (
	"fmt"

	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// RuleName and RemoteWriteRuleName are the PrometheusRules of this
// package (and the rule files their promtool tests name).
const (
	RuleName            = "thanos"
	RemoteWriteRuleName = "prometheus-remote-write"
)

type alert struct {
	name, expr, dur, severity, summary, description, runbook string
}

func (a alert) rule() monitoringv1.Rule {
	r := monitoringv1.Rule{
		Alert:       a.name,
		Expr:        intstr.FromString(a.expr),
		Labels:      map[string]string{"severity": a.severity},
		Annotations: map[string]string{"summary": a.summary, "description": a.description, "runbook_url": a.runbook},
	}
	if a.dur != "" {
		r.For = ptr.To(monitoringv1.Duration(a.dur))
	}
	return r
}

func promRule(name, ns string, g string, alerts ...alert) *monitoringv1.PrometheusRule {
	group := monitoringv1.RuleGroup{Name: g}
	for _, a := range alerts {
		group.Rules = append(group.Rules, a.rule())
	}
	return &monitoringv1.PrometheusRule{
		ObjectMeta: meta(name, ns, labels("rules")),
		Spec:       monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{group}},
	}
}

func sel(job, ns string) string { return fmt.Sprintf(`job=%q,namespace=%q`, job, ns) }

// expectedEndpoints is how many StoreAPIs a querier connects to when all is
// well: a sidecar per Prometheus replica, each store gateway replica and
// each observed environment (thanos_store_nodes_grpc_connections counts
// connections per external label set and store type).
func expectedEndpoints(e *env.Environment) int {
	t := e.Monitoring.Thanos
	return e.Monitoring.Prometheus.Replicas + t.StoreGateway.Replicas + len(t.Observe)
}

// rules are the Thanos alerts, on metrics of Thanos v0.42.4 (catalogue
// thanos.txt). A component that is down is TargetDown's.
func rules(e *env.Environment) *monitoringv1.PrometheusRule {
	ns := e.Monitoring.Namespace
	q := sel(QueryName, ns)
	return promRule(RuleName, ns, "thanos",
		alert{"ThanosCompactHalted",
			`thanos_compact_halted{` + sel(CompactName, ns) + `} == 1`, "5m", "critical",
			"The Thanos compactor has halted",
			"The compactor in {{ $labels.namespace }} stopped on an error it will not retry (overlapping or corrupt blocks): nothing is compacted, downsampled or deleted by retention, and the bucket grows. Read its log for the block and the reason.",
			stack.VigilRunbook("ThanosCompactHalted")},
		alert{"ThanosSidecarUploadsFailing",
			`sum by (namespace, pod) (increase(thanos_shipper_upload_failures_total{` + sel(SidecarService, ns) + `}[30m])) > 0`, "", "critical",
			"A Thanos sidecar cannot upload blocks",
			"The sidecar of {{ $labels.pod }} failed {{ $value | humanize }} block uploads in 30 minutes: its blocks reach the bucket late or, once Prometheus deletes them, never. Check the bucket, its credentials and the sidecar's log.",
			stack.VigilRunbook("ThanosSidecarUploadsFailing")},
		alert{"ThanosBucketOperationsFailing",
			`sum by (namespace, job, operation) (rate(thanos_objstore_bucket_operation_failures_total{namespace="` + ns + `"}[5m]))
  / sum by (namespace, job, operation) (rate(thanos_objstore_bucket_operations_total{namespace="` + ns + `"}[5m])) > 0.05`, "15m", "warning",
			"Thanos object storage operations fail",
			"{{ $value | humanizePercentage }} of {{ $labels.operation }} operations of {{ $labels.job }} against the bucket fail. Check the S3 endpoint, the bucket and the credentials.",
			stack.VigilRunbook("ThanosBucketOperationsFailing")},
		alert{"ThanosStoreBlockLoadsFailing",
			`sum by (namespace, pod) (increase(thanos_bucket_store_block_load_failures_total{` + sel(StoreName, ns) + `}[1h])) > 0`, "", "warning",
			"The Thanos store gateway cannot load blocks",
			"The store gateway {{ $labels.pod }} failed to load {{ $value | humanize }} blocks in an hour: queries over older data miss them. Check its log, its volume and the bucket.",
			stack.VigilRunbook("ThanosStoreBlockLoadsFailing")},
		alert{"ThanosQueryStoreEndpointsMissing",
			fmt.Sprintf(`(
  sum by (namespace, pod) (thanos_store_nodes_grpc_connections{%s})
  or sum by (namespace, pod) (up{%s} == 1) * 0
) < %d`, q, q, expectedEndpoints(e)), "15m", "warning",
			"The Thanos querier misses store endpoints",
			fmt.Sprintf("The querier {{ $labels.pod }} is connected to {{ $value }} StoreAPIs of the %d it is configured with (sidecars, store gateways, observed environments): its answers lack data. See its Stores page.", expectedEndpoints(e)),
			stack.VigilRunbook("ThanosQueryStoreEndpointsMissing")},
	)
}

// remoteWriteRules alert on the remote-write queues of Prometheus, with
// kube-prometheus's names and runbooks.
func remoteWriteRules(ns string) *monitoringv1.PrometheusRule {
	n := `namespace="` + ns + `"`
	return promRule(RemoteWriteRuleName, ns, "prometheus-remote-write",
		alert{"PrometheusRemoteStorageFailures",
			`(
  rate(prometheus_remote_storage_samples_failed_total{` + n + `}[5m])
/
  (rate(prometheus_remote_storage_samples_failed_total{` + n + `}[5m]) + rate(prometheus_remote_storage_samples_total{` + n + `}[5m]))
) * 100 > 1`, "15m", "critical",
			"Prometheus fails to send samples to remote storage",
			"{{ $labels.pod }} fails to send {{ $value | humanize }}% of its samples to {{ $labels.remote_name }} ({{ $labels.url }}).",
			stack.UpstreamRunbook("prometheus", "PrometheusRemoteStorageFailures")},
		alert{"PrometheusRemoteWriteBehind",
			`(
  max_over_time(prometheus_remote_storage_highest_timestamp_in_seconds{` + n + `}[5m])
- ignoring (remote_name, url) group_right
  max_over_time(prometheus_remote_storage_queue_highest_sent_timestamp_seconds{` + n + `}[5m])
) > 120`, "15m", "critical",
			"Prometheus remote write is behind",
			"{{ $labels.pod }} is {{ $value | humanize }}s behind in sending samples to {{ $labels.remote_name }} ({{ $labels.url }}).",
			stack.UpstreamRunbook("prometheus", "PrometheusRemoteWriteBehind")},
		alert{"PrometheusRemoteWriteDesiredShards",
			`max_over_time(prometheus_remote_storage_shards_desired{` + n + `}[5m])
> max_over_time(prometheus_remote_storage_shards_max{` + n + `}[5m])`, "15m", "warning",
			"Prometheus remote write wants more shards than it may run",
			"{{ $labels.pod }} would need {{ $value }} shards to keep up with {{ $labels.remote_name }} ({{ $labels.url }}), more than queue.maxShards allows: raise it, or drop series with writeRelabelConfigs.",
			stack.UpstreamRunbook("prometheus", "PrometheusRemoteWriteDesiredShards")},
	)
}
