// Package prometheus owns the cluster's Prometheus, named "k8s" as in
// kube-prometheus: the Prometheus custom resource and everything around it,
// all in monitoring.namespace and the Instances layer — its ServiceAccount,
// the ClusterRole for node metrics, a Role and RoleBinding in every
// namespace of namespaces.Monitored (stack.md rule 8), the Service, a
// ServiceMonitor for itself, a PodDisruptionBudget when it runs more than one
// replica, and a NetworkPolicy.
//
// Prometheus selects every ServiceMonitor, PodMonitor, Probe, ScrapeConfig
// and PrometheusRule of every namespace (all selectors are {}), as
// kube-prometheus does; what it may actually read is bounded by the Roles,
// which is why every namespace a component of the stack lives in gets one.
//
// The TSDB sits on the block role's StorageClass: Prometheus does not
// support NFS or other non-POSIX file systems and can corrupt its TSDB there
// (stack.md §1, checked before generation).
package prometheus

import (
	"fmt"
	"maps"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/namespaces"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/storage"
)

// Component is the name of this generator's base.
const Component = "prometheus"

const (
	// Name is the Prometheus custom resource; the operator names its
	// StatefulSet prometheus-<Name>.
	Name = "k8s"
	// ServiceName is the Service in front of the replicas; it is also the
	// job label of Prometheus's own metrics.
	ServiceName = "prometheus-" + Name
	// ServiceAccountName is the identity Prometheus scrapes and discovers
	// targets with; grant it access to anything it must scrape.
	ServiceAccountName = "prometheus-" + Name
	// WebPort serves the UI, the query API and /metrics.
	WebPort     = 9090
	WebPortName = "web"
	// ReloaderPort serves the config-reloader sidecar's metrics.
	ReloaderPort     = 8080
	ReloaderPortName = "reloader-web"
	// ClusterLabel is the external label that names the cluster on every
	// series and alert leaving this Prometheus.
	ClusterLabel = "cluster"

	appName      = "prometheus"
	appComponent = "prometheus"
	configRole   = ServiceAccountName + "-config"
)

// URL is the in-cluster address of the query API (Grafana's datasource).
func URL(e *env.Environment) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", ServiceName, e.Monitoring.Namespace, WebPort)
}

// PodSelector selects the Prometheus pods; use it in a NetworkPolicy that
// lets Prometheus scrape a component.
func PodSelector() map[string]string { return prometheusoperator.PrometheusPodSelector(Name) }

// grafanaPods selects Grafana's pods by the one label every workload
// labelled with stack.Labels("grafana", …) carries.
var grafanaPods = map[string]string{stack.LabelName: "grafana"}

// Generate adds Prometheus and its surroundings when monitoring is enabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.PrometheusEnabled() {
		return nil
	}
	ns := e.Monitoring.Namespace
	p, err := instance(e)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	s.Add(Component, stack.Instances,
		&corev1.ServiceAccount{ObjectMeta: meta(ServiceAccountName, ns), AutomountServiceAccountToken: ptr(true)},
		clusterRole(), clusterRoleBinding(ns),
		configRoleObject(ns), roleBinding(configRole, ns, ns),
	)
	for _, target := range namespaces.Monitored(e) {
		s.Add(Component, stack.Instances, discoveryRole(target), roleBinding(ServiceAccountName, target, ns))
	}
	s.Add(Component, stack.Instances, p, service(ns), serviceMonitor(ns), networkPolicy(ns))
	if e.Monitoring.Prometheus.Replicas >= 2 {
		s.Add(Component, stack.Instances, podDisruptionBudget(ns))
	}
	return nil
}

// labels are the recommended labels, with the instance named after the
// custom resource, the value the operator puts on the pods.
func labels() map[string]string {
	l := stack.Labels(appName, appComponent, stack.Prometheus.Version)
	l[stack.LabelInstance] = Name
	return l
}

func meta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels()}
}

func instance(e *env.Environment) (*monitoringv1.Prometheus, error) {
	p := e.Monitoring.Prometheus
	res, err := p.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("monitoring.prometheus.resources: %w", err)
	}
	size, err := resource.ParseQuantity(p.Storage.Size)
	if err != nil {
		return nil, fmt.Errorf("monitoring.prometheus.storage.size: %w", err)
	}
	external := maps.Clone(p.ExternalLabels)
	if external == nil {
		external = map[string]string{}
	}
	// An explicit cluster label wins: it may name the cluster the way a
	// global view already knows it.
	if _, ok := external[ClusterLabel]; !ok {
		external[ClusterLabel] = e.Cluster.Name
	}
	all := &metav1.LabelSelector{}
	spec := monitoringv1.PrometheusSpec{
		CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
			PodMetadata:                     &monitoringv1.EmbeddedObjectMetadata{Labels: labels()},
			ServiceMonitorSelector:          all,
			ServiceMonitorNamespaceSelector: all,
			PodMonitorSelector:              all,
			PodMonitorNamespaceSelector:     all,
			ProbeSelector:                   all,
			ProbeNamespaceSelector:          all,
			ScrapeConfigSelector:            all,
			ScrapeConfigNamespaceSelector:   all,
			Version:                         stack.Prometheus.Version,
			Image:                           ptr(stack.Prometheus.Ref()),
			Replicas:                        ptr(int32(p.Replicas)),
			ScrapeInterval:                  monitoringv1.Duration(p.ScrapeInterval),
			ExternalLabels:                  external,
			Storage: &monitoringv1.StorageSpec{
				VolumeClaimTemplate: monitoringv1.EmbeddedPersistentVolumeClaim{
					Spec: corev1.PersistentVolumeClaimSpec{
						StorageClassName: ptr(storage.ClassName(p.Storage.Role)),
						AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
						Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
					},
				},
			},
			Resources:          res,
			NodeSelector:       map[string]string{corev1.LabelOSStable: "linux"},
			ServiceAccountName: ServiceAccountName,
			// The operator runs the containers read-only, without
			// privileges; the pod-level context fixes the user and lets
			// the volume be group-owned (fsGroup), as kube-prometheus does.
			SecurityContext: &corev1.PodSecurityContext{
				RunAsNonRoot:   ptr(true),
				RunAsUser:      ptr(int64(1000)),
				RunAsGroup:     ptr(int64(2000)),
				FSGroup:        ptr(int64(2000)),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
			ServiceDiscoveryRole: ptr(monitoringv1.EndpointSliceRole),
			Affinity:             spread(p.Replicas),
		},
		Retention:             monitoringv1.Duration(p.Retention),
		RetentionSize:         monitoringv1.ByteSize(p.RetentionSize),
		RuleSelector:          all,
		RuleNamespaceSelector: all,
		Alerting: &monitoringv1.AlertingSpec{Alertmanagers: []monitoringv1.AlertmanagerEndpoints{{
			Namespace:  ptr(e.Monitoring.Namespace),
			Name:       alertmanager.ServiceName,
			Port:       intstr.FromString(alertmanager.WebPortName),
			APIVersion: ptr(monitoringv1.AlertmanagerAPIVersion2),
		}}},
	}
	if c := e.Correlation; c.Exemplars {
		// Exemplars link a series to the trace that produced a sample;
		// Grafana's exemplar links need them stored (stack.md §7).
		spec.EnableFeatures = []monitoringv1.EnableFeature{"exemplar-storage"}
		spec.Exemplars = &monitoringv1.Exemplars{MaxSize: ptr(int64(c.ExemplarMaxSize))}
	}
	if err := longTerm(e, &spec); err != nil {
		return nil, err
	}
	return &monitoringv1.Prometheus{ObjectMeta: meta(Name, e.Monitoring.Namespace), Spec: spec}, nil
}

// spread keeps replicas on different nodes when it can, so a node drain
// never takes every replica at once.
func spread(replicas int) *corev1.Affinity {
	if replicas < 2 {
		return nil
	}
	return &corev1.Affinity{PodAntiAffinity: &corev1.PodAntiAffinity{
		PreferredDuringSchedulingIgnoredDuringExecution: []corev1.WeightedPodAffinityTerm{{
			Weight: 100,
			PodAffinityTerm: corev1.PodAffinityTerm{
				TopologyKey:   corev1.LabelHostname,
				LabelSelector: &metav1.LabelSelector{MatchLabels: PodSelector()},
			},
		}},
	}}
}

// clusterRole grants what no namespaced Role can: the kubelet's metrics
// through the API server proxy and the API servers' own /metrics.
func clusterRole() *rbacv1.ClusterRole {
	return &rbacv1.ClusterRole{
		ObjectMeta: meta(ServiceAccountName, ""),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"nodes/metrics"}, Verbs: []string{"get"}},
			{NonResourceURLs: []string{"/metrics", "/metrics/slis"}, Verbs: []string{"get"}},
		},
	}
}

func clusterRoleBinding(ns string) *rbacv1.ClusterRoleBinding {
	return &rbacv1.ClusterRoleBinding{
		ObjectMeta: meta(ServiceAccountName, ""),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: ServiceAccountName},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName, Namespace: ns}},
	}
}

// discoveryRole lets Prometheus discover targets in one namespace: the
// objects ServiceMonitors, PodMonitors and Probes resolve to.
func discoveryRole(ns string) *rbacv1.Role {
	read := []string{"get", "list", "watch"}
	return &rbacv1.Role{
		ObjectMeta: meta(ServiceAccountName, ns),
		Rules: []rbacv1.PolicyRule{
			{APIGroups: []string{""}, Resources: []string{"services", "endpoints", "pods"}, Verbs: read},
			{APIGroups: []string{"discovery.k8s.io"}, Resources: []string{"endpointslices"}, Verbs: read},
			{APIGroups: []string{"networking.k8s.io"}, Resources: []string{"ingresses"}, Verbs: read},
		},
	}
}

// configRoleObject lets Prometheus read ConfigMaps of its own namespace, as
// kube-prometheus's prometheus-k8s-config Role does.
func configRoleObject(ns string) *rbacv1.Role {
	return &rbacv1.Role{
		ObjectMeta: meta(configRole, ns),
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{""}, Resources: []string{"configmaps"}, Verbs: []string{"get"}}},
	}
}

func roleBinding(role, ns, saNamespace string) *rbacv1.RoleBinding {
	return &rbacv1.RoleBinding{
		ObjectMeta: meta(role, ns),
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: ServiceAccountName, Namespace: saNamespace}},
	}
}

func service(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta(ServiceName, ns),
		Spec: corev1.ServiceSpec{
			Selector: PodSelector(),
			Ports: []corev1.ServicePort{
				{Name: WebPortName, Port: WebPort, TargetPort: intstr.FromString(WebPortName), Protocol: corev1.ProtocolTCP},
				{Name: ReloaderPortName, Port: ReloaderPort, TargetPort: intstr.FromString(ReloaderPortName), Protocol: corev1.ProtocolTCP},
			},
			// A client keeps talking to one replica, so that repeated
			// queries see one consistent TSDB.
			SessionAffinity: corev1.ServiceAffinityClientIP,
		},
	}
}

func serviceMonitor(ns string) *monitoringv1.ServiceMonitor {
	sel := stack.SelectorLabels(appName, appComponent)
	sel[stack.LabelInstance] = Name
	return &monitoringv1.ServiceMonitor{
		ObjectMeta: meta(ServiceName, ns),
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector: metav1.LabelSelector{MatchLabels: sel},
			Endpoints: []monitoringv1.Endpoint{
				{Port: WebPortName},
				{Port: ReloaderPortName},
			},
		},
	}
}

// podDisruptionBudget lets a drain evict one replica at a time.
func podDisruptionBudget(ns string) *policyv1.PodDisruptionBudget {
	one := intstr.FromInt32(1)
	return &policyv1.PodDisruptionBudget{
		ObjectMeta: meta(ServiceName, ns),
		Spec: policyv1.PodDisruptionBudgetSpec{
			MaxUnavailable: &one,
			Selector:       &metav1.LabelSelector{MatchLabels: PodSelector()},
		},
	}
}

// networkPolicy admits Grafana's queries and the Prometheus replicas' own
// scrapes. Prometheus has no Ingress in the schema, so no ingress
// controller needs a rule; egress stays open, since it scrapes the whole
// cluster.
func networkPolicy(ns string) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta(ServiceName, ns),
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: PodSelector()},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress, networkingv1.PolicyTypeEgress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: prometheusoperator.PrometheusPodSelector("")}}},
					Ports: []networkingv1.NetworkPolicyPort{tcp(WebPort), tcp(ReloaderPort)},
				},
				{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: grafanaPods}}},
					Ports: []networkingv1.NetworkPolicyPort{tcp(WebPort)},
				},
			},
			Egress: []networkingv1.NetworkPolicyEgressRule{{}},
		},
	}
}

func tcp(port int32) networkingv1.NetworkPolicyPort {
	return networkingv1.NetworkPolicyPort{Protocol: ptr(corev1.ProtocolTCP), Port: ptr(intstr.FromInt32(port))}
}

func ptr[T any](v T) *T { return &v }
