// Package blackbox owns the Prometheus blackbox exporter: a Deployment that
// probes URLs on Prometheus's behalf, its configuration (one http_2xx
// module), Service, ServiceMonitor, NetworkPolicy and alert rules, and one
// prometheus-operator Probe per Ingress the rest of the stack renders, so
// that what users open in a browser — Grafana, Kibana, the Spark History
// Server — is checked from inside the cluster the way they reach it.
//
// The Ingresses are read from the Set the other components filled, so
// Generate runs after them (last in generate/build.go's list); a new
// Ingress anywhere gets a Probe without a change here.
package blackbox

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"sort"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	// Component is the stack component of every object.
	Component = "blackbox-exporter"
	// Name names the Deployment, Service, ConfigMap, ServiceMonitor and
	// NetworkPolicy; it is the job label of the exporter's own metrics.
	Name = "blackbox-exporter"
	// Port is the exporter's default --web.listen-address port.
	Port     = 9115
	PortName = "http"
	// ProbeJob is the job label of every probe's series.
	ProbeJob = "blackbox"
	// ModuleHTTP2xx is the module every Probe uses.
	ModuleHTTP2xx = "http_2xx"
	// LabelIngress names the probed Ingress on the probe series; namespace
	// is the Ingress's, so the alerts route to its owners.
	LabelIngress = "ingress"

	configKey  = "config.yml"
	configPath = "/etc/blackbox_exporter"
)

// Config is the part of the blackbox exporter's configuration file Vigil
// writes (config/config.go of prometheus/blackbox_exporter at the pinned
// release: the yaml names of Config, Module and HTTPProbe).
type Config struct {
	Modules map[string]Module `json:"modules"`
}

// Module is one probing method.
type Module struct {
	Prober  string     `json:"prober"`
	Timeout string     `json:"timeout,omitempty"`
	HTTP    *HTTPProbe `json:"http,omitempty"`
}

// HTTPProbe configures the http prober.
type HTTPProbe struct {
	// ValidStatusCodes empty means any 2xx.
	ValidStatusCodes  []int    `json:"valid_status_codes,omitempty"`
	ValidHTTPVersions []string `json:"valid_http_versions,omitempty"`
	Method            string   `json:"method,omitempty"`
	// PreferredIPProtocol is ip6 by default upstream; cluster networks
	// are mostly IPv4, and the exporter falls back to the other family.
	PreferredIPProtocol string `json:"preferred_ip_protocol,omitempty"`
	IPProtocolFallback  bool   `json:"ip_protocol_fallback,omitempty"`
}

// DefaultConfig is the exporter's configuration: http_2xx follows
// redirects (an Ingress often redirects / to a login page) and accepts any
// 2xx. The timeout stays below Prometheus's default scrape timeout (10s).
func DefaultConfig() Config {
	return Config{Modules: map[string]Module{
		ModuleHTTP2xx: {
			Prober:  "http",
			Timeout: "5s",
			HTTP: &HTTPProbe{
				Method:              "GET",
				ValidHTTPVersions:   []string{"HTTP/1.1", "HTTP/2.0"},
				PreferredIPProtocol: "ip4",
				IPProtocolFallback:  true,
			},
		},
	}}
}

// Target is one probed URL and the Ingress it belongs to.
type Target struct {
	Namespace, Ingress, URL string
}

// Targets lists one URL per host of every Ingress in s: https when the
// Ingress terminates TLS for the host, the first path of its rule (or /).
// The order is by namespace, Ingress and URL, whatever the Set's order.
func Targets(s *stack.Set) []Target {
	var out []Target
	seen := map[Target]bool{}
	for _, r := range s.Resources() {
		ing, ok := r.Object.(*networkingv1.Ingress)
		if !ok {
			continue
		}
		tls := map[string]bool{}
		for _, t := range ing.Spec.TLS {
			for _, h := range t.Hosts {
				tls[h] = true
			}
		}
		for _, rule := range ing.Spec.Rules {
			if rule.Host == "" || strings.Contains(rule.Host, "*") {
				// No name to probe: a catch-all or wildcard rule.
				continue
			}
			scheme := "http"
			if tls[rule.Host] {
				scheme = "https"
			}
			path := "/"
			if rule.HTTP != nil && len(rule.HTTP.Paths) > 0 && strings.HasPrefix(rule.HTTP.Paths[0].Path, "/") {
				path = rule.HTTP.Paths[0].Path
			}
			t := Target{Namespace: ing.Namespace, Ingress: ing.Name, URL: scheme + "://" + rule.Host + path}
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		if a.Ingress != b.Ingress {
			return a.Ingress < b.Ingress
		}
		return a.URL < b.URL
	})
	return out
}

// ProbeName is the name of the Probe of an Ingress, in the monitoring
// namespace: unique because an Ingress is unique by namespace and name.
func ProbeName(namespace, ingress string) string {
	return "ingress-" + namespace + "-" + ingress
}

// Generate adds the exporter and a Probe per Ingress already in s. It adds
// nothing when monitoring or the exporter is off.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.PrometheusEnabled() || !e.Monitoring.BlackboxExporter.Enabled {
		return nil
	}
	bb := e.Monitoring.BlackboxExporter
	ns := e.Monitoring.Namespace
	version := stack.BlackboxExporter.Version
	res, err := bb.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("monitoring.blackboxExporter.resources: %w", err)
	}
	labels := func() map[string]string { return stack.Labels(Name, "exporter", version) }
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels()}
	}
	selector := stack.SelectorLabels(Name, "exporter")

	cfg, err := yaml.Marshal(DefaultConfig())
	if err != nil {
		return fmt.Errorf("blackbox exporter configuration: %w", err)
	}
	sum := sha256.Sum256(cfg)
	cm := &corev1.ConfigMap{ObjectMeta: meta(Name), Data: map[string]string{configKey: string(cfg)}}

	podLabels := labels()
	deploy := &appsv1.Deployment{
		ObjectMeta: meta(Name),
		Spec: appsv1.DeploymentSpec{
			// One replica: probes are scraped from one address, and a
			// gap while it is rescheduled only delays probe alerts
			// (TargetDown reports the exporter itself).
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: podLabels,
					// A changed configuration rolls the pod: the exporter
					// reads its file at start (or on SIGHUP, which nothing
					// here sends).
					Annotations: map[string]string{"checksum/config": hex.EncodeToString(sum[:])},
				},
				Spec: corev1.PodSpec{
					AutomountServiceAccountToken: ptr.To(false),
					NodeSelector:                 map[string]string{"kubernetes.io/os": "linux"},
					SecurityContext:              stack.NobodyPod(),
					Containers: []corev1.Container{{
						Name:  Name,
						Image: stack.BlackboxExporter.Ref(),
						Args: []string{
							"--config.file=" + configPath + "/" + configKey,
							fmt.Sprintf("--web.listen-address=:%d", Port),
						},
						Ports: []corev1.ContainerPort{{Name: PortName, ContainerPort: Port, Protocol: corev1.ProtocolTCP}},
						LivenessProbe: &corev1.Probe{
							ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/-/healthy", Port: intstr.FromString(PortName)}},
							InitialDelaySeconds: 5,
							TimeoutSeconds:      5,
						},
						ReadinessProbe: &corev1.Probe{
							ProbeHandler:   corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/-/healthy", Port: intstr.FromString(PortName)}},
							TimeoutSeconds: 5,
						},
						VolumeMounts:    []corev1.VolumeMount{{Name: "config", MountPath: configPath, ReadOnly: true}},
						Resources:       res,
						SecurityContext: stack.RestrictedContainer(),
					}},
					Volumes: []corev1.Volume{{Name: "config", VolumeSource: corev1.VolumeSource{
						ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: Name}},
					}}},
				},
			},
		},
	}

	svc := &corev1.Service{
		ObjectMeta: meta(Name),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: PortName, Port: Port, TargetPort: intstr.FromString(PortName), Protocol: corev1.ProtocolTCP}},
		},
	}

	// Only Prometheus asks for probes and metrics. Probes go wherever
	// the Ingress hosts resolve: the ingress controller's addresses,
	// inside or outside the cluster, and DNS, not known here.
	netpol := prometheus.OpenEgress(prometheus.ScrapeOnlyPolicy(e, meta(Name), selector, Port))
	s.Add(Component, stack.Instances, cm, deploy, svc, netpol)

	interval := monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval)
	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: meta(Name),
		Spec: monitoringv1.ServiceMonitorSpec{
			JobLabel:  stack.LabelName,
			Selector:  metav1.LabelSelector{MatchLabels: selector},
			Endpoints: []monitoringv1.Endpoint{{Port: PortName, Interval: interval}},
		},
	}
	s.Add(Component, stack.Content, sm, rules(meta(Name+"-rules"), bb))

	prober := monitoringv1.ProberSpec{URL: fmt.Sprintf("%s.%s.svc:%d", Name, ns, Port), Path: "/probe"}
	// Group the URLs by Ingress: one Probe each, so that the operator's
	// status and a failing scrape name the Ingress.
	byIngress := map[[2]string][]string{}
	var order [][2]string
	for _, t := range Targets(s) {
		k := [2]string{t.Namespace, t.Ingress}
		if _, ok := byIngress[k]; !ok {
			order = append(order, k)
		}
		byIngress[k] = append(byIngress[k], t.URL)
	}
	for _, k := range order {
		s.Add(Component, stack.Content, &monitoringv1.Probe{
			ObjectMeta: meta(ProbeName(k[0], k[1])),
			Spec: monitoringv1.ProbeSpec{
				JobName:    ProbeJob,
				ProberSpec: prober,
				Module:     ModuleHTTP2xx,
				Interval:   monitoringv1.Duration(bb.Interval),
				Targets: monitoringv1.ProbeTargets{StaticConfig: &monitoringv1.ProbeTargetStaticConfig{
					Targets: byIngress[k],
					Labels:  map[string]string{"namespace": k[0], LabelIngress: k[1]},
				}},
			},
		})
	}
	return nil
}
