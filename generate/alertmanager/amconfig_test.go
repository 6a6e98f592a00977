package alertmanager_test

// This file proves that the routing Vigil generates is a valid Alertmanager
// configuration. The operator's conversion (pkg/alertmanager/amcfg.go in the
// prometheus-operator main module) is not importable without that whole
// module, so operatorConvert below redoes it for the fields Vigil uses, the
// way the operator does for the AlertmanagerConfig named by
// spec.alertmanagerConfiguration: receivers and routes get the
// "<namespace>/<name>/" prefix, matchers are written in the v2 syntax,
// inhibit rules and routes get no namespace matcher, and webhook URLs are
// read from their Secrets. The result is loaded with Alertmanager's own
// config.Load and routed with its dispatch tree.

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
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	vgen "github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// The alertmanager.yaml structure, for the fields the operator writes from
// what Vigil uses.
type (
	amFile struct {
		Global       *amGlobal   `json:"global,omitempty"`
		Route        *amRoute    `json:"route"`
		InhibitRules []amInhibit `json:"inhibit_rules,omitempty"`
		Receivers    []amRecv    `json:"receivers"`
		Templates    []string    `json:"templates"`
	}
	amGlobal struct {
		ResolveTimeout string `json:"resolve_timeout,omitempty"`
	}
	amRoute struct {
		Receiver       string     `json:"receiver,omitempty"`
		GroupBy        []string   `json:"group_by,omitempty"`
		Matchers       []string   `json:"matchers,omitempty"`
		Continue       bool       `json:"continue,omitempty"`
		Routes         []*amRoute `json:"routes,omitempty"`
		GroupWait      string     `json:"group_wait,omitempty"`
		GroupInterval  string     `json:"group_interval,omitempty"`
		RepeatInterval string     `json:"repeat_interval,omitempty"`
	}
	amInhibit struct {
		SourceMatchers []string `json:"source_matchers,omitempty"`
		TargetMatchers []string `json:"target_matchers,omitempty"`
		Equal          []string `json:"equal,omitempty"`
	}
	amRecv struct {
		Name         string    `json:"name"`
		SlackConfigs []amSlack `json:"slack_configs,omitempty"`
	}
	amSlack struct {
		SendResolved *bool  `json:"send_resolved,omitempty"`
		APIURL       string `json:"api_url,omitempty"`
		Channel      string `json:"channel,omitempty"`
	}
)

// secrets stands in for the cluster's Secrets: every key of every Secret
// holds a distinct URL.
func secrets(name, key string) (string, error) {
	return fmt.Sprintf("https://slack.example.invalid/hooks/%s/%s", name, key), nil
}

func operatorConvert(global *monitoringv1.AlertmanagerGlobalConfig, c *monitoringv1alpha1.AlertmanagerConfig,
	secret func(name, key string) (string, error)) (*amFile, error) {
	prefix := func(s string) string {
		if s == "" {
			return ""
		}
		return c.Namespace + "/" + c.Name + "/" + s
	}
	matchers := func(ms []monitoringv1alpha1.Matcher) ([]string, error) {
		var out []string
		for _, m := range ms {
			if m.MatchType == "" {
				return nil, fmt.Errorf("matcher %s without matchType: the deprecated form is not converted here", m.Name)
			}
			if err := m.Validate(); err != nil {
				return nil, err
			}
			out = append(out, m.String())
		}
		return out, nil
	}
	var route func(r *monitoringv1alpha1.Route) (*amRoute, error)
	route = func(r *monitoringv1alpha1.Route) (*amRoute, error) {
		ms, err := matchers(r.Matchers)
		if err != nil {
			return nil, err
		}
		out := &amRoute{Receiver: prefix(r.Receiver), GroupBy: r.GroupBy, Matchers: ms, Continue: r.Continue}
		for dst, src := range map[*string]*monitoringv1.NonEmptyDuration{&out.GroupWait: r.GroupWait, &out.GroupInterval: r.GroupInterval, &out.RepeatInterval: r.RepeatInterval} {
			if src != nil {
				*dst = string(*src)
			}
		}
		children, err := r.ChildRoutes()
		if err != nil {
			return nil, err
		}
		for i := range children {
			child, err := route(&children[i])
			if err != nil {
				return nil, err
			}
			out.Routes = append(out.Routes, child)
		}
		return out, nil
	}

	out := &amFile{Templates: []string{}}
	if global != nil && global.ResolveTimeout != "" {
		out.Global = &amGlobal{ResolveTimeout: string(global.ResolveTimeout)}
	}
	if c.Spec.Route == nil {
		return nil, fmt.Errorf("no route")
	}
	root, err := route(c.Spec.Route)
	if err != nil {
		return nil, err
	}
	// The operator's checkAlertmanagerConfigRootRoute.
	if root.Receiver == "" || root.Continue || len(root.Matchers) > 0 {
		return nil, fmt.Errorf("root route: needs a receiver, no continue and no matchers: %+v", root)
	}
	out.Route = root
	for _, ir := range c.Spec.InhibitRules {
		src, err := matchers(ir.SourceMatch)
		if err != nil {
			return nil, err
		}
		dst, err := matchers(ir.TargetMatch)
		if err != nil {
			return nil, err
		}
		out.InhibitRules = append(out.InhibitRules, amInhibit{SourceMatchers: src, TargetMatchers: dst, Equal: ir.Equal})
	}
	for _, r := range c.Spec.Receivers {
		rcv := amRecv{Name: prefix(r.Name)}
		for _, sc := range r.SlackConfigs {
			if err := sc.Validate(); err != nil {
				return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
			}
			s := amSlack{SendResolved: sc.SendResolved}
			if sc.APIURL != nil {
				u, err := secret(sc.APIURL.Name, sc.APIURL.Key)
				if err != nil {
					return nil, err
				}
				s.APIURL = u
			}
			if sc.Channel != nil {
				s.Channel = *sc.Channel
			}
			rcv.SlackConfigs = append(rcv.SlackConfigs, s)
		}
		out.Receivers = append(out.Receivers, rcv)
	}
	return out, nil
}

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
	file, err := operatorConvert(ref.Global, amc, func(name, key string) (string, error) {
		if !known[name+"/"+key] {
			return "", fmt.Errorf("secret %s key %s is not a webhook reference of the environment", name, key)
		}
		return secrets(name, key)
	})
	if err != nil {
		t.Fatalf("operator conversion: %v", err)
	}
	b, err := yaml.Marshal(file)
	if err != nil {
		t.Fatal(err)
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
