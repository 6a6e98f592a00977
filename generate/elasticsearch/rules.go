package elasticsearch

import (
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Alert is one alerting rule, written compactly; the log agents' packages
// use it too.
type Alert struct {
	Name, Expr, For, Severity, Summary, Description string
}

// Rule turns an Alert into a Prometheus rule.
func (a Alert) Rule() monitoringv1.Rule {
	r := monitoringv1.Rule{
		Alert:       a.Name,
		Expr:        intstr.FromString(a.Expr),
		Labels:      map[string]string{"severity": a.Severity},
		Annotations: map[string]string{"summary": a.Summary, "description": a.Description, "runbook_url": stack.VigilRunbook(a.Name)},
	}
	if a.For != "" {
		r.For = ptr.To(monitoringv1.Duration(a.For))
	}
	return r
}

// PrometheusRule wraps alert groups into a PrometheusRule. Flux's variable
// substitution is turned off for it: alert templates use {{ $labels }} and
// expressions may contain "${".
func PrometheusRule(name, namespace string, labels map[string]string, groups map[string][]Alert) *monitoringv1.PrometheusRule {
	pr := &monitoringv1.PrometheusRule{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: namespace, Labels: labels,
			Annotations: map[string]string{"kustomize.toolkit.fluxcd.io/substitute": "disabled"},
		},
	}
	for _, g := range env.SortedKeys(groups) {
		rg := monitoringv1.RuleGroup{Name: g}
		for _, a := range groups[g] {
			rg.Rules = append(rg.Rules, a.Rule())
		}
		pr.Spec.Groups = append(pr.Spec.Groups, rg)
	}
	return pr
}

// rules are the alerts on the cluster, from the exporter's series.
func rules(e *env.Environment) *monitoringv1.PrometheusRule {
	sel := func(expr string) string {
		return strings.ReplaceAll(expr, "{{sel}}", `job="`+ExporterName+`", namespace="`+e.Logging.Namespace+`"`)
	}
	groups := map[string][]Alert{
		"elasticsearch.health": {
			{
				Name: "ElasticsearchClusterRed", For: "5m", Severity: "critical",
				Expr:        sel(`max by (cluster) (elasticsearch_cluster_health_status{{{sel}}, color="red"}) == 1`),
				Summary:     "Elasticsearch cluster health is red",
				Description: `A primary shard of cluster {{ $labels.cluster }} is unassigned: some indices cannot be written or searched, and log agents buffer or drop what they cannot ship.`,
			},
			{
				Name: "ElasticsearchClusterYellow", For: "30m", Severity: "warning",
				Expr:        sel(`max by (cluster) (elasticsearch_cluster_health_status{{{sel}}, color="yellow"}) == 1`),
				Summary:     "Elasticsearch cluster health is yellow",
				Description: `Replica shards of cluster {{ $labels.cluster }} have been unassigned for 30 minutes: losing one more node may lose data.`,
			},
			{
				Name: "ElasticsearchMetricsAbsent", For: "15m", Severity: "warning",
				Expr:        sel(`absent(elasticsearch_cluster_health_status{{{sel}}})`),
				Summary:     "Elasticsearch health is unknown",
				Description: `The Elasticsearch exporter in {{ $labels.namespace }} reports no cluster health: the exporter is down or cannot reach the cluster.`,
			},
		},
		"elasticsearch.resources": {
			{
				Name: "ElasticsearchDiskLowWatermark", For: "15m", Severity: "warning",
				Expr:        sel(`1 - elasticsearch_filesystem_data_available_bytes{{{sel}}} / elasticsearch_filesystem_data_size_bytes{{{sel}}} > 0.85`),
				Summary:     "Elasticsearch node past the low disk watermark",
				Description: `Node {{ $labels.name }} has used {{ $value | humanizePercentage }} of its data volume: past 85% Elasticsearch allocates no new shards to it.`,
			},
			{
				Name: "ElasticsearchDiskHighWatermark", For: "5m", Severity: "critical",
				Expr:        sel(`1 - elasticsearch_filesystem_data_available_bytes{{{sel}}} / elasticsearch_filesystem_data_size_bytes{{{sel}}} > 0.90`),
				Summary:     "Elasticsearch node past the high disk watermark",
				Description: `Node {{ $labels.name }} has used {{ $value | humanizePercentage }} of its data volume: Elasticsearch moves shards away, and at 95% it makes every index on it read-only and log shipping stops. Shorten the retention or grow the volume.`,
			},
			{
				Name: "ElasticsearchHeapHigh", For: "15m", Severity: "warning",
				Expr:        sel(`elasticsearch_jvm_memory_used_bytes{{{sel}}, area="heap"} / elasticsearch_jvm_memory_max_bytes{{{sel}}, area="heap"} > 0.90`),
				Summary:     "Elasticsearch heap usage is high",
				Description: `Node {{ $labels.name }} uses {{ $value | humanizePercentage }} of its heap: expect long garbage collections and circuit breaker errors. Raise the node set's memory.`,
			},
		},
	}
	return PrometheusRule(ExporterName+"-rules", e.Logging.Namespace, stack.Labels(ExporterName, "alert-rules", ""), groups)
}
