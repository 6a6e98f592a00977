package rules

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/intstr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
)

// Named is one default PrometheusRule: its object name and rule groups.
type Named struct {
	Name   string
	Groups []monitoringv1.RuleGroup
}

// alert is one default alerting rule. area is the runbook section its name
// is documented under at RunbookBase.
type alert struct {
	name, expr, dur, severity, summary, description, area string
}

func (a alert) rule() monitoringv1.Rule {
	r := monitoringv1.Rule{
		Alert:  a.name,
		Expr:   intstr.FromString(a.expr),
		Labels: map[string]string{"severity": a.severity},
		Annotations: map[string]string{
			"summary":     a.summary,
			"description": a.description,
			"runbook_url": RunbookBase + "/" + a.area + "/" + strings.ToLower(a.name),
		},
	}
	if a.dur != "" {
		r.For = ptr(monitoringv1.Duration(a.dur))
	}
	return r
}

func group(name string, alerts ...alert) monitoringv1.RuleGroup {
	g := monitoringv1.RuleGroup{Name: name}
	for _, a := range alerts {
		g.Rules = append(g.Rules, a.rule())
	}
	return g
}

// sel is the label matcher of one scrape job of the monitoring namespace.
func sel(job, ns string) string { return fmt.Sprintf(`job=%q,namespace=%q`, job, ns) }

// Defaults returns Vigil's default rules for e, one PrometheusRule per
// component. The kube-state-metrics alerts are left out when
// kube-state-metrics is disabled, since they could never fire.
func Defaults(e *env.Environment) []Named {
	ns := e.Monitoring.Namespace
	out := []Named{
		{"general-rules", []monitoringv1.RuleGroup{general()}},
		{prometheus.ServiceName + "-rules", []monitoringv1.RuleGroup{prometheusRules(sel(prometheus.ServiceName, ns))}},
		{alertmanager.ServiceName + "-rules", []monitoringv1.RuleGroup{alertmanagerRules(sel(alertmanager.ServiceName, ns))}},
		{prometheusoperator.Name + "-rules", []monitoringv1.RuleGroup{operatorRules(sel(prometheusoperator.Name, ns)), configReloaderRules(ns)}},
	}
	k8s := []monitoringv1.RuleGroup{kubeletRules(), kubernetesResources(e.Monitoring.KubeStateMetrics.Enabled)}
	if e.Monitoring.KubeStateMetrics.Enabled {
		k8s = append(k8s, kubernetesApps(), kubernetesSystem(), kubernetesStorage())
	}
	out = append(out, Named{"kubernetes-rules", k8s})
	if rec := records(e); len(rec) > 0 {
		out = append(out, Named{RecordsName, rec})
	}
	return out
}

func general() monitoringv1.RuleGroup {
	return group("general",
		alert{
			name:        "TargetDown",
			expr:        `100 * (count by (job, namespace, service) (up == 0) / count by (job, namespace, service) (up)) > 10`,
			dur:         "10m",
			severity:    "warning",
			summary:     "One or more targets are unreachable.",
			description: `{{ printf "%.4g" $value }}% of the {{ $labels.job }}/{{ $labels.service }} targets in namespace {{ $labels.namespace }} are down.`,
			area:        "general",
		},
		alert{
			name:     "Watchdog",
			expr:     `vector(1)`,
			severity: "none",
			summary:  "An alert that always fires, to prove the alerting pipeline works.",
			description: "This alert always fires. An external dead man's switch can watch for it and page when it stops arriving; " +
				"Alertmanager routes it to the null receiver, so it never reaches a channel.",
			area: "general",
		},
		alert{
			name: "InfoInhibitor",
			expr: `group by (namespace) (ALERTS{severity="info"} == 1) unless on (namespace) ` +
				`group by (namespace) (ALERTS{alertname!="InfoInhibitor",alertstate="firing",severity=~"warning|critical"} == 1)`,
			severity: "none",
			summary:  "Info-level alert inhibition.",
			description: "Fires for a namespace with info alerts and nothing worse; Alertmanager uses it to silence those info alerts, " +
				"which matter only next to a warning or critical alert.",
			area: "general",
		},
	)
}

func prometheusRules(s string) monitoringv1.RuleGroup {
	return group("prometheus",
		alert{
			name:        "PrometheusBadConfig",
			expr:        `max_over_time(prometheus_config_last_reload_successful{` + s + `}[5m]) == 0`,
			dur:         "10m",
			severity:    "critical",
			summary:     "Failed Prometheus configuration reload.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to reload its configuration.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusRuleFailures",
			expr:        `increase(prometheus_rule_evaluation_failures_total{` + s + `}[5m]) > 0`,
			dur:         "15m",
			severity:    "critical",
			summary:     "Prometheus is failing rule evaluations.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to evaluate {{ printf "%.0f" $value }} rules in the last 5m.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusMissingRuleEvaluations",
			expr:        `increase(prometheus_rule_group_iterations_missed_total{` + s + `}[5m]) > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Prometheus is missing rule evaluations due to slow rule group evaluation.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has missed {{ printf "%.0f" $value }} rule group evaluations in the last 5m.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusTSDBCompactionsFailing",
			expr:        `increase(prometheus_tsdb_compactions_failed_total{` + s + `}[3h]) > 0`,
			dur:         "4h",
			severity:    "warning",
			summary:     "Prometheus has issues compacting blocks.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has detected {{ $value | humanize }} compaction failures over the last 3h.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusTSDBReloadsFailing",
			expr:        `increase(prometheus_tsdb_reloads_failures_total{` + s + `}[3h]) > 0`,
			dur:         "4h",
			severity:    "warning",
			summary:     "Prometheus has issues reloading blocks from disk.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has detected {{ $value | humanize }} reload failures over the last 3h.`,
			area:        "prometheus",
		},
		alert{
			name: "PrometheusNotificationQueueRunningFull",
			expr: `predict_linear(prometheus_notifications_queue_length{` + s + `}[5m], 60 * 30) ` +
				`> min_over_time(prometheus_notifications_queue_capacity{` + s + `}[5m])`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Prometheus alert notification queue predicted to run full in less than 30m.",
			description: `Alert notification queue of Prometheus {{ $labels.namespace }}/{{ $labels.pod }} is running full.`,
			area:        "prometheus",
		},
		alert{
			name: "PrometheusErrorSendingAlertsToAnyAlertmanager",
			expr: `min without (alertmanager) (rate(prometheus_notifications_errors_total{` + s + `}[5m]) ` +
				`/ rate(prometheus_notifications_sent_total{` + s + `}[5m])) * 100 > 3`,
			dur:         "15m",
			severity:    "critical",
			summary:     "Prometheus encounters more than 3% errors sending alerts to any Alertmanager.",
			description: `{{ printf "%.1f" $value }}% minimum errors while sending alerts from Prometheus {{ $labels.namespace }}/{{ $labels.pod }} to any Alertmanager.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusNotConnectedToAlertmanagers",
			expr:        `max_over_time(prometheus_notifications_alertmanagers_discovered{` + s + `}[5m]) < 1`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Prometheus is not connected to any Alertmanagers.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} is not connected to any Alertmanagers.`,
			area:        "prometheus",
		},
		alert{
			name: "PrometheusErrorSendingAlertsToSomeAlertmanagers",
			expr: `rate(prometheus_notifications_errors_total{` + s + `}[5m]) ` +
				`/ rate(prometheus_notifications_sent_total{` + s + `}[5m]) * 100 > 1`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Prometheus fails to send more than 1% of its alerts to an Alertmanager.",
			description: `{{ printf "%.1f" $value }}% of the alerts Prometheus {{ $labels.namespace }}/{{ $labels.pod }} sends to {{ $labels.alertmanager }} fail.`,
			area:        "prometheus",
		},
		// Discovery failures leave the target list stale: new pods go
		// unscraped without any target being reported down.
		alert{
			name:        "PrometheusSDRefreshFailure",
			expr:        `increase(prometheus_sd_refresh_failures_total{` + s + `}[10m]) > 0`,
			dur:         "20m",
			severity:    "warning",
			summary:     "Prometheus fails to refresh a service discovery.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has failed to refresh the {{ $labels.mechanism }} service discovery for 20 minutes.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusKubernetesListWatchFailures",
			expr:        `increase(prometheus_sd_kubernetes_failures_total{` + s + `}[5m]) > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Prometheus's Kubernetes service discovery fails to list or watch objects.",
			description: `Kubernetes service discovery of Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has had {{ printf "%.0f" $value }} list/watch failures in 5 minutes; check its RBAC and the API server.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusTargetSyncFailure",
			expr:        `increase(prometheus_target_sync_failed_total{` + s + `}[30m]) > 0`,
			dur:         "5m",
			severity:    "critical",
			summary:     "Prometheus cannot turn discovered targets into scrapes.",
			description: `{{ printf "%.0f" $value }} target syncs of scrape job {{ $labels.scrape_job }} failed in Prometheus {{ $labels.namespace }}/{{ $labels.pod }} in 30 minutes: its scrape configuration is invalid.`,
			area:        "prometheus",
		},
		// Targets exist but nothing reaches the head block: scrapes and
		// rules are not being stored.
		alert{
			name: "PrometheusNotIngestingSamples",
			expr: `sum by (namespace, pod) (rate(prometheus_tsdb_head_samples_appended_total{` + s + `}[5m])) <= 0 ` +
				`and on (namespace, pod) sum by (namespace, pod) (prometheus_target_scrape_pool_targets{` + s + `}) > 0`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Prometheus is not ingesting samples.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} has targets but has stored no sample for 10 minutes.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusDuplicateTimestamps",
			expr:        `rate(prometheus_target_scrapes_sample_duplicate_timestamp_total{` + s + `}[5m]) > 0`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Prometheus is dropping samples with duplicate timestamps.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} drops {{ printf "%.4g" $value }} samples/s that repeat a timestamp with another value: a target exposes one series twice.`,
			area:        "prometheus",
		},
		alert{
			name:        "PrometheusOutOfOrderTimestamps",
			expr:        `rate(prometheus_target_scrapes_sample_out_of_order_total{` + s + `}[5m]) > 0`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Prometheus drops samples with out-of-order timestamps.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} drops {{ printf "%.4g" $value }} samples/s that are older than the newest of their series.`,
			area:        "prometheus",
		},
		alert{
			name: "PrometheusHighQueryLoad",
			expr: `avg_over_time(prometheus_engine_queries{` + s + `}[5m]) ` +
				`/ max_over_time(prometheus_engine_queries_concurrent_max{` + s + `}[5m]) > 0.8`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Prometheus is close to its concurrent query limit.",
			description: `Prometheus {{ $labels.namespace }}/{{ $labels.pod }} runs {{ $value | humanizePercentage }} of the queries it may run at once; further queries queue and dashboards slow down.`,
			area:        "prometheus",
		},
	)
}

func alertmanagerRules(s string) monitoringv1.RuleGroup {
	web := s + fmt.Sprintf(`,endpoint=%q`, alertmanager.WebPortName)
	return group("alertmanager",
		alert{
			name:        "AlertmanagerFailedReload",
			expr:        `max_over_time(alertmanager_config_last_reload_successful{` + s + `}[5m]) == 0`,
			dur:         "10m",
			severity:    "critical",
			summary:     "Reloading an Alertmanager configuration has failed.",
			description: `Configuration has failed to load for {{ $labels.namespace }}/{{ $labels.pod }}.`,
			area:        "alertmanager",
		},
		alert{
			name: "AlertmanagerFailedToSendAlerts",
			expr: `rate(alertmanager_notifications_failed_total{` + s + `}[15m]) ` +
				`/ ignoring (reason) group_left () rate(alertmanager_notifications_total{` + s + `}[15m]) > 0.01`,
			dur:         "5m",
			severity:    "warning",
			summary:     "An Alertmanager instance failed to send notifications.",
			description: `Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} failed to send {{ $value | humanizePercentage }} of notifications to {{ $labels.integration }}.`,
			area:        "alertmanager",
		},
		alert{
			name: "AlertmanagerMembersInconsistent",
			expr: `max_over_time(alertmanager_cluster_members{` + s + `}[5m]) ` +
				`< on (namespace, service) group_left () count by (namespace, service) (max_over_time(alertmanager_cluster_members{` + s + `}[5m]))`,
			dur:         "15m",
			severity:    "critical",
			summary:     "A member of an Alertmanager cluster has not found all other cluster members.",
			description: `Alertmanager {{ $labels.namespace }}/{{ $labels.pod }} has only found {{ $value }} members of the {{ $labels.service }} cluster.`,
			area:        "alertmanager",
		},
		// The cluster-wide view: when every replica fails for an
		// integration, no notification of that kind gets out at all.
		alert{
			name: "AlertmanagerClusterFailedToSendAlerts",
			expr: `min by (namespace, service, integration) (rate(alertmanager_notifications_failed_total{` + s + `}[15m]) ` +
				`/ ignoring (reason) group_left () rate(alertmanager_notifications_total{` + s + `}[15m])) > 0.01`,
			dur:         "5m",
			severity:    "critical",
			summary:     "Every Alertmanager of a cluster fails to send notifications.",
			description: `The minimum notification failure rate to {{ $labels.integration }} across the {{ $labels.namespace }}/{{ $labels.service }} cluster is {{ $value | humanizePercentage }}.`,
			area:        "alertmanager",
		},
		// Replicas with different configurations route the same alert
		// differently, depending on which one receives it.
		alert{
			name:        "AlertmanagerConfigInconsistent",
			expr:        `count by (namespace, service) (count_values by (namespace, service) ("config_hash", alertmanager_config_hash{` + s + `})) != 1`,
			dur:         "20m",
			severity:    "critical",
			summary:     "Alertmanager replicas run different configurations.",
			description: `The Alertmanagers of {{ $labels.namespace }}/{{ $labels.service }} have had {{ $value }} different configurations for 20 minutes.`,
			area:        "alertmanager",
		},
		// Only the web endpoint counts: the reloader sidecar is scraped
		// under the same job and lives on while Alertmanager crashes.
		alert{
			name:        "AlertmanagerClusterDown",
			expr:        `avg by (namespace, service) (max_over_time(up{` + web + `}[5m])) < 0.5`,
			dur:         "5m",
			severity:    "critical",
			summary:     "Half or more of the Alertmanagers of a cluster are down.",
			description: `Only {{ $value | humanizePercentage }} of the {{ $labels.namespace }}/{{ $labels.service }} Alertmanagers have been up in the last 5 minutes.`,
			area:        "alertmanager",
		},
		alert{
			name: "AlertmanagerClusterCrashlooping",
			expr: `count by (namespace, service) (changes(process_start_time_seconds{` + web + `}[10m]) > 4) ` +
				`/ count by (namespace, service) (up{` + web + `}) >= 0.5`,
			dur:         "5m",
			severity:    "critical",
			summary:     "Half or more of the Alertmanagers of a cluster are crash looping.",
			description: `{{ $value | humanizePercentage }} of the {{ $labels.namespace }}/{{ $labels.service }} Alertmanagers restarted more than 4 times in 10 minutes.`,
			area:        "alertmanager",
		},
	)
}

func operatorRules(s string) monitoringv1.RuleGroup {
	return group("prometheus-operator",
		alert{
			name: "PrometheusOperatorReconcileErrors",
			expr: `sum by (controller, namespace) (rate(prometheus_operator_reconcile_errors_total{` + s + `}[5m])) ` +
				`/ sum by (controller, namespace) (rate(prometheus_operator_reconcile_operations_total{` + s + `}[5m])) > 0.1`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Errors while reconciling objects.",
			description: `{{ $value | humanizePercentage }} of reconciling operations failed for the {{ $labels.controller }} controller in namespace {{ $labels.namespace }}.`,
			area:        "prometheus-operator",
		},
		alert{
			name:        "PrometheusOperatorSyncFailed",
			expr:        `min_over_time(prometheus_operator_syncs{status="failed",` + s + `}[5m]) > 0`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Last controller reconciliation failed.",
			description: `Controller {{ $labels.controller }} in namespace {{ $labels.namespace }} fails to reconcile {{ $value }} objects.`,
			area:        "prometheus-operator",
		},
		alert{
			name:        "PrometheusOperatorNotReady",
			expr:        `min by (controller, namespace) (max_over_time(prometheus_operator_ready{` + s + `}[5m]) == 0)`,
			dur:         "5m",
			severity:    "warning",
			summary:     "Prometheus Operator not ready.",
			description: `The Prometheus Operator in namespace {{ $labels.namespace }} isn't ready to reconcile {{ $labels.controller }} resources.`,
			area:        "prometheus-operator",
		},
		// A failing list or watch leaves the operator acting on a stale
		// view: new ServiceMonitors and rules are not picked up.
		alert{
			name: "PrometheusOperatorListErrors",
			expr: `sum by (controller, namespace) (rate(prometheus_operator_list_operations_failed_total{` + s + `}[10m])) ` +
				`/ sum by (controller, namespace) (rate(prometheus_operator_list_operations_total{` + s + `}[10m])) > 0.4`,
			dur:         "15m",
			severity:    "warning",
			summary:     "The Prometheus Operator fails to list objects.",
			description: `{{ $value | humanizePercentage }} of the list operations of the {{ $labels.controller }} controller in namespace {{ $labels.namespace }} fail.`,
			area:        "prometheus-operator",
		},
		alert{
			name: "PrometheusOperatorWatchErrors",
			expr: `sum by (controller, namespace) (rate(prometheus_operator_watch_operations_failed_total{` + s + `}[5m])) ` +
				`/ sum by (controller, namespace) (rate(prometheus_operator_watch_operations_total{` + s + `}[5m])) > 0.4`,
			dur:         "15m",
			severity:    "warning",
			summary:     "The Prometheus Operator fails to watch objects.",
			description: `{{ $value | humanizePercentage }} of the watch operations of the {{ $labels.controller }} controller in namespace {{ $labels.namespace }} fail.`,
			area:        "prometheus-operator",
		},
		alert{
			name: "PrometheusOperatorStatusUpdateErrors",
			expr: `sum by (controller, namespace) (rate(prometheus_operator_status_update_errors_total{` + s + `}[5m])) ` +
				`/ sum by (controller, namespace) (rate(prometheus_operator_status_update_operations_total{` + s + `}[5m])) > 0.1`,
			dur:         "10m",
			severity:    "warning",
			summary:     "The Prometheus Operator fails to update object status.",
			description: `{{ $value | humanizePercentage }} of the status updates of the {{ $labels.controller }} controller in namespace {{ $labels.namespace }} fail, so kubectl shows stale conditions.`,
			area:        "prometheus-operator",
		},
		// The kubelet Endpoints the operator maintains (the kubelet scrape)
		// need every node's address.
		alert{
			name:        "PrometheusOperatorNodeLookupErrors",
			expr:        `rate(prometheus_operator_node_address_lookup_errors_total{` + s + `}[5m]) > 0.1`,
			dur:         "10m",
			severity:    "warning",
			summary:     "The Prometheus Operator cannot find node addresses.",
			description: `The Prometheus Operator in namespace {{ $labels.namespace }} fails to look up node addresses, so kubelets may go unscraped.`,
			area:        "prometheus-operator",
		},
		alert{
			name:        "PrometheusOperatorRejectedResources",
			expr:        `min_over_time(prometheus_operator_managed_resources{state="rejected",` + s + `}[5m]) > 0`,
			dur:         "5m",
			severity:    "warning",
			summary:     "The Prometheus Operator rejects resources.",
			description: `The {{ $labels.controller }} controller in namespace {{ $labels.namespace }} rejects {{ printf "%.0f" $value }} {{ $labels.resource }}: they are invalid and ignored; the operator's log says why.`,
			area:        "prometheus-operator",
		},
	)
}

// configReloaderRules watch the config-reloader sidecars of Prometheus and
// Alertmanager, scraped on their reloader-web ports under their owners'
// jobs: a failing reloader leaves new rules and routes unapplied.
func configReloaderRules(ns string) monitoringv1.RuleGroup {
	s := fmt.Sprintf(`job=~%q,namespace=%q`, prometheus.ServiceName+"|"+alertmanager.ServiceName, ns)
	return group("config-reloaders",
		alert{
			name:        "ConfigReloaderSidecarErrors",
			expr:        `max_over_time(reloader_last_reload_successful{` + s + `}[5m]) == 0`,
			dur:         "10m",
			severity:    "warning",
			summary:     "A config-reloader sidecar fails to reload its configuration.",
			description: `The config-reloader of {{ $labels.namespace }}/{{ $labels.pod }} has failed to apply configuration changes for 10 minutes; its container log says why.`,
			area:        "prometheus-operator",
		},
	)
}

// kubeletRules need only the kubelet scrape, which the operator package
// always sets up.
func kubeletRules() monitoringv1.RuleGroup {
	k := fmt.Sprintf(`job=%q`, prometheusoperator.KubeletJob)
	free := `kubelet_volume_stats_available_bytes{` + k + `} / kubelet_volume_stats_capacity_bytes{` + k + `}`
	freeInodes := `kubelet_volume_stats_inodes_free{` + k + `} / kubelet_volume_stats_inodes{` + k + `}`
	return group("kubelet",
		alert{
			name:        "KubeletDown",
			expr:        `absent(up{` + k + `,metrics_path="/metrics"} == 1)`,
			dur:         "15m",
			severity:    "critical",
			summary:     "Target disappeared from Prometheus target discovery.",
			description: "Kubelet has disappeared from Prometheus target discovery.",
			area:        "kubernetes",
		},
		alert{
			name:        "KubePersistentVolumeFillingUp",
			expr:        `(` + free + `) < 0.03 and kubelet_volume_stats_used_bytes{` + k + `} > 0`,
			dur:         "1m",
			severity:    "critical",
			summary:     "PersistentVolume is filling up.",
			description: `The PersistentVolume claimed by {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} is only {{ $value | humanizePercentage }} free.`,
			area:        "kubernetes",
		},
		alert{
			name: "KubePersistentVolumeFillingUp",
			expr: `(` + free + `) < 0.15 and kubelet_volume_stats_used_bytes{` + k + `} > 0 ` +
				`and predict_linear(kubelet_volume_stats_available_bytes{` + k + `}[6h], 4 * 24 * 3600) < 0`,
			dur:         "1h",
			severity:    "warning",
			summary:     "PersistentVolume is filling up.",
			description: `Based on recent sampling, the PersistentVolume claimed by {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} is expected to fill up within four days. Currently {{ $value | humanizePercentage }} is available.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubePersistentVolumeInodesFillingUp",
			expr:        `(` + freeInodes + `) < 0.03 and kubelet_volume_stats_inodes_used{` + k + `} > 0`,
			dur:         "1m",
			severity:    "critical",
			summary:     "PersistentVolumeInodes are filling up.",
			description: `The PersistentVolume claimed by {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} only has {{ $value | humanizePercentage }} free inodes.`,
			area:        "kubernetes",
		},
		alert{
			name: "KubePersistentVolumeInodesFillingUp",
			expr: `(` + freeInodes + `) < 0.15 and kubelet_volume_stats_inodes_used{` + k + `} > 0 ` +
				`and predict_linear(kubelet_volume_stats_inodes_free{` + k + `}[6h], 4 * 24 * 3600) < 0`,
			dur:         "1h",
			severity:    "warning",
			summary:     "PersistentVolumeInodes are filling up.",
			description: `Based on recent sampling, the PersistentVolume claimed by {{ $labels.persistentvolumeclaim }} in namespace {{ $labels.namespace }} is expected to run out of inodes within four days. Currently {{ $value | humanizePercentage }} of its inodes are free.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletInstanceUnreachable",
			expr:        `up{` + k + `,metrics_path="/metrics"} == 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "A kubelet cannot be scraped.",
			description: `The kubelet on {{ $labels.node }} ({{ $labels.instance }}) has been unreachable for 15 minutes: its node's pods and volumes are not monitored.`,
			area:        "kubernetes",
		},
		// PLEG relists every container on the node; when one relist takes
		// seconds the kubelet marks the node NotReady.
		alert{
			name: "KubeletPlegDurationHigh",
			expr: `histogram_quantile(0.99, sum by (instance, node, le) ` +
				`(rate(kubelet_pleg_relist_duration_seconds_bucket{` + k + `}[5m]))) >= 10`,
			dur:         "5m",
			severity:    "warning",
			summary:     "The kubelet's pod lifecycle event generator is slow.",
			description: `The 99th percentile PLEG relist on {{ $labels.node }} ({{ $labels.instance }}) takes {{ $value | humanizeDuration }}; the container runtime is overloaded.`,
			area:        "kubernetes",
		},
		// The SLI duration leaves out image pulls, so a large image does
		// not make a healthy node look slow.
		alert{
			name: "KubeletPodStartUpLatencyHigh",
			expr: `histogram_quantile(0.99, sum by (instance, node, le) ` +
				`(rate(kubelet_pod_start_sli_duration_seconds_bucket{` + k + `}[5m]))) > 60`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Pods take long to start on a node.",
			description: `The 99th percentile pod start-up on {{ $labels.node }} ({{ $labels.instance }}), image pulls excluded, takes {{ $value | humanizeDuration }}.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletClientCertificateExpiration",
			expr:        `kubelet_certificate_manager_client_ttl_seconds{` + k + `} < 7 * 86400`,
			severity:    "warning",
			summary:     "A kubelet client certificate expires within a week.",
			description: `The client certificate of the kubelet on {{ $labels.node }} ({{ $labels.instance }}) expires in {{ $value | humanizeDuration }}; check its rotation.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletClientCertificateExpiration",
			expr:        `kubelet_certificate_manager_client_ttl_seconds{` + k + `} < 86400`,
			severity:    "critical",
			summary:     "A kubelet client certificate expires within a day.",
			description: `The client certificate of the kubelet on {{ $labels.node }} ({{ $labels.instance }}) expires in {{ $value | humanizeDuration }}; the node will lose its API access.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletServerCertificateExpiration",
			expr:        `kubelet_certificate_manager_server_ttl_seconds{` + k + `} < 7 * 86400`,
			severity:    "warning",
			summary:     "A kubelet server certificate expires within a week.",
			description: `The serving certificate of the kubelet on {{ $labels.node }} ({{ $labels.instance }}) expires in {{ $value | humanizeDuration }}; check its rotation.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletServerCertificateExpiration",
			expr:        `kubelet_certificate_manager_server_ttl_seconds{` + k + `} < 86400`,
			severity:    "critical",
			summary:     "A kubelet server certificate expires within a day.",
			description: `The serving certificate of the kubelet on {{ $labels.node }} ({{ $labels.instance }}) expires in {{ $value | humanizeDuration }}; scrapes, logs and exec will fail.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletClientCertificateRenewalErrors",
			expr:        `increase(kubelet_certificate_manager_client_expiration_renew_errors{` + k + `}[5m]) > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "A kubelet fails to renew its client certificate.",
			description: `The kubelet on {{ $labels.node }} ({{ $labels.instance }}) failed to renew its client certificate {{ printf "%.0f" $value }} times in 5 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeletServerCertificateRenewalErrors",
			expr:        `increase(kubelet_server_expiration_renew_errors{` + k + `}[5m]) > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "A kubelet fails to renew its server certificate.",
			description: `The kubelet on {{ $labels.node }} ({{ $labels.instance }}) failed to renew its serving certificate {{ printf "%.0f" $value }} times in 5 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeNodeEviction",
			expr:        `sum by (node, instance, eviction_signal) (increase(kubelet_evictions{` + k + `}[15m])) > 0`,
			severity:    "info",
			summary:     "A node is evicting pods.",
			description: `The kubelet on {{ $labels.node }} ({{ $labels.instance }}) evicted {{ printf "%.0f" $value }} pods in 15 minutes on {{ $labels.eviction_signal }}.`,
			area:        "kubernetes",
		},
		// client-go in every scraped Kubernetes component (the kubelets, and
		// the control plane where it is scraped) counts its API requests.
		alert{
			name: "KubeClientErrors",
			expr: `sum by (job, namespace, instance) (rate(rest_client_requests_total{code=~"5..|<error>"}[5m])) ` +
				`/ sum by (job, namespace, instance) (rate(rest_client_requests_total[5m])) > 0.01`,
			dur:         "15m",
			severity:    "warning",
			summary:     "A Kubernetes API client sees errors.",
			description: `{{ $value | humanizePercentage }} of the API requests of {{ $labels.job }} on {{ $labels.instance }} fail with a server or connection error.`,
			area:        "kubernetes",
		},
		// Versions are compared on major.minor: patch skew is normal
		// during a rolling upgrade.
		alert{
			name:        "KubeVersionMismatch",
			expr:        `count(count by (version) (label_replace(kubernetes_build_info, "version", "$1", "git_version", "v?([0-9]+[.][0-9]+).*"))) > 1`,
			dur:         "1h",
			severity:    "warning",
			summary:     "Kubernetes components run different minor versions.",
			description: `{{ $value }} different minor versions of Kubernetes components are running; finish the upgrade.`,
			area:        "kubernetes",
		},
	)
}

func kubernetesApps() monitoringv1.RuleGroup {
	return group("kubernetes-apps",
		alert{
			name:        "KubePodCrashLooping",
			expr:        `max_over_time(kube_pod_container_status_waiting_reason{reason="CrashLoopBackOff"}[5m]) >= 1`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Pod is crash looping.",
			description: `Pod {{ $labels.namespace }}/{{ $labels.pod }} ({{ $labels.container }}) is in waiting state (reason: "CrashLoopBackOff").`,
			area:        "kubernetes",
		},
		alert{
			name: "KubeDeploymentReplicasMismatch",
			expr: `(kube_deployment_spec_replicas > kube_deployment_status_replicas_available) ` +
				`and (changes(kube_deployment_status_replicas_updated[10m]) == 0)`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Deployment has not matched the expected number of replicas.",
			description: `Deployment {{ $labels.namespace }}/{{ $labels.deployment }} has not matched the expected number of replicas for longer than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name: "KubeStatefulSetReplicasMismatch",
			expr: `(kube_statefulset_status_replicas_ready != kube_statefulset_status_replicas) ` +
				`and (changes(kube_statefulset_status_replicas_updated[10m]) == 0)`,
			dur:         "15m",
			severity:    "warning",
			summary:     "StatefulSet has not matched the expected number of replicas.",
			description: `StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} has not matched the expected number of replicas for longer than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name: "KubePodNotReady",
			// Job pods are left out: a Job's pod waits for its turn or
			// fails on purpose, and KubeJobFailed and KubeJobNotCompleted
			// watch Jobs.
			expr: `max by (namespace, pod) (kube_pod_status_phase{phase=~"Pending|Unknown|Failed"}) > 0 ` +
				`unless on (namespace, pod) kube_pod_owner{owner_kind="Job"}`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Pod has been in a non-ready state for more than 15 minutes.",
			description: `Pod {{ $labels.namespace }}/{{ $labels.pod }} has been Pending, Unknown or Failed for longer than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name: "KubeContainerWaiting",
			// CrashLoopBackOff has KubePodCrashLooping, sooner.
			expr:        `max by (namespace, pod, container, reason) (kube_pod_container_status_waiting_reason{reason!="CrashLoopBackOff"}) > 0`,
			dur:         "1h",
			severity:    "warning",
			summary:     "Pod container waiting longer than 1 hour.",
			description: `Container {{ $labels.container }} of pod {{ $labels.namespace }}/{{ $labels.pod }} has been waiting ({{ $labels.reason }}) for longer than an hour.`,
			area:        "kubernetes",
		},
		alert{
			// The controller has not acted on the latest spec: typically a
			// rollback that failed, or a controller that is down.
			name:        "KubeDeploymentGenerationMismatch",
			expr:        `kube_deployment_status_observed_generation != kube_deployment_metadata_generation`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Deployment generation mismatch due to possible roll-back.",
			description: `Deployment generation for {{ $labels.namespace }}/{{ $labels.deployment }} does not match; this indicates that the Deployment has failed but has not been rolled back.`,
			area:        "kubernetes",
		},
		alert{
			// Progressing=False is what the controller sets when
			// progressDeadlineSeconds passes without progress.
			name:        "KubeDeploymentRolloutStuck",
			expr:        `kube_deployment_status_condition{condition="Progressing",status="false"} != 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Deployment rollout is not progressing.",
			description: `Rollout of deployment {{ $labels.namespace }}/{{ $labels.deployment }} is not progressing for longer than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeStatefulSetGenerationMismatch",
			expr:        `kube_statefulset_status_observed_generation != kube_statefulset_metadata_generation`,
			dur:         "15m",
			severity:    "warning",
			summary:     "StatefulSet generation mismatch due to possible roll-back.",
			description: `StatefulSet generation for {{ $labels.namespace }}/{{ $labels.statefulset }} does not match; this indicates that the StatefulSet has failed but has not been rolled back.`,
			area:        "kubernetes",
		},
		alert{
			// An update is pending (the current and update revisions
			// differ), pods are not all at the update revision, and none
			// has moved to it for 5 minutes.
			name: "KubeStatefulSetUpdateNotRolledOut",
			expr: `(max by (namespace, statefulset) (kube_statefulset_status_current_revision ` +
				`unless on (namespace, statefulset, revision) kube_statefulset_status_update_revision) ` +
				`and on (namespace, statefulset) (kube_statefulset_replicas != kube_statefulset_status_replicas_updated)) ` +
				`unless on (namespace, statefulset) (changes(kube_statefulset_status_replicas_updated[5m]) > 0)`,
			dur:         "15m",
			severity:    "warning",
			summary:     "StatefulSet update has not been rolled out.",
			description: `StatefulSet {{ $labels.namespace }}/{{ $labels.statefulset }} update has not been rolled out.`,
			area:        "kubernetes",
		},
		alert{
			// Any of: pods missing, pods where they must not run, pods on
			// an old template, pods not available; and no pod updated for
			// 5 minutes.
			name: "KubeDaemonSetRolloutStuck",
			expr: `(kube_daemonset_status_current_number_scheduled != kube_daemonset_status_desired_number_scheduled ` +
				`or kube_daemonset_status_number_misscheduled != 0 ` +
				`or kube_daemonset_status_updated_number_scheduled != kube_daemonset_status_desired_number_scheduled ` +
				`or kube_daemonset_status_number_available != kube_daemonset_status_desired_number_scheduled) ` +
				`unless (changes(kube_daemonset_status_updated_number_scheduled[5m]) > 0)`,
			dur:         "15m",
			severity:    "warning",
			summary:     "DaemonSet rollout is stuck.",
			description: `DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} has not finished or progressed for at least 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeDaemonSetNotScheduled",
			expr:        `kube_daemonset_status_desired_number_scheduled - kube_daemonset_status_current_number_scheduled > 0`,
			dur:         "10m",
			severity:    "warning",
			summary:     "DaemonSet pods are not scheduled.",
			description: `{{ $value }} pods of DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} are not scheduled.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeDaemonSetMisScheduled",
			expr:        `kube_daemonset_status_number_misscheduled > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "DaemonSet pods are misscheduled.",
			description: `{{ $value }} pods of DaemonSet {{ $labels.namespace }}/{{ $labels.daemonset }} are running where they are not supposed to run.`,
			area:        "kubernetes",
		},
		alert{
			// Only Jobs still running: a finished Job keeps its start time.
			name: "KubeJobNotCompleted",
			expr: `time() - max by (namespace, job_name) (kube_job_status_start_time ` +
				`and on (namespace, job_name) (kube_job_status_active > 0)) > 43200`,
			severity:    "warning",
			summary:     "Job did not complete in time.",
			description: `Job {{ $labels.namespace }}/{{ $labels.job_name }} is taking more than 12 hours to complete.`,
			area:        "kubernetes",
		},
		alert{
			// Only when the HPA wants a count it may have (within its
			// bounds) and the count has not moved for 15 minutes: the
			// workload cannot scale, e.g. for lack of capacity.
			name: "KubeHpaReplicasMismatch",
			expr: `(kube_horizontalpodautoscaler_status_desired_replicas != kube_horizontalpodautoscaler_status_current_replicas) ` +
				`and (kube_horizontalpodautoscaler_status_desired_replicas >= kube_horizontalpodautoscaler_spec_min_replicas) ` +
				`and (kube_horizontalpodautoscaler_status_desired_replicas <= kube_horizontalpodautoscaler_spec_max_replicas) ` +
				`unless (changes(kube_horizontalpodautoscaler_status_current_replicas[15m]) > 0)`,
			dur:         "15m",
			severity:    "warning",
			summary:     "HPA has not matched desired number of replicas.",
			description: `HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has not matched the desired number of replicas for longer than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			// An HPA whose minimum is its maximum is a fixed size by
			// choice, always "maxed out": not worth an alert.
			name: "KubeHpaMaxedOut",
			expr: `kube_horizontalpodautoscaler_status_current_replicas >= kube_horizontalpodautoscaler_spec_max_replicas ` +
				`and kube_horizontalpodautoscaler_spec_max_replicas > kube_horizontalpodautoscaler_spec_min_replicas`,
			dur:         "15m",
			severity:    "warning",
			summary:     "HPA is running at max replicas.",
			description: `HPA {{ $labels.namespace }}/{{ $labels.horizontalpodautoscaler }} has been running at max replicas for longer than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubePdbNotEnoughHealthyPods",
			expr:        `kube_poddisruptionbudget_status_desired_healthy - kube_poddisruptionbudget_status_current_healthy > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "PodDisruptionBudget has not enough healthy pods.",
			description: `PDB {{ $labels.namespace }}/{{ $labels.poddisruptionbudget }} expects {{ $value }} more healthy pods: voluntary evictions (node drains) are blocked.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeJobFailed",
			expr:        `kube_job_failed > 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Job failed to complete.",
			description: `Job {{ $labels.namespace }}/{{ $labels.job_name }} failed to complete. Removing the failed job after investigation clears this alert.`,
			area:        "kubernetes",
		},
	)
}

func kubernetesSystem() monitoringv1.RuleGroup {
	return group("kubernetes-system",
		alert{
			name:        "KubeNodeNotReady",
			expr:        `kube_node_status_condition{condition="Ready",status="true"} == 0`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Node is not ready.",
			description: `{{ $labels.node }} has been unready for more than 15 minutes.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeNodeUnreachable",
			expr:        `max by (node) (kube_node_spec_taint{key="node.kubernetes.io/unreachable"}) == 1`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Node is unreachable.",
			description: `The node controller has not heard from {{ $labels.node }} and tainted it unreachable; its pods will be evicted.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeNodePressure",
			expr:        `kube_node_status_condition{condition=~"MemoryPressure|DiskPressure|PIDPressure",status="true"} == 1`,
			dur:         "10m",
			severity:    "warning",
			summary:     "Node is under resource pressure.",
			description: `{{ $labels.node }} has had {{ $labels.condition }} for 10 minutes; the kubelet evicts pods and refuses new ones.`,
			area:        "kubernetes",
		},
		alert{
			name:        "KubeNodeReadinessFlapping",
			expr:        `sum by (node) (changes(kube_node_status_condition{condition="Ready",status="true"}[15m])) > 2`,
			dur:         "15m",
			severity:    "warning",
			summary:     "Node readiness is flapping.",
			description: `{{ $labels.node }} changed its readiness {{ $value }} times in 15 minutes.`,
			area:        "kubernetes",
		},
		// Pending pods bound to a node count against its pod capacity as
		// much as running ones.
		alert{
			name: "KubeletTooManyPods",
			expr: `count by (node) ((kube_pod_status_phase{phase=~"Pending|Running"} == 1) * on (namespace, pod) group_left (node) kube_pod_info{node!=""}) ` +
				`/ on (node) max by (node) (kube_node_status_capacity{resource="pods"}) > 0.95`,
			dur:         "15m",
			severity:    "info",
			summary:     "Node is close to its pod capacity.",
			description: `{{ $labels.node }} runs {{ $value | humanizePercentage }} of the pods it can hold.`,
			area:        "kubernetes",
		},
	)
}

func kubernetesStorage() monitoringv1.RuleGroup {
	return group("kubernetes-storage",
		alert{
			name:        "KubePersistentVolumeErrors",
			expr:        `kube_persistentvolume_status_phase{phase=~"Failed|Pending"} > 0`,
			dur:         "5m",
			severity:    "critical",
			summary:     "PersistentVolume is having issues with provisioning.",
			description: `The persistent volume {{ $labels.persistentvolume }} has status {{ $labels.phase }}.`,
			area:        "kubernetes",
		},
	)
}
