// Package alertmanager owns the cluster's Alertmanager, named "main" as in
// kube-prometheus, and its notification routing: the Alertmanager custom
// resource, its ServiceAccount, Service, ServiceMonitor, NetworkPolicy and,
// with two or more replicas, a PodDisruptionBudget, plus the
// AlertmanagerConfig that carries the Slack receivers and routes of
// monitoring.alertmanager — all in monitoring.namespace and the Instances
// layer.
//
// # Routing: an AlertmanagerConfig as the global configuration
//
// stack.md §1 offers two ways to keep the Slack webhook out of Git. Vigil
// uses the second: one AlertmanagerConfig (v1alpha1, the storage version)
// whose slackConfigs take apiURL as a SecretKeySelector, named by the
// Alertmanager's spec.alertmanagerConfiguration. The operator then builds
// alertmanager.yaml itself, reading each webhook from its Secret at
// reconcile time. So:
//
//   - no Secret with data is ever rendered, and no config file holding a
//     URL exists in Git; the webhook Secrets (monitoring.alertmanager.slack
//     receivers' webhook references) must exist in monitoring.namespace,
//     next to the AlertmanagerConfig, as the operator requires;
//   - the routing is typed (routes, matchers, inhibit rules are Go
//     structs the API module defines), converted the way the operator
//     does (OperatorYAML) and loaded with Alertmanager's own parser by
//     the tests and by `gen validate` (LoadConfig);
//   - nothing mounts the Secrets into the pods (spec.secrets stays empty):
//     that is only needed by the other pattern, api_url_file in a
//     hand-written alertmanager.yaml, which would also need the whole
//     config file to come from a Secret.
//
// The OnNamespace matcher problem (stack.md §1, rule 7) cannot happen: the
// operator adds a namespace=<namespace of the CR> matcher only to the routes
// and inhibit rules of AlertmanagerConfigs it selects through
// alertmanagerConfigSelector. The configuration named by
// spec.alertmanagerConfiguration becomes the top-level configuration
// instead, and the operator enforces no namespace label on it, so a route
// for namespace=spark really sees Spark's alerts. The Alertmanager selects
// no other AlertmanagerConfig (alertmanagerConfigSelector is unset), so no
// other object can rewrite the routing either.
//
// The AlertmanagerConfig is deployed in the Instances layer with the
// Alertmanager, not with the other content: the operator refuses to
// reconcile an Alertmanager whose named configuration is missing, and Flux
// would wait forever for that Alertmanager to become ready.
package alertmanager

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/storage"
)

// Component is the name of this generator's base.
const Component = "alertmanager"

const (
	// Name is the Alertmanager custom resource; the operator names its
	// StatefulSet alertmanager-<Name>.
	Name = "main"
	// ConfigName is the AlertmanagerConfig that holds the routing.
	ConfigName = Name
	// ServiceName is the Service Prometheus sends alerts to; it is also the
	// job label of Alertmanager's own metrics.
	ServiceName        = "alertmanager-" + Name
	ServiceAccountName = "alertmanager-" + Name
	// WebPort serves the API, the UI and /metrics.
	WebPort     = 9093
	WebPortName = "web"
	// MeshPort carries the replicas' gossip (TCP and UDP).
	MeshPort = 9094
	// ReloaderPort serves the config-reloader sidecar's metrics.
	ReloaderPort     = 8080
	ReloaderPortName = "reloader-web"

	appName      = "alertmanager"
	appComponent = "alert-router"
)

// URL is the in-cluster address of the Alertmanager API.
func URL(e *env.Environment) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", ServiceName, e.Monitoring.Namespace, WebPort)
}

// PodSelector selects the Alertmanager pods.
func PodSelector() map[string]string { return prometheusoperator.AlertmanagerPodSelector(Name) }

// grafanaPods selects Grafana's pods by the one label every workload
// labelled with stack.Labels("grafana", …) carries; Grafana may read
// silences and alerts through an Alertmanager datasource.
var grafanaPods = map[string]string{stack.LabelName: "grafana"}

// Generate adds the Alertmanager and its routing when monitoring is enabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.PrometheusEnabled() {
		return nil
	}
	ns := e.Monitoring.Namespace
	am, err := instance(e)
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	cfg, err := Config(e)
	if err != nil {
		return fmt.Errorf("alertmanager: %w", err)
	}
	s.Add(Component, stack.Instances,
		// Alertmanager never calls the Kubernetes API.
		&corev1.ServiceAccount{ObjectMeta: meta(ServiceAccountName, ns), AutomountServiceAccountToken: ptr(false)},
		am, cfg, service(ns), serviceMonitor(ns), networkPolicy(ns),
	)
	if e.Monitoring.Alertmanager.Replicas >= 2 {
		s.Add(Component, stack.Instances, podDisruptionBudget(ns))
	}
	return nil
}

// labels are the recommended labels, with the instance named after the
// custom resource, the value the operator puts on the pods.
func labels() map[string]string {
	l := stack.Labels(appName, appComponent, stack.Alertmanager.Version)
	l[stack.LabelInstance] = Name
	return l
}

func meta(name, ns string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels()}
}

func instance(e *env.Environment) (*monitoringv1.Alertmanager, error) {
	a := e.Monitoring.Alertmanager
	res, err := a.Resources.Requirements()
	if err != nil {
		return nil, fmt.Errorf("monitoring.alertmanager.resources: %w", err)
	}
	size, err := resource.ParseQuantity(a.Storage.Size)
	if err != nil {
		return nil, fmt.Errorf("monitoring.alertmanager.storage.size: %w", err)
	}
	retention, err := GoDuration(a.Retention)
	if err != nil {
		return nil, fmt.Errorf("monitoring.alertmanager.retention: %w", err)
	}
	spec := monitoringv1.AlertmanagerSpec{
		PodMetadata:        &monitoringv1.EmbeddedObjectMetadata{Labels: labels()},
		Image:              ptr(stack.Alertmanager.Ref()),
		Version:            stack.Alertmanager.Version,
		Replicas:           ptr(int32(a.Replicas)),
		Retention:          retention,
		ServiceAccountName: ServiceAccountName,
		Storage: &monitoringv1.StorageSpec{
			VolumeClaimTemplate: monitoringv1.EmbeddedPersistentVolumeClaim{
				Spec: corev1.PersistentVolumeClaimSpec{
					StorageClassName: ptr(storage.ClassName(a.Storage.Role)),
					AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				},
			},
		},
		Resources:    res,
		NodeSelector: map[string]string{corev1.LabelOSStable: "linux"},
		// The operator runs the containers read-only, without privileges;
		// the pod-level context fixes the user and group-owns the volume.
		SecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   ptr(true),
			RunAsUser:      ptr(int64(1000)),
			RunAsGroup:     ptr(int64(2000)),
			FSGroup:        ptr(int64(2000)),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		Affinity: spread(a.Replicas),
		// The routing comes from one AlertmanagerConfig, as the global
		// configuration; see the package documentation.
		AlertmanagerConfiguration: &monitoringv1.AlertmanagerConfiguration{
			Name: ConfigName,
			// Alerts from Prometheus always carry EndsAt; this bounds
			// alerts from other clients.
			Global: &monitoringv1.AlertmanagerGlobalConfig{ResolveTimeout: "5m"},
		},
	}
	return &monitoringv1.Alertmanager{ObjectMeta: meta(Name, e.Monitoring.Namespace), Spec: spec}, nil
}

// spread keeps replicas on different nodes when it can.
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

func service(ns string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: meta(ServiceName, ns),
		Spec: corev1.ServiceSpec{
			Selector: PodSelector(),
			Ports: []corev1.ServicePort{
				{Name: WebPortName, Port: WebPort, TargetPort: intstr.FromString(WebPortName), Protocol: corev1.ProtocolTCP},
				{Name: ReloaderPortName, Port: ReloaderPort, TargetPort: intstr.FromString(ReloaderPortName), Protocol: corev1.ProtocolTCP},
			},
			// A client keeps talking to one replica, so a silence it just
			// created is visible to it before gossip spreads it.
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
			Selector:  metav1.LabelSelector{MatchLabels: sel},
			Endpoints: []monitoringv1.Endpoint{{Port: WebPortName}, {Port: ReloaderPortName}},
		},
	}
}

// podDisruptionBudget lets a drain evict one replica at a time, so
// minAvailable stays below the replica count and a drain never blocks
// (stack.md rule 13).
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

// networkPolicy admits alerts and scrapes from Prometheus, the replicas'
// gossip, and Grafana's reads. Egress stays open for Slack.
func networkPolicy(ns string) *networkingv1.NetworkPolicy {
	udp := corev1.ProtocolUDP
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
					From: []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: PodSelector()}}},
					Ports: []networkingv1.NetworkPolicyPort{
						tcp(MeshPort),
						{Protocol: &udp, Port: ptr(intstr.FromInt32(MeshPort))},
					},
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

// GoDuration rewrites a Prometheus duration ("5d", "1w", "120h") in the
// units Go's time.ParseDuration knows, which fields like the Alertmanager's
// retention require ("120h").
func GoDuration(s string) (monitoringv1.GoDuration, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return "", err
	}
	t := time.Duration(d)
	if t == 0 {
		return "0", nil
	}
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}, {time.Millisecond, "ms"}} {
		if n := t / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10) + u.name)
			t -= n * u.unit
		}
	}
	return monitoringv1.GoDuration(b.String()), nil
}

func ptr[T any](v T) *T { return &v }
