package generate_test

import (
	"context"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/config"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestAlertmanagerChecksAgreeWithAlertmanager gives `gen validate` hostile
// routing settings, converts what the generator builds from them as the
// operator does, loads that with Alertmanager's own config.Load, and
// requires validate to refuse exactly what Alertmanager refuses, at the
// field at fault. The settings bypass the CUE schema (they are set in Go),
// so the Go checks and the loader are tested on their own.
func TestAlertmanagerChecksAgreeWithAlertmanager(t *testing.T) {
	base, err := generate.LoadFS(context.Background(), vigil.Examples, "environments/dev")
	if err != nil {
		t.Fatal(err)
	}
	slack := func(channel string) env.SlackReceiver {
		return env.SlackReceiver{Channel: channel, Webhook: env.SecretRef{Secret: "alertmanager-slack", Key: "platform-webhook"}}
	}
	for _, c := range []struct {
		name   string
		edit   func(a *env.Alertmanager)
		fields []string // the fields refused; none when both accept
	}{
		{"valid", func(a *env.Alertmanager) {}, nil},
		{"zero group interval", func(a *env.Alertmanager) { a.GroupInterval = "0s" }, []string{"groupInterval"}},
		{"zero group interval in ms", func(a *env.Alertmanager) { a.GroupInterval = "0ms" }, []string{"groupInterval"}},
		{"zero repeat interval", func(a *env.Alertmanager) { a.RepeatInterval = "0h" }, []string{"repeatInterval"}},
		{"zero group and repeat interval", func(a *env.Alertmanager) { a.GroupInterval, a.RepeatInterval = "0d", "0w" }, []string{"groupInterval", "repeatInterval"}},
		// Alertmanager sends the first notification at once without a wait.
		{"zero group wait", func(a *env.Alertmanager) { a.GroupWait = "0s" }, nil},
		{"sub-second intervals", func(a *env.Alertmanager) { a.GroupWait, a.GroupInterval, a.RepeatInterval = "1ms", "500ms", "999ms" }, nil},
		// Alertmanager repeats at the next group interval after the repeat
		// interval: allowed, merely slower than written.
		{"repeat interval below group interval", func(a *env.Alertmanager) { a.GroupInterval, a.RepeatInterval = "1h", "1m" }, nil},
		{"overflowing group wait", func(a *env.Alertmanager) { a.GroupWait = "300000y" }, []string{"groupWait"}},
		{"units out of order", func(a *env.Alertmanager) { a.RepeatInterval = "5m1h" }, []string{"repeatInterval"}},
		{"route to an unknown receiver", func(a *env.Alertmanager) {
			a.Routes = map[string]env.AlertRoute{"x": {Receiver: "nobody", Severities: []string{"critical"}}}
		}, []string{"routes.x.receiver"}},
		{"default receiver unknown", func(a *env.Alertmanager) { a.Slack.DefaultReceiver = "nobody" }, []string{"slack.defaultReceiver"}},
		{"receiver duplicating Vigil's", func(a *env.Alertmanager) { a.Slack.Receivers["null"] = slack("#x") }, []string{"slack.receivers.null"}},
		// Names and values that need quoting in the v2 matcher syntax and
		// the regular expression the generator writes.
		{"matcher values needing quotes", func(a *env.Alertmanager) {
			a.Routes = map[string]env.AlertRoute{"x": {Receiver: "platform-alerts", Namespaces: []string{`a"b`, `c\d`, "e{f}", "g,h"}}}
		}, nil},
		{"one matcher value needing quotes", func(a *env.Alertmanager) {
			a.Routes = map[string]env.AlertRoute{"x": {Receiver: "platform-alerts", Namespaces: []string{`"},x="`}}}
		}, nil},
		{"receiver and channel needing quotes", func(a *env.Alertmanager) {
			a.Slack.Receivers[`odd "name"`] = env.SlackReceiver{Channel: `#"}`, Webhook: env.SecretRef{Secret: "s/../x", Key: "k ?#"}}
		}, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			spec := *base.Spec
			spec.Monitoring.Alertmanager = cloneAlertmanager(base.Spec.Monitoring.Alertmanager)
			c.edit(&spec.Monitoring.Alertmanager)
			var refused []string
			for _, is := range generate.Check(&spec) {
				if !is.Warning {
					refused = append(refused, env.PathString(is.Path))
				}
			}
			amErr := alertmanagerLoads(t, &spec)
			t.Logf("Alertmanager: %v; Vigil refuses %v", amErr, refused)
			var want []string
			for _, f := range c.fields {
				want = append(want, "monitoring.alertmanager."+f)
			}
			switch {
			case len(want) == 0 && (len(refused) > 0 || amErr != nil):
				t.Errorf("valid routing: Vigil refuses %v, Alertmanager says %v", refused, amErr)
			case len(want) > 0 && amErr == nil:
				t.Errorf("Alertmanager accepts the routing: the case tests nothing")
			case len(want) > 0 && !slices.Equal(refused, want):
				t.Errorf("Alertmanager refuses it (%v); Vigil refuses %v, want %v", amErr, refused, want)
			}
		})
	}
}

func cloneAlertmanager(a env.Alertmanager) env.Alertmanager {
	a.Slack.Receivers = maps.Clone(a.Slack.Receivers)
	if a.Slack.Receivers == nil {
		a.Slack.Receivers = map[string]env.SlackReceiver{}
	}
	a.Routes = maps.Clone(a.Routes)
	return a
}

// alertmanagerLoads builds spec's Alertmanager and routing with the
// generator, converts them as the operator does and loads the result with
// Alertmanager's config.Load. The generator refuses a few settings itself
// (receivers it does not know, its own receiver's name); for those the
// generator is given a spec it accepts and the refused setting is put back
// into the AlertmanagerConfig, so that Alertmanager judges what the user
// wrote.
func alertmanagerLoads(t *testing.T, spec *env.Environment) error {
	t.Helper()
	e := *spec
	a := cloneAlertmanager(spec.Monitoring.Alertmanager)
	e.Monitoring.Alertmanager = a
	const stand = "vigil-test-stand-in-"
	var unknown []string
	for _, r := range append([]string{a.Slack.DefaultReceiver}, receiversOf(a.Routes)...) {
		if _, ok := a.Slack.Receivers[r]; r != "" && !ok && !slices.Contains(unknown, r) {
			unknown = append(unknown, r)
			a.Slack.Receivers[r] = env.SlackReceiver{Channel: "#x", Webhook: env.SecretRef{Secret: "s", Key: "k"}}
		}
	}
	if r, ok := a.Slack.Receivers[alertmanager.NullReceiver]; ok {
		delete(a.Slack.Receivers, alertmanager.NullReceiver)
		a.Slack.Receivers[stand+alertmanager.NullReceiver] = r
	}
	var s stack.Set
	if err := alertmanager.Generate(&e, &s); err != nil {
		t.Fatalf("the generator refuses the repaired spec: %v", err)
	}
	am := stacktest.FindNamed[*monitoringv1.Alertmanager](t, &s, e.Monitoring.Namespace, alertmanager.Name)
	amc := stacktest.FindNamed[*monitoringv1alpha1.AlertmanagerConfig](t, &s, am.Namespace, am.Spec.AlertmanagerConfiguration.Name)
	var receivers []monitoringv1alpha1.Receiver
	for _, r := range amc.Spec.Receivers {
		if slices.Contains(unknown, r.Name) {
			continue
		}
		r.Name = strings.TrimPrefix(r.Name, stand)
		receivers = append(receivers, r)
	}
	amc.Spec.Receivers = receivers
	b, err := alertmanager.OperatorYAML(am.Spec.AlertmanagerConfiguration.Global, amc, alertmanager.PlaceholderURL)
	if err != nil {
		return err
	}
	_, err = config.Load(string(b))
	return err
}

func receiversOf(routes map[string]env.AlertRoute) []string {
	var out []string
	for _, name := range env.SortedKeys(routes) {
		out = append(out, routes[name].Receiver)
	}
	return out
}
