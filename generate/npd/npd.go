// Package npd owns Node Problem Detector: a DaemonSet in kube-system that
// watches each node's kernel log and health checks and reports problems as
// node conditions and events, its monitor configuration (built from Go
// types), RBAC, and — when monitoring is on — the PodMonitor of its
// Prometheus exporter and the alerts on the conditions it sets.
//
// NPD only reports. Its conditions reach Prometheus through
// kube-state-metrics (kube_node_status_condition) and its own
// problem_counter and problem_gauge series.
package npd

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	// Component is the stack component of every object.
	Component = "node-problem-detector"
	// Name names the DaemonSet, ServiceAccount and monitors.
	Name = "node-problem-detector"
	// Namespace is where NPD runs, next to the node's system pods.
	Namespace = "kube-system"
	// ConfigMap holds the monitor files.
	ConfigMap = "node-problem-detector-config"
	// ConfigDir is where the monitor files are mounted.
	ConfigDir = "/config"
	// MetricsPort is NPD's Prometheus exporter.
	MetricsPort     = 20257
	MetricsPortName = "metrics"
	// Job is the job label of NPD's own series.
	Job = Name
	// ClusterRole is the built-in role that lets NPD patch node status and
	// write events.
	ClusterRole = "system:node-problem-detector"
)

// Image is the NPD image for the environment: the release matching the
// cluster's Kubernetes minor, or the imageTag override.
func Image(e *env.Environment) string {
	r := stack.NodeProblemDetector(e.KubernetesMinor())
	if t := e.NodeProblemDetector.ImageTag; t != "" {
		r.Version = t
	}
	return r.Ref()
}

// Generate adds Node Problem Detector. It adds nothing when it is disabled.
func Generate(e *env.Environment, s *stack.Set) error {
	npd := e.NodeProblemDetector
	if !npd.Enabled {
		return nil
	}
	monitors := Monitors(npd.Monitors)
	if len(monitors) == 0 {
		return fmt.Errorf("nodeProblemDetector is enabled with every monitor off, and NPD refuses to start without one: enable a monitor or disable nodeProblemDetector")
	}
	res, err := npd.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("nodeProblemDetector.resources: %w", err)
	}
	version := stack.NodeProblemDetector(e.KubernetesMinor()).Version
	if npd.ImageTag != "" {
		version = npd.ImageTag
	}
	labels := func() map[string]string { return stack.Labels(Name, "node-agent", version) }
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels()}
	}
	selector := stack.SelectorLabels(Name, "node-agent")

	data := map[string]string{}
	sum := sha256.New()
	for _, m := range monitors {
		b, err := m.JSON()
		if err != nil {
			return fmt.Errorf("node problem detector: %w", err)
		}
		data[m.File] = string(b)
		sum.Write([]byte(m.File))
		sum.Write(b)
	}
	cm := &corev1.ConfigMap{ObjectMeta: meta(ConfigMap), Data: data}

	sa := &corev1.ServiceAccount{ObjectMeta: meta(Name)}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Labels: labels()},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ClusterRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: Namespace}},
	}

	hostPath := func(name, path string, t corev1.HostPathType) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path, Type: ptr.To(t)}}}
	}
	mounts := []corev1.VolumeMount{
		{Name: "log", MountPath: "/var/log", ReadOnly: true},
		{Name: "kmsg", MountPath: "/dev/kmsg", ReadOnly: true},
		// Timestamps in events in the node's time zone.
		{Name: "localtime", MountPath: "/etc/localtime", ReadOnly: true},
		{Name: "config", MountPath: ConfigDir, ReadOnly: true},
	}
	volumes := []corev1.Volume{
		hostPath("log", "/var/log", corev1.HostPathDirectory),
		hostPath("kmsg", "/dev/kmsg", corev1.HostPathCharDev),
		hostPath("localtime", "/etc/localtime", corev1.HostPathFile),
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: ConfigMap},
		}}},
	}
	if npd.Monitors.Containerd {
		// The health checker runs crictl against the runtime socket; the
		// image ships no crictl, so the node's is used (type File: a node
		// without it fails visibly instead of reporting a broken runtime).
		// The socket's directory, not the socket, survives a containerd
		// restart.
		mounts = append(mounts,
			corev1.VolumeMount{Name: "crictl", MountPath: crictlPath, ReadOnly: true},
			corev1.VolumeMount{Name: "containerd", MountPath: containerdDir, ReadOnly: true})
		volumes = append(volumes,
			hostPath("crictl", HostCrictl, corev1.HostPathFile),
			hostPath("containerd", containerdDir, corev1.HostPathDirectory))
	}

	args := append(flags(monitors),
		// The exporter binds 127.0.0.1 by default, out of Prometheus' reach.
		"--prometheus-address=0.0.0.0",
		fmt.Sprintf("--prometheus-port=%d", MetricsPort),
	)

	ds := &appsv1.DaemonSet{
		ObjectMeta: meta(Name),
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("10%"))},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels(),
					// NPD reads its monitor files only at start.
					Annotations: map[string]string{"checksum/config": hex.EncodeToString(sum.Sum(nil))},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					PriorityClassName:  "system-node-critical",
					NodeSelector:       map[string]string{"kubernetes.io/os": "linux"},
					// A problem on a tainted node is still a problem.
					Tolerations: []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					// The kubelet health check calls the kubelet's healthz,
					// which listens on the node's loopback only.
					HostNetwork: npd.Monitors.Kubelet,
					Containers: []corev1.Container{{
						Name:  Name,
						Image: Image(e),
						// The image's entrypoint names its own monitor files:
						// replace it, so that only these monitors run.
						Command: []string{"/node-problem-detector"},
						Args:    args,
						Env: []corev1.EnvVar{{Name: "NODE_NAME", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"},
						}}},
						Ports:     []corev1.ContainerPort{{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
						Resources: res,
						// Privileged, as root: reading /dev/kmsg needs the
						// device, which the runtime's device cgroup denies to
						// unprivileged containers, and CAP_SYSLOG; the
						// containerd check needs root on the runtime socket.
						// allowPrivilegeEscalation, capabilities and seccomp
						// mean nothing for a privileged container and are
						// left out.
						SecurityContext: &corev1.SecurityContext{
							Privileged:             ptr.To(true),
							ReadOnlyRootFilesystem: ptr.To(true),
						},
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	if ds.Spec.Template.Spec.HostNetwork {
		ds.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirstWithHostNet
	}

	netpol := &networkingv1.NetworkPolicy{
		ObjectMeta: meta(Name),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			// NPD talks to the API server only.
			Egress: []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
	if e.Monitoring.Enabled {
		netpol.Spec.Ingress = []networkingv1.NetworkPolicyIngressRule{prometheus.ScrapeRule(e, MetricsPort)}
	}

	s.Add(Component, stack.Node, sa, binding, cm, ds, netpol)

	if !e.Monitoring.Enabled {
		return nil
	}
	monMeta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: e.Monitoring.Namespace, Labels: labels()}
	}
	pm := &monitoringv1.PodMonitor{
		ObjectMeta: monMeta(Name),
		Spec: monitoringv1.PodMonitorSpec{
			JobLabel:          stack.LabelName,
			Selector:          metav1.LabelSelector{MatchLabels: selector},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{Namespace}},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{
				Port:     ptr.To(MetricsPortName),
				Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval),
				// Name the node in instance and node, as the node exporter
				// and kube-state-metrics do.
				RelabelConfigs: []monitoringv1.RelabelConfig{
					{Action: "replace", SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"}, TargetLabel: "instance"},
					{Action: "replace", SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"}, TargetLabel: "node"},
				},
			}},
		},
	}
	s.Add(Component, stack.Content, pm, rules(e, monMeta(Name+"-rules"), monitors))
	return nil
}
