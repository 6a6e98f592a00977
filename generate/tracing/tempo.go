package tracing

import (
	"fmt"
	"path"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Tempo's configuration file (grafana/tempo v3.0.3, monolithic: target
// "all", the default). Only the fields Vigil sets are modelled.
type tempoConfig struct {
	Server           tempoServer           `json:"server"`
	Distributor      tempoDistributor      `json:"distributor"`
	Storage          tempoStorage          `json:"storage"`
	BackendScheduler tempoBackendScheduler `json:"backend_scheduler"`
	BackendWorker    tempoBackendWorker    `json:"backend_worker"`
	UsageReport      tempoUsageReport      `json:"usage_report"`
}

type tempoServer struct {
	HTTPListenPort int    `json:"http_listen_port"`
	LogLevel       string `json:"log_level"`
}

type tempoDistributor struct {
	Receivers tempoReceivers `json:"receivers"`
}

type tempoReceivers struct {
	OTLP otlpReceiver `json:"otlp"`
}

type tempoStorage struct {
	Trace tempoTrace `json:"trace"`
}

type tempoTrace struct {
	Backend string  `json:"backend"`
	S3      tempoS3 `json:"s3"`
	WAL     walPath `json:"wal"`
}

type walPath struct {
	Path string `json:"path"`
}

type tempoS3 struct {
	Bucket         string `json:"bucket"`
	Endpoint       string `json:"endpoint"`
	Region         string `json:"region,omitempty"`
	Insecure       bool   `json:"insecure"`
	ForcePathStyle bool   `json:"forcepathstyle"`
	TLSCAPath      string `json:"tls_ca_path,omitempty"`
}

// In Tempo 3 the backend scheduler plans compaction and retention and the
// backend worker executes it; both read block_retention (the Tempo 3 S3
// example sets both).
type tempoBackendScheduler struct {
	Provider tempoSchedulerProvider `json:"provider"`
}

type tempoSchedulerProvider struct {
	Compaction tempoSchedulerCompaction `json:"compaction"`
}

type tempoSchedulerCompaction struct {
	Compaction tempoCompaction `json:"compaction"`
}

type tempoBackendWorker struct {
	Compaction tempoCompaction `json:"compaction"`
}

type tempoCompaction struct {
	BlockRetention string `json:"block_retention"`
}

type tempoUsageReport struct {
	ReportingEnabled bool `json:"reporting_enabled"`
}

// Paths inside the Tempo pod. Everything Tempo writes (WAL, live-store
// blocks, scheduler work files) is under /var/tempo, on the volume.
const (
	tempoDataDir = "/var/tempo"
	tempoConfDir = "/conf"
	tempoCADir   = "/etc/tempo/s3-ca"
	// tempoUID is the tempo user of the grafana/tempo image.
	tempoUID = 10001
)

// tempoConfigFor builds Tempo's configuration for the object role's S3.
func tempoConfigFor(e *env.Environment, s3 *env.S3Endpoint) tempoConfig {
	t := e.Tracing.Tempo
	scheme, host := splitURL(s3.Endpoint)
	cfg := tempoConfig{
		Server: tempoServer{HTTPListenPort: TempoHTTPPort, LogLevel: "info"},
		Distributor: tempoDistributor{Receivers: tempoReceivers{OTLP: otlpReceiver{Protocols: otlpProtocols{
			GRPC: &endpoint{Endpoint: fmt.Sprintf("0.0.0.0:%d", OTLPGRPCPort)},
		}}}},
		Storage: tempoStorage{Trace: tempoTrace{
			Backend: "s3",
			S3: tempoS3{
				Bucket:   t.Bucket,
				Endpoint: host,
				Region:   s3.Region,
				// An http:// endpoint (a FlashBlade data VIP without TLS);
				// the keys come from the environment, never this file.
				Insecure:       scheme == "http",
				ForcePathStyle: s3.PathStyle,
			},
			WAL: walPath{Path: path.Join(tempoDataDir, "wal")},
		}},
		BackendScheduler: tempoBackendScheduler{Provider: tempoSchedulerProvider{Compaction: tempoSchedulerCompaction{
			Compaction: tempoCompaction{BlockRetention: t.Retention},
		}}},
		BackendWorker: tempoBackendWorker{Compaction: tempoCompaction{BlockRetention: t.Retention}},
		UsageReport:   tempoUsageReport{ReportingEnabled: false},
	}
	if s3.CABundle != nil {
		cfg.Storage.Trace.S3.TLSCAPath = path.Join(tempoCADir, s3.CABundle.Key)
	}
	return cfg
}

// tempo returns Tempo's ServiceAccount, ConfigMap, StatefulSet, Service and
// NetworkPolicy.
func tempo(e *env.Environment) ([]stack.Object, error) {
	ns := Namespace(e)
	t := e.Tracing.Tempo
	s3, ok := e.S3(nil)
	if !ok {
		return nil, fmt.Errorf("no S3 endpoint: map storage.roles.object to a FlashBlade with flashblade.s3")
	}
	if t.Credentials == nil {
		return nil, fmt.Errorf("tracing.tempo.credentials: Tempo needs S3 credentials")
	}
	version := stack.Tempo.Version
	l := labels(TempoName, "backend", version)
	selector := stack.SelectorLabels(TempoName, "backend")

	file, sum, err := configFile(tempoConfigFor(e, s3))
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	res, err := t.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("tracing.tempo.resources: %w", err)
	}
	size, err := resource.ParseQuantity(t.Storage.Size)
	if err != nil {
		return nil, fmt.Errorf("tracing.tempo.storage.size %q: %w", t.Storage.Size, err)
	}

	sa := &corev1.ServiceAccount{ObjectMeta: meta(TempoName, ns, l), AutomountServiceAccountToken: ptr(false)}
	cm := &corev1.ConfigMap{ObjectMeta: meta(TempoName, ns, l), Data: map[string]string{"tempo.yaml": file}}

	mounts := []corev1.VolumeMount{
		{Name: "data", MountPath: tempoDataDir},
		{Name: "config", MountPath: tempoConfDir, ReadOnly: true},
		{Name: "tmp", MountPath: "/tmp"},
	}
	volumes := []corev1.Volume{configMapVolume("config", TempoName), tmpVolume()}
	if s3.CABundle != nil {
		// The Secret must be in the tracing namespace.
		mounts = append(mounts, corev1.VolumeMount{Name: "s3-ca", MountPath: tempoCADir, ReadOnly: true})
		volumes = append(volumes, secretFileVolume("s3-ca", *s3.CABundle))
	}
	ready := &corev1.Probe{
		ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/ready", Port: intstr.FromString("http")}},
		InitialDelaySeconds: 15,
	}
	sts := &appsv1.StatefulSet{
		ObjectMeta: meta(TempoName, ns, l),
		Spec: appsv1.StatefulSetSpec{
			// Monolithic Tempo is one instance; its WAL is on its volume.
			Replicas:    ptr(int32(1)),
			ServiceName: TempoName,
			Selector:    &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l, Annotations: map[string]string{checksumAnnotation: sum}},
				Spec: corev1.PodSpec{
					ServiceAccountName:           TempoName,
					AutomountServiceAccountToken: ptr(false),
					SecurityContext:              podSecurity(tempoUID),
					Containers: []corev1.Container{{
						Name:  TempoName,
						Image: stack.Tempo.Ref(),
						Args:  []string{"-config.file=" + path.Join(tempoConfDir, "tempo.yaml")},
						Env: []corev1.EnvVar{
							// Tempo's S3 client reads the standard AWS
							// variables when the file has no keys.
							secretEnv("AWS_ACCESS_KEY_ID", t.Credentials.AccessKeyID),
							secretEnv("AWS_SECRET_ACCESS_KEY", t.Credentials.SecretAccessKey),
						},
						Ports: []corev1.ContainerPort{
							{Name: "http", ContainerPort: TempoHTTPPort, Protocol: corev1.ProtocolTCP},
							{Name: "otlp-grpc", ContainerPort: OTLPGRPCPort, Protocol: corev1.ProtocolTCP},
						},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
						ReadinessProbe:  ready,
						VolumeMounts:    mounts,
					}},
					Volumes: volumes,
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data", Labels: stack.SelectorLabels(TempoName, "backend")},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					StorageClassName: ptr(env.StorageClassName(t.Storage.Role)),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				},
			}},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta(TempoName, ns, l),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{
				{Name: "http", Port: TempoHTTPPort, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP},
				{Name: "otlp-grpc", Port: OTLPGRPCPort, TargetPort: intstr.FromString("otlp-grpc"), Protocol: corev1.ProtocolTCP, AppProtocol: ptr("grpc")},
			},
		},
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(TempoName, ns, l),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				// Spans only through the collector, which stamps them.
				{From: []networkingv1.NetworkPolicyPeer{collectorPeer(e)}, Ports: tcpPorts(OTLPGRPCPort)},
				// Queries from Grafana; metrics for Prometheus.
				{From: []networkingv1.NetworkPolicyPeer{grafanaPeer(e), prometheus.Peer(e)}, Ports: tcpPorts(TempoHTTPPort)},
			},
		},
	}
	return []stack.Object{sa, cm, sts, svc, np}, nil
}

func collectorPeer(e *env.Environment) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: Namespace(e)}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: stack.SelectorLabels(CollectorName, "collector")},
	}
}

func grafanaPeer(e *env.Environment) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: e.Monitoring.Namespace}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: stack.SelectorLabels(grafana.Name, grafana.Component)},
	}
}

// splitURL splits "https://host:port/" into its scheme and host:port.
func splitURL(u string) (scheme, host string) {
	host = u
	if s, rest, ok := strings.Cut(u, "://"); ok {
		scheme, host = s, rest
	}
	return scheme, strings.TrimSuffix(host, "/")
}
