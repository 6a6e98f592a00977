package tracing

import (
	"fmt"
	"path"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Jaeger v2's configuration file (jaegertracing/jaeger v2.20.0, an
// OpenTelemetry Collector distribution). Only the fields Vigil sets are
// modelled.
type jaegerConfig struct {
	Service    jaegerService    `json:"service"`
	Extensions jaegerExtensions `json:"extensions"`
	Receivers  jaegerReceivers  `json:"receivers"`
	Processors jaegerProcessors `json:"processors"`
	Exporters  jaegerExporters  `json:"exporters"`
}

type jaegerService struct {
	Extensions []string            `json:"extensions"`
	Pipelines  map[string]pipeline `json:"pipelines"`
	Telemetry  telemetry           `json:"telemetry"`
}

type jaegerExtensions struct {
	HealthCheckV2 healthCheckV2 `json:"healthcheckv2"`
	Query         jaegerQuery   `json:"jaeger_query"`
	Storage       jaegerStorage `json:"jaeger_storage"`
}

type healthCheckV2 struct {
	UseV2 bool     `json:"use_v2"`
	HTTP  endpoint `json:"http"`
}

type jaegerQuery struct {
	Storage jaegerQueryStorage `json:"storage"`
	HTTP    endpoint           `json:"http"`
}

type jaegerQueryStorage struct {
	Traces string `json:"traces"`
}

type jaegerStorage struct {
	Backends map[string]jaegerBackend `json:"backends"`
}

type jaegerBackend struct {
	Elasticsearch jaegerES `json:"elasticsearch"`
}

type jaegerES struct {
	ServerURLs []string      `json:"server_urls"`
	Auth       jaegerESAuth  `json:"auth"`
	TLS        jaegerESTLS   `json:"tls"`
	Indices    jaegerIndices `json:"indices"`
}

type jaegerESAuth struct {
	Basic jaegerBasicAuth `json:"basic"`
}

type jaegerBasicAuth struct {
	Username     string `json:"username"`
	PasswordFile string `json:"password_file"`
}

type jaegerESTLS struct {
	CAFile string `json:"ca_file"`
}

type jaegerIndices struct {
	IndexPrefix string `json:"index_prefix"`
}

type jaegerReceivers struct {
	OTLP otlpReceiver `json:"otlp"`
}

type jaegerProcessors struct {
	Batch struct{} `json:"batch"`
}

type jaegerExporters struct {
	Storage jaegerStorageExporter `json:"jaeger_storage_exporter"`
}

type jaegerStorageExporter struct {
	TraceStorage string `json:"trace_storage"`
}

// Paths and names inside the Jaeger pod.
const (
	jaegerConfDir     = "/conf"
	jaegerPasswordDir = "/etc/jaeger/es-password"
	jaegerCADir       = "/etc/jaeger/es-ca"
	jaegerStore       = "elasticsearch"
	// JaegerIndexPrefix starts the names of Jaeger's daily indices
	// (jaeger-span-YYYY-MM-DD, …); the logging lifecycle policies must
	// leave them alone or delete them at the trace retention.
	JaegerIndexPrefix = "jaeger"
	// jaegerUID is the user of the jaegertracing/jaeger image.
	jaegerUID = 10001
)

func jaegerConfigFor(e *env.Environment) jaegerConfig {
	es := LoggingElasticsearch(e)
	listen := func(port int) endpoint { return endpoint{Endpoint: fmt.Sprintf("0.0.0.0:%d", port)} }
	return jaegerConfig{
		Service: jaegerService{
			Extensions: []string{"jaeger_storage", "jaeger_query", "healthcheckv2"},
			Pipelines: map[string]pipeline{"traces": {
				Receivers:  []string{"otlp"},
				Processors: []string{"batch"},
				Exporters:  []string{"jaeger_storage_exporter"},
			}},
			Telemetry: telemetry{Metrics: telemetryMetrics{
				Level:   "normal",
				Readers: []metricReader{{Pull: pullReader{Exporter: pullExporter{Prometheus: promExporter{Host: "0.0.0.0", Port: CollectorMetricsPort}}}}},
			}},
		},
		Extensions: jaegerExtensions{
			HealthCheckV2: healthCheckV2{UseV2: true, HTTP: listen(jaegerHealth)},
			Query:         jaegerQuery{Storage: jaegerQueryStorage{Traces: jaegerStore}, HTTP: listen(JaegerQueryPort)},
			Storage: jaegerStorage{Backends: map[string]jaegerBackend{jaegerStore: {Elasticsearch: jaegerES{
				ServerURLs: []string{es.URL},
				// The password is a file from ECK's Secret, never in
				// this ConfigMap.
				Auth:    jaegerESAuth{Basic: jaegerBasicAuth{Username: es.User, PasswordFile: path.Join(jaegerPasswordDir, es.Password.Key)}},
				TLS:     jaegerESTLS{CAFile: path.Join(jaegerCADir, es.CA.Key)},
				Indices: jaegerIndices{IndexPrefix: JaegerIndexPrefix},
			}}}},
		},
		Receivers:  jaegerReceivers{OTLP: otlpReceiver{Protocols: otlpProtocols{GRPC: ptr(listen(OTLPGRPCPort))}}},
		Processors: jaegerProcessors{},
		Exporters:  jaegerExporters{Storage: jaegerStorageExporter{TraceStorage: jaegerStore}},
	}
}

// jaeger returns Jaeger's ServiceAccount, ConfigMap, Deployment, Service
// and NetworkPolicy, in the logging namespace.
func jaeger(e *env.Environment) ([]stack.Object, error) {
	ns := JaegerNamespace(e)
	es := LoggingElasticsearch(e)
	version := stack.Jaeger.Version
	l := labels(JaegerName, "backend", version)
	selector := stack.SelectorLabels(JaegerName, "backend")

	file, sum, err := configFile(jaegerConfigFor(e))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	// The schema has no resources for Jaeger; it shares the collector's
	// shape of work (receive, batch, write).
	res, err := e.Tracing.Collector.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("tracing.collector.resources: %w", err)
	}

	sa := &corev1.ServiceAccount{ObjectMeta: meta(JaegerName, ns, l), AutomountServiceAccountToken: ptr(false)}
	cm := &corev1.ConfigMap{ObjectMeta: meta(JaegerName, ns, l), Data: map[string]string{"config.yaml": file}}
	health := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/status", Port: intstr.FromInt32(jaegerHealth),
	}}}
	deploy := &appsv1.Deployment{
		ObjectMeta: meta(JaegerName, ns, l),
		Spec: appsv1.DeploymentSpec{
			// Stateless: the traces are in Elasticsearch.
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{checksumAnnotation: sum}},
				Spec: corev1.PodSpec{
					ServiceAccountName:           JaegerName,
					AutomountServiceAccountToken: ptr(false),
					SecurityContext:              podSecurity(jaegerUID),
					Containers: []corev1.Container{{
						Name:  JaegerName,
						Image: stack.Jaeger.Ref(),
						Args:  []string{"--config=" + path.Join(jaegerConfDir, "config.yaml")},
						Ports: []corev1.ContainerPort{
							{Name: "query", ContainerPort: JaegerQueryPort, Protocol: corev1.ProtocolTCP},
							{Name: "otlp-grpc", ContainerPort: OTLPGRPCPort, Protocol: corev1.ProtocolTCP},
							{Name: "metrics", ContainerPort: CollectorMetricsPort, Protocol: corev1.ProtocolTCP},
						},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
						ReadinessProbe:  health,
						LivenessProbe:   health,
						VolumeMounts: []corev1.VolumeMount{
							{Name: "config", MountPath: jaegerConfDir, ReadOnly: true},
							{Name: "es-password", MountPath: jaegerPasswordDir, ReadOnly: true},
							{Name: "es-ca", MountPath: jaegerCADir, ReadOnly: true},
							{Name: "tmp", MountPath: "/tmp"},
						},
					}},
					Volumes: []corev1.Volume{
						configMapVolume("config", JaegerName),
						secretFileVolume("es-password", es.Password),
						secretFileVolume("es-ca", es.CA),
						tmpVolume(),
					},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta(JaegerName, ns, l),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{
				{Name: "query", Port: JaegerQueryPort, TargetPort: intstr.FromString("query"), Protocol: corev1.ProtocolTCP},
				{Name: "otlp-grpc", Port: OTLPGRPCPort, TargetPort: intstr.FromString("otlp-grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: ptr("grpc")},
				{Name: "metrics", Port: CollectorMetricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(JaegerName, ns, l),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{From: []networkingv1.NetworkPolicyPeer{collectorPeer(e)}, Ports: tcpPorts(OTLPGRPCPort)},
				{From: []networkingv1.NetworkPolicyPeer{grafanaPeer(e)}, Ports: tcpPorts(JaegerQueryPort)},
				{From: []networkingv1.NetworkPolicyPeer{prometheus.Peer(e)}, Ports: tcpPorts(CollectorMetricsPort)},
			},
		},
	}
	return []stack.Object{sa, cm, deploy, svc, np}, nil
}
