package dashboards_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/dashboards"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := dashboards.Generate(e, &s); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	stacktest.Check(t, &s)
	return &s
}

// board is a dashboard as Grafana reads it.
type board struct {
	UID        string  `json:"uid"`
	Title      string  `json:"title"`
	Panels     []panel `json:"panels"`
	Templating struct {
		List []variable `json:"list"`
	} `json:"templating"`
}

type panel struct {
	ID         *int        `json:"id"`
	Type       string      `json:"type"`
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []target    `json:"targets"`
	Panels     []panel     `json:"panels"` // of a row
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type target struct {
	RefID string `json:"refId"`
	Expr  string `json:"expr"`
	Query string `json:"query"`
}

type variable struct {
	Name  string `json:"name"`
	Type  string `json:"type"`
	Query any    `json:"query"`
	Regex string `json:"regex"`
}

// boards decodes the dashboards of a Set, by UID.
func boards(t *testing.T, s *stack.Set) map[string]board {
	t.Helper()
	out := map[string]board{}
	for _, cm := range stacktest.Find[*corev1.ConfigMap](s) {
		if cm.Labels[dashboards.DashboardLabel] != "1" {
			t.Errorf("ConfigMap %s lacks %s: \"1\"", cm.Name, dashboards.DashboardLabel)
		}
		if cm.Annotations["kustomize.toolkit.fluxcd.io/substitute"] != "disabled" {
			t.Errorf("ConfigMap %s: Flux would substitute ${datasource}", cm.Name)
		}
		if len(cm.Data) != 1 {
			t.Errorf("ConfigMap %s: %d files, want one dashboard", cm.Name, len(cm.Data))
		}
		for key, body := range cm.Data {
			var b board
			dec := json.NewDecoder(strings.NewReader(body))
			if err := dec.Decode(&b); err != nil {
				t.Fatalf("%s/%s: %v", cm.Name, key, err)
			}
			if key != b.UID+".json" {
				t.Errorf("ConfigMap %s key %s, want %s.json", cm.Name, key, b.UID)
			}
			out[b.UID] = b
		}
	}
	return out
}

// panels flattens rows.
func (b board) panels() []panel {
	var out []panel
	for _, p := range b.Panels {
		out = append(out, p)
		out = append(out, p.Panels...)
	}
	return out
}

var (
	// Grafana's own variables and their sample values.
	builtins = map[string]string{"__rate_interval": "5m", "__interval": "1m", "__range": "1h", "__auto": "1m"}
	// $name, ${name}, ${name:format}, [[name]].
	varRef = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]`)
	// label_values(selector, label) of a query variable.
	labelValues = regexp.MustCompile(`^label_values\((.+),\s*(\w+)\)$`)
)

// substitute replaces every variable with a sample value that keeps the
// query valid PromQL: durations for Grafana's intervals, a plain word for
// the others (they appear inside label matchers).
func substitute(s string) string {
	return varRef.ReplaceAllStringFunc(s, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name := sub[1] + sub[2] + sub[3]
		if v, ok := builtins[name]; ok {
			return v
		}
		return "sample"
	})
}

// references lists the dashboard variables a string uses.
func references(s string) []string {
	var out []string
	for _, sub := range varRef.FindAllStringSubmatch(s, -1) {
		name := sub[1] + sub[2] + sub[3]
		if _, ok := builtins[name]; !ok && !strings.HasPrefix(name, "__") {
			out = append(out, name)
		}
	}
	return out
}

// reporter is the part of testing.T checkBoard reports through, so that a
// test can prove it fails on bad dashboards.
type reporter interface {
	Helper()
	Errorf(format string, args ...any)
}

func checkBoard(t reporter, b board) {
	t.Helper()
	defined := map[string]bool{}
	for _, v := range b.Templating.List {
		if defined[v.Name] {
			t.Errorf("%s: variable %s defined twice", b.UID, v.Name)
		}
		defined[v.Name] = true
	}
	used := map[string]bool{}
	use := func(where, s string) {
		for _, name := range references(s) {
			used[name] = true
			if !defined[name] {
				t.Errorf("%s: %s uses $%s, which the dashboard does not define", b.UID, where, name)
			}
		}
	}
	for _, v := range b.Templating.List {
		switch v.Type {
		case "datasource":
			if v.Query != "prometheus" {
				t.Errorf("%s: datasource variable %s of type %v", b.UID, v.Name, v.Query)
			}
		case "query":
			q, _ := v.Query.(string)
			m := labelValues.FindStringSubmatch(q)
			if m == nil {
				t.Errorf("%s: variable %s: query %q is not label_values(selector, label)", b.UID, v.Name, q)
				continue
			}
			if _, err := stacktest.PromQL.ParseExpr(substitute(m[1])); err != nil {
				t.Errorf("%s: variable %s: selector %q: %v", b.UID, v.Name, m[1], err)
			}
			use("variable "+v.Name, q)
		default:
			t.Errorf("%s: variable %s of unexpected type %s", b.UID, v.Name, v.Type)
		}
	}
	if !defined[dashboards.DatasourceVariable] {
		t.Errorf("%s: no datasource variable", b.UID)
	}

	ids := map[int]bool{}
	for _, p := range b.panels() {
		where := fmt.Sprintf("panel %q", p.Title)
		if p.ID == nil || ids[*p.ID] {
			t.Errorf("%s: %s: missing or duplicate id", b.UID, where)
		} else {
			ids[*p.ID] = true
		}
		use(where+" title", p.Title)
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID == "" || p.Datasource.Type == "" {
			t.Errorf("%s: %s has no datasource", b.UID, where)
			continue
		}
		use(where+" datasource", p.Datasource.UID)
		if len(p.Targets) == 0 {
			t.Errorf("%s: %s has no query", b.UID, where)
		}
		for _, tg := range p.Targets {
			switch p.Datasource.Type {
			case "prometheus":
				if p.Datasource.UID != "${datasource}" {
					t.Errorf("%s: %s: Prometheus panels use the datasource variable, not %s", b.UID, where, p.Datasource.UID)
				}
				if _, err := stacktest.PromQL.ParseExpr(substitute(tg.Expr)); err != nil {
					t.Errorf("%s: %s target %s: %q: %v", b.UID, where, tg.RefID, tg.Expr, err)
				}
				use(where, tg.Expr)
			case "elasticsearch":
				if p.Datasource.UID != correlation.ElasticsearchUID {
					t.Errorf("%s: %s: logs datasource %s", b.UID, where, p.Datasource.UID)
				}
				if tg.Query == "" {
					t.Errorf("%s: %s: empty Lucene query", b.UID, where)
				}
				use(where, tg.Query)
			default:
				t.Errorf("%s: %s: datasource type %s", b.UID, where, p.Datasource.Type)
			}
		}
	}
	for name := range defined {
		if !used[name] && name != dashboards.DatasourceVariable {
			t.Errorf("%s: variable %s is defined but never used", b.UID, name)
		}
	}
}

func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Golden(t, name, dashboards.Component, s)

			got := boards(t, s)
			var uids []string
			for uid, b := range got {
				uids = append(uids, uid)
				checkBoard(t, b)
			}
			sort.Strings(uids)

			// List names exactly the ConfigMaps, and Grafana mounts them.
			list := dashboards.List(e)
			var names []string
			for _, d := range list {
				names = append(names, d.Name)
			}
			var cms []string
			for _, cm := range stacktest.Find[*corev1.ConfigMap](s) {
				cms = append(cms, cm.Name)
			}
			sort.Strings(names)
			if d := cmp.Diff(cms, names); d != "" {
				t.Errorf("List and ConfigMaps differ (-configmaps +list):\n%s", d)
			}
			var g stack.Set
			if err := grafana.GenerateWith(e, &g, grafana.Options{Dashboards: list}); err != nil {
				t.Errorf("grafana rejects the dashboard list: %v", err)
			}

			// Deterministic: a second run gives the same bytes.
			again := generate(t, e)
			if !bytes.Equal(stacktest.Render(t, s), stacktest.Render(t, again)) {
				t.Errorf("two runs render different dashboards")
			}
		})
	}
}

func uidsOf(t *testing.T, e *env.Environment) []string {
	t.Helper()
	var out []string
	for uid := range boards(t, generate(t, e)) {
		out = append(out, uid)
	}
	sort.Strings(out)
	return out
}

func TestWhichDashboards(t *testing.T) {
	e := stacktest.Example(t, "prod")
	all := []string{"vigil-alertmanager", "vigil-apiserver", "vigil-cluster-health", "vigil-coredns", "vigil-etcd", "vigil-k8s-cluster", "vigil-k8s-namespace", "vigil-k8s-pod", "vigil-k8s-workload",
		"vigil-kubelet", "vigil-logging", "vigil-node-problems", "vigil-nodes", "vigil-persistent-volumes", "vigil-probes", "vigil-prometheus", "vigil-scheduler-controller-manager", "vigil-spark", "vigil-storage"}
	if d := cmp.Diff(all, uidsOf(t, e)); d != "" {
		t.Errorf("prod dashboards (-want +got):\n%s", d)
	}

	e.NodeProblemDetector.Enabled = false
	e.Monitoring.BlackboxExporter.Enabled = false
	e.Spark.Enabled = false
	e.Logging.Enabled = false
	e.Monitoring.ControlPlane.Enabled = false
	if d := cmp.Diff([]string{"vigil-alertmanager", "vigil-cluster-health", "vigil-k8s-cluster", "vigil-k8s-namespace", "vigil-k8s-pod", "vigil-k8s-workload",
		"vigil-kubelet", "vigil-nodes", "vigil-persistent-volumes", "vigil-prometheus", "vigil-storage"}, uidsOf(t, e)); d != "" {
		t.Errorf("without NPD, blackbox exporter, control plane, Spark and logging (-want +got):\n%s", d)
	}

	// The compute-resources views read kube-state-metrics, the node view
	// the node exporter.
	e.Monitoring.KubeStateMetrics.Enabled = false
	e.Monitoring.NodeExporter.Enabled = false
	if d := cmp.Diff([]string{"vigil-alertmanager", "vigil-cluster-health", "vigil-kubelet", "vigil-persistent-volumes", "vigil-prometheus", "vigil-storage"}, uidsOf(t, e)); d != "" {
		t.Errorf("without kube-state-metrics and node exporter (-want +got):\n%s", d)
	}

	e.Monitoring.Grafana.Enabled = false
	if got := uidsOf(t, e); len(got) != 0 || len(dashboards.List(e)) != 0 {
		t.Errorf("dashboards without Grafana: %v", got)
	}
}

func titles(b board) []string {
	var out []string
	for _, p := range b.panels() {
		out = append(out, p.Title)
	}
	return out
}

func TestOptionalPanels(t *testing.T) {
	prod := stacktest.Example(t, "prod")
	b := boards(t, generate(t, prod))

	storage := titles(b["vigil-storage"])
	for _, want := range []string{"FlashBlade capacity used", "FlashArray capacity used", "Claim usage"} {
		if !slices.Contains(storage, want) {
			t.Errorf("prod storage dashboard lacks %q", want)
		}
	}
	spark := titles(b["vigil-spark"])
	for _, want := range []string{"Driver and executor logs", "History Server up", "CPU by role"} {
		if !slices.Contains(spark, want) {
			t.Errorf("prod Spark dashboard lacks %q", want)
		}
	}

	dev := stacktest.Example(t, "dev")
	b = boards(t, generate(t, dev))
	for _, title := range titles(b["vigil-storage"]) {
		if strings.Contains(title, "Flash") {
			t.Errorf("dev has no Pure exporter, but the storage dashboard shows %q", title)
		}
	}
	for _, v := range b["vigil-storage"].Templating.List {
		if v.Name == "array" {
			t.Errorf("dev storage dashboard has an array variable")
		}
	}
	for _, title := range titles(b["vigil-spark"]) {
		if strings.HasPrefix(title, "History Server") {
			t.Errorf("dev has no History Server, but the Spark dashboard shows %q", title)
		}
	}
}

func TestSparkNamespaces(t *testing.T) {
	e := stacktest.Example(t, "prod")
	b := boards(t, generate(t, e))["vigil-spark"]
	for _, v := range b.Templating.List {
		if v.Name == "namespace" && v.Regex != "/^(spark|spark-etl)$/" {
			t.Errorf("namespace variable regex %q, want the job namespaces", v.Regex)
		}
	}
}

// recorder collects what checkBoard reports.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(format string, args ...any) {
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

// TestCheckerCatches proves that checkBoard fails on bad dashboards.
func TestCheckerCatches(t *testing.T) {
	prom := &datasource{Type: "prometheus", UID: "${datasource}"}
	dsVar := variable{Name: "datasource", Type: "datasource", Query: "prometheus"}
	for _, tt := range []struct {
		name string
		b    board
		want string
	}{
		{"undefined variable", board{UID: "x", Panels: []panel{{ID: ptr(1), Type: "timeseries", Title: "t", Datasource: prom,
			Targets: []target{{RefID: "A", Expr: `up{namespace=~"$missing"}`}}}}}, "does not define"},
		{"bad PromQL", board{UID: "x", Panels: []panel{{ID: ptr(1), Type: "timeseries", Title: "t", Datasource: prom,
			Targets: []target{{RefID: "A", Expr: `sum(rate(up[$__rate_interval])`}}}}}, "target A"},
		{"no datasource", board{UID: "x", Panels: []panel{{ID: ptr(1), Type: "stat", Title: "t"}}}, "no datasource"},
		{"duplicate id", board{UID: "x", Panels: []panel{
			{ID: ptr(1), Type: "row", Title: "r"}, {ID: ptr(1), Type: "row", Title: "s"}}}, "duplicate id"},
		{"unused variable", board{UID: "x"}, "never used"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.b.Templating.List = []variable{dsVar}
			if tt.name == "unused variable" {
				tt.b.Templating.List = append(tt.b.Templating.List, variable{Name: "namespace", Type: "query", Query: "label_values(up, namespace)"})
			}
			var r recorder
			checkBoard(&r, tt.b)
			if !slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, tt.want) }) {
				t.Errorf("checkBoard reported %q, want an error containing %q", r.errs, tt.want)
			}
		})
	}
	if got := references(`a{b=~"$namespace",c="${application:lucene}"}[$__rate_interval] [[node]]`); !cmp.Equal(got, []string{"namespace", "application", "node"}) {
		t.Errorf("references = %v", got)
	}
}

func ptr[T any](v T) *T { return &v }
