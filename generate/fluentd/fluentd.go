// Package fluentd owns the optional Fluentd aggregator
// (logging.agent.fluentd): a Deployment that receives every record from
// the Fluent Bit agents over the forward protocol and writes each kind of
// log to its Elasticsearch data stream, with a file buffer per stream. It
// exists for environments that want a central place to buffer, route or
// transform logs; without it Fluent Bit writes to Elasticsearch directly.
//
// The configuration is rendered from Directive values (Render), never from
// text templates. The image is fluent/fluentd-kubernetes-daemonset's
// Elasticsearch 9 variant: the plain fluent/fluentd image has no
// Elasticsearch plugin. Like the agents it is in the content layer, after
// the index templates exist: the data stream output checks for its template
// and lifecycle policy by name and creates neither when they exist.
//
// The buffer is an emptyDir: what a replica has acknowledged but not yet
// written is lost if the pod is deleted. Fluent Bit keeps its own disk
// buffer until Fluentd acknowledges, so only that window is at risk.
package fluentd

import (
	"fmt"
	"path"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	Component = "fluentd"
	// Name names the Deployment, Service, ServiceAccount and ServiceMonitor;
	// it is the job label of its series.
	Name = "fluentd"
	// ForwardPort receives the forward protocol from Fluent Bit.
	ForwardPort = 24224
	// MetricsPort serves fluent-plugin-prometheus's /metrics.
	MetricsPort     = 24231
	forwardPortName = "forward"
	metricsPortName = "http-metrics"
)

// Paths inside the container.
const (
	configDir = "/fluentd/etc/vigil"
	// configName is relative to /fluentd/etc, where the image's entrypoint
	// reads FLUENTD_CONF from.
	configName = "vigil/fluent.conf"
	bufferDir  = "/fluentd/buffer"
	caDir      = "/fluentd/etc/elasticsearch-ca"
	// fluentUID is the fluent user of the fluent/fluentd base image.
	fluentUID = 999
)

// Host is the Service Fluent Bit forwards to.
func Host(e *env.Environment) string { return Name + "." + e.Logging.Namespace + ".svc" }

// tagOf is the Fluentd match pattern of each stream: the tags Fluent Bit
// gives its inputs ("kube.*" there, "kube.var.log.containers.x.log" on the
// wire).
var tagOf = map[string]string{
	elasticsearch.StreamContainers: "kube.**",
	elasticsearch.StreamNode:       "node.**",
	elasticsearch.StreamAudit:      "audit.**",
	elasticsearch.StreamEvents:     "events.**",
}

// BuildConfig builds the aggregator's configuration.
func BuildConfig(e *env.Environment) ([]Directive, error) {
	streams, err := elasticsearch.Streams(e)
	if err != nil {
		return nil, err
	}
	out := []Directive{
		{Name: "system", Params: []Param{P("log_level", "info")}},
		{Name: "source", Params: []Param{P("@type", "forward"), P("@id", "in_forward"), P("bind", "0.0.0.0"), P("port", fmt.Sprint(ForwardPort))}},
		{Name: "source", Params: []Param{P("@type", "prometheus"), P("@id", "in_prometheus"), P("bind", "0.0.0.0"), P("port", fmt.Sprint(MetricsPort)), P("metrics_path", "/metrics")}},
		{Name: "source", Params: []Param{P("@type", "prometheus_output_monitor"), P("@id", "in_prometheus_output_monitor")}},
		// Fluentd's own log goes to stdout only, not back into the pipeline.
		{Name: "label", Arg: "@FLUENT_LOG", Children: []Directive{{Name: "match", Arg: "**", Params: []Param{P("@type", "null")}}}},
	}
	for _, s := range streams {
		tag, ok := tagOf[s.Kind]
		if !ok {
			return nil, fmt.Errorf("no tag for the %s stream", s.Kind)
		}
		out = append(out, Directive{
			Name: "match", Arg: tag,
			Params: []Param{
				P("@type", "elasticsearch_data_stream"),
				P("@id", "out_"+s.Kind),
				P("data_stream_name", s.DataStream),
				// The bootstrap Job's template and policy: the plugin
				// creates neither when they exist.
				P("data_stream_template_name", s.Template),
				P("data_stream_ilm_name", s.Policy),
				P("host", elasticsearch.Host(e)),
				P("port", fmt.Sprint(elasticsearch.Port)),
				P("scheme", "https"),
				P("ssl_verify", "true"),
				P("ca_file", caDir+"/"+elasticsearch.CAKey),
				P("user", elasticsearch.User),
				Q("password", "#{ENV['ES_PASSWORD']}"),
				// Talk to the Service only: the node addresses sniffing
				// would find are not in the HTTP certificate.
				P("reload_connections", "false"),
				P("reload_on_failure", "false"),
				P("reconnect_on_error", "true"),
				P("request_timeout", "30s"),
				P("suppress_type_name", "true"),
				P("log_es_400_reason", "true"),
			},
			Children: []Directive{{Name: "buffer", Params: []Param{
				P("@type", "file"),
				P("path", bufferDir+"/"+s.Kind),
				P("flush_mode", "interval"),
				P("flush_interval", "5s"),
				P("flush_thread_count", "2"),
				P("chunk_limit_size", "8MB"),
				P("total_limit_size", e.Logging.Agent.StorageLimit),
				P("retry_type", "exponential_backoff"),
				P("retry_max_interval", "5m"),
				// As long as Fluent Bit keeps retrying.
				P("retry_timeout", "4h"),
				P("overflow_action", "block"),
			}}},
		})
	}
	return out, nil
}

// Generate adds the aggregator when it is enabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.FluentdEnabled() {
		return nil
	}
	ds, err := BuildConfig(e)
	if err != nil {
		return fmt.Errorf("fluentd config: %w", err)
	}
	conf, err := Render(ds)
	if err != nil {
		return fmt.Errorf("fluentd config: %w", err)
	}
	fd := e.Logging.Agent.Fluentd
	res, err := fd.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("logging.agent.fluentd.resources: %w", err)
	}
	streams, err := elasticsearch.Streams(e)
	if err != nil {
		return err
	}
	bufferLimit, err := bufferSize(e.Logging.Agent.StorageLimit, len(streams))
	if err != nil {
		return fmt.Errorf("logging.agent.storageLimit: %w", err)
	}

	ns := e.Logging.Namespace
	version := stack.Fluentd.Version
	labels := stack.Labels(Name, "log-aggregator", version)
	selector := stack.SelectorLabels(Name, "log-aggregator")
	meta := metav1.ObjectMeta{Name: Name, Namespace: ns, Labels: labels}

	sa := &corev1.ServiceAccount{ObjectMeta: meta, AutomountServiceAccountToken: ptr.To(false)}
	cm := &corev1.ConfigMap{ObjectMeta: meta, Data: map[string]string{path.Base(configName): conf}}
	tcp := func(port string) *corev1.Probe {
		return &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(port)}}, PeriodSeconds: 20}
	}
	dep := &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(int32(fd.Replicas)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: map[string]string{"vigil.dev/config-hash": hash(conf)}},
				Spec: corev1.PodSpec{
					ServiceAccountName:           Name,
					AutomountServiceAccountToken: ptr.To(false),
					// Buffers flush for up to a minute on shutdown.
					TerminationGracePeriodSeconds: ptr.To[int64](60),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](fluentUID),
						RunAsGroup:     ptr.To[int64](fluentUID),
						FSGroup:        ptr.To[int64](fluentUID),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					// Spread replicas over nodes, so one node's loss leaves
					// an aggregator running.
					TopologySpreadConstraints: []corev1.TopologySpreadConstraint{{
						MaxSkew: 1, TopologyKey: "kubernetes.io/hostname", WhenUnsatisfiable: corev1.ScheduleAnyway,
						LabelSelector: &metav1.LabelSelector{MatchLabels: selector},
					}},
					Containers: []corev1.Container{{
						Name:  Name,
						Image: stack.Fluentd.Ref(),
						Env: []corev1.EnvVar{
							{Name: "FLUENTD_CONF", Value: configName},
							{Name: "ES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: elasticsearch.ElasticUserSecret()}, Key: elasticsearch.ElasticUserKey,
							}}},
						},
						Ports: []corev1.ContainerPort{
							{Name: forwardPortName, ContainerPort: ForwardPort, Protocol: corev1.ProtocolTCP},
							{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
						},
						ReadinessProbe:  tcp(forwardPortName),
						LivenessProbe:   tcp(forwardPortName),
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
						VolumeMounts: []corev1.VolumeMount{
							{Name: "config", MountPath: configDir, ReadOnly: true},
							{Name: "buffer", MountPath: bufferDir},
							{Name: "tmp", MountPath: "/tmp"},
							{Name: "elasticsearch-ca", MountPath: caDir, ReadOnly: true},
						},
					}},
					Volumes: []corev1.Volume{
						{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: Name}}}},
						{Name: "buffer", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: &bufferLimit}}},
						{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
						{Name: "elasticsearch-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: elasticsearch.CASecret(), Items: []corev1.KeyToPath{{Key: elasticsearch.CAKey, Path: elasticsearch.CAKey}},
						}}},
					},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{
				{Name: forwardPortName, Port: ForwardPort, TargetPort: intstr.FromString(forwardPortName), Protocol: corev1.ProtocolTCP},
				{Name: metricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(metricsPortName), Protocol: corev1.ProtocolTCP},
			},
		},
	}
	agents := networkingv1.NetworkPolicyPeer{PodSelector: &metav1.LabelSelector{MatchLabels: map[string]string{stack.LabelName: "fluent-bit"}}}
	tcpPort := func(p int32) []networkingv1.NetworkPolicyPort {
		return []networkingv1.NetworkPolicyPort{{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(p))}}
	}
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta,
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			// The forward port is plain TCP without authentication: only
			// the agents may reach it.
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{From: []networkingv1.NetworkPolicyPeer{agents}, Ports: tcpPort(ForwardPort)},
				{From: []networkingv1.NetworkPolicyPeer{prometheus.Peer(e)}, Ports: tcpPort(MetricsPort)},
			},
		},
	}
	objs := []stack.Object{sa, cm, dep, svc, np}
	if fd.Replicas > 1 {
		objs = append(objs, &policyv1.PodDisruptionBudget{
			ObjectMeta: meta,
			Spec: policyv1.PodDisruptionBudgetSpec{
				MaxUnavailable: ptr.To(intstr.FromInt32(1)),
				Selector:       &metav1.LabelSelector{MatchLabels: selector},
			},
		})
	}
	s.Add(Component, stack.Content, objs...)
	if e.PrometheusEnabled() {
		sm := &monitoringv1.ServiceMonitor{
			ObjectMeta: meta,
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector:  metav1.LabelSelector{MatchLabels: selector},
				Endpoints: []monitoringv1.Endpoint{{Port: metricsPortName, Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval)}},
			},
		}
		s.Add(Component, stack.Content, sm, rules(e))
	}
	return nil
}

// bufferSize is the emptyDir limit: every stream's buffer limit, plus room
// for chunks being written.
func bufferSize(limit string, streams int) (resource.Quantity, error) {
	// Fluentd and Fluent Bit read "1G" as a binary gigabyte.
	q, err := resource.ParseQuantity(limit + "i")
	if err != nil {
		return q, err
	}
	total := resource.NewQuantity(q.Value()*int64(streams)+256<<20, resource.BinarySI)
	return *total, nil
}
