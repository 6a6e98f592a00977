package alertmanager

import (
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	"github.com/vigil-stack/vigil/generate/env"
)

// NullReceiver drops what is routed to it: the always-firing Watchdog, the
// InfoInhibitor helper alert, and everything when no Slack receiver is
// declared.
const NullReceiver = "null"

// GroupBy are the labels alerts are grouped by into one notification, as in
// kube-prometheus: one message per namespace.
var GroupBy = []string{"namespace"}

// Config builds the AlertmanagerConfig that is the Alertmanager's whole
// routing: the Slack receivers, a route per monitoring.alertmanager.routes
// entry in name order under a root route to the default receiver, and
// kube-prometheus's inhibit rules. A route with sparkNamespaces matches
// the namespaces of SparkNamespaces besides its own, so that it follows
// the environment's job namespaces.
func Config(e *env.Environment) (*monitoringv1alpha1.AlertmanagerConfig, error) {
	a := e.Monitoring.Alertmanager
	receivers := []monitoringv1alpha1.Receiver{{Name: NullReceiver}}
	for _, name := range env.SortedKeys(a.Slack.Receivers) {
		if name == NullReceiver {
			return nil, fmt.Errorf("slack receiver %q: the name is reserved for the receiver that drops alerts", name)
		}
		r := a.Slack.Receivers[name]
		receivers = append(receivers, monitoringv1alpha1.Receiver{
			Name: name,
			SlackConfigs: []monitoringv1alpha1.SlackConfig{{
				// The operator reads the webhook URL from this Secret key at
				// reconcile time; it never appears in the rendered tree.
				APIURL: &corev1.SecretKeySelector{
					LocalObjectReference: corev1.LocalObjectReference{Name: r.Webhook.Secret},
					Key:                  r.Webhook.Key,
				},
				Channel:      ptr(r.Channel),
				SendResolved: ptr(r.SendResolved),
			}},
		})
	}

	children := []monitoringv1alpha1.Route{
		// Watchdog always fires to prove the pipeline works; it is for a
		// dead man's switch to watch, never for a channel.
		{Receiver: NullReceiver, Matchers: []monitoringv1alpha1.Matcher{equal("alertname", "Watchdog")}},
		// InfoInhibitor exists only to inhibit info alerts.
		{Receiver: NullReceiver, Matchers: []monitoringv1alpha1.Matcher{equal("alertname", "InfoInhibitor")}},
	}
	for _, name := range env.SortedKeys(a.Routes) {
		r := a.Routes[name]
		if _, ok := a.Slack.Receivers[r.Receiver]; !ok {
			return nil, fmt.Errorf("route %q: receiver %q is not declared in slack.receivers", name, r.Receiver)
		}
		namespaces := r.Namespaces
		if r.SparkNamespaces {
			spark := SparkNamespaces(e)
			if len(spark) == 0 && len(namespaces) == 0 {
				// Without Spark the route has nothing to match; without a
				// namespace matcher it would match every alert.
				continue
			}
			namespaces = union(namespaces, spark)
		}
		route := monitoringv1alpha1.Route{Receiver: r.Receiver, Continue: r.Continue}
		if m, ok := oneOf("severity", r.Severities); ok {
			route.Matchers = append(route.Matchers, m)
		}
		if m, ok := oneOf("namespace", namespaces); ok {
			route.Matchers = append(route.Matchers, m)
		}
		children = append(children, route)
	}
	raw := make([]apiextensionsv1.JSON, len(children))
	for i, c := range children {
		b, err := json.Marshal(c)
		if err != nil {
			return nil, fmt.Errorf("route %d: %w", i, err)
		}
		raw[i] = apiextensionsv1.JSON{Raw: b}
	}

	root := NullReceiver
	if d := a.Slack.DefaultReceiver; d != "" {
		if _, ok := a.Slack.Receivers[d]; !ok {
			return nil, fmt.Errorf("slack.defaultReceiver %q is not declared in slack.receivers", d)
		}
		root = d
	}
	return &monitoringv1alpha1.AlertmanagerConfig{
		ObjectMeta: meta(ConfigName, e.Monitoring.Namespace),
		Spec: monitoringv1alpha1.AlertmanagerConfigSpec{
			Route: &monitoringv1alpha1.Route{
				Receiver:       root,
				GroupBy:        GroupBy,
				GroupWait:      nonEmpty(a.GroupWait),
				GroupInterval:  nonEmpty(a.GroupInterval),
				RepeatInterval: nonEmpty(a.RepeatInterval),
				Routes:         raw,
			},
			Receivers:    receivers,
			InhibitRules: inhibitRules(),
		},
	}, nil
}

// inhibitRules are kube-prometheus's: a more severe alert silences a less
// severe one of the same name in the same namespace, and info alerts stay
// quiet unless InfoInhibitor says nothing worse fires in their namespace.
func inhibitRules() []monitoringv1alpha1.InhibitRule {
	return []monitoringv1alpha1.InhibitRule{
		{
			SourceMatch: []monitoringv1alpha1.Matcher{equal("severity", "critical")},
			TargetMatch: []monitoringv1alpha1.Matcher{{Name: "severity", Value: "warning|info", MatchType: monitoringv1alpha1.MatchRegexp}},
			Equal:       []string{"namespace", "alertname"},
		},
		{
			SourceMatch: []monitoringv1alpha1.Matcher{equal("severity", "warning")},
			TargetMatch: []monitoringv1alpha1.Matcher{equal("severity", "info")},
			Equal:       []string{"namespace", "alertname"},
		},
		{
			SourceMatch: []monitoringv1alpha1.Matcher{equal("alertname", "InfoInhibitor")},
			TargetMatch: []monitoringv1alpha1.Matcher{equal("severity", "info")},
			Equal:       []string{"namespace"},
		},
	}
}

// SparkNamespaces are the namespaces Spark runs in, sorted: the operator's
// and every job namespace. Their alerts carry these namespaces: the
// operator's own alerts its namespace, the application alerts the job
// namespace of the application.
func SparkNamespaces(e *env.Environment) []string {
	if !e.Spark.Enabled {
		return nil
	}
	return union([]string{e.Spark.Operator.Namespace}, e.Spark.Operator.JobNamespaces)
}

// union is the sorted set of the values of a and b.
func union(a, b []string) []string {
	out := slices.Concat(a, b)
	slices.Sort(out)
	return slices.Compact(out)
}

func equal(name, value string) monitoringv1alpha1.Matcher {
	return monitoringv1alpha1.Matcher{Name: name, Value: value, MatchType: monitoringv1alpha1.MatchEqual}
}

// oneOf matches label name against any of values: an equality for one
// value, an anchored regular expression for several, nothing for none.
func oneOf(name string, values []string) (monitoringv1alpha1.Matcher, bool) {
	switch len(values) {
	case 0:
		return monitoringv1alpha1.Matcher{}, false
	case 1:
		return equal(name, values[0]), true
	}
	quoted := make([]string, len(values))
	for i, v := range values {
		quoted[i] = regexp.QuoteMeta(v)
	}
	return monitoringv1alpha1.Matcher{Name: name, Value: strings.Join(quoted, "|"), MatchType: monitoringv1alpha1.MatchRegexp}, true
}

func nonEmpty(d string) *monitoringv1.NonEmptyDuration {
	if d == "" {
		return nil
	}
	return ptr(monitoringv1.NonEmptyDuration(d))
}
