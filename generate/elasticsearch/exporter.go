package elasticsearch

import (
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// The Elasticsearch exporter: ECK exports no Prometheus metrics, so cluster
// health, disk and heap come from prometheus-community's exporter.
const (
	// ExporterName names its Deployment, Service and ServiceMonitor; it is
	// also the job label of its series.
	ExporterName = "elasticsearch-exporter"
	// ExporterPort is its metrics port.
	ExporterPort     = 9114
	exporterPortName = "http-metrics"
	exporterCA       = "/etc/elasticsearch/ca"
)

// exporter adds the exporter in the instances layer and its ServiceMonitor
// in the content layer.
func exporter(e *env.Environment, s *stack.Set) error {
	ns := e.Logging.Namespace
	version := stack.ElasticsearchExporter.Version
	labels := stack.Labels(ExporterName, "exporter", version)
	selector := stack.SelectorLabels(ExporterName, "exporter")
	meta := metav1.ObjectMeta{Name: ExporterName, Namespace: ns, Labels: labels}

	args := []string{
		"--es.uri=" + URL(e),
		"--es.ca=" + exporterCA + "/" + CAKey,
		// Every node's file system and heap, not only
		// the node the Service lands on.
		"--es.all",
		"--es.timeout=30s",
		"--web.listen-address=:9114",
	}
	if e.SnapshotsEnabled() {
		// The age of the last successful snapshot per repository, and
		// SLM's counts of taken and failed snapshots per policy.
		args = append(args, "--collector.snapshots", "--collector.slm")
	}
	sa := &corev1.ServiceAccount{ObjectMeta: meta, AutomountServiceAccountToken: ptr.To(false)}
	dep := &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					ServiceAccountName:           ExporterName,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              stack.NobodyPod(),
					Containers: []corev1.Container{{
						Name:  "exporter",
						Image: stack.ElasticsearchExporter.Ref(),
						Args:  args,
						Env: []corev1.EnvVar{
							{Name: "ES_USERNAME", Value: User},
							{Name: "ES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
								LocalObjectReference: corev1.LocalObjectReference{Name: ElasticUserSecret()}, Key: ElasticUserKey,
							}}},
						},
						Ports: []corev1.ContainerPort{{Name: exporterPortName, ContainerPort: ExporterPort, Protocol: corev1.ProtocolTCP}},
						LivenessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/healthz", Port: intstr.FromString(exporterPortName)}},
						},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("25m"), corev1.ResourceMemory: resource.MustParse("64Mi")},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("128Mi")},
						},
						SecurityContext: stack.RestrictedContainer(),
						VolumeMounts:    []corev1.VolumeMount{{Name: "ca", MountPath: exporterCA, ReadOnly: true}},
					}},
					Volumes: []corev1.Volume{{Name: "ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
						SecretName: CASecret(), Items: []corev1.KeyToPath{{Key: CAKey, Path: CAKey}},
					}}}},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: exporterPortName, Port: ExporterPort, TargetPort: intstr.FromString(exporterPortName), Protocol: corev1.ProtocolTCP}},
		},
	}
	np := prometheus.ScrapeOnlyPolicy(e, meta, selector, ExporterPort)
	s.Add(Component, stack.Instances, sa, dep, svc, np)
	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: meta,
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector: metav1.LabelSelector{MatchLabels: selector},
			Endpoints: []monitoringv1.Endpoint{{
				Port: exporterPortName,
				// Each scrape queries the cluster's node stats: no
				// more often than every 30s.
				Interval:      "30s",
				ScrapeTimeout: "25s",
			}},
		},
	}
	s.Add(Component, stack.Content, sm)
	return nil
}
