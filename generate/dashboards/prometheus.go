package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
)

// prometheusBoard: the stack's Prometheus replicas — targets, ingestion,
// TSDB, queries, rule evaluation and notification of Alertmanager.
func prometheusBoard(e *env.Environment) *dashboard.DashboardBuilder {
	p := fmt.Sprintf(`job=%q,namespace=%q,pod=~"$pod"`, prometheus.ServiceName, e.Monitoring.Namespace)
	return newBoard("vigil-prometheus", "", "The stack's Prometheus: scrape targets, ingestion, TSDB, queries, rules and notifications.", "monitoring", "prometheus").
		WithVariable(labelVar("pod", "Replica", fmt.Sprintf(`prometheus_build_info{job=%q,namespace=%q}`, prometheus.ServiceName, e.Monitoring.Namespace), "pod")).
		WithRow(row("Targets")).
		WithPanel(singleStat("Targets up", "Scrape targets up, of all.", "percentunit", `sum(up) / count(up)`)).
		WithPanel(singleStat("Head series", "Series in the head block of the selected replicas.", "short", `max(prometheus_tsdb_head_series{`+p+`})`)).
		WithPanel(singleStat("Config reload", "1 when the last configuration reload succeeded on every selected replica.", "none", `min(prometheus_config_last_reload_successful{`+p+`})`)).
		WithPanel(singleStat("Rule evaluation failures (1h)", "Failed rule evaluations in the last hour.", "none", `sum(increase(prometheus_rule_evaluation_failures_total{`+p+`}[1h])) or vector(0)`)).
		WithPanel(timeSeries("Targets by scrape pool", "Targets each scrape pool holds.", "none",
			q(`sum by (scrape_job) (prometheus_target_scrape_pool_targets{`+p+`})`, "{{scrape_job}}"))).
		WithPanel(timeSeries("Scrape interval (p99)", "Actual interval between scrapes against the configured one.", "s",
			q(`max by (interval) (prometheus_target_interval_length_seconds{`+p+`,quantile="0.99"})`, "{{interval}}"))).
		WithRow(row("Storage")).
		WithPanel(timeSeries("Samples appended", "Samples ingested per second, per replica.", "short",
			q(`sum by (pod) (rate(prometheus_tsdb_head_samples_appended_total{`+p+`}[$__rate_interval]))`, "{{pod}}"))).
		WithPanel(timeSeries("Head series and chunks", "Series and chunks in the head block, per replica.", "short",
			q(`max by (pod) (prometheus_tsdb_head_series{`+p+`})`, "{{pod}} series"),
			q(`max by (pod) (prometheus_tsdb_head_chunks{`+p+`})`, "{{pod}} chunks"))).
		WithPanel(timeSeries("Block storage", "Bytes of the persisted blocks, per replica.", "bytes",
			q(`max by (pod) (prometheus_tsdb_storage_blocks_bytes{`+p+`})`, "{{pod}}"))).
		WithPanel(timeSeries("Remote write failures", "Samples that failed to send to remote storage, per second.", "short",
			q(`sum by (pod) (rate(prometheus_remote_storage_samples_failed_total{`+p+`}[$__rate_interval]))`, "{{pod}}"))).
		WithRow(row("Queries and rules")).
		WithPanel(timeSeries("Query latency (p99)", "99th percentile of query evaluation, by slice.", "s",
			q(`max by (slice) (prometheus_engine_query_duration_seconds{`+p+`,quantile="0.99"})`, "{{slice}}"))).
		WithPanel(timeSeries("Rule group duration", "Last evaluation time of each rule group.", "s",
			q(`max by (rule_group) (prometheus_rule_group_last_duration_seconds{`+p+`})`, "{{rule_group}}"))).
		WithPanel(timeSeries("Missed rule evaluations", "Rule group iterations skipped per interval because the last ran too long.", "none",
			q(`sum by (rule_group) (increase(prometheus_rule_group_iterations_missed_total{`+p+`}[$__rate_interval])) > 0`, "{{rule_group}}"))).
		WithPanel(timeSeries("HTTP requests", "API requests per second, by handler and code.", "reqps",
			q(`sum by (handler, code) (rate(prometheus_http_requests_total{`+p+`}[$__rate_interval]))`, "{{handler}} {{code}}"))).
		WithRow(row("Notifications")).
		WithPanel(timeSeries("Alerts sent", "Alerts sent to each Alertmanager per second, and errors.", "short",
			q(`sum by (alertmanager) (rate(prometheus_notifications_sent_total{`+p+`}[$__rate_interval]))`, "sent {{alertmanager}}"),
			q(`sum by (alertmanager) (rate(prometheus_notifications_errors_total{`+p+`}[$__rate_interval]))`, "errors {{alertmanager}}"))).
		WithPanel(timeSeries("Notification queue", "Alerts waiting to be sent.", "none",
			q(`max by (pod) (prometheus_notifications_queue_length{`+p+`})`, "{{pod}}")))
}

// alertmanagerBoard: the stack's Alertmanager — alerts received, the
// notifications per integration and their failures, the cluster.
func alertmanagerBoard(e *env.Environment) *dashboard.DashboardBuilder {
	a := fmt.Sprintf(`job=%q,namespace=%q,pod=~"$pod"`, alertmanager.ServiceName, e.Monitoring.Namespace)
	return newBoard("vigil-alertmanager", "", "The stack's Alertmanager: alerts received, notifications and their failures per integration, cluster health.", "monitoring", "alertmanager").
		WithVariable(labelVar("pod", "Replica", fmt.Sprintf(`alertmanager_build_info{job=%q,namespace=%q}`, alertmanager.ServiceName, e.Monitoring.Namespace), "pod")).
		WithRow(row("Alerts")).
		WithPanel(singleStat("Active alerts", "Alerts active in the selected replicas.", "none", `max(sum by (pod) (alertmanager_alerts{`+a+`,state="active"}))`)).
		WithPanel(singleStat("Suppressed alerts", "Alerts silenced or inhibited.", "none", `max(sum by (pod) (alertmanager_alerts{`+a+`,state="suppressed"}))`)).
		WithPanel(singleStat("Cluster members", "Peers each replica sees (the smallest).", "none", `min(alertmanager_cluster_members{`+a+`})`)).
		WithPanel(singleStat("Config reload", "1 when the last configuration reload succeeded on every selected replica.", "none", `min(alertmanager_config_last_reload_successful{`+a+`})`)).
		WithPanel(timeSeries("Alerts received", "Alerts received per second from Prometheus, and invalid ones.", "short",
			q(`sum by (pod) (rate(alertmanager_alerts_received_total{`+a+`}[$__rate_interval]))`, "{{pod}} received"),
			q(`sum by (pod) (rate(alertmanager_alerts_invalid_total{`+a+`}[$__rate_interval]))`, "{{pod}} invalid"))).
		WithPanel(timeSeries("Alerts by state", "Active and suppressed alerts, per replica.", "none",
			q(`sum by (pod, state) (alertmanager_alerts{`+a+`})`, "{{pod}} {{state}}"))).
		WithRow(row("Notifications")).
		WithPanel(timeSeries("Notifications", "Notifications sent per second, by integration, and failures.", "short",
			q(`sum by (integration) (rate(alertmanager_notifications_total{`+a+`}[$__rate_interval]))`, "{{integration}} sent"),
			q(`sum by (integration) (rate(alertmanager_notifications_failed_total{`+a+`}[$__rate_interval]))`, "{{integration}} failed"))).
		WithPanel(timeSeries("Notification latency (p99)", "99th percentile time to deliver a notification, by integration.", "s",
			q(`histogram_quantile(0.99, sum by (integration, le) (rate(alertmanager_notification_latency_seconds_bucket{`+a+`}[$__rate_interval])))`, "{{integration}}"))).
		WithPanel(timeSeries("Cluster health score", "0 is healthy; higher means the gossip mesh is degraded.", "none",
			q(`max by (pod) (alertmanager_cluster_health_score{`+a+`})`, "{{pod}}"))).
		WithPanel(timeSeries("Silences", "Silences by state.", "none",
			q(`max by (state) (alertmanager_silences{`+a+`})`, "{{state}}")))
}
