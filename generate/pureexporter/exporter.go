package pureexporter

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// exporterKind describes one of the two multi-target exporters; they share
// their command line, their deployment and their lack of state.
type exporterKind struct {
	name    string
	port    int32
	release stack.Release
}

var (
	fbExporter       = exporterKind{FBExporterName, FBExporterPort, stack.PureFBExporter}
	faLegacyExporter = exporterKind{LegacyFAExporterName, LegacyFAExporterPort, stack.PureFAExporter}
)

// exporterResources are the exporter's requests and limit. The schema has
// no resources for it: it only relays REST calls, and its memory grows
// with the clients and quota lists of the largest blade, hence the limit.
var exporterResources = corev1.ResourceRequirements{
	Requests: corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("50m"),
		corev1.ResourceMemory: resource.MustParse("64Mi"),
	},
	Limits: corev1.ResourceList{
		corev1.ResourceMemory: resource.MustParse("256Mi"),
	},
}

// nobody is the uid the exporters run as: their images (alpine) declare no
// USER, so runAsNonRoot needs an explicit non-root uid.
const nobody = 65534

// exporter returns the ServiceAccount, Deployment, Service and
// NetworkPolicy of one exporter.
func exporter(e *env.Environment, k exporterKind) []stack.Object {
	ns := Namespace(e)
	labels := stack.Labels(k.name, "exporter", k.release.Version)
	meta := metav1.ObjectMeta{Name: k.name, Namespace: ns, Labels: labels}
	selector := stack.SelectorLabels(k.name, "exporter")
	podLabels := stack.Labels(k.name, "exporter", k.release.Version)

	sa := &corev1.ServiceAccount{ObjectMeta: meta, AutomountServiceAccountToken: ptr(false)}

	probe := &corev1.Probe{
		// The index page answers without calling an array, so the probe
		// tests the exporter, not the storage network.
		ProbeHandler:     corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString("http-metrics")}},
		PeriodSeconds:    30,
		TimeoutSeconds:   5,
		FailureThreshold: 3,
	}
	container := corev1.Container{
		Name:  k.name,
		Image: k.release.Ref(),
		// Without --tokens: Prometheus sends each array's token, so no
		// token file (and no secret) reaches the exporter's pod.
		// The image's own CMD form (argparse takes "--flag value").
		Args:      []string{"--address", "0.0.0.0", "--port", strconv.Itoa(int(k.port))},
		Ports:     []corev1.ContainerPort{{Name: "http-metrics", ContainerPort: k.port, Protocol: corev1.ProtocolTCP}},
		Resources: exporterResources,
		SecurityContext: &corev1.SecurityContext{
			RunAsNonRoot:             ptr(true),
			RunAsUser:                ptr(int64(nobody)),
			RunAsGroup:               ptr(int64(nobody)),
			ReadOnlyRootFilesystem:   ptr(true),
			AllowPrivilegeEscalation: ptr(false),
			Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		ReadinessProbe: probe,
		LivenessProbe:  probe,
	}
	deploy := &appsv1.Deployment{
		ObjectMeta: meta,
		Spec: appsv1.DeploymentSpec{
			// Stateless: a restart costs one scrape, so one replica is
			// enough even in prod, and the exporter adds no load on the
			// arrays beyond what Prometheus asks for.
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: podLabels},
				Spec: corev1.PodSpec{
					ServiceAccountName:           k.name,
					AutomountServiceAccountToken: ptr(false),
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(int64(nobody)),
						RunAsGroup:     ptr(int64(nobody)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{container},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: meta,
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports: []corev1.ServicePort{{
				Name: "http-metrics", Port: k.port, TargetPort: intstr.FromString("http-metrics"), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
	port := intstr.FromInt32(k.port)
	tcp := corev1.ProtocolTCP
	np := &networkingv1.NetworkPolicy{
		ObjectMeta: meta,
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			// Ingress only: whoever reaches the exporter can make it call
			// an array with any token, so only Prometheus may. Egress stays
			// open (the arrays' management addresses are outside the
			// cluster), as in kube-prometheus.
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From: []networkingv1.NetworkPolicyPeer{{
					PodSelector:       &metav1.LabelSelector{MatchLabels: prometheus.PodSelector()},
					NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: ns}},
				}},
				Ports: []networkingv1.NetworkPolicyPort{{Protocol: &tcp, Port: &port}},
			}},
		},
	}
	return []stack.Object{sa, deploy, svc, np}
}

// serviceAddress is the in-cluster address of an exporter's Service.
func serviceAddress(e *env.Environment, k exporterKind) string {
	return fmt.Sprintf("%s.%s.svc:%d", k.name, Namespace(e), k.port)
}

func ptr[T any](v T) *T { return &v }
