package tracing

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// The collector's configuration file (opentelemetry-collector-contrib
// v0.159.0). Only the fields Vigil sets are modelled.
type collectorConfig struct {
	Extensions collectorExtensions     `json:"extensions"`
	Receivers  collectorReceivers      `json:"receivers"`
	Processors collectorProcessors     `json:"processors"`
	Exporters  map[string]otlpExporter `json:"exporters"`
	Service    collectorService        `json:"service"`
}

type collectorExtensions struct {
	HealthCheck healthCheck `json:"health_check"`
}

type collectorReceivers struct {
	OTLP otlpReceiver `json:"otlp"`
}

type otlpReceiver struct {
	Protocols otlpProtocols `json:"protocols"`
}

type otlpProtocols struct {
	GRPC *endpoint `json:"grpc,omitempty"`
	HTTP *endpoint `json:"http,omitempty"`
}

type endpoint struct {
	Endpoint string `json:"endpoint"`
}

type collectorProcessors struct {
	MemoryLimiter memoryLimiter `json:"memory_limiter"`
	K8sAttributes k8sAttributes `json:"k8s_attributes"`
	Batch         struct{}      `json:"batch"`
}

type memoryLimiter struct {
	CheckInterval        string `json:"check_interval"`
	LimitPercentage      int    `json:"limit_percentage"`
	SpikeLimitPercentage int    `json:"spike_limit_percentage"`
}

type k8sAttributes struct {
	AuthType       string           `json:"auth_type"`
	Passthrough    bool             `json:"passthrough"`
	Extract        k8sExtract       `json:"extract"`
	PodAssociation []podAssociation `json:"pod_association"`
}

type k8sExtract struct {
	Metadata []string   `json:"metadata"`
	Labels   []k8sLabel `json:"labels"`
}

type k8sLabel struct {
	TagName string `json:"tag_name"`
	Key     string `json:"key"`
	From    string `json:"from"`
}

type podAssociation struct {
	Sources []associationSource `json:"sources"`
}

type associationSource struct {
	From string `json:"from"`
	Name string `json:"name,omitempty"`
}

type otlpExporter struct {
	Endpoint string  `json:"endpoint"`
	TLS      otlpTLS `json:"tls"`
}

type otlpTLS struct {
	Insecure bool `json:"insecure"`
}

type collectorService struct {
	Extensions []string            `json:"extensions"`
	Pipelines  map[string]pipeline `json:"pipelines"`
	Telemetry  telemetry           `json:"telemetry"`
}

type pipeline struct {
	Receivers  []string `json:"receivers"`
	Processors []string `json:"processors"`
	Exporters  []string `json:"exporters"`
}

type telemetry struct {
	Metrics telemetryMetrics `json:"metrics"`
}

type telemetryMetrics struct {
	Level   string         `json:"level"`
	Readers []metricReader `json:"readers"`
}

type metricReader struct {
	Pull pullReader `json:"pull"`
}

type pullReader struct {
	Exporter pullExporter `json:"exporter"`
}

type pullExporter struct {
	Prometheus promExporter `json:"prometheus"`
}

type promExporter struct {
	Host string `json:"host"`
	Port int    `json:"port"`
}

type healthCheck struct {
	Endpoint string `json:"endpoint"`
	Path     string `json:"path"`
}

// The Spark pod labels the collector copies onto spans, as AttrSparkApp,
// AttrSparkAppID and AttrSparkRole.
const (
	podLabelSparkApp   = "sparkoperator.k8s.io/app-name"
	podLabelSparkAppID = "spark-app-selector"
	podLabelSparkRole  = "spark-role"
)

// exporterName is the collector's exporter to the backend. otlp_grpc is
// the exporter's name since v0.144 (otlp remains a deprecated alias).
func exporterName(e *env.Environment) string { return "otlp_grpc/" + e.Tracing.Backend }

// collectorConfigFor builds the collector's configuration.
func collectorConfigFor(e *env.Environment) collectorConfig {
	exporter := exporterName(e)
	listen := func(port int) *endpoint { return &endpoint{Endpoint: fmt.Sprintf("0.0.0.0:%d", port)} }
	return collectorConfig{
		Extensions: collectorExtensions{
			HealthCheck: healthCheck{Endpoint: fmt.Sprintf("0.0.0.0:%d", collectorHealthPort), Path: "/"},
		},
		Receivers: collectorReceivers{OTLP: otlpReceiver{Protocols: otlpProtocols{
			GRPC: listen(OTLPGRPCPort),
			HTTP: listen(OTLPHTTPPort),
		}}},
		Processors: collectorProcessors{
			// Refuse data (the sender retries) before the container's
			// memory limit kills the collector with everything it buffers.
			MemoryLimiter: memoryLimiter{CheckInterval: "1s", LimitPercentage: 80, SpikeLimitPercentage: 20},
			K8sAttributes: k8sAttributes{
				AuthType: "serviceAccount",
				Extract: k8sExtract{
					Metadata: []string{AttrNamespace, AttrPod, "k8s.pod.uid", AttrNode, "k8s.deployment.name"},
					Labels: []k8sLabel{
						{TagName: AttrSparkApp, Key: podLabelSparkApp, From: "pod"},
						{TagName: AttrSparkAppID, Key: podLabelSparkAppID, From: "pod"},
						{TagName: AttrSparkRole, Key: podLabelSparkRole, From: "pod"},
					},
				},
				// SDKs that know their pod (the downward API) say so; the
				// sender's address identifies the others. The connection
				// rule only works before batching, hence the processor
				// order below.
				PodAssociation: []podAssociation{
					{Sources: []associationSource{{From: "resource_attribute", Name: "k8s.pod.ip"}}},
					{Sources: []associationSource{{From: "resource_attribute", Name: "k8s.pod.uid"}}},
					{Sources: []associationSource{{From: "connection"}}},
				},
			},
		},
		Exporters: map[string]otlpExporter{
			// In-cluster plain gRPC: the backend has no TLS listener.
			exporter: {Endpoint: backendOTLP(e), TLS: otlpTLS{Insecure: true}},
		},
		Service: collectorService{
			Extensions: []string{"health_check"},
			Pipelines: map[string]pipeline{"traces": {
				Receivers:  []string{"otlp"},
				Processors: []string{"memory_limiter", "k8s_attributes", "batch"},
				Exporters:  []string{exporter},
			}},
			// The default reader listens on localhost only.
			Telemetry: telemetry{Metrics: telemetryMetrics{
				Level:   "normal",
				Readers: []metricReader{{Pull: pullReader{Exporter: pullExporter{Prometheus: promExporter{Host: "0.0.0.0", Port: CollectorMetricsPort}}}}},
			}},
		},
	}
}

// collectorUID is the user of the otel/opentelemetry-collector-contrib
// image.
const collectorUID = 10001

// collector returns the collector's ServiceAccount, RBAC, ConfigMap,
// Deployment, Service, NetworkPolicy and (with more than one replica)
// PodDisruptionBudget.
func collector(e *env.Environment) ([]stack.Object, error) {
	ns := Namespace(e)
	c := e.Tracing.Collector
	version := stack.OTelCollector.Version
	l := labels(CollectorName, "collector", version)
	selector := stack.SelectorLabels(CollectorName, "collector")

	file, sum, err := configFile(collectorConfigFor(e))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	res, err := c.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("tracing.collector.resources: %w", err)
	}

	sa := &corev1.ServiceAccount{ObjectMeta: meta(CollectorName, ns, l)}
	// Cluster-wide read of pods, namespaces and replicasets: spans come from
	// any namespace, and k8s_attributes looks their sender up.
	clusterRoleName := "vigil-" + CollectorName
	role := &rbacv1.ClusterRole{
		ObjectMeta: meta(clusterRoleName, "", l),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"pods", "namespaces"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"apps"}, Resources: []string{"replicasets"}, Verbs: []string{"get", "list", "watch"}},
		},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(clusterRoleName, "", l),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: clusterRoleName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: CollectorName, Namespace: ns}},
	}
	cm := &corev1.ConfigMap{ObjectMeta: meta(CollectorName, ns, l), Data: map[string]string{"config.yaml": file}}

	health := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{
		Path: "/", Port: intstr.FromInt32(collectorHealthPort),
	}}}
	deploy := &appsv1.Deployment{
		ObjectMeta: meta(CollectorName, ns, l),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(c.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{checksumAnnotation: sum}},
				Spec: corev1.PodSpec{
					ServiceAccountName: CollectorName,
					SecurityContext:    podSecurity(collectorUID),
					Containers: []corev1.Container{{
						Name:  CollectorName,
						Image: stack.OTelCollector.Ref(),
						Args:  []string{"--config=/conf/config.yaml"},
						Ports: []corev1.ContainerPort{
							{Name: "otlp-grpc", ContainerPort: OTLPGRPCPort, Protocol: corev1.ProtocolTCP},
							{Name: "otlp-http", ContainerPort: OTLPHTTPPort, Protocol: corev1.ProtocolTCP},
							{Name: "metrics", ContainerPort: CollectorMetricsPort, Protocol: corev1.ProtocolTCP},
						},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
						ReadinessProbe:  health,
						LivenessProbe:   health,
						VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: "/conf", ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{configMapVolume("config", CollectorName)},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta(CollectorName, ns, l),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{
				{Name: "otlp-grpc", Port: OTLPGRPCPort, TargetPort: intstr.FromString("otlp-grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: ptr("grpc")},
				{Name: "otlp-http", Port: OTLPHTTPPort, TargetPort: intstr.FromString("otlp-http"), Protocol: corev1.ProtocolTCP, AppProtocol: ptr("http")},
				{Name: "metrics", Port: CollectorMetricsPort, TargetPort: intstr.FromString("metrics"), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(CollectorName, ns, l),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				// Applications in any namespace send traces.
				{
					From:  []networkingv1.NetworkPolicyPeer{{NamespaceSelector: &metav1.LabelSelector{}}},
					Ports: tcpPorts(OTLPGRPCPort, OTLPHTTPPort),
				},
				{
					From:  []networkingv1.NetworkPolicyPeer{prometheus.Peer(e)},
					Ports: tcpPorts(CollectorMetricsPort),
				},
			},
		},
	}
	objs := []stack.Object{sa, role, binding, cm, deploy, svc, np}
	if c.Replicas > 1 {
		objs = append(objs, &policyv1.PodDisruptionBudget{
			ObjectMeta: meta(CollectorName, ns, l),
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable: ptr(intstr.FromInt32(1)),
				Selector:       &metav1.LabelSelector{MatchLabels: selector},
			},
		})
	}
	return objs, nil
}

func tcpPorts(ports ...int32) []networkingv1.NetworkPolicyPort {
	var out []networkingv1.NetworkPolicyPort
	for _, p := range ports {
		out = append(out, networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(p))})
	}
	return out
}
