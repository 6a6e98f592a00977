package pureexporter

import (
	"fmt"
	"strings"
	"time"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// metricsPath is one metric path of an array with the job it reports as
// and whether it is one of the costly paths scraped at slowInterval.
type metricsPath struct {
	suffix string // of the ScrapeConfig name
	path   string
	job    string
	slow   bool
}

// The FlashBlade exporter's README asks to scrape /metrics/array most often
// and clients and usage (per-client performance, quota usage) less often;
// /metrics (everything at once) is not scraped at all.
var fbPaths = []metricsPath{
	{"array", "/metrics/array", JobFBArray, false},
	{"clients", "/metrics/clients", JobFBClients, true},
	{"usage", "/metrics/usage", JobFBUsage, true},
}

// The FlashArray paths, the same on the native endpoint and the legacy
// exporter: the array (capacity, performance, alerts, hardware) and the
// volumes, which map to PersistentVolumes and may be thousands.
var faPaths = []metricsPath{
	{"array", "/metrics/array", JobFAArray, false},
	{"volumes", "/metrics/volumes", JobFAVolumes, true},
}

// Timeout caps: a scrape must end before the next one starts, and the
// Prometheus default of 10s is too short for a loaded array's REST API.
const (
	fastTimeoutCap = 30 * time.Second
	slowTimeoutCap = 2 * time.Minute
)

// scrapeConfigs returns one ScrapeConfig per array and metric path, in a
// fixed order.
func scrapeConfigs(e *env.Environment) ([]*monitoringv1alpha1.ScrapeConfig, error) {
	p := e.PureExporter
	var out []*monitoringv1alpha1.ScrapeConfig
	for _, name := range env.SortedKeys(p.FlashBlades) {
		fb := p.FlashBlades[name]
		_, host := splitEndpoint(fb.Endpoint)
		for _, mp := range fbPaths {
			sc, err := scrapeConfig(e, "purefb-"+name, name, mp, fb.Token)
			if err != nil {
				return nil, fmt.Errorf("flashblade %s: %w", name, err)
			}
			sc.Spec.StaticConfigs[0].Targets = []monitoringv1alpha1.Target{monitoringv1alpha1.Target(serviceAddress(e, fbExporter))}
			sc.Spec.Params = map[string][]string{"endpoint": {host}}
			out = append(out, sc)
		}
	}
	for _, name := range env.SortedKeys(p.FlashArrays) {
		fa := p.FlashArrays[name]
		scheme, host := splitEndpoint(fa.Endpoint)
		for _, mp := range faPaths {
			sc, err := scrapeConfig(e, "purefa-"+name, name, mp, fa.Token)
			if err != nil {
				return nil, fmt.Errorf("flasharray %s: %w", name, err)
			}
			if fa.LegacyExporter {
				sc.Spec.StaticConfigs[0].Targets = []monitoringv1alpha1.Target{monitoringv1alpha1.Target(serviceAddress(e, faLegacyExporter))}
				sc.Spec.Params = map[string][]string{"endpoint": {host}}
			} else {
				nativeTarget(sc, scheme, host)
			}
			out = append(out, sc)
		}
	}
	return out, nil
}

// nativeTarget points a ScrapeConfig at a FlashArray's own OpenMetrics
// endpoint (Purity//FA ≥ 6.6.11): HTTPS on the management address, with
// namespace=purefa so the metric names are those of the retired exporter.
func nativeTarget(sc *monitoringv1alpha1.ScrapeConfig, scheme, host string) {
	sc.Spec.StaticConfigs[0].Targets = []monitoringv1alpha1.Target{monitoringv1alpha1.Target(host)}
	sc.Spec.Params = map[string][]string{"namespace": {"purefa"}}
	s := monitoringv1.SchemeHTTPS
	if scheme == "http" {
		s = monitoringv1.SchemeHTTP
	}
	sc.Spec.Scheme = &s
	if s == monitoringv1.SchemeHTTPS {
		// The management interface serves a self-signed certificate unless
		// one was imported, and the schema has no CA to verify it with;
		// the token still only goes to the configured address. Pure's own
		// scrape examples for the native exporter do the same.
		sc.Spec.TLSConfig = &monitoringv1.SafeTLSConfig{InsecureSkipVerify: ptr(true)}
	}
}

// scrapeConfig is the part every array ScrapeConfig shares: its name, job,
// path, interval, token and the array's name as instance label.
func scrapeConfig(e *env.Environment, prefix, array string, mp metricsPath, token env.SecretRef) (*monitoringv1alpha1.ScrapeConfig, error) {
	interval := e.PureExporter.Interval
	limit := fastTimeoutCap
	if mp.slow {
		interval, limit = e.PureExporter.SlowInterval, slowTimeoutCap
	}
	timeout, err := scrapeTimeout(interval, limit)
	if err != nil {
		return nil, err
	}
	iv := monitoringv1.Duration(interval)
	to := monitoringv1.Duration(timeout)
	return &monitoringv1alpha1.ScrapeConfig{
		ObjectMeta: metav1.ObjectMeta{
			Name:      prefix + "-" + mp.suffix,
			Namespace: Namespace(e),
			Labels:    stack.Labels(Component, "scrape-config", ""),
		},
		Spec: monitoringv1alpha1.ScrapeConfigSpec{
			JobName:        ptr(mp.job),
			MetricsPath:    ptr(mp.path),
			ScrapeInterval: &iv,
			ScrapeTimeout:  &to,
			StaticConfigs: []monitoringv1alpha1.StaticConfig{{
				Labels: map[string]string{LabelArray: array},
			}},
			Authorization: &monitoringv1.SafeAuthorization{
				Type: "Bearer",
				Credentials: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: token.Secret},
					Key:                  token.Key,
				},
			},
		},
	}, nil
}

// scrapeTimeout is the interval capped at limit, in Prometheus duration
// syntax: Prometheus refuses a timeout longer than the interval.
func scrapeTimeout(interval string, limit time.Duration) (string, error) {
	d, err := model.ParseDuration(interval)
	if err != nil {
		return "", fmt.Errorf("scrape interval %q: %w", interval, err)
	}
	if time.Duration(d) > limit {
		d = model.Duration(limit)
	}
	return d.String(), nil
}

// splitEndpoint splits an endpoint of the schema's #Endpoint form ("host",
// "host:port", "https://host/") into its scheme (empty when absent) and
// host[:port].
func splitEndpoint(ep string) (scheme, host string) {
	host = ep
	if s, rest, ok := strings.Cut(ep, "://"); ok {
		scheme, host = s, rest
	}
	return scheme, strings.TrimSuffix(host, "/")
}
