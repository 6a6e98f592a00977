package fluentd

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// rules are the aggregator's alerts, from fluent-plugin-prometheus's
// output monitor (plugin_id is the @id of each match).
func rules(e *env.Environment) *monitoringv1.PrometheusRule {
	sel := func(expr string) string {
		return strings.ReplaceAll(expr, "{{sel}}", `job="`+Name+`", namespace="`+e.Logging.Namespace+`"`)
	}
	groups := map[string][]elasticsearch.Alert{
		"fluentd": {
			{
				Name: "FluentdDown", For: "10m", Severity: "warning",
				Expr:        sel(`up{{{sel}}} == 0`),
				Summary:     "A Fluentd aggregator cannot be scraped",
				Description: `Prometheus cannot scrape Fluentd pod {{ $labels.pod }}.`,
			},
			{
				Name: "FluentdOutputErrors", For: "15m", Severity: "warning",
				Expr:        sel(`sum by (namespace, pod, plugin_id) (rate(fluentd_output_status_num_errors{{{sel}}}[5m])) > 0`),
				Summary:     "Fluentd fails to write to Elasticsearch",
				Description: `Output {{ $labels.plugin_id }} of {{ $labels.pod }} has been failing for 15 minutes; chunks wait in its buffer.`,
			},
			{
				Name: "FluentdOutputRetrying", For: "30m", Severity: "warning",
				Expr:        sel(`max by (namespace, pod, plugin_id) (fluentd_output_status_retry_count{{{sel}}}) > 0`),
				Summary:     "Fluentd keeps retrying",
				Description: `Output {{ $labels.plugin_id }} of {{ $labels.pod }} has been retrying for 30 minutes; after four hours its chunks are dropped.`,
			},
			{
				Name: "FluentdBufferFilling", For: "10m", Severity: "warning",
				Expr:        sel(`min by (namespace, pod, plugin_id) (fluentd_output_status_buffer_available_space_ratio{{{sel}}}) < 10`),
				Summary:     "A Fluentd buffer is almost full",
				Description: `Output {{ $labels.plugin_id }} of {{ $labels.pod }} has {{ $value }}% of its buffer left; when it is full Fluentd stops accepting records and Fluent Bit buffers on the nodes.`,
			},
		},
	}
	return elasticsearch.PrometheusRule(Name+"-rules", e.Logging.Namespace, stack.Labels(Name, "alert-rules", ""), groups)
}

// hash is a short digest of a configuration.
func hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])[:16]
}
