// Package rules owns the alerting rules of the stack: Vigil's default rules
// for the cluster and the monitoring components it deploys, written in the
// spirit of kubernetes-mixin and prometheus-mixin (a deliberate subset, with
// kube-prometheus's alert names so its runbooks apply), and the platform's
// own rule groups from monitoring.rules, one PrometheusRule each. All are
// PrometheusRules in monitoring.namespace, in the Content layer; Prometheus
// selects every PrometheusRule of every namespace.
//
// The default rules cover:
//
//   - general: TargetDown, the always-firing Watchdog and InfoInhibitor
//     (routed to the null receiver by package alertmanager);
//   - Prometheus: bad configuration, rule evaluation failures and missed
//     evaluations, TSDB compaction and reload failures, the notification
//     queue, errors sending to and discovery of Alertmanagers;
//   - Alertmanager: failed reloads, failed notifications, cluster members
//     that disagree;
//   - the Prometheus Operator: reconcile errors, failed syncs, not ready;
//   - Kubernetes: kubelet down, volumes running out of space or inodes
//     (from the kubelet) and CPU throttling (from cAdvisor), and, when
//     kube-state-metrics runs, nodes not ready; pods not ready, crash
//     looping or with containers waiting; Deployments, StatefulSets and
//     DaemonSets short of replicas, behind their spec or stuck in a
//     rollout; Jobs failed or running too long; HPAs maxed out or unable
//     to scale; PodDisruptionBudgets blocking drains; requests and quotas
//     beyond node capacity (with the requests' recording rules); quotas
//     running full; and failed or pending PersistentVolumes.
//
// Every rule an example (or a variant of one) renders, here or in a
// component's package, runs in promtool's unit tests (promtool_test.go explains how): a rule without a
// test where it fires and one where it must not fails the tests.
package rules

import (
	"fmt"
	"maps"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the name of this generator's base.
const Component = "prometheus-rules"

// RunbookBase is where the runbooks of kube-prometheus's alert names live.
const RunbookBase = stack.UpstreamRunbooks

// UserRuleName is the PrometheusRule that holds the monitoring.rules group
// named group.
func UserRuleName(group string) string { return "user-" + group }

// substituteAnnotation turns Flux's post-build variable substitution off
// for an object: rule templates and user expressions may contain "${…}",
// which Flux would otherwise replace.
const substituteAnnotation = "kustomize.toolkit.fluxcd.io/substitute"

// Generate adds the default rules and one PrometheusRule per monitoring.rules
// group when monitoring is enabled.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.PrometheusEnabled() {
		return nil
	}
	ns := e.Monitoring.Namespace
	for _, d := range Defaults(e) {
		s.Add(Component, stack.Content, promRule(d.Name, ns, "default-rules", d.Groups))
	}
	for _, name := range env.SortedKeys(e.Monitoring.Rules) {
		g, err := userGroup(name, e.Monitoring.Rules[name])
		if err != nil {
			return fmt.Errorf("monitoring.rules.%s: %w", name, err)
		}
		s.Add(Component, stack.Content, promRule(UserRuleName(name), ns, "user-rules", []monitoringv1.RuleGroup{g}))
	}
	return nil
}

func promRule(name, ns, component string, groups []monitoringv1.RuleGroup) *monitoringv1.PrometheusRule {
	return &monitoringv1.PrometheusRule{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Namespace:   ns,
			Labels:      stack.Labels("prometheus-rules", component, ""),
			Annotations: map[string]string{substituteAnnotation: "disabled"},
		},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: groups},
	}
}

// userGroup turns one monitoring.rules group into a rule group, its alerts
// in name order. The severity field wins over a "severity" entry in labels.
func userGroup(name string, g env.RuleGroup) (monitoringv1.RuleGroup, error) {
	out := monitoringv1.RuleGroup{Name: name}
	if g.Interval != "" {
		out.Interval = ptr(monitoringv1.Duration(g.Interval))
	}
	if len(g.Alerts) == 0 {
		return out, fmt.Errorf("group has no alerts; Prometheus rejects an empty group")
	}
	for _, an := range env.SortedKeys(g.Alerts) {
		a := g.Alerts[an]
		if strings.TrimSpace(a.Expr) == "" {
			return out, fmt.Errorf("alert %s: empty expr", an)
		}
		labels := maps.Clone(a.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		labels["severity"] = a.Severity
		annotations := map[string]string{"summary": a.Summary, "description": a.Description}
		if annotations["description"] == "" {
			annotations["description"] = a.Summary
		}
		if a.Runbook != "" {
			annotations["runbook_url"] = a.Runbook
		}
		r := monitoringv1.Rule{
			Alert:       an,
			Expr:        intstr.FromString(a.Expr),
			Labels:      labels,
			Annotations: annotations,
		}
		if a.For != "" {
			r.For = ptr(monitoringv1.Duration(a.For))
		}
		out.Rules = append(out.Rules, r)
	}
	return out, nil
}

func ptr[T any](v T) *T { return &v }
