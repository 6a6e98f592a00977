package elasticsearch

import (
	"fmt"
	"strconv"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// SysctlName names the DaemonSet that raises vm.max_map_count.
const SysctlName = "elasticsearch-sysctl"

// sysctlContainer sets vm.max_map_count on the node it runs on. It must be
// privileged: vm.* sysctls are not namespaced, so only a container with
// the host's full privileges can write /proc/sys/vm.
func sysctlContainer(count int) corev1.Container {
	return corev1.Container{
		Name:      "sysctl",
		Image:     stack.Busybox.Ref(),
		Command:   []string{"sysctl", "-w", "vm.max_map_count=" + strconv.Itoa(count)},
		Resources: small(),
		SecurityContext: &corev1.SecurityContext{
			Privileged:             ptr.To(true),
			RunAsUser:              ptr.To[int64](0),
			ReadOnlyRootFilesystem: ptr.To(true),
		},
	}
}

// sysctlDaemonSet raises vm.max_map_count on every node, in the node layer,
// before any Elasticsearch pod starts, so that the Elasticsearch pods need
// no privilege. The privileged step is an init container; what stays
// running is an idle, unprivileged container that only keeps the pod (and
// so the DaemonSet's readiness) alive.
func sysctlDaemonSet(e *env.Environment) (*appsv1.DaemonSet, error) {
	count, err := MaxMapCount(e.Logging.Elasticsearch.Version)
	if err != nil {
		return nil, fmt.Errorf("logging.elasticsearch.version: %w", err)
	}
	labels := stack.Labels(SysctlName, "node-tuning", "")
	selector := stack.SelectorLabels(SysctlName, "node-tuning")
	idle := corev1.Container{
		Name:    "idle",
		Image:   stack.Busybox.Ref(),
		Command: []string{"sh", "-c", "while true; do sleep 3600; done"},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1m"), corev1.ResourceMemory: resource.MustParse("8Mi")},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("16Mi")},
		},
		SecurityContext: func() *corev1.SecurityContext {
			sc := stack.RestrictedContainer()
			sc.RunAsUser = ptr.To[int64](65534)
			return sc
		}(),
	}
	return &appsv1.DaemonSet{
		ObjectMeta: metav1.ObjectMeta{Name: SysctlName, Namespace: e.Logging.Namespace, Labels: labels},
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("25%"))},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr.To(false),
					NodeSelector:                 map[string]string{"kubernetes.io/os": "linux"},
					// Any node may run Elasticsearch, dedicated tainted
					// nodes included; the setting is harmless elsewhere.
					Tolerations:                   []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
					TerminationGracePeriodSeconds: ptr.To[int64](5),
					InitContainers:                []corev1.Container{sysctlContainer(count)},
					Containers:                    []corev1.Container{idle},
				},
			},
		},
	}, nil
}
