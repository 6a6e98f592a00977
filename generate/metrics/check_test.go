package metrics_test

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/dashboards"
	"github.com/vigil-stack/vigil/generate/metrics"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// use is one PromQL expression of the rendered stack and where it is.
type use struct {
	where, expr string
}

// ruleUses returns the expressions of every rule of every PrometheusRule,
// and the names the recording rules define.
func ruleUses(s *stack.Set) (uses []use, recorded map[string]bool) {
	recorded = map[string]bool{}
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				kind, name := "alert", r.Alert
				if r.Record != "" {
					kind, name = "record", r.Record
					recorded[r.Record] = true
				}
				uses = append(uses, use{
					where: fmt.Sprintf("PrometheusRule %s/%s group %s %s %s", pr.Namespace, pr.Name, g.Name, kind, name),
					expr:  r.Expr.String(),
				})
			}
		}
	}
	return uses, recorded
}

// board is the part of a Grafana dashboard that holds queries.
type board struct {
	UID        string  `json:"uid"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Type  string `json:"type"`
			Query any    `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

type panel struct {
	Title      string `json:"title"`
	Datasource *struct {
		Type string `json:"type"`
	} `json:"datasource"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"`
}

var (
	// label_values(selector, label) and query_result(expr) of a query
	// variable; label_values(label) names no metric.
	labelValues = regexp.MustCompile(`^\s*label_values\((.+),\s*\w+\s*\)\s*$`)
	queryResult = regexp.MustCompile(`^\s*query_result\((.+)\)\s*$`)
	// $name, ${name}, ${name:format}, [[name]].
	varRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]`)
)

// substitute replaces Grafana's variables with values that keep a query
// valid PromQL: durations for the interval variables, a word elsewhere
// (variables sit inside label matchers).
func substitute(s string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		switch sub[1] + sub[2] + sub[3] {
		case "__rate_interval", "__interval", "__range", "__auto":
			return "5m"
		}
		return "sample"
	})
}

// dashboardUses returns the Prometheus queries of every dashboard
// ConfigMap: panel targets and query variables.
func dashboardUses(s *stack.Set) ([]use, error) {
	var uses []use
	for _, cm := range stacktest.Find[*corev1.ConfigMap](s) {
		if cm.Labels[dashboards.DashboardLabel] != "1" {
			continue
		}
		for _, key := range sortedKeys(cm.Data) {
			var b board
			if err := json.Unmarshal([]byte(cm.Data[key]), &b); err != nil {
				return nil, fmt.Errorf("ConfigMap %s/%s key %s: %w", cm.Namespace, cm.Name, key, err)
			}
			for _, v := range b.Templating.List {
				q, _ := v.Query.(string)
				if v.Type != "query" || q == "" {
					continue
				}
				where := fmt.Sprintf("dashboard %s variable %s", b.UID, v.Name)
				switch {
				case labelValues.MatchString(q):
					uses = append(uses, use{where, labelValues.FindStringSubmatch(q)[1]})
				case queryResult.MatchString(q):
					uses = append(uses, use{where, queryResult.FindStringSubmatch(q)[1]})
				}
			}
			var walk func([]panel)
			walk = func(ps []panel) {
				for _, p := range ps {
					walk(p.Panels)
					if p.Datasource != nil && p.Datasource.Type != "prometheus" {
						continue
					}
					for i, t := range p.Targets {
						if t.Expr != "" {
							uses = append(uses, use{fmt.Sprintf("dashboard %s panel %q target %d", b.UID, p.Title, i), t.Expr})
						}
					}
				}
			}
			walk(b.Panels)
		}
	}
	return uses, nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// unknownNames resolves every metric name of every expression against the
// catalogue and the recording rules, and returns one message per name it
// cannot resolve.
func unknownNames(c *metrics.Catalogue, uses []use, recorded map[string]bool) []string {
	var out []string
	for _, u := range uses {
		expr, err := stacktest.PromQL.ParseExpr(substitute(u.expr))
		if err != nil {
			out = append(out, fmt.Sprintf("%s: %q does not parse: %v", u.where, u.expr, err))
			continue
		}
		seen := map[string]bool{}
		parser.Inspect(expr, func(n parser.Node, _ []parser.Node) error {
			vs, ok := n.(*parser.VectorSelector)
			if !ok {
				return nil
			}
			name := vs.Name
			if name == "" {
				for _, m := range vs.LabelMatchers {
					if m.Name == model.MetricNameLabel && m.Type == labels.MatchEqual {
						name = m.Value
					}
				}
			}
			switch {
			case name == "":
				out = append(out, fmt.Sprintf("%s: selector %s names no metric; the catalogue cannot check it", u.where, vs))
			case seen[name] || recorded[name]:
			default:
				if _, ok := c.Lookup(name); !ok {
					out = append(out, fmt.Sprintf("%s: metric %s is in no catalogue under generate/metrics/catalogue and no recording rule defines it", u.where, name))
				}
			}
			seen[name] = true
			return nil
		})
	}
	return out
}

// checkSet returns every unresolvable name of a rendered stack.
func checkSet(t *testing.T, s *stack.Set) []string {
	t.Helper()
	c, err := metrics.Load()
	if err != nil {
		t.Fatalf("catalogue: %v", err)
	}
	uses, recorded := ruleUses(s)
	du, err := dashboardUses(s)
	if err != nil {
		t.Fatal(err)
	}
	return unknownNames(c, append(uses, du...), recorded)
}

func build(t *testing.T, name string) *stack.Set {
	t.Helper()
	e, err := generate.LoadFS(context.Background(), vigil.Examples, "environments/"+name)
	if err != nil {
		t.Fatalf("load example %s: %v", name, err)
	}
	s, err := generate.Build(e.Spec)
	if err != nil {
		t.Fatalf("build %s: %v", name, err)
	}
	return s
}

// Every metric name that a dashboard panel or variable, a recording rule or
// an alert of an example environment uses is exported by a component Vigil
// scrapes, or recorded by one of its rules.
func TestExamplesUseKnownMetrics(t *testing.T) {
	for _, name := range vigil.ExampleNames {
		t.Run(name, func(t *testing.T) {
			s := build(t, name)
			uses, _ := ruleUses(s)
			du, err := dashboardUses(s)
			if err != nil {
				t.Fatal(err)
			}
			if len(uses) == 0 || len(du) == 0 {
				t.Fatalf("%d rule and %d dashboard queries: the extraction finds nothing", len(uses), len(du))
			}
			for _, msg := range checkSet(t, s) {
				t.Error(msg)
			}
		})
	}
}

// An unknown name in a rule or on a dashboard fails, naming where it is; a
// name a recording rule defines and the series of a catalogued histogram
// pass.
func TestUnknownMetricFails(t *testing.T) {
	s := build(t, "prod")
	if got := checkSet(t, s); len(got) != 0 {
		t.Fatalf("prod is not clean to begin with:\n%s", strings.Join(got, "\n"))
	}
	s.Add("test", stack.Content, &monitoringv1.PrometheusRule{
		ObjectMeta: metaNamed("injected"),
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: "injected",
			Rules: []monitoringv1.Rule{
				{Record: "job:vigil_injected:rate5m", Expr: intOrString(`sum by (job) (rate(prometheus_http_requests_total[5m]))`)},
				{Alert: "Uses", Expr: intOrString(`job:vigil_injected:rate5m > 1 and on () histogram_quantile(0.9, sum by (le) (rate(prometheus_http_request_duration_seconds_bucket[5m]))) > 1`)},
				{Alert: "Injected", Expr: intOrString(`rate(vigil_no_such_metric_total[5m]) > 0`)},
				{Alert: "HistogramBase", Expr: intOrString(`prometheus_http_request_duration_seconds > 0`)},
				{Alert: "ByRegex", Expr: intOrString(`{__name__=~"kube_pod_.*"} > 0`)},
			},
		}}},
	})
	s.Add("test", stack.Content, &corev1.ConfigMap{
		ObjectMeta: metaLabelled("injected-dashboard", map[string]string{dashboards.DashboardLabel: "1"}),
		Data: map[string]string{"injected.json": `{"uid": "injected", "panels": [
			{"type": "row", "title": "r", "panels": [
				{"title": "Executors", "datasource": {"type": "prometheus"}, "targets": [{"expr": "sum(rate(metrics_executor_activeTasks_Count{namespace=~\"$namespace\"}[$__rate_interval]))"}]}
			]}],
			"templating": {"list": [{"name": "app", "type": "query", "query": "label_values(metrics_executor_totalCores_Count, spark_app)"}]}}`},
	})
	want := []string{
		"PrometheusRule monitoring/injected group injected alert Injected: metric vigil_no_such_metric_total ",
		"PrometheusRule monitoring/injected group injected alert HistogramBase: metric prometheus_http_request_duration_seconds ",
		"PrometheusRule monitoring/injected group injected alert ByRegex: selector",
		`dashboard injected panel "Executors" target 0: metric metrics_executor_activeTasks_Count `,
		"dashboard injected variable app: metric metrics_executor_totalCores_Count ",
	}
	got := checkSet(t, s)
	if len(got) != len(want) {
		t.Errorf("got %d problems, want %d:\n%s", len(got), len(want), strings.Join(got, "\n"))
	}
	for _, w := range want {
		found := false
		for _, g := range got {
			found = found || strings.HasPrefix(g, w)
		}
		if !found {
			t.Errorf("no problem reported as %q; got:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
