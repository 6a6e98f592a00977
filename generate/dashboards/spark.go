package dashboards

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/spark"
)

// sparkApplications: the operator's application and executor counters, the
// executors of the selected applications (Spark's /metrics/executors
// endpoint on the driver, labelled spark_app by the driver PodMonitor), the
// pods' resources (cAdvisor joined with kube_pod_labels, which needs
// correlation.KSMPodLabelAllowlist), their logs, and the History Server.
//
// The executor names are those of Spark 4's PrometheusResource
// (metrics_executor_activeTasks, ..._totalGCTime_seconds_total), not Spark
// 3.0's _Count/_Value ones; generate/metrics checks every name against what
// the pinned Spark serves.
func sparkApplications(e *env.Environment) *dashboard.DashboardBuilder {
	app := fmt.Sprintf(`namespace=~"$namespace",%s=~"$application"`, correlation.LabelSparkApp)
	// PrometheusResource also reports the driver as an executor; the
	// executor panels leave it out.
	executors := app + `,executor_id!="driver"`
	ksmApp := correlation.KSMLabel(correlation.PodLabelSparkApp)
	ksmRole := correlation.KSMLabel(correlation.PodLabelSparkRole)
	byRole := func(metric string) string {
		return fmt.Sprintf(`sum by (%[3]s) (%[1]s * on (namespace, pod) group_left (%[3]s) max by (namespace, pod, %[3]s) (kube_pod_labels{namespace=~"$namespace",%[2]s=~"$application"}))`,
			metric, ksmApp, ksmRole)
	}

	namespaces := labelVar("namespace", "Namespace", "kube_namespace_status_phase", "namespace")
	// Only the job namespaces of the environment.
	var quoted []string
	for _, ns := range e.Spark.Operator.JobNamespaces {
		quoted = append(quoted, regexp.QuoteMeta(ns))
	}
	namespaces.Regex("/^(" + strings.Join(quoted, "|") + ")$/")

	b := newBoard("vigil-spark", "", "Spark applications run by the Spark Operator: submissions, executors, resources, logs and the History Server.", "spark").
		WithVariable(namespaces).
		WithVariable(labelVar("application", "Application", `metrics_executor_totalCores{namespace=~"$namespace"}`, correlation.LabelSparkApp)).
		WithRow(row("Spark Operator")).
		WithPanel(singleStat("Running applications", "SparkApplications in state RUNNING.", "none",
			`sum(spark_application_running_count{namespace=~"$namespace"}) or vector(0)`)).
		WithPanel(singleStat("Running executors", "Executor pods running.", "none",
			`sum(spark_executor_running_count{namespace=~"$namespace"}) or vector(0)`)).
		WithPanel(singleStat("Failed applications (24h)", "Applications that ended FAILED in the last day.", "none",
			`sum(increase(spark_application_failure_count{namespace=~"$namespace"}[24h])) or vector(0)`)).
		WithPanel(singleStat("Failed submissions (24h)", "spark-submit failures in the last day.", "none",
			`sum(increase(spark_application_failed_submission_count{namespace=~"$namespace"}[24h])) or vector(0)`)).
		WithPanel(timeSeries("Applications", "Submitted, succeeded and failed applications per interval.", "none",
			q(`sum(increase(spark_application_submit_count{namespace=~"$namespace"}[$__rate_interval]))`, "submitted"),
			q(`sum(increase(spark_application_success_count{namespace=~"$namespace"}[$__rate_interval]))`, "succeeded"),
			q(`sum(increase(spark_application_failure_count{namespace=~"$namespace"}[$__rate_interval]))`, "failed"))).
		WithPanel(timeSeries("Start latency", "Time from creation to RUNNING.", "s",
			q(`histogram_quantile(0.5, sum by (le) (rate(spark_application_start_latency_seconds_histogram_bucket{namespace=~"$namespace"}[$__rate_interval])))`, "p50"),
			q(`histogram_quantile(0.9, sum by (le) (rate(spark_application_start_latency_seconds_histogram_bucket{namespace=~"$namespace"}[$__rate_interval])))`, "p90"))).
		WithPanel(timeSeries("Executors", "Running executors and executor failures per interval.", "none",
			q(`sum by (namespace) (spark_executor_running_count{namespace=~"$namespace"})`, "running {{namespace}}"),
			q(`sum by (namespace) (increase(spark_executor_failure_count{namespace=~"$namespace"}[$__rate_interval]))`, "failed {{namespace}}"))).
		WithPanel(timeSeries("Driver stages and jobs", "Stages running and waiting, jobs active, per application.", "none",
			q(`sum by (`+correlation.LabelSparkApp+`) (metrics_spark_driver_DAGScheduler_stage_runningStages_Number{`+app+`})`, "{{spark_app}} running stages"),
			q(`sum by (`+correlation.LabelSparkApp+`) (metrics_spark_driver_DAGScheduler_stage_waitingStages_Number{`+app+`})`, "{{spark_app}} waiting stages"),
			q(`sum by (`+correlation.LabelSparkApp+`) (metrics_spark_driver_DAGScheduler_job_activeJobs_Number{`+app+`})`, "{{spark_app}} active jobs"))).
		WithRow(row("Executors of $application")).
		WithPanel(timeSeries("Active tasks", "Tasks running on each executor.", "none",
			q(`sum by (spark_app, executor_id) (metrics_executor_activeTasks{`+executors+`})`, "{{spark_app}} {{executor_id}}"))).
		WithPanel(timeSeries("Failed tasks", "Failed tasks per interval, per application.", "none",
			q(`sum by (spark_app) (increase(metrics_executor_failedTasks_total{`+executors+`}[$__rate_interval]))`, "{{spark_app}}"))).
		WithPanel(timeSeries("Storage memory used", "Memory used for cached blocks on each executor.", "bytes",
			q(`sum by (spark_app, executor_id) (metrics_executor_memoryUsed_bytes{`+executors+`})`, "{{spark_app}} {{executor_id}}"))).
		WithPanel(timeSeries("Time in GC", "Share of task time spent in garbage collection, per executor.", "percentunit",
			q(`sum by (spark_app, executor_id) (rate(metrics_executor_totalGCTime_seconds_total{`+executors+`}[$__rate_interval])) / sum by (spark_app, executor_id) (rate(metrics_executor_totalDuration_seconds_total{`+executors+`}[$__rate_interval]))`, "{{spark_app}} {{executor_id}}"))).
		WithPanel(timeSeries("Shuffle", "Shuffle bytes read and written per second, per application.", "Bps",
			q(`sum by (spark_app) (rate(metrics_executor_totalShuffleRead_bytes_total{`+executors+`}[$__rate_interval]))`, "{{spark_app}} read"),
			q(`sum by (spark_app) (rate(metrics_executor_totalShuffleWrite_bytes_total{`+executors+`}[$__rate_interval]))`, "{{spark_app}} write"))).
		WithPanel(timeSeries("Input", "Bytes read from storage per second, per application.", "Bps",
			q(`sum by (spark_app) (rate(metrics_executor_totalInputBytes_bytes_total{`+executors+`}[$__rate_interval]))`, "{{spark_app}}"))).
		WithRow(row("Pods of $application")).
		WithPanel(timeSeries("CPU by role", "CPU cores used by the driver and executor pods.", "short",
			q(byRole(`rate(container_cpu_usage_seconds_total{namespace=~"$namespace",container!=""}[$__rate_interval])`), "{{"+ksmRole+"}}"))).
		WithPanel(timeSeries("Memory by role", "Working set of the driver and executor pods.", "bytes",
			q(byRole(`container_memory_working_set_bytes{namespace=~"$namespace",container!=""}`), "{{"+ksmRole+"}}")))

	if e.Logging.Enabled {
		field := strings.ReplaceAll(correlation.FieldSparkApp, "/", `\/`)
		b = b.WithRow(row("Logs of $application")).
			WithPanel(logLines("Driver and executor logs", "Log lines of the selected applications' pods, newest first; a trace id in a line links to its trace.",
				fmt.Sprintf(`%s:${namespace:lucene} AND %s:${application:lucene}`, correlation.FieldNamespace, field)))
	}
	if e.SparkHistoryEnabled() {
		hs := fmt.Sprintf(`namespace=%q`, spark.HistoryServerNamespace(e))
		pod := fmt.Sprintf(`%s,pod=~"%s-.*",container!=""`, hs, spark.HistoryServerName)
		b = b.WithRow(row("History Server")).
			WithPanel(singleStat("History Server up", "Targets of the History Server that are up.", "none",
				fmt.Sprintf(`sum(up{job=%q,%s}) or vector(0)`, spark.HistoryServerName, hs))).
			WithPanel(singleStat("History Server restarts (24h)", "Container restarts in the last day.", "none",
				fmt.Sprintf(`sum(increase(kube_pod_container_status_restarts_total{%s,pod=~"%s-.*"}[24h])) or vector(0)`, hs, spark.HistoryServerName))).
			WithPanel(timeSeries("History Server CPU", "CPU cores used replaying event logs.", "short",
				q(`sum(rate(container_cpu_usage_seconds_total{`+pod+`}[$__rate_interval]))`, "cpu"))).
			WithPanel(timeSeries("History Server memory", "Working set; large event logs need a large heap.", "bytes",
				q(`sum(container_memory_working_set_bytes{`+pod+`})`, "working set")))
	}
	return b
}
