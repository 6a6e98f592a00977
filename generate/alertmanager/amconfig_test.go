package alertmanager_test

// This file proves that the routing Vigil generates is a valid Alertmanager
// configuration: the objects Generate adds are converted as the operator
// does (OperatorYAML), loaded with Alertmanager's own config.Load and
// routed with its dispatch tree.

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/alertmanager/config"
	"github.com/prometheus/alertmanager/dispatch"
	"github.com/prometheus/common/model"
	corev1 "k8s.io/api/core/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	vgen "github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// secrets stands in for the cluster's Secrets: every key of every Secret
// holds a distinct URL.
var secrets = alertmanager.PlaceholderURL

// loaded generates an environment's Alertmanager, converts its routing and
// loads it with Alertmanager's parser.
func loaded(t *testing.T, e *env.Environment) *config.Config {
	t.Helper()
	var s stack.Set
	if err := alertmanager.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	am := stacktest.FindNamed[*monitoringv1.Alertmanager](t, &s, e.Monitoring.Namespace, alertmanager.Name)
	ref := am.Spec.AlertmanagerConfiguration
	if ref == nil || ref.Name == "" {
		t.Fatal("the Alertmanager names no AlertmanagerConfig as its configuration")
	}
	// The operator looks the configuration up in the Alertmanager's own
	// namespace.
	amc := stacktest.FindNamed[*monitoringv1alpha1.AlertmanagerConfig](t, &s, am.Namespace, ref.Name)
	known := map[string]bool{}
	for _, r := range e.Monitoring.Alertmanager.Slack.Receivers {
		known[r.Webhook.Secret+"/"+r.Webhook.Key] = true
	}
	b, err := alertmanager.OperatorYAML(ref.Global, amc, func(name, key string) (string, error) {
		if !known[name+"/"+key] {
			return "", fmt.Errorf("secret %s key %s is not a webhook reference of the environment", name, key)
		}
		return secrets(name, key)
	})
	if err != nil {
		t.Fatalf("operator conversion: %v", err)
	}
	cfg, err := config.Load(string(b))
	if err != nil {
		t.Fatalf("alertmanager rejects the configuration: %v\n%s", err, b)
	}
	return cfg
}

func TestRoutingIsAValidAlertmanagerConfig(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			cfg := loaded(t, e)
			if len(cfg.InhibitRules) != 3 {
				t.Errorf("%d inhibit rules, want 3", len(cfg.InhibitRules))
			}
			// Every declared Slack receiver posts to its channel with its
			// own webhook.
			for rn, r := range e.Monitoring.Alertmanager.Slack.Receivers {
				i := slices.IndexFunc(cfg.Receivers, func(c config.Receiver) bool { return c.Name == "monitoring/main/"+rn })
				if i < 0 {
					t.Errorf("receiver %s missing", rn)
					continue
				}
				sc := cfg.Receivers[i].SlackConfigs
				if len(sc) != 1 || sc[0].Channel != r.Channel || sc[0].APIURL.String() != must(secrets(r.Webhook.Secret, r.Webhook.Key)) {
					t.Errorf("receiver %s: slack %+v", rn, sc)
				}
			}
		})
	}
}

func must(s string, err error) string {
	if err != nil {
		panic(err)
	}
	return s
}

// receivers routes an alert through the loaded tree, as Alertmanager does.
func receivers(tree *dispatch.Route, labels map[string]string) []string {
	ls := model.LabelSet{}
	for k, v := range labels {
		ls[model.LabelName(k)] = model.LabelValue(v)
	}
	var out []string
	for _, r := range tree.Match(ls) {
		out = append(out, strings.TrimPrefix(r.RouteOpts.Receiver, "monitoring/main/"))
	}
	return out
}

// Routing of prod: the fleet's spark-jobs route and prod's critical route
// (continue: true), platform-alerts as the default.
func TestRoutingProd(t *testing.T) {
	tree := dispatch.NewRoute(loaded(t, stacktest.Example(t, "prod")).Route, nil)
	for _, c := range []struct {
		labels map[string]string
		want   []string
	}{
		{map[string]string{"alertname": "Watchdog", "severity": "none"}, []string{"null"}},
		{map[string]string{"alertname": "InfoInhibitor", "namespace": "spark"}, []string{"null"}},
		{map[string]string{"alertname": "KubeNodeNotReady", "severity": "warning"}, []string{"platform-alerts"}},
		{map[string]string{"alertname": "X", "severity": "warning", "namespace": "logging"}, []string{"platform-alerts"}},
		// The Spark namespace reaches the Spark channel: no namespace
		// matcher of the monitoring namespace is in the way.
		{map[string]string{"alertname": "SparkApplicationsBacklog", "severity": "warning", "namespace": "spark"}, []string{"spark-alerts"}},
		{map[string]string{"alertname": "X", "severity": "info", "namespace": "spark-operator"}, []string{"spark-alerts"}},
		{map[string]string{"alertname": "X", "severity": "critical", "namespace": "monitoring"}, []string{"platform-alerts"}},
		// critical continues to the Spark route.
		{map[string]string{"alertname": "NightlyETLLate", "severity": "critical", "namespace": "spark"}, []string{"platform-alerts", "spark-alerts"}},
		// prod runs Spark jobs in spark-etl too: the fleet's route derives
		// its namespaces from the environment.
		{map[string]string{"alertname": "SparkApplicationFailed", "severity": "warning", "namespace": "spark-etl"}, []string{"spark-alerts"}},
		// A namespace that merely starts like a routed one does not match:
		// Alertmanager anchors regular expressions.
		{map[string]string{"alertname": "X", "severity": "warning", "namespace": "spark-etl-archive"}, []string{"platform-alerts"}},
	} {
		if got := receivers(tree, c.labels); !slices.Equal(got, c.want) {
			t.Errorf("%v routed to %v, want %v", c.labels, got, c.want)
		}
	}
	// Timing from the environment's defaults.
	if o := tree.RouteOpts; o.GroupWait.String() != "30s" || o.GroupInterval.String() != "5m0s" || o.RepeatInterval.String() != "12h0m0s" {
		t.Errorf("timing: wait %s interval %s repeat %s", o.GroupWait, o.GroupInterval, o.RepeatInterval)
	}
	if _, ok := tree.RouteOpts.GroupBy["namespace"]; !ok || len(tree.RouteOpts.GroupBy) != 1 {
		t.Errorf("group by %v", tree.RouteOpts.GroupBy)
	}
}

func TestRoutingWithoutReceivers(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.Alertmanager.Slack = env.Slack{}
	e.Monitoring.Alertmanager.Routes = nil
	tree := dispatch.NewRoute(loaded(t, e).Route, nil)
	if got := receivers(tree, map[string]string{"alertname": "X", "severity": "critical"}); !slices.Equal(got, []string{"null"}) {
		t.Errorf("without receivers, alerts go to %v, want null", got)
	}
}

// Several severities and namespaces in one route become one anchored regex.
func TestRoutingSeveritiesAndNamespaces(t *testing.T) {
	e := stacktest.Example(t, "staging")
	e.Monitoring.Alertmanager.Routes = map[string]env.AlertRoute{
		"a-data": {Receiver: "spark-alerts", Severities: []string{"critical", "warning"}, Namespaces: []string{"spark", "logging"}},
	}
	tree := dispatch.NewRoute(loaded(t, e).Route, nil)
	for _, c := range []struct {
		labels map[string]string
		want   string
	}{
		{map[string]string{"severity": "warning", "namespace": "logging"}, "spark-alerts"},
		{map[string]string{"severity": "critical", "namespace": "spark"}, "spark-alerts"},
		{map[string]string{"severity": "info", "namespace": "spark"}, "platform-alerts"},
		{map[string]string{"severity": "warning", "namespace": "monitoring"}, "platform-alerts"},
	} {
		if got := receivers(tree, c.labels); !slices.Equal(got, []string{c.want}) {
			t.Errorf("%v routed to %v, want %s", c.labels, got, c.want)
		}
	}
}

// routedNamespaces are the namespaces an example's alerts may carry: those
// Vigil renders, Spark's job namespaces, the extra namespaces Prometheus
// watches, two of the cluster's own, and none at all.
func routedNamespaces(t *testing.T, e *env.Environment) []string {
	t.Helper()
	s, err := vgen.Build(e)
	if err != nil {
		t.Fatal(err)
	}
	set := map[string]bool{"": true, "default": true, "kube-system": true}
	for _, ns := range stacktest.Find[*corev1.Namespace](s) {
		set[ns.Name] = true
	}
	for _, ns := range slices.Concat(e.Spark.Operator.JobNamespaces, e.Monitoring.Prometheus.ExtraNamespaces) {
		set[ns] = true
	}
	return slices.Sorted(maps.Keys(set))
}

// The examples' routing intent, stated without the routing code: alerts
// from every namespace Spark runs in (its operator's and its job
// namespaces) reach the Spark channel, all others the platform channel;
// where the environment has a "critical" route (prod), critical alerts
// reach the platform channel first and go on to the Spark route.
func wantReceivers(e *env.Environment, labels map[string]string) []string {
	switch labels["alertname"] {
	case "Watchdog", "InfoInhibitor":
		return []string{"null"}
	}
	spark := map[string]bool{}
	if e.Spark.Enabled {
		spark[e.Spark.Operator.Namespace] = true
		for _, ns := range e.Spark.Operator.JobNamespaces {
			spark[ns] = true
		}
	}
	var want []string
	if _, ok := e.Monitoring.Alertmanager.Routes["critical"]; ok && labels["severity"] == "critical" {
		want = append(want, "platform-alerts")
	}
	if spark[labels["namespace"]] {
		want = append(want, "spark-alerts")
	}
	if len(want) == 0 {
		want = []string{"platform-alerts"}
	}
	return want
}

// Every example routes a sample alert of every namespace and severity, and
// every alert it renders whose namespace is fixed, through Alertmanager's
// own routing tree to the receivers the examples mean.
func TestRoutingEveryNamespaceAndSeverity(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			tree := dispatch.NewRoute(loaded(t, e).Route, nil)
			namespaces := routedNamespaces(t, e)
			if e.Spark.Enabled && !slices.Contains(namespaces, e.Spark.Operator.JobNamespaces[0]) {
				t.Fatalf("namespaces %v miss the Spark job namespaces", namespaces)
			}
			n := 0
			for _, ns := range namespaces {
				for _, sev := range []string{"critical", "warning", "info", "none", ""} {
					for _, alertname := range []string{"SampleAlert", "Watchdog", "InfoInhibitor"} {
						labels := map[string]string{"alertname": alertname}
						if ns != "" {
							labels["namespace"] = ns
						}
						if sev != "" {
							labels["severity"] = sev
						}
						if got, want := receivers(tree, labels), wantReceivers(e, labels); !slices.Equal(got, want) {
							t.Errorf("%v routed to %v, want %v", labels, got, want)
						}
						n++
					}
				}
			}
			s, err := vgen.Build(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
				for _, g := range pr.Spec.Groups {
					for _, r := range g.Rules {
						if r.Alert == "" || r.Labels["namespace"] == "" {
							continue
						}
						labels := maps.Clone(r.Labels)
						labels["alertname"] = r.Alert
						if got, want := receivers(tree, labels), wantReceivers(e, labels); !slices.Equal(got, want) {
							t.Errorf("alert %s of %s %v routed to %v, want %v", r.Alert, pr.Name, labels, got, want)
						}
						n++
					}
				}
			}
			t.Logf("%d alerts routed", n)
		})
	}
}

// A route deriving Spark's namespaces is left out when Spark is off: with
// no namespace matcher it would take every alert.
func TestRoutingSparkNamespacesWithoutSpark(t *testing.T) {
	e := stacktest.Example(t, "staging")
	e.Spark.Enabled = false
	tree := dispatch.NewRoute(loaded(t, e).Route, nil)
	for _, ns := range []string{"spark", "spark-operator", "monitoring"} {
		if got := receivers(tree, map[string]string{"alertname": "X", "severity": "warning", "namespace": ns}); !slices.Equal(got, []string{"platform-alerts"}) {
			t.Errorf("Spark disabled: namespace %s routed to %v, want platform-alerts", ns, got)
		}
	}
	// A namespace listed besides the derived ones keeps the route.
	e.Monitoring.Alertmanager.Routes["spark-jobs"] = env.AlertRoute{Receiver: "spark-alerts", SparkNamespaces: true, Namespaces: []string{"batch"}}
	tree = dispatch.NewRoute(loaded(t, e).Route, nil)
	if got := receivers(tree, map[string]string{"alertname": "X", "namespace": "batch"}); !slices.Equal(got, []string{"spark-alerts"}) {
		t.Errorf("namespace batch routed to %v, want spark-alerts", got)
	}
}
