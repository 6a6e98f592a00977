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
		{prometheusoperator.Name + "-rules", []monitoringv1.RuleGroup{operatorRules(sel(prometheusoperator.Name, ns))}},
	}
	k8s := []monitoringv1.RuleGroup{kubeletRules()}
	if e.Monitoring.KubeStateMetrics.Enabled {
		k8s = append(k8s, kubernetesApps(), kubernetesSystem(), kubernetesStorage())
	}
	out = append(out, Named{"kubernetes-rules", k8s})
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
	)
}

func alertmanagerRules(s string) monitoringv1.RuleGroup {
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
	)
}

// kubeletRules need only the kubelet scrape, which the operator package
// always sets up.
func kubeletRules() monitoringv1.RuleGroup {
	k := fmt.Sprintf(`job=%q`, prometheusoperator.KubeletJob)
	free := `kubelet_volume_stats_available_bytes{` + k + `} / kubelet_volume_stats_capacity_bytes{` + k + `}`
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
