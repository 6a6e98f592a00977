// Package prometheusoperator owns the Prometheus Operator the way
// kube-prometheus deploys it: the controller Deployment with its
// ServiceAccount, ClusterRole and binding, metrics Service, ServiceMonitor and
// NetworkPolicy in monitoring.namespace (Operators layer), the kubelet
// ServiceMonitor that scrapes the kubelet Service the operator maintains
// (Content layer), and the monitoring.coreos.com CRDs (CRDs layer).
//
// The CRDs are referenced, not generated (stack.md §8): upstream builds them
// with controller-gen and its own flags and markers, so CRDs regenerated from
// the Go types would not match the released schemas (CEL validations,
// defaults, the conversion webhook wiring of AlertmanagerConfig v1beta1).
// They are taken from example/prometheus-operator-crd of the operator
// repository at the tag of the monitoring.coreos.com Go module the generators
// and tests are written against, so the CRs Vigil emits are validated by the
// very schemas it was built with. Flux applies them server-side, because they
// exceed the size limit of client-side apply's last-applied annotation.
//
// The package also exports what the operator guarantees on the pods it runs
// (PrometheusPodSelector, AlertmanagerPodSelector), which other components
// use in NetworkPolicies and PodDisruptionBudgets.
package prometheusoperator

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	appsv1 "k8s.io/api/apps/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the name of this generator's base.
const Component = "prometheus-operator"

const (
	// Name names the operator's Deployment, ServiceAccount, ClusterRole,
	// Service and ServiceMonitor; the Service name is the job label of its
	// metrics.
	Name = "prometheus-operator"
	// MetricsPort is the operator's plain-HTTP metrics port (its default
	// --web.listen-address).
	MetricsPort = 8080
	// MetricsPortName names MetricsPort on the container and the Service.
	MetricsPortName = "http"

	// KubeletNamespace and KubeletService are where the operator maintains
	// the Service and Endpoints(Slices) listing every node's kubelet
	// (--kubelet-service); the kubelet ServiceMonitor selects it.
	KubeletNamespace = "kube-system"
	KubeletService   = "kubelet"
	// KubeletJob is the job label of kubelet and cAdvisor series.
	KubeletJob = "kubelet"

	// CRDUpstreamName names the Flux source and Kustomization of the CRDs.
	CRDUpstreamName = "prometheus-operator-crds"
	// CRDRepository is where the CRDs come from, at CRDTag, under CRDPath.
	CRDRepository = "https://github.com/prometheus-operator/prometheus-operator"
	CRDPath       = "./example/prometheus-operator-crd"
)

// CRDTag is the operator release the CRDs are taken from: the version of the
// operator image, which matches the monitoring.coreos.com Go module.
var CRDTag = stack.PrometheusOperator.Version

// Operator-set pod label keys and values (pkg/prometheus/server and
// pkg/alertmanager makeSelectorLabels upstream). The operator writes them
// after the CR's podMetadata, so they are always present and always win.
const (
	prometheusApp   = "prometheus"
	alertmanagerApp = "alertmanager"
)

// PrometheusPodSelector selects the pods of the Prometheus CR name, or of
// every Prometheus in the namespace when name is empty. Use it in
// NetworkPolicies that let Prometheus scrape a component.
func PrometheusPodSelector(name string) map[string]string {
	return podSelector(prometheusApp, name)
}

// AlertmanagerPodSelector selects the pods of the Alertmanager CR name, or of
// every Alertmanager in the namespace when name is empty.
func AlertmanagerPodSelector(name string) map[string]string {
	return podSelector(alertmanagerApp, name)
}

func podSelector(app, name string) map[string]string {
	l := map[string]string{stack.LabelName: app}
	if name != "" {
		l[stack.LabelInstance] = name
	}
	return l
}

// Operator resources: kube-prometheus's, with the memory limit at twice the
// request; the schema has no knob for them since the operator's footprint
// does not grow with the environment much.
var (
	operatorCPURequest    = resource.MustParse("100m")
	operatorMemoryRequest = resource.MustParse("100Mi")
	operatorMemoryLimit   = resource.MustParse("200Mi")
)

// Resources the operator gives the config-reloader sidecars and init
// containers of every Prometheus and Alertmanager pod. No CPU limit: a
// throttled reloader only delays reloads.
const (
	reloaderCPURequest    = "10m"
	reloaderMemoryRequest = "50Mi"
	reloaderMemoryLimit   = "50Mi"
)

// Generate adds the operator, its CRDs and the kubelet ServiceMonitor when
// monitoring is enabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.PrometheusEnabled() {
		return nil
	}
	ns := e.Monitoring.Namespace
	s.AddUpstream(stack.Upstream{
		Name:      CRDUpstreamName,
		Component: Component,
		Layer:     stack.CRDs,
		URL:       CRDRepository,
		Tag:       CRDTag,
		Path:      CRDPath,
		Groups:    []string{monitoringv1.SchemeGroupVersion.Group},
	})
	s.Add(Component, stack.Operators,
		serviceAccount(ns),
		clusterRole(),
		clusterRoleBinding(ns),
		deployment(ns),
		service(ns),
		serviceMonitor(ns),
		networkPolicy(ns),
	)
	s.Add(Component, stack.Content, kubeletServiceMonitor(ns))
	return nil
}

func labels() map[string]string {
	return stack.Labels(Name, "controller", stack.PrometheusOperator.Version)
}

func selector() map[string]string { return stack.SelectorLabels(Name, "controller") }

func meta(ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: Name, Namespace: ns, Labels: labels()}
}

func serviceAccount(ns string) *corev1.ServiceAccount {
	// The token is mounted by the pod spec only, as kube-prometheus does.
	return &corev1.ServiceAccount{ObjectMeta: meta(ns), AutomountServiceAccountToken: ptr(false)}
}

// clusterRole grants what the operator needs, as upstream's
// example/rbac/prometheus-operator and kube-prometheus grant it.
func clusterRole() *rbacv1.ClusterRole {
	m := meta("")
	return &rbacv1.ClusterRole{
		ObjectMeta: m,
		Rules: []rbacv1.PolicyRule{
			{
				APIGroups: []string{monitoringv1.SchemeGroupVersion.Group},
				Resources: []string{
					"alertmanagers", "alertmanagers/finalizers", "alertmanagers/status", "alertmanagerconfigs",
					"prometheuses", "prometheuses/finalizers", "prometheuses/status",
					"prometheusagents", "prometheusagents/finalizers", "prometheusagents/status",
					"thanosrulers", "thanosrulers/finalizers", "thanosrulers/status",
					"scrapeconfigs", "scrapeconfigs/status",
					"servicemonitors", "servicemonitors/status",
					"podmonitors", "podmonitors/status",
					"probes", "probes/status",
					"prometheusrules", "prometheusrules/status",
				},
				Verbs: []string{"*"},
			},
			{APIGroups: []string{"apps"}, Resources: []string{"statefulsets"}, Verbs: []string{"*"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps", "secrets"}, Verbs: []string{"*"}},
			{APIGroups: []string{""}, Resources: []string{"pods"}, Verbs: []string{"list", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"services", "services/finalizers"}, Verbs: []string{"get", "create", "update", "delete"}},
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: []string{"list", "watch"}},
			{APIGroups: []string{""}, Resources: []string{"namespaces"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"events.k8s.io"}, Resources: []string{"events"}, Verbs: []string{"patch", "create"}},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: []string{"get", "list", "watch"}},
			{APIGroups: []string{"storage.k8s.io"}, Resources: []string{"storageclasses"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"endpoints"}, Verbs: []string{"get", "create", "update", "delete"}},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: []string{"get", "create", "list", "update", "delete"}},
			{APIGroups: []string{"authentication.k8s.io"}, Resources: []string{"tokenreviews"}, Verbs: []string{"create"}},
			{APIGroups: []string{"authorization.k8s.io"}, Resources: []string{"subjectaccessreviews"}, Verbs: []string{"create"}},
		},
	}
}

func clusterRoleBinding(ns string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(""),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: ns}},
	}
}

func deployment(ns string) *appsv1.Deployment {
	podLabels := labels()
	return &appsv1.Deployment{
		ObjectMeta: meta(ns),
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr(int32(1)),
			Selector: &metav1.LabelSelector{MatchLabels: selector()},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      podLabels,
					Annotations: map[string]string{"kubectl.kubernetes.io/default-container": Name},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName:           Name,
					AutomountServiceAccountToken: ptr(true),
					NodeSelector:                 map[string]string{corev1.LabelOSStable: "linux"},
					SecurityContext: &corev1.PodSecurityContext{
						RunAsNonRoot:   ptr(true),
						RunAsUser:      ptr(int64(65534)),
						RunAsGroup:     ptr(int64(65534)),
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:  Name,
						Image: stack.PrometheusOperator.Ref(),
						Args: []string{
							"--kubelet-service=" + KubeletNamespace + "/" + KubeletService,
							"--kubelet-endpoints=true",
							"--kubelet-endpointslice=true",
							"--prometheus-config-reloader=" + stack.ConfigReloader.Ref(),
							"--config-reloader-cpu-request=" + reloaderCPURequest,
							"--config-reloader-cpu-limit=0",
							"--config-reloader-memory-request=" + reloaderMemoryRequest,
							"--config-reloader-memory-limit=" + reloaderMemoryLimit,
							// Alertmanager webhook Secrets and TLS material may sit
							// next to the objects that reference them, not only in
							// the monitoring namespace.
							"--watch-referenced-objects-in-all-namespaces=true",
							// Every selector of the Prometheus CR is set, so the
							// deprecated unmanaged mode is never wanted.
							"--disable-unmanaged-prometheus-configuration=true",
						},
						// A small GOGC keeps the heap near the live set, as
						// kube-prometheus runs it.
						Env:   []corev1.EnvVar{{Name: "GOGC", Value: "30"}},
						Ports: []corev1.ContainerPort{{Name: MetricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
						Resources: corev1.ResourceRequirements{
							Requests: corev1.ResourceList{corev1.ResourceCPU: operatorCPURequest, corev1.ResourceMemory: operatorMemoryRequest},
							Limits:   corev1.ResourceList{corev1.ResourceMemory: operatorMemoryLimit},
						},
						SecurityContext: stack.RestrictedContainer(),
					}},
				},
			},
		},
	}
}

func service(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta(ns),
		Spec: corev1.ServiceSpec{
			// Headless: only Prometheus talks to it, per pod.
			ClusterIP: corev1.ClusterIPNone,
			Selector:  selector(),
			Ports: []corev1.ServicePort{{
				Name: MetricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(MetricsPortName), Protocol: corev1.ProtocolTCP,
			}},
		},
	}
}

func serviceMonitor(ns string) *monitoringv1.ServiceMonitor {
	return &monitoringv1.ServiceMonitor{
		ObjectMeta: meta(ns),
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector:  metav1.LabelSelector{MatchLabels: selector()},
			Endpoints: []monitoringv1.Endpoint{{Port: MetricsPortName, HonorLabels: true}},
		},
	}
}

// networkPolicy lets only Prometheus reach the metrics port. The operator
// serves no webhook here, and egress stays open for the API server.
func networkPolicy(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta(ns),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector()},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{{
				From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: PrometheusPodSelector("")}}},
				Ports: []networkingv1.NetworkPolicyPort{tcp(MetricsPort)},
			}},
			Egress: []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
}

// kubeletServiceMonitor scrapes every kubelet through the Service the
// operator maintains in kube-system: /metrics (kubelet, volume stats),
// /metrics/cadvisor (containers) and /metrics/probes (the outcome of every
// liveness, readiness and startup probe, prober_probe_total). The kubelet
// serves a certificate signed by the cluster CA for the node name, not the
// node IP, so it is not verified, as in kube-prometheus; the bearer token is
// Prometheus's own.
func kubeletServiceMonitor(ns string) *monitoringv1.ServiceMonitor {
	endpoint := func(path string, honorTimestamps *bool, drops ...monitoringv1.RelabelConfig) monitoringv1.Endpoint {
		return monitoringv1.Endpoint{
			Port:            "https-metrics",
			Path:            path,
			Scheme:          ptr(monitoringv1.SchemeHTTPS),
			HonorLabels:     true,
			HonorTimestamps: honorTimestamps,
			// authorization, the documented replacement, reads only a
			// Secret: the kubelet would need a long-lived token Secret
			// instead of Prometheus's projected, rotated one.
			//lint:ignore SA1019 the projected service account token has no non-deprecated field
			BearerTokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
			HTTPConfigWithProxyAndTLSFiles: monitoringv1.HTTPConfigWithProxyAndTLSFiles{
				HTTPConfigWithTLSFiles: monitoringv1.HTTPConfigWithTLSFiles{
					TLSConfig: &monitoringv1.TLSConfig{SafeTLSConfig: monitoringv1.SafeTLSConfig{InsecureSkipVerify: ptr(true)}},
				},
			},
			// Keeps the path apart, since the endpoints share job and
			// instance.
			RelabelConfigs: []monitoringv1.RelabelConfig{{
				Action:       "replace",
				SourceLabels: []monitoringv1.LabelName{"__metrics_path__"},
				TargetLabel:  "metrics_path",
			}},
			MetricRelabelConfigs: drops,
		}
	}
	return &monitoringv1.ServiceMonitor{
		ObjectMeta: metav1.ObjectMeta{Name: KubeletService, Namespace: ns, Labels: stack.Labels(KubeletService, "kubernetes", "")},
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel:          stack.LabelName,
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{KubeletNamespace}},
			Selector:          metav1.LabelSelector{MatchLabels: map[string]string{stack.LabelName: KubeletService}},
			Endpoints: []monitoringv1.Endpoint{
				endpoint("/metrics", nil),
				// cAdvisor's timestamps lag the scrape and cause out-of-order
				// drops; kube-prometheus ignores them too.
				endpoint("/metrics/cadvisor", ptr(false), cadvisorDrops...),
				endpoint("/metrics/probes", nil),
			},
		},
	}
}

// cadvisorDrops are the cAdvisor series kube-prometheus v0.18.0 drops
// before storage, because nothing charts or alerts on them and they cost
// series on every node:
//   - per-container TCP/UDP, task-state and load-average series (off by
//     default in the kubelet's cAdvisor; dropped in case a node turns
//     them on);
//   - spec, descriptor, socket, thread, start-time and last-seen series of
//     cgroups that belong to no pod (system slices, the runtime itself):
//     only pods' series have a namespace and pod label;
//   - per-device block I/O of single containers; the pod-level series
//     (container="") stays for the pod's total.
var cadvisorDrops = []monitoringv1.RelabelConfig{
	{
		Action:       "drop",
		SourceLabels: []monitoringv1.LabelName{"__name__"},
		Regex:        "container_(network_tcp_usage_total|network_udp_usage_total|tasks_state|cpu_load_average_10s)",
	},
	{
		// The separator of the joined labels is ";": empty pod and
		// namespace leave the name followed by ";;".
		Action:       "drop",
		SourceLabels: []monitoringv1.LabelName{"__name__", "pod", "namespace"},
		Regex:        "(container_spec_.*|container_file_descriptors|container_sockets|container_threads_max|container_threads|container_start_time_seconds|container_last_seen);;",
	},
	{
		Action:       "drop",
		SourceLabels: []monitoringv1.LabelName{"__name__", "container"},
		Regex:        "(container_blkio_device_usage_total);.+",
	},
}

func tcp(port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(port))}
}

func ptr[T any](v T) *T { return &v }
