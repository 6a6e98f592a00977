package stack

import (
	"sort"
	"strings"
)

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

// pinned is every release of the table, for KnownImage.
var pinned = map[string]Release{}

// pin declares one row of the table.
func pin(image, version, source string) Release {
	r := Release{Image: image, Version: version, Source: source}
	pinned[r.Ref()] = r
	return r
}

// KnownImage reports whether ref is an image of the table; tests use it
// to prove that no image reaches the output unpinned.
func KnownImage(ref string) bool { _, ok := pinned[ref]; return ok }

// Pinned lists the table, sorted by image reference.
func Pinned() []Release {
	out := make([]Release, 0, len(pinned))
	for _, r := range pinned {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Ref() < out[j].Ref() })
	return out
}

// The pinned releases. Prometheus and Alertmanager match the Go modules the
// tests parse rules and configuration with (prometheus v0.316.0 is v3.16.0),
// the operator matches the monitoring.coreos.com API module, so what the tests
// accept is what the cluster runs.
var (
	PrometheusOperator = pin("quay.io/prometheus-operator/prometheus-operator", "v0.95.2", "prometheus-operator v0.95.2 (= github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring v0.95.2)")
	ConfigReloader     = pin("quay.io/prometheus-operator/prometheus-config-reloader", "v0.95.2", "prometheus-operator v0.95.2")
	Prometheus         = pin("quay.io/prometheus/prometheus", "v3.16.0", "prometheus v3.16.0 (= Go module v0.316.0)")
	Alertmanager       = pin("quay.io/prometheus/alertmanager", "v0.35.0", "alertmanager v0.35.0")
	Grafana            = pin("docker.io/grafana/grafana", "13.0.2", "kube-prometheus release-0.18 versions.json")
	KubeStateMetrics   = pin("registry.k8s.io/kube-state-metrics/kube-state-metrics", "v2.19.0", "kube-prometheus release-0.18 versions.json")
	NodeExporter       = pin("quay.io/prometheus/node-exporter", "v1.11.1", "kube-prometheus release-0.18 versions.json")
	// BlackboxExporter probes the Ingresses (generate/blackbox).
	BlackboxExporter = pin("quay.io/prometheus/blackbox-exporter", "v0.28.0", "prometheus/blackbox_exporter v0.28.0 (2025-12-04), its newest tag")

	SparkOperator = pin("ghcr.io/kubeflow/spark-operator/controller", "2.5.2", "kubeflow/spark-operator v2.5.2 (2026-07-30)")
	Spark         = pin("docker.io/apache/spark", "4.0.4", "apache/spark 4.0.4, the base of spark-operator v2.5.2")

	// The log agents and the Elasticsearch exporter (generate/fluentbit,
	// generate/fluentd, generate/elasticsearch).
	FluentBit = pin("cr.fluentbit.io/fluent/fluent-bit", "5.1.1", "fluent-bit 5.1.1 (shipped by Fluent Operator 3.10.0)")
	// Fluentd is the aggregator image of fluent/fluentd-kubernetes-daemonset:
	// the plain fluent/fluentd image has no Elasticsearch plugin.
	Fluentd = pin("docker.io/fluent/fluentd-kubernetes-daemonset", "v1.19.3-debian-elasticsearch9-1.1", "fluent/fluentd-kubernetes-daemonset README (fluentd 1.19.3, fluent-plugin-elasticsearch 6.0.0, fluent-plugin-prometheus 2.2.2)")
	// ElasticsearchExporter exports cluster health, disk and heap to
	// Prometheus; ECK exports no metrics.
	ElasticsearchExporter = pin("quay.io/prometheuscommunity/elasticsearch-exporter", "v1.11.0", "prometheus-community/elasticsearch_exporter v1.11.0 (2026-07-10)")

	ECKOperator    = pin("docker.elastic.co/eck/eck-operator", "3.5.0", "elastic/cloud-on-k8s v3.5.0 (2026-07-24)")
	Elasticsearch  = pin("docker.elastic.co/elasticsearch/elasticsearch", "9.4.3", "ECK v3.5.0 samples")
	Kibana         = pin("docker.elastic.co/kibana/kibana", "9.4.3", "ECK v3.5.0 samples")
	PureFBExporter = pin("quay.io/purestorage/pure-fb-om-exporter", "v1.1.4", "PureStorage-OpenConnect/pure-fb-openmetrics-exporter tag v1.1.4 (2025-07-28), the newest tag of the repository")
	// PureFAExporter is end of life (2024-09-30); only FlashArrays on Purity//FA < 6.6.11 with legacyExporter use it.
	PureFAExporter = pin("quay.io/purestorage/pure-fa-om-exporter", "v1.0.26", "PureStorage-OpenConnect/pure-fa-openmetrics-exporter tag v1.0.26 (2025-04-28), its last tag")
	OTelCollector  = pin("docker.io/otel/opentelemetry-collector-contrib", "0.159.0", "open-telemetry/opentelemetry-collector-releases v0.159.0 (2026-08-17)")
	Tempo          = pin("docker.io/grafana/tempo", "3.0.3", "grafana/tempo v3.0.3 (2026-08-13)")
	Jaeger         = pin("docker.io/jaegertracing/jaeger", "2.20.0", "jaegertracing/jaeger v2.20.0 (2026-07-19)")
	// Thanos runs the Prometheus sidecar, store gateway, compactor and
	// querier (generate/thanos); its flags and configuration formats are
	// checked against this tag's source in generate/thanos's tests.
	Thanos  = pin("quay.io/thanos/thanos", "v0.42.4", "thanos-io/thanos v0.42.4 (2026-07-30)")
	Busybox = pin("docker.io/library/busybox", "1.37.0", "busybox 1.37.0, for one-shot sysctl and bootstrap steps")
	Curl    = pin("docker.io/curlimages/curl", "8.17.0", "curl 8.17.0, for bootstrap Jobs that call HTTP APIs")
)

// SparkRelease returns the apache/spark image of one Spark version, and false
// for a version the table does not pin. The Spark History Server runs the
// environment's spark.version (the jobs' Spark, so that it reads their rolled
// and compressed event logs), so every published tag of the supported lines
// is pinned: apache/spark-docker versions.json (2026-06-25) for 3.5.0–3.5.8,
// 4.0.0–4.0.3 and 4.1.0–4.1.2; 4.0.4 is Spark above, the base of the
// spark-operator v2.5.2 image.
func SparkRelease(version string) (Release, bool) {
	r, ok := sparkReleases[version]
	return r, ok
}

var sparkReleases = func() map[string]Release {
	m := map[string]Release{Spark.Version: Spark}
	for _, v := range []string{
		"3.5.0", "3.5.1", "3.5.2", "3.5.3", "3.5.4", "3.5.5", "3.5.6", "3.5.7", "3.5.8",
		"4.0.0", "4.0.1", "4.0.2", "4.0.3",
		"4.1.0", "4.1.1", "4.1.2",
	} {
		m[v] = pin(Spark.Image, v, "apache/spark "+v+" (apache/spark-docker versions.json)")
	}
	return m
}()

// NodeProblemDetector returns the NPD release for a Kubernetes minor version:
// NPD versions v1.<minor>.<patch> since v1.34.0 (docs/versioning.md). Minors
// outside the table get the nearest release.
func NodeProblemDetector(kubernetesMinor int) Release {
	minor := min(max(kubernetesMinor, 34), 36)
	return npdReleases[minor]
}

var npdReleases = map[int]Release{
	34: pin("registry.k8s.io/node-problem-detector/node-problem-detector", "v1.34.4", "kubernetes/node-problem-detector v1.34.4 (2026-07-11)"),
	35: pin("registry.k8s.io/node-problem-detector/node-problem-detector", "v1.35.3", "kubernetes/node-problem-detector v1.35.3 (2026-07-11)"),
	36: pin("registry.k8s.io/node-problem-detector/node-problem-detector", "v1.36.0", "kubernetes/node-problem-detector v1.36.0 (2026-07-11)"),
}

// Repositories lists the table's image repositories (without tag), sorted,
// each once.
func Repositories() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range pinned {
		if !seen[r.Image] {
			seen[r.Image] = true
			out = append(out, r.Image)
		}
	}
	sort.Strings(out)
	return out
}

// Mirrored moves an image reference (with or without tag or digest) to a
// mirror registry, keeping its repository path and its tag or digest:
// Mirrored("mirror.example.com", "quay.io/prometheus/prometheus:v3.16.0")
// is "mirror.example.com/prometheus/prometheus:v3.16.0". The first path
// element is the source registry when it looks like a host (a dot or a
// colon, or localhost), as container runtimes decide; a reference without
// one is Docker Hub's, whose official images live under library/. An empty
// registry returns ref unchanged.
func Mirrored(registry, ref string) string {
	if registry == "" {
		return ref
	}
	return strings.TrimSuffix(registry, "/") + "/" + RepositoryPath(ref)
}

// RepositoryPath is ref without its registry host ("prometheus/prometheus:v3.16.0").
func RepositoryPath(ref string) string {
	first, rest, found := strings.Cut(ref, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return rest
	}
	if !found {
		return "library/" + ref
	}
	return ref
}

// Registry is the registry host of ref ("quay.io"; "docker.io" for a
// reference without one).
func Registry(ref string) string {
	first, _, found := strings.Cut(ref, "/")
	if found && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return first
	}
	return "docker.io"
}
