// Package controlplane owns the scraping of the Kubernetes control plane and
// its alerts and recording rules: kube-apiserver on every cluster; on a
// self-managed one (monitoring.controlPlane.selfManaged) also
// kube-scheduler, kube-controller-manager, etcd and CoreDNS; on a managed one
// (monitoring.controlPlane.managed) CoreDNS where the provider runs it as a
// Deployment the cluster can see (EKS, AKS).
//
// The API server is scraped through the kubernetes Service of the default
// namespace, as kube-prometheus does. The other components get a headless
// Service in kube-system that Vigil owns (vigil-<component>): with
// selfManaged.endpoints empty it selects the static pods by the labels
// kubeadm gives them; with endpoints given, it has no selector and an
// EndpointSlice lists the addresses. Each ServiceMonitor lives in the
// monitoring namespace and selects its Service there.
//
// Prometheus's ClusterRole already allows GET on /metrics, which is all the
// API server, and through delegated authorization the scheduler and the
// controller manager, ask of its token; it already discovers Services and
// EndpointSlices in default and kube-system. etcd authenticates clients by
// certificate only: its ServiceMonitor names the Secrets of
// monitoring.controlPlane.selfManaged.etcd.clientCertificate, which the
// operator copies into Prometheus's configuration. That ServiceMonitor is a
// component of its own ("etcd"), so a missing Secret holds back only it.
package controlplane

import (
	corev1 "k8s.io/api/core/v1"
	discoveryv1 "k8s.io/api/discovery/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Components of the objects: etcd's ServiceMonitor stands apart, since it
// waits for the client certificate Secrets.
const (
	Component     = "control-plane"
	EtcdComponent = "etcd"
)

// Namespace is where the control plane runs and its Services are.
const Namespace = "kube-system"

// Job labels, as kube-prometheus and the upstream mixins name them.
const (
	APIServerJob         = "apiserver"
	SchedulerJob         = "kube-scheduler"
	ControllerManagerJob = "kube-controller-manager"
	EtcdJob              = "etcd"
	CoreDNSJob           = "coredns"
)

// serviceAccountFiles are Prometheus's projected service account token and
// the cluster CA, mounted in every pod.
const (
	tokenFile = "/var/run/secrets/kubernetes.io/serviceaccount/token"
	caFile    = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
)

// target is one component Prometheus scrapes through a Service Vigil owns in
// kube-system.
type target struct {
	job string
	// podLabels select the component's pods when no endpoints are given:
	// kubeadm's static pod labels, or CoreDNS's Deployment labels.
	podLabels map[string]string
	port      int
	portName  string
	// always selects pods, even when selfManaged.endpoints is set: CoreDNS
	// runs as a Deployment, not on the control-plane nodes' addresses.
	always   bool
	endpoint monitoringv1.Endpoint
}

// Generate adds the control-plane Services, EndpointSlices, ServiceMonitors
// and rules that the environment's kind of control plane allows.
func Generate(e *env.Environment, s *stack.Set) error {
	scrape := e.ControlPlaneScrape()
	if !scrape.APIServer {
		return nil
	}
	ns := e.Monitoring.Namespace
	interval := monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval)
	s.Add(Component, stack.Content, apiServerMonitor(ns, interval))

	var endpoints []string
	if e.Cluster.ControlPlane == env.ControlPlaneSelfManaged {
		endpoints = e.Monitoring.ControlPlane.SelfManagedSettings().Endpoints
	}
	for _, t := range targets(e, scrape) {
		t.endpoint.Interval = interval
		component := Component
		if t.job == EtcdJob {
			component = EtcdComponent
		}
		svc, slice := service(t, endpoints)
		s.Add(Component, stack.Instances, svc)
		if slice != nil {
			s.Add(Component, stack.Instances, slice)
		}
		s.Add(component, stack.Content, monitor(t, ns))
	}
	for _, r := range Rules(e, scrape) {
		s.Add(Component, stack.Content, promRule(r, ns))
	}
	return nil
}

// targets are the components beside the API server that are scraped.
func targets(e *env.Environment, scrape env.ControlPlaneScrape) []target {
	sm := e.Monitoring.ControlPlane.SelfManagedSettings()
	var out []target
	https := func() monitoringv1.Endpoint {
		return monitoringv1.Endpoint{
			Port:   "https-metrics",
			Scheme: ptr.To(monitoringv1.SchemeHTTPS),
			// authorization, the documented replacement, reads only a
			// Secret: the components would need a long-lived token
			// Secret instead of Prometheus's projected, rotated one.
			//lint:ignore SA1019 the projected service account token has no non-deprecated field
			BearerTokenFile: tokenFile,
			HTTPConfigWithProxyAndTLSFiles: monitoringv1.HTTPConfigWithProxyAndTLSFiles{
				HTTPConfigWithTLSFiles: monitoringv1.HTTPConfigWithTLSFiles{
					// Their serving certificates are self-signed at start
					// (kubeadm gives them none), so they cannot be verified;
					// kube-prometheus does the same.
					TLSConfig: &monitoringv1.TLSConfig{SafeTLSConfig: monitoringv1.SafeTLSConfig{InsecureSkipVerify: ptr.To(true)}},
				},
			},
		}
	}
	if scrape.Scheduler {
		out = append(out, target{job: SchedulerJob, podLabels: map[string]string{"component": SchedulerJob, "tier": "control-plane"},
			port: sm.Scheduler.Port, portName: "https-metrics", endpoint: https()})
	}
	if scrape.ControllerManager {
		ep := https()
		// The controller manager embeds an etcd client library whose
		// series duplicate the API server's; kube-prometheus drops them.
		ep.MetricRelabelConfigs = []monitoringv1.RelabelConfig{drop(`etcd_(debugging|disk|request|server).*`)}
		out = append(out, target{job: ControllerManagerJob, podLabels: map[string]string{"component": ControllerManagerJob, "tier": "control-plane"},
			port: sm.ControllerManager.Port, portName: "https-metrics", endpoint: ep})
	}
	if scrape.Etcd {
		c := sm.Etcd.ClientCertificate
		sel := func(r env.SecretRef) *corev1.SecretKeySelector {
			return &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Secret}, Key: r.Key}
		}
		out = append(out, target{job: EtcdJob, podLabels: map[string]string{"component": EtcdJob, "tier": "control-plane"},
			port: sm.Etcd.Port, portName: "https-metrics", endpoint: monitoringv1.Endpoint{
				Port:   "https-metrics",
				Scheme: ptr.To(monitoringv1.SchemeHTTPS),
				HTTPConfigWithProxyAndTLSFiles: monitoringv1.HTTPConfigWithProxyAndTLSFiles{
					HTTPConfigWithTLSFiles: monitoringv1.HTTPConfigWithTLSFiles{
						// etcd's serving certificate names the nodes'
						// addresses and is signed by the etcd CA: verified.
						TLSConfig: &monitoringv1.TLSConfig{SafeTLSConfig: monitoringv1.SafeTLSConfig{
							CA:        monitoringv1.SecretOrConfigMap{Secret: sel(c.CA)},
							Cert:      monitoringv1.SecretOrConfigMap{Secret: sel(c.Cert)},
							KeySecret: sel(c.Key),
						}},
					},
				},
			}})
	}
	if scrape.CoreDNS {
		// A managed cluster's CoreDNS serves on the port kubeadm's does.
		port := sm.CoreDNS.Port
		out = append(out, target{job: CoreDNSJob, podLabels: map[string]string{"k8s-app": "kube-dns"}, port: port, portName: "metrics", always: true,
			endpoint: monitoringv1.Endpoint{Port: "metrics"}})
	}
	return out
}

func drop(regex string, labels ...monitoringv1.LabelName) monitoringv1.RelabelConfig {
	if len(labels) == 0 {
		labels = []monitoringv1.LabelName{"__name__"}
	}
	return monitoringv1.RelabelConfig{Action: "drop", SourceLabels: labels, Regex: regex}
}

// serviceName is the Service Vigil owns in kube-system for a job.
func serviceName(job string) string { return "vigil-" + job }

func labels(job string) map[string]string { return stack.Labels(job, Component, "") }

// service is the headless Service of a target and, when the addresses are
// given, the EndpointSlice that lists them.
func service(t target, endpoints []string) (*corev1.Service, *discoveryv1.EndpointSlice) {
	name := serviceName(t.job)
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: labels(t.job)},
		Spec: corev1.ServiceSpec{
			ClusterIP: corev1.ClusterIPNone,
			Ports:     []corev1.ServicePort{{Name: t.portName, Port: int32(t.port), TargetPort: intstr.FromInt32(int32(t.port)), Protocol: corev1.ProtocolTCP}},
		},
	}
	if len(endpoints) == 0 || t.always {
		svc.Spec.Selector = t.podLabels
		return svc, nil
	}
	l := labels(t.job)
	l[discoveryv1.LabelServiceName] = name
	l[discoveryv1.LabelManagedBy] = "vigil"
	slice := &discoveryv1.EndpointSlice{
		ObjectMeta:  metav1.ObjectMeta{Name: name, Namespace: Namespace, Labels: l},
		AddressType: discoveryv1.AddressTypeIPv4,
		Ports:       []discoveryv1.EndpointPort{{Name: ptr.To(t.portName), Port: ptr.To(int32(t.port)), Protocol: ptr.To(corev1.ProtocolTCP)}},
	}
	for _, a := range endpoints {
		slice.Endpoints = append(slice.Endpoints, discoveryv1.Endpoint{Addresses: []string{a}, Conditions: discoveryv1.EndpointConditions{Ready: ptr.To(true)}})
	}
	return svc, slice
}

func monitor(t target, ns string) *monitoringv1.ServiceMonitor {
	return &monitoringv1.ServiceMonitor{
		ObjectMeta: metav1.ObjectMeta{Name: t.job, Namespace: ns, Labels: labels(t.job)},
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel:          stack.LabelName,
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{Namespace}},
			Selector:          metav1.LabelSelector{MatchLabels: stack.SelectorLabels(t.job, Component)},
			Endpoints:         []monitoringv1.Endpoint{t.endpoint},
		},
	}
}

// apiServerBucketDrops are the latency buckets dropped before storage. Each
// API server exports both histograms for every verb, resource, subresource
// and scope: tens of thousands of series. Kept are the buckets the SLO
// rules read (1 s, 5 s and 30 s, the thresholds of resource, namespace
// and cluster scope) and enough others for quantiles; the request duration
// drops what kube-prometheus v0.18.0 drops of the Kubernetes 1.37 bucket
// set. Prometheus 3 writes le="1" as "1.0", hence the optional ".0".
var apiServerBucketDrops = []monitoringv1.RelabelConfig{
	drop(`apiserver_request_duration_seconds_bucket;(0\.4|0\.6|0\.8|1\.25|1\.5|3|6|8|15|30)(\.0)?`, "__name__", "le"),
	drop(`apiserver_request_sli_duration_seconds_bucket;(0\.4|0\.6|0\.8|1\.25|1\.5|2|3|4|6|8|15|20|45)(\.0)?`, "__name__", "le"),
	// The etcd client's own series (the API server's etcd_request_* stay).
	drop(`etcd_(debugging|disk|server).*`),
}

// apiServerMonitor scrapes every API server through the kubernetes Service
// of the default namespace (its EndpointSlice lists every instance). The
// API server's certificate is the cluster CA's and names "kubernetes".
func apiServerMonitor(ns string, interval monitoringv1.Duration) *monitoringv1.ServiceMonitor {
	return &monitoringv1.ServiceMonitor{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-apiserver", Namespace: ns, Labels: labels(APIServerJob)},
		Spec: monitoringv1.ServiceMonitorSpec{
			// component: apiserver on the kubernetes Service gives the job.
			JobLabel:          "component",
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{metav1.NamespaceDefault}},
			Selector:          metav1.LabelSelector{MatchLabels: map[string]string{"component": APIServerJob, "provider": "kubernetes"}},
			Endpoints: []monitoringv1.Endpoint{{
				Port:            "https",
				Interval:        interval,
				Scheme:          ptr.To(monitoringv1.SchemeHTTPS),
				BearerTokenFile: tokenFile,
				HTTPConfigWithProxyAndTLSFiles: monitoringv1.HTTPConfigWithProxyAndTLSFiles{
					HTTPConfigWithTLSFiles: monitoringv1.HTTPConfigWithTLSFiles{
						TLSConfig: &monitoringv1.TLSConfig{
							SafeTLSConfig:  monitoringv1.SafeTLSConfig{ServerName: ptr.To("kubernetes")},
							TLSFilesConfig: monitoringv1.TLSFilesConfig{CAFile: caFile},
						},
					},
				},
				MetricRelabelConfigs: apiServerBucketDrops,
			}},
		},
	}
}

// promRule wraps one rule set in a PrometheusRule.
func promRule(r Named, ns string) *monitoringv1.PrometheusRule {
	return &monitoringv1.PrometheusRule{
		ObjectMeta: metav1.ObjectMeta{
			Name: r.Name, Namespace: ns, Labels: labels(r.Job),
			// Templates in annotations contain "{{ … }}"; Flux's
			// substitution must leave "${…}" alone as in every rule.
			Annotations: map[string]string{"kustomize.toolkit.fluxcd.io/substitute": "disabled"},
		},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: r.Groups},
	}
}
