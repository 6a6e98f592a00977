// Package pureexporter owns the metrics of the Pure Storage arrays and the
// storage alerts.
//
// FlashBlades are scraped through the pure-fb-openmetrics-exporter, a
// stateless multi-target exporter: Prometheus passes the blade in the
// `endpoint` GET parameter and the blade's read-only API token as a Bearer
// token, so one exporter Deployment serves every blade. FlashArrays on
// Purity//FA ≥ 6.6.11 serve the same metrics natively on
// https://<array>/metrics/<path>; Prometheus scrapes them directly and no
// exporter runs. Only a FlashArray still on an older Purity with
// legacyExporter: true gets the end-of-life pure-fa-openmetrics-exporter,
// because nothing else can read it.
//
// Each array and metric path is one ScrapeConfig (monitoring.coreos.com
// v1alpha1) rather than a ServiceMonitor: a ServiceMonitor scrapes the
// endpoints of a Service, so every blade would need its own Service or a
// ServiceMonitor endpoint per blade; a ScrapeConfig names the target, the
// `endpoint` parameter, the token and the interval in one object, which is
// the multi-target exporter pattern Prometheus documents. Tokens are
// SecretKeySelectors, so the Secret named by pureExporter.*.token must exist
// in the monitoring namespace (the namespace of the ScrapeConfigs).
//
// The package also renders the storage alerts: array capacity (when the
// exporter is on) and PersistentVolumeClaims filling up (whenever
// monitoring is on, from the kubelet's volume statistics).
package pureexporter

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component names the bases this package renders.
const (
	// Component is the Pure exporter with its scrape configuration and
	// array alerts.
	Component = "pure-exporter"
	// StorageAlertsComponent holds the PersistentVolumeClaim alerts, which
	// exist whenever monitoring does.
	StorageAlertsComponent = "storage-alerts"
)

// The FlashBlade exporter: its name (Deployment, Service, ServiceAccount)
// and port (the exporter's default, README "Usage").
const (
	FBExporterName = "pure-fb-om-exporter"
	FBExporterPort = 9491
	// LegacyFAExporterName and LegacyFAExporterPort are the end-of-life
	// FlashArray exporter's, rendered only for legacyExporter arrays.
	LegacyFAExporterName = "pure-fa-om-exporter"
	LegacyFAExporterPort = 9490
)

// The values of the `job` label of the array metrics, one per metric path,
// for dashboards and alerts.
const (
	JobFBArray   = "purefb-array"
	JobFBClients = "purefb-clients"
	JobFBUsage   = "purefb-usage"
	JobFAArray   = "purefa-array"
	JobFAVolumes = "purefa-volumes"
)

// LabelArray is the label naming the array on every array metric: the
// `instance` label, set to the array's name in pureExporter (the exporters'
// Grafana dashboards expect the array name there, not the scrape address).
const LabelArray = "instance"

// Namespace is where the exporter, its ScrapeConfigs and the storage rules
// live: the monitoring namespace.
func Namespace(e *env.Environment) string { return e.Monitoring.Namespace }

// Generate adds, when monitoring is on, the PersistentVolumeClaim alerts;
// and when pureExporter is on, the exporter workloads (Instances layer) and
// the ScrapeConfigs and array alerts (Content layer).
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Monitoring.Enabled {
		return nil
	}
	s.Add(StorageAlertsComponent, stack.Content, volumeRules(e))
	if !e.PureExporterEnabled() {
		return nil
	}
	p := e.PureExporter
	if len(p.FlashBlades) > 0 {
		s.Add(Component, stack.Instances, exporter(e, fbExporter)...)
	}
	if legacyArrays(e) > 0 {
		s.Add(Component, stack.Instances, exporter(e, faLegacyExporter)...)
	}
	scrapes, err := scrapeConfigs(e)
	if err != nil {
		return fmt.Errorf("pure exporter: %w", err)
	}
	for _, sc := range scrapes {
		s.Add(Component, stack.Content, sc)
	}
	if len(p.FlashBlades) > 0 || len(p.FlashArrays) > 0 {
		s.Add(Component, stack.Content, arrayRules(e))
	}
	return nil
}

// legacyArrays counts the FlashArrays read through the end-of-life
// exporter.
func legacyArrays(e *env.Environment) int {
	n := 0
	for _, fa := range e.PureExporter.FlashArrays {
		if fa.LegacyExporter {
			n++
		}
	}
	return n
}
