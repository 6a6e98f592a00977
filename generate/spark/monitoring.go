package spark

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Monitor names; a PodMonitor's job label is "<namespace>/<name>", a
// ServiceMonitor's the Service name.
const (
	controllerMonitor = ControllerName
	webhookMonitor    = WebhookName
	driverMonitor     = "spark-driver"
)

// monitoring adds, when the Prometheus Operator runs (layer Content):
// PodMonitors for the operator's metrics and for the native metrics of
// running drivers in the job namespaces, a ServiceMonitor for the History
// Server, and the alert rules.
func (g *generator) monitoring(s *stack.Set) error {
	if !g.e.Monitoring.Enabled {
		return nil
	}
	op := g.e.Spark.Operator
	if op.Metrics {
		s.Add(Component, stack.Content, g.operatorMonitor(partController, controllerMonitor, true))
		if op.Webhook {
			s.Add(Component, stack.Content, g.operatorMonitor(partWebhook, webhookMonitor, false))
		}
	}
	s.Add(Component, stack.Content, g.driverMonitor())
	if g.history {
		s.Add(Component, stack.Content, &monitoringv1.ServiceMonitor{
			ObjectMeta: meta(HistoryServerName, g.ns, g.historyLabels()),
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector:          metav1.LabelSelector{MatchLabels: stack.SelectorLabels(HistoryServerName, partHistory)},
				NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{g.ns}},
				Endpoints:         []monitoringv1.Endpoint{{Port: "http", Path: PrometheusPath}},
			},
		})
	}
	if rules := g.rules(); len(rules) > 0 {
		s.Add(Component, stack.Content, &monitoringv1.PrometheusRule{
			ObjectMeta: meta("spark", g.ns, stack.Labels(OperatorName, "alert-rules", "")),
			Spec:       monitoringv1.PrometheusRuleSpec{Groups: rules},
		})
	}
	return nil
}

// operatorMonitor scrapes one operator part. The controller's application
// metrics carry the application's namespace in a "namespace" label
// (--metrics-labels), which honorLabels keeps instead of the operator's.
func (g *generator) operatorMonitor(part, name string, honorLabels bool) *monitoringv1.PodMonitor {
	return &monitoringv1.PodMonitor{
		ObjectMeta: meta(name, g.ns, g.operatorLabels(part)),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:          metav1.LabelSelector{MatchLabels: stack.SelectorLabels(OperatorName, part)},
			NamespaceSelector: monitoringv1.NamespaceSelector{MatchNames: []string{g.ns}},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{{
				Port: ptr.To(MetricsPortName), Path: "/metrics", HonorLabels: honorLabels,
			}},
		},
	}
}

// driverMonitor scrapes the PrometheusServlet of running drivers (jobDefaults
// turns it on) in the job namespaces, on the UI port: the driver's own
// metrics and its executors'. Executors run no UI. The run's
// SparkApplication name and Spark application id become labels, since the
// metric names no longer carry them.
func (g *generator) driverMonitor() *monitoringv1.PodMonitor {
	endpoint := func(path string) monitoringv1.PodMetricsEndpoint {
		return monitoringv1.PodMetricsEndpoint{
			Port: ptr.To("spark-ui"),
			Path: path,
			RelabelConfigs: []monitoringv1.RelabelConfig{
				{SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_label_sparkoperator_k8s_io_app_name"}, TargetLabel: "spark_app"},
				{SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_label_spark_app_selector"}, TargetLabel: "spark_app_id"},
			},
		}
	}
	return &monitoringv1.PodMonitor{
		ObjectMeta: meta(driverMonitor, g.ns, stack.Labels(OperatorName, "spark", stack.SparkOperator.Version)),
		Spec: monitoringv1.PodMonitorSpec{
			Selector:            metav1.LabelSelector{MatchLabels: map[string]string{"spark-role": "driver"}},
			NamespaceSelector:   monitoringv1.NamespaceSelector{MatchNames: append([]string(nil), g.e.Spark.Operator.JobNamespaces...)},
			PodMetricsEndpoints: []monitoringv1.PodMetricsEndpoint{endpoint(PrometheusPath), endpoint("/metrics/executors/prometheus")},
		},
	}
}

func alert(name, expr, forDuration, severity, summary, description string) monitoringv1.Rule {
	r := monitoringv1.Rule{
		Alert:       name,
		Expr:        intstr.FromString(expr),
		Labels:      map[string]string{"severity": severity},
		Annotations: map[string]string{"summary": summary, "description": description, "runbook_url": stack.VigilRunbook(name)},
	}
	if forDuration != "" {
		r.For = ptr.To(monitoringv1.Duration(forDuration))
	}
	return r
}

// down fires when no target of a job is up for 10 minutes, including when
// none is discovered at all. absent() of a comparison carries no labels, so
// the namespace the alert routes by is set on the rule.
func (g *generator) down(name, job, what string) monitoringv1.Rule {
	r := alert(name, fmt.Sprintf(`absent(up{job=%q, namespace=%q} == 1)`, job, g.ns), "10m", "critical",
		what+" is down",
		fmt.Sprintf("No %s target in namespace %s has been up for 10 minutes.", job, g.ns))
	r.Labels["namespace"] = g.ns
	return r
}

// executorFailureBurst is how many executor failures in 30 minutes make an
// alert: single failures are routine (preemption, a lost node).
const executorFailureBurst = 5

// rules are the alert rules on the operator's metrics (stack.md §3) and on
// the History Server's availability. The application counters are summed
// by namespace, the job namespace of the application.
func (g *generator) rules() []monitoringv1.RuleGroup {
	var out []monitoringv1.RuleGroup
	op := g.e.Spark.Operator
	if op.Metrics {
		rules := []monitoringv1.Rule{
			g.down("SparkOperatorControllerDown", g.ns+"/"+controllerMonitor, "The Spark Operator controller"),
		}
		rules[0].Annotations["description"] += " SparkApplications are neither submitted nor tracked."
		if op.Webhook {
			r := g.down("SparkOperatorWebhookDown", g.ns+"/"+webhookMonitor, "The Spark Operator webhook")
			r.Annotations["description"] += " Its failurePolicy is Fail, so SparkApplications and Spark pods cannot be created in the job namespaces."
			rules = append(rules, r)
		}
		rules = append(rules,
			alert("SparkApplicationFailed",
				`sum by (namespace) (increase(spark_application_failure_count[30m])) > 0`, "", "warning",
				"Spark applications failed in {{ $labels.namespace }}",
				"{{ $value | humanize }} Spark applications in namespace {{ $labels.namespace }} ended in state FAILED in the last 30 minutes; see the driver logs and the History Server."),
			alert("SparkApplicationSubmissionFailed",
				`sum by (namespace) (increase(spark_application_failed_submission_count[30m])) > 0`, "", "warning",
				"Spark application submissions failed in {{ $labels.namespace }}",
				"spark-submit failed {{ $value | humanize }} times for applications in namespace {{ $labels.namespace }} in the last 30 minutes; the SparkApplication status holds the error."),
			// Submitted applications that never reach RUNNING do not move
			// the start latency count (observed once, on the first run).
			alert("SparkApplicationsNotStarting",
				`sum by (namespace) (increase(spark_application_submit_count[1h])) > 0
unless on (namespace)
sum by (namespace) (increase(spark_application_start_latency_seconds_count[1h])) > 0`, "30m", "warning",
				"Spark applications in {{ $labels.namespace }} are submitted but none starts",
				"Applications were submitted in namespace {{ $labels.namespace }} during the last hour and none has reached RUNNING for 30 minutes; check pending driver pods, quotas and image pulls."),
			// Prometheus 3 stores the le label as a float ("300.0").
			alert("SparkApplicationSlowStart",
				fmt.Sprintf(`sum by (namespace) (increase(spark_application_start_latency_seconds_histogram_count[30m]))
- sum by (namespace) (increase(spark_application_start_latency_seconds_histogram_bucket{le=~"%d(\\.0)?"}[30m])) > 0`, startLatencyLimit), "", "warning",
				"Spark applications in {{ $labels.namespace }} start slowly",
				fmt.Sprintf("{{ $value | humanize }} Spark applications in namespace {{ $labels.namespace }} took more than %d seconds from creation to RUNNING in the last 30 minutes.", startLatencyLimit)),
			alert("SparkExecutorFailures",
				fmt.Sprintf(`sum by (namespace) (increase(spark_executor_failure_count[30m])) > %d`, executorFailureBurst), "", "warning",
				"Spark executors are failing in {{ $labels.namespace }}",
				"{{ $value | humanize }} Spark executors failed in namespace {{ $labels.namespace }} in the last 30 minutes; look for OOMKilled executors or node problems."),
		)
		out = append(out, monitoringv1.RuleGroup{Name: "spark-operator", Rules: rules})
	}
	if g.history {
		r := g.down("SparkHistoryServerDown", HistoryServerName, "The Spark History Server")
		r.Labels["severity"] = "warning"
		r.Annotations["description"] += " Finished applications cannot be inspected; jobs keep running and writing event logs."
		out = append(out, monitoringv1.RuleGroup{Name: "spark-history-server", Rules: []monitoringv1.Rule{r}})
	}
	return out
}
