package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/blackbox"
	"github.com/vigil-stack/vigil/generate/env"
)

// probesEnabled: the blackbox exporter probes the Ingresses.
func probesEnabled(e *env.Environment) bool { return e.Monitoring.BlackboxExporter.Enabled }

// probes: what the blackbox exporter sees of each Ingress Vigil renders —
// up or not, how fast, which status, and when its certificate expires.
func probes(e *env.Environment) *dashboard.DashboardBuilder {
	p := fmt.Sprintf(`job=%q,namespace=~"$namespace"`, blackbox.ProbeJob)
	return newBoard("vigil-probes", "", "The Ingresses Vigil renders, probed from inside the cluster by the blackbox exporter: success, latency, status and certificates.", "kubernetes", "probes").
		WithVariable(labelVar("namespace", "Namespace", fmt.Sprintf(`probe_success{job=%q}`, blackbox.ProbeJob), "namespace")).
		WithRow(row("Ingresses in $namespace")).
		WithPanel(singleStat("Probes failing", "Probed URLs whose last probe failed.", "none", `count(probe_success{`+p+`} == 0) or vector(0)`)).
		WithPanel(singleStat("Probed URLs", "URLs probed.", "none", `count(probe_success{`+p+`})`)).
		WithPanel(singleStat("Slowest probe", "Longest probe of the last 5 minutes, on average.", "s", `max(avg_over_time(probe_duration_seconds{`+p+`}[5m]))`)).
		WithPanel(singleStat("First certificate expiry", "Time until the first served certificate expires.", "s", `min(probe_ssl_earliest_cert_expiry{`+p+`}) - time()`)).
		WithPanel(multiTable("Probed URLs", "Each probed URL: last result, duration, HTTP status and certificate expiry.", "short",
			q(`max by (namespace, ingress, instance) (probe_success{`+p+`})`, "Success"),
			q(`max by (namespace, ingress, instance) (probe_duration_seconds{`+p+`})`, "Duration"),
			q(`max by (namespace, ingress, instance) (probe_http_status_code{`+p+`})`, "Status"),
			q(`max by (namespace, ingress, instance) (probe_ssl_earliest_cert_expiry{`+p+`}) - time()`, "Certificate expires in")).
			OverrideByName("Duration", []dashboard.DynamicConfigValue{{Id: "unit", Value: "s"}}).
			OverrideByName("Certificate expires in", []dashboard.DynamicConfigValue{{Id: "unit", Value: "s"}})).
		WithPanel(timeSeries("Probe success", "1 when the probe succeeded, per URL.", "none",
			q(`max by (instance) (probe_success{`+p+`})`, "{{instance}}"))).
		WithPanel(timeSeries("Probe duration by phase", "Time spent resolving, connecting, in TLS, waiting and transferring, per URL.", "s",
			q(`sum by (instance, phase) (probe_http_duration_seconds{`+p+`})`, "{{instance}} {{phase}}"))).
		WithPanel(timeSeries("HTTP status", "Status code of the final response, per URL.", "none",
			q(`max by (instance) (probe_http_status_code{`+p+`})`, "{{instance}}"))).
		WithPanel(timeSeries("Certificate expiry", "Time until each URL's earliest certificate expires.", "s",
			q(`min by (instance) (probe_ssl_earliest_cert_expiry{`+p+`}) - time()`, "{{instance}}")))
}
