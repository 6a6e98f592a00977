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
	k8s := []monitoringv1.RuleGroup{kubeletRules(), kubernetesResources(e.Monitoring.KubeStateMetrics.Enabled)}
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
