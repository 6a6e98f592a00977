// Package tracing owns distributed tracing: an OpenTelemetry Collector that
// receives OTLP from applications and a trace backend it exports to.
//
// The default backend is Grafana Tempo in monolithic mode, storing traces
// in the object role's S3 bucket (a FlashBlade on-prem): object storage is
// what Tempo is built for, it costs nothing on the block arrays, retention
// is one setting, and Grafana links Tempo to metrics and logs natively.
// The alternative, Jaeger v2 on the logging Elasticsearch, adds trace
// indices to a cluster sized for logs and needs an index cleaner for
// retention; it suits clusters without an object store.
//
// Neither the OpenTelemetry Operator nor the Tempo Operator is used: their
// admission webhooks need cert-manager (stack.md rule 14), a whole
// component more to run and upgrade for a collector Deployment and a
// single Tempo. Both are plain workloads here, with their configuration
// files built from Go structs and marshalled to YAML, so every field is
// typed and reviewed in the golden files.
//
// The collector stamps every span with the Kubernetes identity of its
// sender (k8s_attributes: namespace, pod, node, and the Spark application
// labels), the attributes Grafana uses to jump from a trace to the pod's
// logs and metrics.
package tracing

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the base of every object of this package.
const Component = "tracing"

// The collector's names and ports.
const (
	CollectorName = "otel-collector"
	// OTLPGRPCPort and OTLPHTTPPort receive OTLP from applications: point
	// OTEL_EXPORTER_OTLP_ENDPOINT at CollectorEndpoint.
	OTLPGRPCPort = 4317
	OTLPHTTPPort = 4318
	// CollectorMetricsPort serves the collector's own metrics.
	CollectorMetricsPort = 8888
	collectorHealthPort  = 13133
)

// Tempo's names and ports.
const (
	TempoName     = "tempo"
	TempoHTTPPort = 3200
)

// Jaeger's names and ports.
const (
	JaegerName      = "jaeger"
	JaegerQueryPort = 16686
	jaegerHealth    = 13133
)

// The resource attributes the collector adds to every span from the
// sending pod (k8s_attributes processor); Grafana maps them to log fields
// and metric labels (package correlation).
const (
	AttrNamespace  = "k8s.namespace.name"
	AttrPod        = "k8s.pod.name"
	AttrNode       = "k8s.node.name"
	AttrSparkApp   = "spark.app.name"
	AttrSparkAppID = "spark.app.id"
	AttrSparkRole  = "spark.role"
)

// Namespace is the namespace of the collector and of Tempo.
func Namespace(e *env.Environment) string { return e.Tracing.Namespace }

// JaegerNamespace is where Jaeger runs: next to Elasticsearch, in the
// logging namespace, so that it mounts ECK's CA and password Secrets
// directly instead of copies of them.
func JaegerNamespace(e *env.Environment) string { return e.Logging.Namespace }

// CollectorEndpoint is the OTLP/gRPC address applications send traces to.
func CollectorEndpoint(e *env.Environment) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", CollectorName, Namespace(e), OTLPGRPCPort)
}

// BackendURL is the query URL of the trace backend, for Grafana's
// datasource.
func BackendURL(e *env.Environment) string {
	if e.Tracing.Backend == env.BackendJaeger {
		return fmt.Sprintf("http://%s.%s.svc:%d", JaegerName, JaegerNamespace(e), JaegerQueryPort)
	}
	return fmt.Sprintf("http://%s.%s.svc:%d", TempoName, Namespace(e), TempoHTTPPort)
}

// backendOTLP is where the collector exports: the backend's OTLP/gRPC
// receiver.
func backendOTLP(e *env.Environment) string {
	if e.Tracing.Backend == env.BackendJaeger {
		return fmt.Sprintf("%s.%s.svc:%d", JaegerName, JaegerNamespace(e), OTLPGRPCPort)
	}
	return fmt.Sprintf("%s.%s.svc:%d", TempoName, Namespace(e), OTLPGRPCPort)
}

// Generate adds, when tracing is enabled, the collector and the chosen
// backend (Instances layer) and their monitors and alert rules (Content
// layer; only with monitoring on).
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Tracing.Enabled {
		return nil
	}
	objs, err := collector(e)
	if err != nil {
		return fmt.Errorf("tracing collector: %w", err)
	}
	s.Add(Component, stack.Instances, objs...)
	switch e.Tracing.Backend {
	case env.BackendTempo:
		objs, err := tempo(e)
		if err != nil {
			return fmt.Errorf("tracing tempo: %w", err)
		}
		s.Add(Component, stack.Instances, objs...)
	case env.BackendJaeger:
		objs, err := jaeger(e)
		if err != nil {
			return fmt.Errorf("tracing jaeger: %w", err)
		}
		s.Add(Component, stack.Instances, objs...)
	default:
		return fmt.Errorf("tracing.backend %q: want %q or %q", e.Tracing.Backend, env.BackendTempo, env.BackendJaeger)
	}
	if e.Monitoring.Enabled {
		s.Add(Component, stack.Content, monitors(e)...)
		s.Add(Component, stack.Content, rules(e))
	}
	return nil
}
