package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentbit"
)

// keyword is the suffix of the keyword sub-field Elasticsearch's dynamic
// mapping gives every string field (the log templates map none), which
// terms aggregations need.
const keyword = ".keyword"

// loggingPipeline: Fluent Bit's own metrics (records in and out, errors,
// retries, drops), Elasticsearch's health from its exporter, its pods as
// Kubernetes sees them, and the log volume from Elasticsearch itself.
func loggingPipeline(e *env.Environment) *dashboard.DashboardBuilder {
	logNS := fmt.Sprintf(`namespace=%q`, e.Logging.Namespace)
	agent := fmt.Sprintf(`job=%q`, fluentbit.Name)
	exporter := fmt.Sprintf(`job=%q,%s`, elasticsearch.ExporterName, logNS)
	esPods := fmt.Sprintf(`%s,pod=~"%s-es-.*",container="elasticsearch"`, logNS, elasticsearch.Name)
	return newBoard("vigil-logging", "", "The log pipeline: Fluent Bit on every node, Elasticsearch, and the log volume by namespace.", "logging").
		WithVariable(labelVar("namespace", "Namespace", "kube_namespace_status_phase", "namespace")).
		WithRow(row("Fluent Bit")).
		WithPanel(singleStat("Agents ready", "Fluent Bit pods ready, of those scheduled.", "percentunit",
			fmt.Sprintf(`sum(kube_daemonset_status_number_ready{%[1]s,daemonset=%[2]q}) / sum(kube_daemonset_status_desired_number_scheduled{%[1]s,daemonset=%[2]q})`, logNS, fluentbit.Name))).
		WithPanel(singleStat("Output errors (1h)", "Chunks an output failed to flush in the last hour.", "none",
			`sum(increase(fluentbit_output_errors_total{`+agent+`}[1h])) or vector(0)`)).
		WithPanel(singleStat("Failed retries (1h)", "Chunks given up after the retry limit in the last hour: lost logs.", "none",
			`sum(increase(fluentbit_output_retries_failed_total{`+agent+`}[1h])) or vector(0)`)).
		WithPanel(singleStat("Dropped records (1h)", "Records dropped by the outputs in the last hour: lost logs.", "none",
			`sum(increase(fluentbit_output_dropped_records_total{`+agent+`}[1h])) or vector(0)`)).
		WithPanel(timeSeries("Records in and out", "Records read by each input and delivered by each output, per second.", "short",
			q(`sum by (name) (rate(fluentbit_input_records_total{`+agent+`}[$__rate_interval]))`, "in {{name}}"),
			q(`sum by (name) (rate(fluentbit_output_proc_records_total{`+agent+`}[$__rate_interval]))`, "out {{name}}"))).
		WithPanel(timeSeries("Bytes out", "Bytes delivered by each output, per second.", "Bps",
			q(`sum by (name) (rate(fluentbit_output_proc_bytes_total{`+agent+`}[$__rate_interval]))`, "{{name}}"))).
		WithPanel(timeSeries("Errors and retries", "Failed flushes, retries, given-up chunks and dropped records, per second.", "short",
			q(`sum by (name) (rate(fluentbit_output_errors_total{`+agent+`}[$__rate_interval]))`, "errors {{name}}"),
			q(`sum by (name) (rate(fluentbit_output_retries_total{`+agent+`}[$__rate_interval]))`, "retries {{name}}"),
			q(`sum by (name) (rate(fluentbit_output_retries_failed_total{`+agent+`}[$__rate_interval]))`, "failed retries {{name}}"),
			q(`sum by (name) (rate(fluentbit_output_dropped_records_total{`+agent+`}[$__rate_interval]))`, "dropped {{name}}"))).
		WithPanel(timeSeries("Paused inputs", "Inputs paused because their memory buffer is full (logs wait on the node).", "none",
			q(`sum by (name) (fluentbit_input_ingestion_paused{`+agent+`})`, "{{name}}"))).
		WithRow(row("Elasticsearch")).
		WithPanel(singleStat("Cluster health", "0 green, 1 yellow (replicas unassigned), 2 red (primaries unassigned).", "none",
			`max(elasticsearch_cluster_health_status{`+exporter+`,color="yellow"}) + 2 * max(elasticsearch_cluster_health_status{`+exporter+`,color="red"})`)).
		WithPanel(singleStat("Nodes", "Nodes in the cluster.", "none",
			`max(elasticsearch_cluster_health_number_of_nodes{`+exporter+`})`)).
		WithPanel(singleStat("Unassigned shards", "Shards no node holds.", "none",
			`max(elasticsearch_cluster_health_unassigned_shards{`+exporter+`})`)).
		WithPanel(singleStat("Least free data disk", "Free share of the fullest data path; Elasticsearch stops writing at its flood-stage watermark (95% used).", "percentunit",
			`min(elasticsearch_filesystem_data_available_bytes{`+exporter+`} / elasticsearch_filesystem_data_size_bytes{`+exporter+`})`)).
		WithPanel(timeSeries("Indexing rate", "Documents indexed per second, per node.", "short",
			q(`sum by (name) (rate(elasticsearch_indices_indexing_index_total{`+exporter+`}[$__rate_interval]))`, "{{name}}"))).
		WithPanel(timeSeries("JVM heap used", "Heap used over heap max, per node.", "percentunit",
			q(`max by (name) (elasticsearch_jvm_memory_used_bytes{`+exporter+`,area="heap"} / elasticsearch_jvm_memory_max_bytes{`+exporter+`,area="heap"})`, "{{name}}"))).
		WithPanel(timeSeries("Container memory", "Working set of each Elasticsearch pod; the heap is sized from the container limit.", "bytes",
			q(`max by (pod) (container_memory_working_set_bytes{`+esPods+`})`, "{{pod}}"))).
		WithPanel(timeSeries("Container CPU", "CPU cores used by each Elasticsearch pod.", "short",
			q(`sum by (pod) (rate(container_cpu_usage_seconds_total{`+esPods+`}[$__rate_interval]))`, "{{pod}}"))).
		WithRow(row("Log volume in $namespace")).
		WithPanel(logCount("Log lines by namespace", "Container log lines indexed per interval, top ten namespaces.",
			correlation.FieldNamespace+":${namespace:lucene}", correlation.FieldNamespace+keyword)).
		WithPanel(logCount("Log lines by pod", "Container log lines indexed per interval, top ten pods.",
			correlation.FieldNamespace+":${namespace:lucene}", correlation.FieldPod+keyword))
}
