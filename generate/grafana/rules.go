package grafana

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Job is the job label of Grafana's series (the ServiceMonitor's jobLabel
// is app.kubernetes.io/name).
const Job = Name

// apiHandlers are the handlers that proxy datasource queries: their errors
// are the datasource's, not Grafana's.
const apiHandlers = `/api/ds/query|/api/datasources/proxy/.*|/api/datasources/uid/.*/resources/.*`

func rules(meta metav1.ObjectMeta) *monitoringv1.PrometheusRule {
	const handlerRate = `namespace_job_handler:grafana_http_requests:rate5m`
	const handlerErrorRate = `namespace_job_handler:grafana_http_requests_5xx:rate5m`
	return &monitoringv1.PrometheusRule{
		ObjectMeta: meta,
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{
			{
				Name: "grafana.recording",
				Rules: []monitoringv1.Rule{
					{
						Record: handlerRate,
						Expr:   intstr.FromString(`sum by (namespace, job, handler) (rate(grafana_http_request_duration_seconds_count{job="` + Job + `", handler!~"` + apiHandlers + `"}[5m]))`),
					},
					{
						Record: handlerErrorRate,
						Expr:   intstr.FromString(`sum by (namespace, job, handler) (rate(grafana_http_request_duration_seconds_count{job="` + Job + `", handler!~"` + apiHandlers + `", status_code=~"5.."}[5m]))`),
					},
				},
			},
			{
				Name: "grafana",
				Rules: []monitoringv1.Rule{
					{
						Alert: "GrafanaDown",
						Expr:  intstr.FromString(`absent(up{job="` + Job + `"} == 1)`),
						For:   ptr.To(monitoringv1.Duration("10m")),
						Labels: map[string]string{
							"severity": "warning",
						},
						Annotations: map[string]string{
							"runbook_url": stack.VigilRunbook("GrafanaDown"),
							"summary":     "Grafana is down",
							"description": "Prometheus has not scraped Grafana successfully for 10 minutes: dashboards are unavailable.",
						},
					},
					{
						Alert: "GrafanaRequestsFailing",
						Expr:  intstr.FromString(handlerErrorRate + ` / ` + handlerRate + ` > 0.5`),
						For:   ptr.To(monitoringv1.Duration("5m")),
						Labels: map[string]string{
							"severity": "warning",
						},
						Annotations: map[string]string{
							"runbook_url": stack.VigilRunbook("GrafanaRequestsFailing"),
							"summary":     "Grafana answers more than half of its requests with errors",
							"description": `{{ $value | humanizePercentage }} of the requests to {{ $labels.handler }} fail with a 5xx status.`,
						},
					},
				},
			},
		}},
	}
}
