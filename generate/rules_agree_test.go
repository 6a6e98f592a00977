package generate_test

import (
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/rules"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestRuleChecksAgreeWithPrometheus renders user alerts into the
// PrometheusRule Vigil writes, loads its groups with Prometheus's own rule
// file loader, and requires `gen validate` to refuse exactly the alerts
// Prometheus refuses, at the field at fault. (Vigil refuses more in one
// place, on purpose: a severity label, which the severity field owns.)
func TestRuleChecksAgreeWithPrometheus(t *testing.T) {
	base, err := generate.LoadFS(context.Background(), vigil.Examples, "environments/dev")
	if err != nil {
		t.Fatal(err)
	}
	ok := env.Alert{Expr: "up == 0", For: "5m", Severity: "warning", Summary: "{{ $labels.instance }} down", Description: "d", Labels: map[string]string{"team": "a"}}
	for _, c := range []struct {
		name  string
		edit  func(a *env.Alert)
		field string // "" when both accept
	}{
		{"valid", func(a *env.Alert) {}, ""},
		{"unbalanced parenthesis", func(a *env.Alert) { a.Expr = "sum(rate(x[5m])" }, "expr"},
		{"bad range", func(a *env.Alert) { a.Expr = "rate(x[5x])" }, "expr"},
		{"unknown function", func(a *env.Alert) { a.Expr = "no_such_fn(up)" }, "expr"},
		{"for overflows", func(a *env.Alert) { a.For = "300000y" }, "for"},
		{"for out of order", func(a *env.Alert) { a.For = "5m1h" }, "for"},
		{"summary template", func(a *env.Alert) { a.Summary = "{{ $labels.x " }, "summary"},
		{"description template", func(a *env.Alert) { a.Description = "{{ end }}" }, "description"},
		{"runbook template", func(a *env.Alert) { a.Runbook = "https://x/{{ .Nope" }, "runbook"},
		{"label template", func(a *env.Alert) { a.Labels = map[string]string{"team": "{{ if }}"} }, "labels"},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := *base.Spec
			a := ok
			a.Labels = map[string]string{"team": "a"}
			c.edit(&a)
			spec.Monitoring.Rules = map[string]env.RuleGroup{"t": {Alerts: map[string]env.Alert{"A": a}}}
			var refused []string
			for _, is := range generate.Check(&spec) {
				if !is.Warning {
					refused = append(refused, env.PathString(is.Path))
				}
			}
			promErr := prometheusLoads(t, &spec)
			switch {
			case c.field == "" && (len(refused) > 0 || promErr != nil):
				t.Errorf("a valid alert: Vigil refuses %v, Prometheus says %v", refused, promErr)
			case c.field != "" && promErr == nil:
				t.Errorf("Prometheus accepts the alert: the case tests nothing")
			case c.field != "" && (len(refused) != 1 || !strings.HasPrefix(refused[0], "monitoring.rules.t.alerts.A."+c.field)):
				t.Errorf("Prometheus refuses it (%v); Vigil refuses %v, want one issue at %s", promErr, refused, c.field)
			}
		})
	}
}

// prometheusLoads renders spec's user rules and loads them as Prometheus
// loads a rule file.
func prometheusLoads(t *testing.T, spec *env.Environment) error {
	t.Helper()
	var s stack.Set
	if err := rules.Generate(spec, &s); err != nil {
		return err
	}
	pr := stacktest.FindNamed[*monitoringv1.PrometheusRule](t, &s, spec.Monitoring.Namespace, rules.UserRuleName("t"))
	b, err := yaml.Marshal(struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{pr.Spec.Groups})
	if err != nil {
		t.Fatal(err)
	}
	if _, errs := rulefmt.Parse(b, false, model.UTF8Validation, parser.NewParser(parser.Options{}), slog.New(slog.DiscardHandler)); len(errs) > 0 {
		return errs[0]
	}
	return nil
}
