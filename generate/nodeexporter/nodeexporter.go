// Package nodeexporter owns the Prometheus node exporter: a DaemonSet on
// every node reading the host's /proc, /sys and root file system, its
// headless Service, ServiceMonitor, NetworkPolicy and the node alert rules.
//
// Unlike kube-prometheus it runs no kube-rbac-proxy: the exporter serves
// plain HTTP on the node's IP, and the NetworkPolicy (where the CNI
// enforces it for host-network pods) and the node firewall guard the port.
// Without the proxy no TokenReview or SubjectAccessReview is made, so the
// exporter needs no ClusterRole and its ServiceAccount mounts no token.
package nodeexporter

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
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
	Component = "node-exporter"
	// Name names the DaemonSet, Service and ServiceAccount.
	Name = "node-exporter"
	// Port is the metrics port, on the node's IP (host network).
	Port = 9100
	// PortName names Port on the container and the Service.
	PortName = "http-metrics"
	// Job is the job label of the exporter's series.
	Job = Name
)

// Where the host's file systems appear in the container.
const (
	hostProc = "/host/proc"
	hostSys  = "/host/sys"
	hostRoot = "/host/root"
)

// Mount points whose file systems belong to containers and pods, not to the
// node: their usage is reported by the kubelet, per volume.
var excludedMountPoints = []string{
	"dev", "proc", "sys",
	"run/containerd/.+", "run/k3s/containerd/.+",
	"var/lib/containerd/.+", "var/lib/docker/.+",
	"var/lib/kubelet/pods/.+",
}

// Network devices of pods: veth pairs and the random-named interfaces some
// CNIs create (15 hex characters).
const excludedDevices = `^(veth.*|[a-f0-9]{15})$`

// MountPointsExclude is the --collector.filesystem.mount-points-exclude
// pattern.
func MountPointsExclude() string {
	return `^/(` + strings.Join(excludedMountPoints, "|") + `)($|/)`
}

// Args are the exporter's command line.
func Args() []string {
	return []string{
		// The pod IP is the node's IP: listen there only, not on every
		// interface of the node.
		"--web.listen-address=[$(HOST_IP)]:" + fmt.Sprint(Port),
		"--path.procfs=" + hostProc,
		"--path.sysfs=" + hostSys,
		"--path.rootfs=" + hostRoot,
		"--path.udev.data=" + hostRoot + "/run/udev/data",
		// Not found on servers, or slow on some hardware.
		"--no-collector.wifi",
		"--no-collector.hwmon",
		"--no-collector.btrfs",
		"--collector.filesystem.mount-points-exclude=" + MountPointsExclude(),
		"--collector.netclass.ignored-devices=" + excludedDevices,
		"--collector.netdev.device-exclude=" + excludedDevices,
	}
}

// Generate adds the node exporter. It adds nothing when monitoring or the
// exporter is disabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Monitoring.Enabled || !e.Monitoring.NodeExporter.Enabled {
		return nil
	}
	ns := e.Monitoring.Namespace
	version := stack.NodeExporter.Version
	res, err := e.Monitoring.NodeExporter.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("monitoring.nodeExporter.resources: %w", err)
	}
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(Name, "exporter", version)}
	}
	selector := stack.SelectorLabels(Name, "exporter")

	sa := &corev1.ServiceAccount{ObjectMeta: meta(Name), AutomountServiceAccountToken: ptr.To(false)}

	hostPath := func(name, path string) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: path}}}
	}
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
					Labels:      stack.Labels(Name, "exporter", version),
					Annotations: map[string]string{"kubectl.kubernetes.io/default-container": Name},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:           Name,
					AutomountServiceAccountToken: ptr.To(false),
					// The node's network devices and processes are what it
					// measures: host network for netdev/netstat, host PID so
					// /proc lists the node's processes, not the pod's.
					HostNetwork:       true,
					HostPID:           true,
					DNSPolicy:         corev1.DNSClusterFirstWithHostNet,
					PriorityClassName: "system-cluster-critical",
					NodeSelector:      map[string]string{"kubernetes.io/os": "linux"},
					// Every node, whatever its taints: a node without metrics is
					// a blind spot.
					Tolerations:     []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					SecurityContext: stack.NobodyPod(),
					Containers: []corev1.Container{{
						Name:  Name,
						Image: stack.NodeExporter.Ref(),
						Args:  Args(),
						Env: []corev1.EnvVar{{Name: "HOST_IP", ValueFrom: &corev1.EnvVarSource{
							FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.hostIP"},
						}}},
						Ports: []corev1.ContainerPort{{Name: PortName, ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromString(PortName)}},
						},
						Resources: res,
						SecurityContext: &corev1.SecurityContext{
							RunAsNonRoot:             ptr.To(true),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
							SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
						},
						// Read-only views of the host. HostToContainer lets
						// file systems the node mounts later (new volumes)
						// appear without a restart.
						VolumeMounts: []corev1.VolumeMount{
							{Name: "proc", MountPath: hostProc, ReadOnly: true},
							{Name: "sys", MountPath: hostSys, ReadOnly: true, MountPropagation: ptr.To(corev1.MountPropagationHostToContainer)},
							{Name: "root", MountPath: hostRoot, ReadOnly: true, MountPropagation: ptr.To(corev1.MountPropagationHostToContainer)},
						},
					}},
					Volumes: []corev1.Volume{hostPath("proc", "/proc"), hostPath("sys", "/sys"), hostPath("root", "/")},
				},
			},
		},
	}

	svc := &corev1.Service{
		ObjectMeta: meta(Name),
		Spec: corev1.ServiceSpec{
			// Headless: Prometheus scrapes each node, never a balanced IP.
			ClusterIP: corev1.ClusterIPNone,
			Selector:  selector,
			Ports:     []corev1.ServicePort{{Name: PortName, Port: Port, TargetPort: intstr.FromString(PortName), Protocol: corev1.ProtocolTCP}},
		},
	}

	netpol := prometheus.OpenEgress(prometheus.ScrapeOnlyPolicy(e, meta(Name), selector, Port))

	// A DaemonSet needs no PodDisruptionBudget: a drain never evicts it.
	s.Add(Component, stack.Instances, sa, ds, svc, netpol)

	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: meta(Name),
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel: stack.LabelName,
			Selector: metav1.LabelSelector{MatchLabels: selector},
			Endpoints: []monitoringv1.Endpoint{{
				Port:     PortName,
				Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval),
				RelabelConfigs: []monitoringv1.RelabelConfig{{
					// instance is the node's name rather than IP:port, so that
					// alerts and dashboards name the node. Regex and
					// replacement keep their defaults ((.*) and $1).
					Action:       "replace",
					SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"},
					TargetLabel:  "instance",
				}},
			}},
		},
	}
	s.Add(Component, stack.Content, sm, rules(meta(Name+"-rules")))
	return nil
}
