package correlation

import (
	"regexp"

	"github.com/vigil-stack/vigil/generate/tracing"
)

// The identity of a workload in each signal. One pod is the same namespace,
// pod and Spark application in Prometheus, in Elasticsearch and in a trace,
// under the names below; dashboards, data links and the trace backend's
// links are built from this table and nothing else.
//
//	                      Prometheus      Logs (Elasticsearch)                                 Traces (OTel resource)
//	namespace             namespace       kubernetes.namespace_name                            k8s.namespace.name
//	pod                   pod             kubernetes.pod_name                                  k8s.pod.name
//	Spark application     spark_app       kubernetes.labels.sparkoperator_k8s_io/app-name      spark.app.name
//	Spark run (app id)    spark_app_id    kubernetes.labels.spark-app-selector                 spark.app.id
//
// Where they come from:
//   - Prometheus: namespace and pod are the target labels of every
//     ServiceMonitor and PodMonitor; spark_app and spark_app_id are copied
//     from the driver pod's labels by the Spark driver PodMonitor (package
//     spark). kube-state-metrics shows the same pod labels as
//     label_<sanitized name> on kube_pod_labels, once KSMPodLabelAllowlist
//     is in its --metric-labels-allowlist.
//   - Logs: Fluent Bit's kubernetes filter adds the kubernetes.* fields;
//     its Elasticsearch output replaces the dots inside label names with
//     underscores (Replace_Dots), hence sparkoperator_k8s_io.
//   - Traces: the collector's k8s_attributes processor (package tracing).
const (
	LabelNamespace  = "namespace"
	LabelPod        = "pod"
	LabelSparkApp   = "spark_app"
	LabelSparkAppID = "spark_app_id"

	FieldNamespace  = "kubernetes.namespace_name"
	FieldPod        = "kubernetes.pod_name"
	FieldSparkApp   = "kubernetes.labels.sparkoperator_k8s_io/app-name"
	FieldSparkAppID = "kubernetes.labels.spark-app-selector"

	AttrNamespace  = tracing.AttrNamespace
	AttrPod        = tracing.AttrPod
	AttrSparkApp   = tracing.AttrSparkApp
	AttrSparkAppID = tracing.AttrSparkAppID
)

// The Kubernetes pod labels Spark puts on its pods: the operator's
// application name, Spark's application id (on driver and executors) and
// the role (driver or executor).
const (
	PodLabelSparkApp   = "sparkoperator.k8s.io/app-name"
	PodLabelSparkAppID = "spark-app-selector"
	PodLabelSparkRole  = "spark-role"
)

// KSMPodLabelAllowlist is the kube-state-metrics flag value that exposes
// the Spark pod labels on kube_pod_labels, which the Spark dashboard joins
// container metrics with: --metric-labels-allowlist=<this>.
const KSMPodLabelAllowlist = "pods=[" + PodLabelSparkApp + "," + PodLabelSparkAppID + "," + PodLabelSparkRole + "]"

var notLabelChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// KSMLabel is the label kube-state-metrics gives a pod label on
// kube_pod_labels: "label_" and the name with every other character than
// letters, digits and '_' replaced by '_'.
func KSMLabel(podLabel string) string {
	return "label_" + notLabelChar.ReplaceAllString(podLabel, "_")
}

// Trace id names: the exemplar label OpenTelemetry SDKs and Prometheus
// client libraries attach to samples, and the log field that carries the
// trace id is correlation.traceIdField of the environment.
const ExemplarTraceIDLabel = "trace_id"

// Link tables: trace attribute → log field, and trace attribute → metric
// label, for the trace backend's links to logs and metrics.
var (
	traceToLog = []tagMapping{
		{AttrNamespace, FieldNamespace},
		{AttrPod, FieldPod},
	}
	traceToMetric = []tagMapping{
		{AttrNamespace, LabelNamespace},
		{AttrPod, LabelPod},
	}
)

// tagMapping renames a span attribute to a log field or metric label
// (Grafana's tracesToLogsV2/tracesToMetrics tags).
type tagMapping struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}
