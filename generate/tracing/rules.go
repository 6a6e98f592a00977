package tracing

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// RulesName names the PrometheusRule of the tracing pipeline.
const RulesName = "tracing"

// monitors scrape the collector and the backend. A ServiceMonitor's job
// label is the Service name: otel-collector, tempo or jaeger.
func monitors(e *env.Environment) []stack.Object {
	sm := func(name, ns, part, port, path string) *monitoringv1.ServiceMonitor {
		return &monitoringv1.ServiceMonitor{
			ObjectMeta: meta(name, ns, labels(name, part, "")),
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector:          metav1.LabelSelector{MatchLabels: stack.SelectorLabels(name, part)},
				NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{ns}},
				Endpoints: []monitoringv1.Endpoint{{
					Port:     port,
					Path:     path,
					Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval),
				}},
			},
		}
	}
	out := []stack.Object{sm(CollectorName, Namespace(e), "collector", "metrics", "/metrics")}
	switch e.Tracing.Backend {
	case env.BackendTempo:
		out = append(out, sm(TempoName, Namespace(e), "backend", "http", "/metrics"))
	case env.BackendJaeger:
		out = append(out, sm(JaegerName, JaegerNamespace(e), "backend", "metrics", "/metrics"))
	}
	return out
}

func alert(name, expr, forDuration, severity, summary, description string) monitoringv1.Rule {
	d := monitoringv1.Duration(forDuration)
	return monitoringv1.Rule{
		Alert:       name,
		Expr:        intstr.FromString(expr),
		For:         &d,
		Labels:      map[string]string{"severity": severity},
		Annotations: map[string]string{"summary": summary, "description": description, "runbook_url": stack.VigilRunbook(name)},
	}
}

// down fires when no target of a job has been up, including when none is
// discovered. absent() keeps no labels, so the rule sets the namespace the
// alert routes by.
func down(name, job, ns, what, consequence string) monitoringv1.Rule {
	r := alert(name, fmt.Sprintf(`absent(up{job=%q, namespace=%q} == 1)`, job, ns), "10m", "critical",
		what+" is down",
		fmt.Sprintf("No %s target in namespace %s has been up for 10 minutes. %s", job, ns, consequence))
	r.Labels["namespace"] = ns
	return r
}

// rules alert on the tracing pipeline losing spans (collector internal
// metrics of v0.159, exposed with the _total suffix of counters) and on
// the backend being down.
func rules(e *env.Environment) *monitoringv1.PrometheusRule {
	ns := Namespace(e)
	job := fmt.Sprintf(`job=%q, namespace=%q`, CollectorName, ns)
	collector := []monitoringv1.Rule{
		down("OTelCollectorDown", CollectorName, ns, "The OpenTelemetry Collector",
			"Applications cannot deliver spans; their SDKs drop them once their queues fill."),
		alert("OTelCollectorRefusedSpans",
			fmt.Sprintf(`sum by (namespace, pod) (rate(otelcol_receiver_refused_spans_total{%s}[5m])) > 0`, job), "15m", "warning",
			"The OpenTelemetry Collector {{ $labels.pod }} refuses spans",
			"Collector {{ $labels.pod }} refuses {{ $value | humanize }} spans per second, usually because its memory limiter is above its limit: raise tracing.collector.resources or replicas."),
		alert("OTelCollectorExportFailing",
			fmt.Sprintf(`sum by (namespace, pod, exporter) (rate(otelcol_exporter_send_failed_spans_total{%s}[5m])) > 0`, job), "15m", "warning",
			"The OpenTelemetry Collector {{ $labels.pod }} cannot send spans to the backend",
			"Exporter {{ $labels.exporter }} of collector {{ $labels.pod }} fails to send {{ $value | humanize }} spans per second to the trace backend; check that the backend is up and reachable."),
		alert("OTelCollectorDroppingSpans",
			fmt.Sprintf(`sum by (namespace, pod, exporter) (rate(otelcol_exporter_enqueue_failed_spans_total{%s}[5m])) > 0`, job), "5m", "critical",
			"The OpenTelemetry Collector {{ $labels.pod }} is dropping spans",
			"The sending queue of exporter {{ $labels.exporter }} on collector {{ $labels.pod }} is full: {{ $value | humanize }} spans per second are lost. The backend is down or too slow."),
	}
	groups := []monitoringv1.RuleGroup{{Name: "otel-collector", Rules: collector}}
	switch e.Tracing.Backend {
	case env.BackendTempo:
		groups = append(groups, monitoringv1.RuleGroup{Name: "tempo", Rules: []monitoringv1.Rule{
			down("TempoDown", TempoName, ns, "Tempo", "Traces are neither stored nor queryable; the collector queues and then drops them."),
			alert("TempoDiscardingSpans",
				fmt.Sprintf(`sum by (namespace, reason) (rate(tempo_discarded_spans_total{job=%q, namespace=%q}[5m])) > 0`, TempoName, ns), "15m", "warning",
				"Tempo discards spans ({{ $labels.reason }})",
				"Tempo discards {{ $value | humanize }} spans per second for reason {{ $labels.reason }} (rate limits, trace too large, live traces limit)."),
		}})
	case env.BackendJaeger:
		jns := JaegerNamespace(e)
		groups = append(groups, monitoringv1.RuleGroup{Name: "jaeger", Rules: []monitoringv1.Rule{
			down("JaegerDown", JaegerName, jns, "Jaeger", "Traces are neither stored in Elasticsearch nor queryable."),
			alert("JaegerStorageFailing",
				fmt.Sprintf(`sum by (namespace, pod) (rate(otelcol_exporter_send_failed_spans_total{job=%q, namespace=%q}[5m])) > 0`, JaegerName, jns), "15m", "warning",
				"Jaeger {{ $labels.pod }} cannot write spans to Elasticsearch",
				"Jaeger {{ $labels.pod }} fails to store {{ $value | humanize }} spans per second in Elasticsearch; check the cluster's health and the elastic user's password Secret."),
		}})
	}
	return &monitoringv1.PrometheusRule{
		ObjectMeta: meta(RulesName, ns, labels(Component, "alert-rules", "")),
		Spec:       monitoringv1.PrometheusRuleSpec{Groups: groups},
	}
}
