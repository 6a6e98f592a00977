package fluentbit

// Kubernetes events: the API server's core/v1 Event objects, shipped by
// Fluent Bit's kubernetes_events input to the events data stream
// (elasticsearch.StreamEvents).
//
// The input lists and then watches every event of the cluster. In the node
// DaemonSet each of N pods would do so and every event would be stored N
// times, so the events are collected by a Deployment of exactly one
// replica, replaced with the Recreate strategy so that an old and a new pod
// never ship side by side. It writes through the same output as the node
// agents: straight to Elasticsearch, or to the Fluentd aggregator when that
// is on (tag EventsTag, which Fluentd routes to the events stream).
//
// The input's database remembers the uids of the events already shipped.
// It lives on an emptyDir: it survives a container restart, and a new pod
// re-ships at most the events of the last hour (kube_retention_time), a
// few duplicates rather than a gap.

import (
	"fmt"
	"path"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentd"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

const (
	// EventsName names the events agent's Deployment, ServiceAccount,
	// ClusterRole, ConfigMap, Service and ServiceMonitor.
	EventsName = "fluent-bit-events"
	// EventsTag is the tag of event records.
	EventsTag = "events.kubernetes"
	// eventsStateDir holds the input's database and the filesystem buffer.
	eventsStateDir = "/var/fluent-bit/state"
)

// BuildEventsConfig builds the events agent's configuration.
func BuildEventsConfig(e *env.Environment) (*Config, error) {
	a := e.Logging.Agent
	c := &Config{
		Service: Service{
			Flush: 1, Grace: 5, LogLevel: "info",
			HTTPServer: true, HTTPListen: "0.0.0.0", HTTPPort: MetricsPort,
			StoragePath:            eventsStateDir + "/flb-storage/",
			StorageSync:            "normal",
			StorageBacklogMemLimit: "5M",
			StorageMetrics:         true,
		},
	}
	c.Pipeline.Inputs = []Input{{
		Name: "kubernetes_events", Alias: elasticsearch.StreamEvents, Tag: EventsTag,
		// The plugin's defaults reach the API server through the pod's
		// service account (kube_url, kube_ca_file, kube_token_file).
		DB:                eventsStateDir + "/flb_k8s_events.db",
		KubeRetentionTime: "1h",
		MemBufLimit:       a.MemBufLimit, StorageType: "filesystem",
	}}
	if e.FluentdEnabled() {
		c.Pipeline.Outputs = []Output{{
			Name: "forward", Alias: "fluentd", Match: EventsTag,
			Host: fluentd.Host(e), Port: fluentd.ForwardPort,
			RequireAckResponse:    true,
			RetryLimit:            retryLimit,
			StorageTotalLimitSize: a.StorageLimit,
		}}
		return c, nil
	}
	s, ok := elasticsearch.StreamOf(e, elasticsearch.StreamEvents)
	if !ok {
		return nil, fmt.Errorf("logging.events is on but Elasticsearch has no events stream")
	}
	c.Pipeline.Outputs = []Output{esOutput(e, s, EventsTag)}
	return c, nil
}

// eventsAgent adds the single-replica events agent, its RBAC, Service,
// NetworkPolicy and, with Prometheus, its ServiceMonitor.
func eventsAgent(e *env.Environment, s *stack.Set) error {
	cfg, err := BuildEventsConfig(e)
	if err != nil {
		return err
	}
	body, err := cfg.Marshal()
	if err != nil {
		return err
	}
	res, err := e.Logging.Events.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("logging.events.resources: %w", err)
	}
	ns := e.Logging.Namespace
	labels := stack.Labels(EventsName, "event-agent", stack.FluentBit.Version)
	selector := stack.SelectorLabels(EventsName, "event-agent")
	meta := metav1.ObjectMeta{Name: EventsName, Namespace: ns, Labels: labels}
	clusterMeta := metav1.ObjectMeta{Name: EventsName, Labels: labels}

	sa := &corev1.ServiceAccount{ObjectMeta: meta}
	// The input lists and watches /api/v1/events in every namespace.
	role := &rbacv1.ClusterRole{
		ObjectMeta: clusterMeta,
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"events"}, Verbs: []string{"list", "watch"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: clusterMeta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: EventsName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: EventsName, Namespace: ns}},
	}
	cmMeta := meta
	// ${ES_PASSWORD} is Fluent Bit's to expand, never Flux's.
	cmMeta.Annotations = map[string]string{"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
	cm := &corev1.ConfigMap{ObjectMeta: cmMeta, Data: map[string]string{path.Base(ConfigFile): string(body)}}

	volumes := []corev1.Volume{
		{Name: "state", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: EventsName}}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "state", MountPath: eventsStateDir},
		{Name: "config", MountPath: configDir, ReadOnly: true},
	}
	var envs []corev1.EnvVar
	if !e.FluentdEnabled() {
		volumes = append(volumes, corev1.Volume{Name: "elasticsearch-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: elasticsearch.CASecret(), Items: []corev1.KeyToPath{{Key: elasticsearch.CAKey, Path: elasticsearch.CAKey}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "elasticsearch-ca", MountPath: caDir, ReadOnly: true})
		envs = []corev1.EnvVar{{Name: "ES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: elasticsearch.ElasticUserSecret()}, Key: elasticsearch.ElasticUserKey,
		}}}}
	}
	httpGet := func(p string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: p, Port: intstr.FromString(metricsPortName)}}
	}
	dep := &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			// One replica, never two at once: each would ship every event.
			Replicas: ptr.To[int32](1),
			Strategy: appsv1.DeploymentStrategy{Type: appsv1.RecreateDeploymentStrategyType},
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{"vigil.dev/config-hash": hash(string(body))},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName: EventsName,
					NodeSelector:       map[string]string{"kubernetes.io/os": "linux"},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr.To(true),
						RunAsUser:      ptr.To[int64](65534),
						RunAsGroup:     ptr.To[int64](65534),
						FSGroup:        ptr.To[int64](65534),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:            Name,
						Image:           stack.FluentBit.Ref(),
						Command:         []string{"/fluent-bit/bin/fluent-bit"},
						Args:            []string{"--config=" + ConfigFile},
						Env:             envs,
						Ports:           []corev1.ContainerPort{{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
						LivenessProbe:   &corev1.Probe{ProbeHandler: httpGet("/"), PeriodSeconds: 30},
						ReadinessProbe:  &corev1.Probe{ProbeHandler: httpGet("/"), PeriodSeconds: 30},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
						VolumeMounts:    mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: metricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(metricsPortName), Protocol: corev1.ProtocolTCP}},
		},
	}
	np := prometheus.ScrapeOnlyPolicy(e, meta, selector, MetricsPort)
	// Content layer, like the node agents: after the index templates.
	s.Add(Component, stack.Content, sa, role, binding, cm, dep, svc, np)
	if e.PrometheusEnabled() {
		sm := &monitoringv1.ServiceMonitor{
			ObjectMeta: meta,
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector: metav1.LabelSelector{MatchLabels: selector},
				Endpoints: []monitoringv1.Endpoint{{
					Port: metricsPortName, Path: MetricsPath,
					Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval),
					// The job of the node agents, so that the Fluent Bit
					// alerts cover this agent too; instance is the pod.
					RelabelConfigs: []monitoringv1.RelabelConfig{
						{Action: "replace", TargetLabel: "job", Replacement: ptr.To(Name)},
						{Action: "replace", SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_name"}, TargetLabel: "instance"},
					},
				}},
			},
		}
		s.Add(Component, stack.Content, sm)
	}
	return nil
}
