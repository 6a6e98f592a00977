package stack

// Release is one pinned upstream release: the image Vigil runs and where its
// version comes from. Every container image in the output comes from this
// table, so an upgrade is one reviewed line.
type Release struct {
	// Image is the repository without tag.
	Image string
	// Version is the exact tag.
	Version string
	// Source names the upstream release the version was taken from.
	Source string
}

// Ref is the image reference with its tag.
func (r Release) Ref() string { return r.Image + ":" + r.Version }

// The pinned releases. Prometheus and Alertmanager match the Go modules the
// tests parse rules and configuration with (prometheus v0.316.0 is v3.16.0),
// the operator matches the monitoring.coreos.com API module, so what the tests
// accept is what the cluster runs.
var (
	PrometheusOperator = Release{"quay.io/prometheus-operator/prometheus-operator", "v0.95.2", "prometheus-operator v0.95.2 (= github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring v0.95.2)"}
	ConfigReloader     = Release{"quay.io/prometheus-operator/prometheus-config-reloader", "v0.95.2", "prometheus-operator v0.95.2"}
	Prometheus         = Release{"quay.io/prometheus/prometheus", "v3.16.0", "prometheus v3.16.0 (= Go module v0.316.0)"}
	Alertmanager       = Release{"quay.io/prometheus/alertmanager", "v0.35.0", "alertmanager v0.35.0"}
	Grafana            = Release{"docker.io/grafana/grafana", "13.0.2", "kube-prometheus release-0.18 versions.json"}
	KubeStateMetrics   = Release{"registry.k8s.io/kube-state-metrics/kube-state-metrics", "v2.19.0", "kube-prometheus release-0.18 versions.json"}
	NodeExporter       = Release{"quay.io/prometheus/node-exporter", "v1.11.1", "kube-prometheus release-0.18 versions.json"}

	SparkOperator = Release{"ghcr.io/kubeflow/spark-operator/controller", "2.5.2", "kubeflow/spark-operator v2.5.2 (2026-07-30)"}
	Spark         = Release{"docker.io/apache/spark", "4.0.4", "apache/spark 4.0.4, the base of spark-operator v2.5.2"}

	FluentBit      = Release{"cr.fluentbit.io/fluent/fluent-bit", "5.1.1", "fluent-bit 5.1.1 (shipped by Fluent Operator 3.10.0)"}
	Fluentd        = Release{"docker.io/fluent/fluentd", "v1.19.0-debian-1.0", "fluentd v1.19.0"}
	ECKOperator    = Release{"docker.elastic.co/eck/eck-operator", "3.5.0", "elastic/cloud-on-k8s v3.5.0 (2026-07-24)"}
	Elasticsearch  = Release{"docker.elastic.co/elasticsearch/elasticsearch", "9.4.3", "ECK v3.5.0 samples"}
	Kibana         = Release{"docker.elastic.co/kibana/kibana", "9.4.3", "ECK v3.5.0 samples"}
	PureFBExporter = Release{"quay.io/purestorage/pure-fb-om-exporter", "v1.1.6", "PureStorage-OpenConnect/pure-fb-openmetrics-exporter"}
	OTelCollector  = Release{"docker.io/otel/opentelemetry-collector-contrib", "0.140.0", "open-telemetry/opentelemetry-collector-releases"}
	Tempo          = Release{"docker.io/grafana/tempo", "2.9.0", "grafana/tempo"}
	Jaeger         = Release{"docker.io/jaegertracing/jaeger", "2.12.0", "jaegertracing/jaeger v2"}
	Busybox        = Release{"docker.io/library/busybox", "1.37.0", "busybox 1.37.0, for one-shot sysctl and bootstrap steps"}
	Curl           = Release{"docker.io/curlimages/curl", "8.17.0", "curl 8.17.0, for bootstrap Jobs that call HTTP APIs"}
)

// NodeProblemDetector returns the NPD release for a Kubernetes minor version:
// NPD versions v1.<minor>.<patch> since v1.34.0 (docs/versioning.md).
func NodeProblemDetector(kubernetesMinor int) Release {
	patch := map[int]string{34: "v1.34.4", 35: "v1.35.3", 36: "v1.36.0"}
	v, ok := patch[kubernetesMinor]
	switch {
	case ok:
	case kubernetesMinor > 36:
		v = patch[36]
	default:
		v = patch[34]
	}
	return Release{"registry.k8s.io/node-problem-detector/node-problem-detector", v, "kubernetes/node-problem-detector " + v + " (2026-07-11)"}
}
