package elasticsearch

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"

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
	if e.SnapshotsEnabled() {
		groups["elasticsearch.snapshots"] = snapshotAlerts(e, sel)
	}
	return PrometheusRule(ExporterName+"-rules", e.Logging.Namespace, stack.Labels(ExporterName, "alert-rules", ""), groups)
}

// snapshotAlerts watch the snapshot repository through the exporter's
// snapshots collector (the start time of the latest SUCCESS or PARTIAL
// snapshot, 0 when there is none) and SLM's per-policy failure count. The
// slm collector of elasticsearch_exporter v1.11.0 has no time of the last
// success, hence the snapshots collector for the age.
func snapshotAlerts(e *env.Environment, sel func(string) string) []Alert {
	maxAge := e.Logging.Elasticsearch.Snapshots.MaxAge
	seconds := "129600"
	if d, err := model.ParseDuration(maxAge); err == nil {
		seconds = strconv.FormatInt(int64(time.Duration(d)/time.Second), 10)
	}
	repo := `repository="` + SnapshotRepository + `"`
	return []Alert{
		{
			Name: "ElasticsearchSnapshotTooOld", For: "15m", Severity: "warning",
			Expr:        sel(`time() - max by (namespace, repository) (elasticsearch_snapshot_stats_latest_snapshot_timestamp_seconds{{{sel}}, ` + repo + `} > 0) > ` + seconds),
			Summary:     "The last Elasticsearch snapshot is too old",
			Description: `The last successful snapshot in repository {{ $labels.repository }} started {{ $value | humanizeDuration }} ago, more than ` + maxAge + `: logs deleted by their lifecycle since then cannot be restored. Check the SLM policy's last failure (GET _slm/policy/` + SLMPolicy + `) and the S3 bucket.`,
		},
		{
			Name: "ElasticsearchNoSnapshot", For: maxAge, Severity: "warning",
			Expr:        sel(`max by (namespace, repository) (elasticsearch_snapshot_stats_latest_snapshot_timestamp_seconds{{{sel}}, ` + repo + `}) == 0`),
			Summary:     "Elasticsearch has no successful snapshot",
			Description: `Repository {{ $labels.repository }} has held no successful snapshot for ` + maxAge + `. Check the SLM policy (GET _slm/policy/` + SLMPolicy + `) and the repository (POST _snapshot/` + SnapshotRepository + `/_verify).`,
		},
		{
			Name: "ElasticsearchSnapshotFailed", Severity: "warning",
			Expr:        sel(`sum by (namespace, policy) (increase(elasticsearch_slm_stats_snapshots_failed_total{{{sel}}, policy="` + SLMPolicy + `"}[1h])) > 0`),
			Summary:     "An Elasticsearch snapshot failed",
			Description: `SLM policy {{ $labels.policy }} reported a failed snapshot in the last hour; the reason is in GET _slm/policy/{{ $labels.policy }} (last_failure).`,
		},
		{
			Name: "ElasticsearchSnapshotRepositoryMissing", For: "30m", Severity: "warning",
			Expr:        sel(`absent(elasticsearch_snapshot_stats_number_of_snapshots{{{sel}}, ` + repo + `}) and on () count(elasticsearch_cluster_health_status{{{sel}}}) > 0`),
			Summary:     "The Elasticsearch snapshot repository is missing",
			Description: `The exporter reaches Elasticsearch but finds no repository ` + SnapshotRepository + `: the bootstrap Job has not registered it, or Elasticsearch cannot reach the bucket. Look at the elasticsearch-bootstrap Job's logs.`,
		},
	}
}
