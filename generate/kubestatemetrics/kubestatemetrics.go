// Package kubestatemetrics owns kube-state-metrics: the Deployment that turns
// the state of Kubernetes objects into series (kube_pod_*, kube_node_*, …),
// its RBAC, Service, ServiceMonitor, NetworkPolicy and alert rules.
//
// One list, Resources, drives both the --resources flag and the ClusterRole,
// so the exporter never watches what it may not list. nodes is always in
// it: the conditions Node Problem Detector sets reach Prometheus as
// kube_node_status_condition, and the npd package alerts on them.
//
// Unlike kube-prometheus it runs no kube-rbac-proxy: the metrics are plain
// HTTP, guarded by the NetworkPolicy, and the ClusterRole needs no
// TokenReview or SubjectAccessReview.
package kubestatemetrics

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	// Component is the stack component of every object.
	Component = "kube-state-metrics"
	// Name names the Deployment, Service, ServiceAccount and RBAC objects.
	Name = "kube-state-metrics"
	// MetricsPort serves the object metrics.
	MetricsPort     = 8080
	MetricsPortName = "http-metrics"
	// TelemetryPort serves kube-state-metrics' own metrics.
	TelemetryPort     = 8081
	TelemetryPortName = "telemetry"
	// Job is the job label of the object metrics.
	Job = Name
)

// Resource is one kind kube-state-metrics exposes: its --resources name and
// the API group the ClusterRole grants list and watch on.
type Resource struct {
	Group string
	Name  string
}

// Resources are the kinds exposed: kube-state-metrics v2.19's default
// --resources set (docs/developer/cli-arguments.md).
var Resources = []Resource{
	{"certificates.k8s.io", "certificatesigningrequests"},
	{"", "configmaps"},
	{"batch", "cronjobs"},
	{"apps", "daemonsets"},
	{"apps", "deployments"},
	{"discovery.k8s.io", "endpointslices"},
	{"autoscaling", "horizontalpodautoscalers"},
	{"networking.k8s.io", "ingresses"},
	{"batch", "jobs"},
	{"coordination.k8s.io", "leases"},
	{"", "limitranges"},
	{"admissionregistration.k8s.io", "mutatingwebhookconfigurations"},
	{"", "namespaces"},
	{"networking.k8s.io", "networkpolicies"},
	{"", "nodes"},
	{"", "persistentvolumeclaims"},
	{"", "persistentvolumes"},
	{"policy", "poddisruptionbudgets"},
	{"", "pods"},
	{"apps", "replicasets"},
	{"", "replicationcontrollers"},
	{"", "resourcequotas"},
	// Only metadata reaches the metrics (kube_secret_info, _type,
	// _created), but listing Secrets hands their data to the exporter's
	// memory; kube-prometheus grants it too.
	{"", "secrets"},
	{"", "services"},
	{"apps", "statefulsets"},
	{"storage.k8s.io", "storageclasses"},
	{"admissionregistration.k8s.io", "validatingwebhookconfigurations"},
	{"storage.k8s.io", "volumeattachments"},
}

// Args are the exporter's command line.
func Args() []string {
	names := make([]string, len(Resources))
	for i, r := range Resources {
		names[i] = r.Name
	}
	return []string{
		fmt.Sprintf("--port=%d", MetricsPort),
		fmt.Sprintf("--telemetry-port=%d", TelemetryPort),
		"--resources=" + strings.Join(names, ","),
		// The Spark dashboard joins container metrics with the Spark pod
		// labels through kube_pod_labels.
		"--metric-labels-allowlist=" + correlation.KSMPodLabelAllowlist,
	}
}

// policyRules grants list and watch on Resources, one rule per API group in
// the order groups first appear.
func policyRules() []rbacv1.PolicyRule {
	var rules []rbacv1.PolicyRule
	at := map[string]int{}
	for _, r := range Resources {
		i, ok := at[r.Group]
		if !ok {
			i = len(rules)
			at[r.Group] = i
			rules = append(rules, rbacv1.PolicyRule{APIGroups: []string{r.Group}, Verbs: []string{"list", "watch"}})
		}
		rules[i].Resources = append(rules[i].Resources, r.Name)
	}
	return rules
}

// Generate adds kube-state-metrics. It adds nothing when monitoring or the
// exporter is disabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Monitoring.Enabled || !e.Monitoring.KubeStateMetrics.Enabled {
		return nil
	}
	ns := e.Monitoring.Namespace
	version := stack.KubeStateMetrics.Version
	res, err := e.Monitoring.KubeStateMetrics.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("monitoring.kubeStateMetrics.resources: %w", err)
	}
	labels := func() map[string]string { return stack.Labels(Name, "exporter", version) }
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels()}
	}
	selector := stack.SelectorLabels(Name, "exporter")

	sa := &corev1.ServiceAccount{ObjectMeta: meta(Name)}
	role := &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels()}, Rules: policyRules()}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: ns}},
	}

	deploy := &appsv1.Deployment{
		ObjectMeta: meta(Name),
		Spec: appsv1.DeploymentSpec{
			// One replica: two would export every series twice. A short
			// gap during a reschedule only delays alerts.
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels()},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					NodeSelector:       map[string]string{"kubernetes.io/os": "linux"},
					SecurityContext:    stack.NobodyPod(),
					Containers: []corev1.Container{{
						Name:  Name,
						Image: stack.KubeStateMetrics.Ref(),
						Args:  Args(),
						Ports: []corev1.ContainerPort{
							{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP},
							{Name: TelemetryPortName, ContainerPort: TelemetryPort, Protocol: corev1.ProtocolTCP},
						},
						LivenessProbe: &corev1.Probe{
							ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/livez", Port: intstr.FromString(MetricsPortName)}},
							InitialDelaySeconds: 5,
							TimeoutSeconds:      5,
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/readyz", Port: intstr.FromString(TelemetryPortName)}},
							InitialDelaySeconds: 5,
							TimeoutSeconds:      5,
						},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
					}},
				},
			},
		},
	}

	svc := &corev1.Service{
		ObjectMeta: meta(Name),
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Selector:  selector,
			Ports: []corev1.ServicePort{
				{Name: MetricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(MetricsPortName), Protocol: corev1.ProtocolTCP},
				{Name: TelemetryPortName, Port: TelemetryPort, TargetPort: intstr.FromString(TelemetryPortName), Protocol: corev1.ProtocolTCP},
			},
		},
	}

	// Egress to the API server only, but its address is the cluster's
	// and not known here.
	netpol := prometheus.OpenEgress(prometheus.ScrapeOnlyPolicy(e, meta(Name), selector, MetricsPort, TelemetryPort))

	// One replica: a PodDisruptionBudget could only block node drains.
	s.Add(Component, stack.Instances, sa, role, binding, deploy, svc, netpol)

	interval := monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval)
	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: meta(Name),
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel: stack.LabelName,
			Selector: metav1.LabelSelector{MatchLabels: selector},
			Endpoints: []monitoringv1.Endpoint{
				{
					Port:     MetricsPortName,
					Interval: interval,
					// The series name the objects' own namespace and pod;
					// those labels must win over the target's.
					HonorLabels: true,
					RelabelConfigs: []monitoringv1.RelabelConfig{{
						// Cluster-scoped series (kube_node_*) would otherwise
						// carry the exporter's own namespace and pod, and be
						// routed as if they were monitoring's.
						Action: "labeldrop",
						Regex:  "(pod|service|endpoint|namespace)",
					}},
				},
				{Port: TelemetryPortName, Interval: interval},
			},
		},
	}
	s.Add(Component, stack.Content, sm, rules(meta(Name+"-rules")))
	return nil
}
