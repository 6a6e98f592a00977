package pureexporter

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names of the PrometheusRules this package renders.
const (
	ArrayRulesName  = "pure-storage"
	VolumeRulesName = "persistent-volumes"
)

// Capacity thresholds, in percent used. Purity's own alerts start at 80%
// (warning) and 90%; a PersistentVolume on an array that is full fails
// every writer at once, so Vigil warns at 85 and pages at 95.
const (
	capacityWarning  = 85
	capacityCritical = 95
)

// alert is one alerting rule in short form.
type alert struct {
	name, expr, forDur, severity, summary, description string
}

func (a alert) rule() monitoringv1.Rule {
	d := monitoringv1.Duration(a.forDur)
	return monitoringv1.Rule{
		Alert:  a.name,
		Expr:   intstr.FromString(a.expr),
		For:    &d,
		Labels: map[string]string{"severity": a.severity},
		Annotations: map[string]string{
			"summary":     a.summary,
			"description": a.description,
			"runbook_url": stack.VigilRunbook(a.name),
		},
	}
}

func group(name string, alerts ...alert) monitoringv1.RuleGroup {
	g := monitoringv1.RuleGroup{Name: name}
	for _, a := range alerts {
		g.Rules = append(g.Rules, a.rule())
	}
	return g
}

func prometheusRule(e *env.Environment, name, component string, groups ...monitoringv1.RuleGroup) *monitoringv1.PrometheusRule {
	return &monitoringv1.PrometheusRule{
		ObjectMeta: metav1.ObjectMeta{
			Name:      name,
			Namespace: Namespace(e),
			Labels:    stack.Labels(component, "alert-rules", ""),
		},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: groups},
	}
}

// FlashBladeUsedPercent is the PromQL of the used capacity of each
// FlashBlade, in percent: the exporter's total_physical over capacity.
// matchers, if any, are added to both selectors (`instance=~"$array"`).
func FlashBladeUsedPercent(matchers string) string {
	return fmt.Sprintf(`100 * purefb_array_space_bytes{type="array",space="total_physical"%[1]s} / ignoring(space) purefb_array_space_bytes{type="array",space="capacity"%[1]s}`, extra(matchers))
}

// FlashArrayUsedPercent is the PromQL of the used capacity of each
// FlashArray, in percent. The `empty` space is capacity minus everything
// used (system, replication, shared, snapshots, unique), so its complement
// is what Purity shows as used.
func FlashArrayUsedPercent(matchers string) string {
	return fmt.Sprintf(`100 * (1 - purefa_array_space_bytes{space="empty"%[1]s} / ignoring(space) purefa_array_space_bytes{space="capacity"%[1]s})`, extra(matchers))
}

func extra(matchers string) string {
	if matchers == "" {
		return ""
	}
	return "," + matchers
}

var (
	fbUsedPercent = FlashBladeUsedPercent("")
	faUsedPercent = FlashArrayUsedPercent("")
)

// arrayRules alert on the capacity of the arrays and on their metrics
// going missing.
func arrayRules(e *env.Environment) *monitoringv1.PrometheusRule {
	var groups []monitoringv1.RuleGroup
	if len(e.PureExporter.FlashBlades) > 0 {
		groups = append(groups, group("pure-flashblade",
			alert{"PureFlashBladeCapacityHigh", fmt.Sprintf("%s > %d", fbUsedPercent, capacityWarning), "30m", "warning",
				"FlashBlade {{ $labels.instance }} is more than 85% full",
				"FlashBlade {{ $labels.instance }} uses {{ $value | printf \"%.1f\" }}% of its capacity. File systems and buckets on it (NFS volumes, Spark event logs, traces) stop accepting writes when it is full: free space or add blades."},
			alert{"PureFlashBladeCapacityCritical", fmt.Sprintf("%s > %d", fbUsedPercent, capacityCritical), "10m", "critical",
				"FlashBlade {{ $labels.instance }} is more than 95% full",
				"FlashBlade {{ $labels.instance }} uses {{ $value | printf \"%.1f\" }}% of its capacity; writes will fail soon."},
		))
	}
	if len(e.PureExporter.FlashArrays) > 0 {
		groups = append(groups, group("pure-flasharray",
			alert{"PureFlashArrayCapacityHigh", fmt.Sprintf("%s > %d", faUsedPercent, capacityWarning), "30m", "warning",
				"FlashArray {{ $labels.instance }} is more than 85% full",
				"FlashArray {{ $labels.instance }} uses {{ $value | printf \"%.1f\" }}% of its capacity. Block volumes on it (the Prometheus TSDB, Elasticsearch data) stop accepting writes when it is full: free space or expand the array."},
			alert{"PureFlashArrayCapacityCritical", fmt.Sprintf("%s > %d", faUsedPercent, capacityCritical), "10m", "critical",
				"FlashArray {{ $labels.instance }} is more than 95% full",
				"FlashArray {{ $labels.instance }} uses {{ $value | printf \"%.1f\" }}% of its capacity; writes will fail soon."},
		))
	}
	groups = append(groups, group("pure-scrape",
		alert{"PureArrayMetricsDown",
			fmt.Sprintf(`up{job=~"%s|%s|%s|%s|%s"} == 0`, JobFBArray, JobFBClients, JobFBUsage, JobFAArray, JobFAVolumes), "15m", "warning",
			"Metrics of Pure array {{ $labels.instance }} ({{ $labels.job }}) are not collected",
			"Prometheus cannot scrape {{ $labels.job }} of array {{ $labels.instance }}: the exporter is down, the array's management address is unreachable, or its API token (Secret in the monitoring namespace) is wrong or expired. Capacity alerts for this array cannot fire meanwhile."},
	))
	return prometheusRule(e, ArrayRulesName, Component, groups...)
}

// volumeRules alert on PersistentVolumeClaims low on space, from the
// kubelet's volume statistics (every CSI driver that reports
// NodeGetVolumeStats, PX-CSI included). The default rules (package rules)
// already page when a claim is nearly full (< 3%) and warn when it is
// predicted to fill within four days; this warns on a claim that stays
// below 15% free without growing, which those never report, so that it is
// expanded before a burst fills it.
func volumeRules(e *env.Environment) *monitoringv1.PrometheusRule {
	k := fmt.Sprintf(`job=%q`, prometheusoperator.KubeletJob)
	free := fmt.Sprintf(`kubelet_volume_stats_available_bytes{%[1]s} / kubelet_volume_stats_capacity_bytes{%[1]s}`, k)
	return prometheusRule(e, VolumeRulesName, StorageAlertsComponent, group("persistent-volumes",
		alert{"PersistentVolumeClaimLowSpace",
			fmt.Sprintf("%s < 0.15 and kubelet_volume_stats_used_bytes{%s} > 0", free, k), "30m", "warning",
			"PVC {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has less than 15% free space",
			"PersistentVolumeClaim {{ $labels.namespace }}/{{ $labels.persistentvolumeclaim }} has had only {{ $value | humanizePercentage }} free for 30 minutes. Expand it (the storage classes allow volume expansion where the backend does) or delete data before a burst of writes fills it."},
	))
}
