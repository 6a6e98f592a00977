package fluentbit

import (
	"crypto/sha256"
	"encoding/hex"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// rules are the agent's alerts, from its own metrics (name is the alias of
// the input or output).
func rules(e *env.Environment) *monitoringv1.PrometheusRule {
	sel := func(expr string) string {
		return strings.ReplaceAll(expr, "{{sel}}", `job="`+Name+`", namespace="`+e.Logging.Namespace+`"`)
	}
	groups := map[string][]elasticsearch.Alert{
		"fluent-bit": {
			{
				Name: "FluentBitDown", For: "10m", Severity: "warning",
				Expr:        sel(`up{{{sel}}} == 0`),
				Summary:     "Fluent Bit cannot be scraped",
				Description: `Prometheus cannot scrape Fluent Bit on {{ $labels.instance }}: its logs may not be shipped either.`,
			},
			{
				Name: "FluentBitOutputErrors", For: "15m", Severity: "warning",
				Expr:        sel(`sum by (namespace, instance, name) (rate(fluentbit_output_errors_total{{{sel}}}[5m])) > 0`),
				Summary:     "Fluent Bit fails to ship logs",
				Description: `Output {{ $labels.name }} on {{ $labels.instance }} has been failing for 15 minutes; chunks are retried and buffered on the node's disk.`,
			},
			{
				Name: "FluentBitOutputRetriesFailed", Severity: "warning",
				Expr:        sel(`sum by (namespace, instance, name) (increase(fluentbit_output_retries_failed_total{{{sel}}}[15m])) > 0`),
				Summary:     "Fluent Bit dropped logs after its last retry",
				Description: `Output {{ $labels.name }} on {{ $labels.instance }} gave up on chunks after every retry: those logs are lost.`,
			},
			{
				Name: "FluentBitOutputDroppedRecords", Severity: "warning",
				Expr:        sel(`sum by (namespace, instance, name) (increase(fluentbit_output_dropped_records_total{{{sel}}}[15m])) > 0`),
				Summary:     "Fluent Bit dropped records",
				Description: `Output {{ $labels.name }} on {{ $labels.instance }} dropped records (rejected by the receiver or past the buffer limit).`,
			},
			{
				Name: "FluentBitInputPaused", For: "15m", Severity: "warning",
				Expr:        sel(`max by (namespace, instance, name) (fluentbit_input_ingestion_paused{{{sel}}}) == 1`),
				Summary:     "A Fluent Bit input is paused",
				Description: `Input {{ $labels.name }} on {{ $labels.instance }} has been paused for 15 minutes because its buffer is full: new log lines wait on disk until they rotate away.`,
			},
			{
				Name: "FluentBitPipelineStalled", For: "15m", Severity: "warning",
				Expr: sel(`sum by (namespace, instance) (rate(fluentbit_input_records_total{{{sel}}}[15m])) > 0
and
sum by (namespace, instance) (rate(fluentbit_output_proc_records_total{{{sel}}}[15m])) == 0`),
				Summary:     "Fluent Bit reads logs but ships none",
				Description: `Fluent Bit on {{ $labels.instance }} has read records for 15 minutes without delivering any.`,
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
