package blackbox

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// rules alert on what the probes see: an Ingress that fails, one that is
// slow, and a certificate it serves that expires soon. kube-prometheus has
// no blackbox alerts, so their runbooks are Vigil's (docs/runbooks.md).
func rules(meta metav1.ObjectMeta, bb env.BlackboxExporter) *monitoringv1.PrometheusRule {
	job := fmt.Sprintf(`job=%q`, ProbeJob)
	alert := func(name, expr, dur, severity, summary, description string) monitoringv1.Rule {
		return monitoringv1.Rule{
			Alert:       name,
			Expr:        intstr.FromString(expr),
			For:         ptr.To(monitoringv1.Duration(dur)),
			Labels:      map[string]string{"severity": severity},
			Annotations: map[string]string{"summary": summary, "description": description, "runbook_url": stack.VigilRunbook(name)},
		}
	}
	return &monitoringv1.PrometheusRule{
		ObjectMeta: meta,
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: "blackbox",
			Rules: []monitoringv1.Rule{
				alert("BlackboxProbeFailed",
					`probe_success{`+job+`} == 0`, "5m", "critical",
					"An Ingress does not answer.",
					`{{ $labels.instance }} (Ingress {{ $labels.namespace }}/{{ $labels.ingress }}) has failed every probe for 5 minutes: users cannot reach it.`),
				alert("BlackboxProbeSlow",
					fmt.Sprintf(`avg_over_time(probe_duration_seconds{%s}[5m]) > %d and on (instance, job) probe_success{%s} == 1`, job, bb.SlowSeconds, job), "10m", "warning",
					"An Ingress answers slowly.",
					fmt.Sprintf(`Probes of {{ $labels.instance }} (Ingress {{ $labels.namespace }}/{{ $labels.ingress }}) took {{ $value | humanizeDuration }} on average over 5 minutes, above %ds.`, bb.SlowSeconds)),
				alert("BlackboxSSLCertificateExpiring",
					fmt.Sprintf(`probe_ssl_earliest_cert_expiry{%s} - time() < %d * 86400`, job, bb.CertificateExpiryDays), "1h", "warning",
					"A certificate an Ingress serves expires soon.",
					`The certificate chain {{ $labels.instance }} (Ingress {{ $labels.namespace }}/{{ $labels.ingress }}) serves expires in {{ $value | humanizeDuration }}; renew it or check cert-manager.`),
			},
		}}},
	}
}
