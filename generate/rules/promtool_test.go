package rules_test

// This file runs every alerting and recording rule the example environments
// render through promtool's rule unit tests, built from the pinned
// github.com/prometheus/prometheus module (the tool directive of go.mod), so
// the tests run on the engine and in the format Prometheus users know.
//
// The tests live beside the code that writes the rules:
// generate/<component>/testdata/rules_test.yaml, and
// environments/<env>/testdata/rules_test.yaml for an example's own rules
// (rules_<part>_test.yaml for a part of a component that only some examples
// render). Each names its rule files after the PrometheusRules it tests
// ("spark.yaml" for the PrometheusRule spark). For every example, and for
// the variants of examples that render rules no example does (targets),
// the runner writes each rendered PrometheusRule's spec.groups to such a
// file and runs every test file that applies: the target renders every
// rule file it names and every rule it tests.
//
// The rule files are written without annotations: promtool compares an
// alert's annotations in full, which would make every test restate every
// description. Annotation templates are parsed by stacktest.CheckRules and
// the annotations every alert needs are checked in TestRuleMetadata.

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	vgen "github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// unitTestFile is the part of promtool's unit-test file format the coverage
// check reads; promtool itself reads and checks the whole file.
type unitTestFile struct {
	RuleFiles []string `json:"rule_files"`
	Tests     []struct {
		Name        string `json:"name"`
		InputSeries []struct {
			Series string `json:"series"`
		} `json:"input_series"`
		AlertRuleTests []struct {
			EvalTime  string `json:"eval_time"`
			Alertname string `json:"alertname"`
			ExpAlerts []struct {
				ExpLabels map[string]string `json:"exp_labels"`
			} `json:"exp_alerts"`
		} `json:"alert_rule_test"`
		PromQLExprTests []struct {
			Expr       string `json:"expr"`
			EvalTime   string `json:"eval_time"`
			ExpSamples []struct {
				Labels string `json:"labels"`
			} `json:"exp_samples"`
		} `json:"promql_expr_test"`
	} `json:"tests"`
}

// unitTest is one test file of the repository.
type unitTest struct {
	// path relative to the repository, for messages.
	path string
	// data is the file as written.
	data []byte
	file unitTestFile
}

// unitTests reads every rule unit-test file of the repository.
func unitTests(t testing.TB) []unitTest {
	t.Helper()
	root := stacktest.RepoRoot()
	var paths []string
	for _, pattern := range []string{"generate/*/testdata/rules*_test.yaml", "environments/*/testdata/rules*_test.yaml"} {
		m, err := filepath.Glob(filepath.Join(root, pattern))
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, m...)
	}
	sort.Strings(paths)
	if len(paths) == 0 {
		t.Fatal("no rule unit-test files found")
	}
	var out []unitTest
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, p)
		u := unitTest{path: rel, data: b}
		if err := yaml.Unmarshal(b, &u.file); err != nil {
			t.Fatalf("%s: %v", rel, err)
		}
		if len(u.file.RuleFiles) == 0 {
			t.Fatalf("%s: names no rule_files", rel)
		}
		out = append(out, u)
	}
	return out
}

// ruleRef is one rule as rendered, with its file (the PrometheusRule's
// name) and group.
type ruleRef struct {
	file, group string
	rule        monitoringv1.Rule
}

func (r ruleRef) String() string {
	kind, name := "alert", r.rule.Alert
	if name == "" {
		kind, name = "recording rule", r.rule.Record
	}
	s := fmt.Sprintf("%s %s (%s.yaml, group %s", kind, name, r.file, r.group)
	if sev := r.rule.Labels["severity"]; r.rule.Alert != "" && sev != "" {
		s += ", severity " + sev
	}
	return s + ")"
}

// renderedRules are the PrometheusRules of one target, by name.
type renderedRules map[string]*monitoringv1.PrometheusRule

// target is an example environment, possibly changed.
type target struct {
	name, example string
	change        func(*env.Environment)
}

// targets are the examples and the variants that render the rules no
// example renders: Fluentd's, Jaeger's, and those written for a cluster
// without kube-state-metrics.
var targets = func() []target {
	var out []target
	for _, name := range stacktest.ExampleNames {
		out = append(out, target{name: name, example: name})
	}
	return append(out,
		target{"prod with Fluentd", "prod", func(e *env.Environment) { e.Logging.Agent.Fluentd.Enabled = true }},
		target{"prod with Jaeger", "prod", func(e *env.Environment) {
			e.Tracing.Backend = env.BackendJaeger
			e.Tracing.Tempo.Credentials = nil
		}},
		target{"dev without kube-state-metrics", "dev", func(e *env.Environment) { e.Monitoring.KubeStateMetrics.Enabled = false }},
	)
}()

var (
	rendersMu sync.Mutex
	renders   = map[string]renderedRules{}
)

// render returns a copy of the PrometheusRules of a target, which each
// test may change.
func render(t testing.TB, tg target) renderedRules {
	t.Helper()
	rendersMu.Lock()
	defer rendersMu.Unlock()
	rr, ok := renders[tg.name]
	if !ok {
		e := stacktest.Example(t, tg.example)
		if tg.change != nil {
			tg.change(e)
		}
		s, err := vgen.Build(e)
		if err != nil {
			t.Fatalf("build %s: %v", tg.name, err)
		}
		rr = renderedRules{}
		for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
			if prev, dup := rr[pr.Name]; dup {
				t.Fatalf("%s: two PrometheusRules named %s (namespaces %s and %s): their rule files would collide", tg.name, pr.Name, prev.Namespace, pr.Namespace)
			}
			rr[pr.Name] = pr
		}
		renders[tg.name] = rr
	}
	out := renderedRules{}
	for name, pr := range rr {
		out[name] = pr.DeepCopy()
	}
	return out
}

func (rr renderedRules) rules() []ruleRef {
	var out []ruleRef
	for _, name := range slices.Sorted(maps.Keys(rr)) {
		for _, g := range rr[name].Spec.Groups {
			for _, r := range g.Rules {
				out = append(out, ruleRef{file: name, group: g.Name, rule: r})
			}
		}
	}
	return out
}

// ruleFile is the Prometheus rule file of a PrometheusRule, without
// annotations (see the file comment).
func ruleFile(pr *monitoringv1.PrometheusRule) ([]byte, error) {
	groups := make([]monitoringv1.RuleGroup, len(pr.Spec.Groups))
	for i, g := range pr.Spec.Groups {
		g.Rules = slices.Clone(g.Rules)
		for j := range g.Rules {
			g.Rules[j].Annotations = nil
		}
		groups[i] = g
	}
	return yaml.Marshal(struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{groups})
}

// applies reports whether a target renders every rule file a test names
// and every rule it tests, each rule reading a series the test provides
// (or none at all, like vector(1)): a test cannot be meant for a rule that
// reads none of its input, such as the variant of an alert that reads
// another exporter's metrics.
func (u unitTest) applies(rr renderedRules) bool {
	inputs := map[string]bool{}
	for _, g := range u.file.Tests {
		for _, in := range g.InputSeries {
			if m, err := stacktest.PromQL.ParseMetric(in.Series); err == nil {
				inputs[m.Get("__name__")] = true
			}
		}
	}
	alerts, records := map[string]bool{}, map[string]bool{}
	var rules []monitoringv1.Rule
	for _, f := range u.file.RuleFiles {
		pr, ok := rr[strings.TrimSuffix(f, ".yaml")]
		if !ok {
			return false
		}
		for _, g := range pr.Spec.Groups {
			rules = append(rules, g.Rules...)
		}
	}
	// What recording rules record is input too.
	for _, r := range rules {
		if r.Record != "" {
			records[r.Record], inputs[r.Record] = true, true
		}
	}
	for _, r := range rules {
		if r.Alert != "" {
			names := seriesRead(r.Expr.String())
			alerts[r.Alert] = alerts[r.Alert] || len(names) == 0 || slices.ContainsFunc(names, func(n string) bool { return inputs[n] })
		}
	}
	for _, g := range u.file.Tests {
		for _, at := range g.AlertRuleTests {
			if !alerts[at.Alertname] {
				return false
			}
		}
		for _, pt := range g.PromQLExprTests {
			if !slices.ContainsFunc(slices.Collect(maps.Keys(records)), func(r string) bool { return reads(pt.Expr, r) }) {
				return false
			}
		}
	}
	return true
}

// promtool runs `promtool test rules` on the rendered rules and the test
// files that apply to them, in a fresh directory, and returns its output
// and whether every test passed.
func promtool(t testing.TB, rr renderedRules, tests []unitTest) (string, bool) {
	t.Helper()
	dir := t.TempDir()
	for name, pr := range rr {
		b, err := ruleFile(pr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".yaml"), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	bin, err := promtoolBinary()
	if err != nil {
		t.Fatal(err)
	}
	args := []string{"test", "rules"}
	for _, u := range tests {
		// generate/spark/testdata/rules_test.yaml → generate-spark-rules_test.yaml
		name := strings.ReplaceAll(strings.Replace(u.path, "testdata"+string(filepath.Separator), "", 1), string(filepath.Separator), "-")
		if err := os.WriteFile(filepath.Join(dir, name), u.data, 0o644); err != nil {
			t.Fatal(err)
		}
		args = append(args, filepath.Join(dir, name))
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	if _, exited := err.(*exec.ExitError); err != nil && !exited {
		t.Fatalf("cannot run promtool: %v\n%s", err, out.String())
	}
	return strings.ReplaceAll(out.String(), dir+string(filepath.Separator), ""), err == nil
}

// promtoolBinary builds promtool from the module's tool directive once
// (`go tool` caches it) and returns its path, so that each run costs no
// more than promtool itself.
var promtoolBinary = sync.OnceValues(func() (string, error) {
	run := func(args ...string) (string, error) {
		cmd := exec.Command(goCommand(), args...)
		cmd.Dir = stacktest.RepoRoot()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("go %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
		}
		return strings.TrimSpace(string(out)), nil
	}
	// `go tool -n` names the cached executable; running the tool once
	// builds it when the cache lacks it.
	if path, err := run("tool", "-n", "promtool"); err == nil && fileExists(path) {
		return path, nil
	}
	if _, err := run("tool", "promtool", "--version"); err != nil {
		return "", fmt.Errorf("build promtool: %w", err)
	}
	path, err := run("tool", "-n", "promtool")
	if err != nil || !fileExists(path) {
		return "", fmt.Errorf("locate promtool (%q): %v", path, err)
	}
	return path, nil
})

// goCommand is the go command of the toolchain running the tests: since Go
// 1.19 go test puts its own GOROOT/bin first on the test binary's PATH; an
// explicit GOROOT in the environment wins.
func goCommand() string {
	if root := os.Getenv("GOROOT"); root != "" {
		if p := filepath.Join(root, "bin", "go"); fileExists(p) {
			return p
		}
	}
	return "go"
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func applicable(rr renderedRules, all []unitTest) []unitTest {
	var out []unitTest
	for _, u := range all {
		if u.applies(rr) {
			out = append(out, u)
		}
	}
	return out
}

// TestRuleUnitTests runs, for every target, every unit test that applies
// to its rules, and fails on a test file that applies to no target: it
// names a rule file or a rule that no longer exists.
func TestRuleUnitTests(t *testing.T) {
	all := unitTests(t)
	used := map[string]bool{}
	for _, tg := range targets {
		for _, u := range applicable(render(t, tg), all) {
			used[u.path] = true
		}
	}
	for _, u := range all {
		if !used[u.path] {
			t.Errorf("%s applies to no example or variant: one of its rule_files %v or of the rules it tests is not rendered", u.path, u.file.RuleFiles)
		}
	}
	// A test already run on the same rule files, as another example renders
	// them, is not run again.
	ran := map[[sha256.Size]byte]bool{}
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			rr := render(t, tg)
			var tests []unitTest
			for _, u := range applicable(rr, all) {
				h := sha256.New()
				h.Write(u.data)
				for _, f := range u.file.RuleFiles {
					b, err := ruleFile(rr[strings.TrimSuffix(f, ".yaml")])
					if err != nil {
						t.Fatal(err)
					}
					h.Write(b)
				}
				if k := [sha256.Size]byte(h.Sum(nil)); !ran[k] {
					ran[k] = true
					tests = append(tests, u)
				}
			}
			if len(tests) == 0 {
				return
			}
			if out, ok := promtool(t, rr, tests); !ok {
				t.Errorf("promtool test rules failed:\n%s", out)
			}
		})
	}
}

// uncovered lists the rules no test covers in both directions: an alert
// needs an alert_rule_test where it fires (an expected alert of its
// severity) and one where it must not (none of its severity); a recording
// rule needs a promql_expr_test of its series with samples and one without.
func uncovered(rules []ruleRef, tests []unitTest) []string {
	type cover struct{ fires, silent bool }
	var out []string
	for _, r := range rules {
		var c cover
		for _, u := range tests {
			if !slices.Contains(u.file.RuleFiles, r.file+".yaml") {
				continue
			}
			for _, g := range u.file.Tests {
				if r.rule.Alert != "" {
					for _, at := range g.AlertRuleTests {
						if at.Alertname != r.rule.Alert {
							continue
						}
						fires := slices.ContainsFunc(at.ExpAlerts, func(a struct {
							ExpLabels map[string]string `json:"exp_labels"`
						}) bool {
							return a.ExpLabels["severity"] == r.rule.Labels["severity"]
						})
						c.fires = c.fires || fires
						c.silent = c.silent || !fires
					}
					continue
				}
				for _, pt := range g.PromQLExprTests {
					if !reads(pt.Expr, r.rule.Record) {
						continue
					}
					c.fires = c.fires || len(pt.ExpSamples) > 0
					c.silent = c.silent || len(pt.ExpSamples) == 0
				}
			}
		}
		if r.rule.Alert == "Watchdog" {
			// It always fires by design: the dead man's switch watches it.
			c.silent = c.fires
		}
		switch {
		case !c.fires && !c.silent:
			out = append(out, r.String()+": no test")
		case !c.fires:
			out = append(out, r.String()+": no test case where it fires")
		case !c.silent:
			out = append(out, r.String()+": no test case where it must not fire")
		}
	}
	return out
}

// seriesRead are the metric names a PromQL expression selects.
func seriesRead(expr string) []string {
	e, err := stacktest.PromQL.ParseExpr(expr)
	if err != nil {
		return nil
	}
	var out []string
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name != "" {
			out = append(out, vs.Name)
		}
		return nil
	})
	return out
}

// reads reports whether a PromQL expression reads the series name.
func reads(expr, name string) bool {
	e, err := stacktest.PromQL.ParseExpr(expr)
	if err != nil {
		return false
	}
	found := false
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		if vs, ok := n.(*parser.VectorSelector); ok && vs.Name == name {
			found = true
		}
		return nil
	})
	return found
}

// TestRuleCoverage fails naming every rule of every target that has no
// test where it fires and one where it must not.
func TestRuleCoverage(t *testing.T) {
	all := unitTests(t)
	for _, tg := range targets {
		t.Run(tg.name, func(t *testing.T) {
			rr := render(t, tg)
			for _, m := range uncovered(rr.rules(), applicable(rr, all)) {
				t.Errorf("%s; add cases to the rules_test.yaml beside the code that writes it", m)
			}
		})
	}
}

// The coverage check itself rejects a rule without tests, an alert tested
// only where it fires, and one tested only where it must not.
func TestRuleCoverageRejects(t *testing.T) {
	var u unitTest
	err := yaml.Unmarshal([]byte(`
rule_files: [r.yaml]
tests:
  - alert_rule_test:
      - {alertname: OnlyFires, exp_alerts: [{exp_labels: {severity: warning}}]}
      - {alertname: OnlySilent, exp_alerts: []}
      - {alertname: Both, exp_alerts: [{exp_labels: {severity: warning}}]}
      - {alertname: Both, exp_alerts: []}
      # the critical rule of TwoSeverities is silent here, never firing
      - {alertname: TwoSeverities, exp_alerts: [{exp_labels: {severity: warning}}]}
    promql_expr_test:
      - {expr: 'sum(rec:a)', exp_samples: [{labels: '{}', value: 1}]}
`), &u.file)
	if err != nil {
		t.Fatal(err)
	}
	alert := func(name, sev string) ruleRef {
		return ruleRef{file: "r", group: "g", rule: monitoringv1.Rule{Alert: name, Labels: map[string]string{"severity": sev}}}
	}
	got := uncovered([]ruleRef{
		alert("OnlyFires", "warning"), alert("OnlySilent", "warning"), alert("Both", "warning"), alert("Untested", "warning"),
		alert("TwoSeverities", "warning"), alert("TwoSeverities", "critical"),
		{file: "r", group: "g", rule: monitoringv1.Rule{Record: "rec:a"}},
		{file: "other", group: "g", rule: monitoringv1.Rule{Alert: "Both", Labels: map[string]string{"severity": "warning"}}},
	}, []unitTest{u})
	want := []string{
		"alert OnlyFires (r.yaml, group g, severity warning): no test case where it must not fire",
		"alert OnlySilent (r.yaml, group g, severity warning): no test case where it fires",
		"alert Untested (r.yaml, group g, severity warning): no test",
		"alert TwoSeverities (r.yaml, group g, severity warning): no test case where it must not fire",
		"alert TwoSeverities (r.yaml, group g, severity critical): no test case where it fires",
		"recording rule rec:a (r.yaml, group g): no test case where it must not fire",
		// a test of another file's rule does not cover it
		"alert Both (other.yaml, group g, severity warning): no test",
	}
	if !slices.Equal(got, want) {
		t.Errorf("uncovered:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// A deliberately broken rule makes promtool fail: the tests catch the two
// example rules as they were first written (a gauge subtracted from a
// cumulative counter; a counter read as a timestamp, in the wrong
// namespace), a built-in alert whose aggregation is changed, and a
// recording rule that lost its filter.
func TestRuleBrokenExpressionCaught(t *testing.T) {
	all := unitTests(t)
	for _, c := range []struct {
		file, rule, expr string
	}{
		{"user-spark-capacity", "SparkApplicationsBacklog", `sum(spark_application_count) - sum(spark_application_running_count) > 20`},
		{"user-etl-pipelines", "NightlyETLLate", `time() - max(spark_application_success_count{namespace="spark"}) > 0 and on() hour() > 6`},
		{"prometheus-k8s-rules", "PrometheusErrorSendingAlertsToAnyAlertmanager", `max without (alertmanager) (rate(prometheus_notifications_errors_total{job="prometheus-k8s",namespace="monitoring"}[5m]) / rate(prometheus_notifications_sent_total{job="prometheus-k8s",namespace="monitoring"}[5m])) * 100 > 3`},
		{"grafana-rules", "namespace_job_handler:grafana_http_requests:rate5m", `sum by (namespace, job, handler) (rate(grafana_http_request_duration_seconds_count{job="grafana"}[5m]))`},
		{"records-rules", "instance:node_network_receive_bytes_excluding_lo:rate5m", `sum without (device) (rate(node_network_receive_bytes_total{job="node-exporter"}[5m]))`},
		{"records-rules", "cluster:namespace:pod_cpu:active:kube_pod_container_resource_requests", `kube_pod_container_resource_requests{resource="cpu"}`},
		{"blackbox-exporter-rules", "BlackboxProbeSlow", `avg_over_time(probe_duration_seconds{job="blackbox"}[5m]) > 2`},
		// Without "== 1" an API server that is scraped but down is not absent.
		{"kube-apiserver-rules", "KubeAPIDown", `absent(up{job="apiserver"})`},
	} {
		t.Run(c.rule, func(t *testing.T) {
			rr := render(t, targets[slices.IndexFunc(targets, func(tg target) bool { return tg.name == "prod" })])
			pr, ok := rr[c.file]
			if !ok {
				t.Fatalf("prod renders no PrometheusRule %s", c.file)
			}
			changed := 0
			for _, g := range pr.Spec.Groups {
				for i := range g.Rules {
					if g.Rules[i].Alert == c.rule || g.Rules[i].Record == c.rule {
						g.Rules[i].Expr = intstr.FromString(c.expr)
						changed++
					}
				}
			}
			if changed != 1 {
				t.Fatalf("%d rules %s in %s, want 1", changed, c.rule, c.file)
			}
			var tests []unitTest
			for _, u := range applicable(rr, all) {
				if slices.Contains(u.file.RuleFiles, c.file+".yaml") {
					tests = append(tests, u)
				}
			}
			out, ok := promtool(t, rr, tests)
			if ok {
				t.Fatalf("promtool passed with %s broken:\n%s", c.rule, out)
			}
			if !strings.Contains(out, c.rule) {
				t.Errorf("promtool failed without naming %s:\n%s", c.rule, out)
			}
		})
	}
}

// severities are those Alertmanager's routes and inhibit rules know;
// "none" marks the two alerts routed by name to the null receiver.
var severities = map[string]bool{"critical": true, "warning": true, "info": true}

// metadataProblems lists what an alert lacks: the annotations every alert
// carries (runbook_url a kube-prometheus runbook or a section of
// docs/runbooks.md) and a severity the routing knows.
func metadataProblems(r monitoringv1.Rule, runbookAnchors map[string]bool) []string {
	var out []string
	for _, k := range []string{"summary", "description", "runbook_url"} {
		if strings.TrimSpace(r.Annotations[k]) == "" {
			out = append(out, "no "+k)
		}
	}
	switch u := r.Annotations["runbook_url"]; {
	case u == "":
	case strings.HasPrefix(u, stack.VigilRunbooks+"#"):
		if a := strings.TrimPrefix(u, stack.VigilRunbooks+"#"); !runbookAnchors[a] {
			out = append(out, fmt.Sprintf("runbook_url %s: docs/runbooks.md has no section %q", u, a))
		}
	case strings.HasPrefix(u, stack.UpstreamRunbooks+"/"):
	default:
		out = append(out, fmt.Sprintf("runbook_url %s is neither a kube-prometheus runbook nor a section of docs/runbooks.md", u))
	}
	sev := r.Labels["severity"]
	if !severities[sev] && (sev != "none" || (r.Alert != "Watchdog" && r.Alert != "InfoInhibitor")) {
		out = append(out, fmt.Sprintf("severity %q: the routing knows critical, warning and info", sev))
	}
	return out
}

// runbookAnchors are the anchors GitHub gives the "### AlertName" headings
// of docs/runbooks.md.
func runbookAnchors(t testing.TB) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stacktest.RepoRoot(), "docs", "runbooks.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "### "); ok {
			out[strings.ToLower(strings.TrimSpace(h))] = true
		}
	}
	return out
}

// TestRuleMetadata checks every alert of every example, built-in or the
// example's own.
func TestRuleMetadata(t *testing.T) {
	anchors := runbookAnchors(t)
	for _, tg := range targets {
		for _, r := range render(t, tg).rules() {
			if r.rule.Alert == "" {
				continue
			}
			for _, p := range metadataProblems(r.rule, anchors) {
				t.Errorf("%s: %s: %s", tg.name, r, p)
			}
		}
	}
}

func TestRuleMetadataRejects(t *testing.T) {
	anchors := map[string]bool{"known": true}
	for _, c := range []struct {
		rule monitoringv1.Rule
		want []string
	}{
		{monitoringv1.Rule{Alert: "A", Labels: map[string]string{"severity": "page"}}, []string{
			"no summary", "no description", "no runbook_url", `severity "page": the routing knows critical, warning and info`}},
		{monitoringv1.Rule{Alert: "Loud", Labels: map[string]string{"severity": "none"}, Annotations: map[string]string{
			"summary": "s", "description": "d", "runbook_url": stack.VigilRunbooks + "#unknown"}}, []string{
			"runbook_url " + stack.VigilRunbooks + `#unknown: docs/runbooks.md has no section "unknown"`,
			`severity "none": the routing knows critical, warning and info`}},
		{monitoringv1.Rule{Alert: "B", Labels: map[string]string{"severity": "warning"}, Annotations: map[string]string{
			"summary": "s", "description": "d", "runbook_url": "https://wiki.example/b"}}, []string{
			"runbook_url https://wiki.example/b is neither a kube-prometheus runbook nor a section of docs/runbooks.md"}},
		{monitoringv1.Rule{Alert: "Watchdog", Labels: map[string]string{"severity": "none"}, Annotations: map[string]string{
			"summary": "s", "description": "d", "runbook_url": stack.VigilRunbooks + "#known"}}, nil},
	} {
		if got := metadataProblems(c.rule, anchors); !slices.Equal(got, c.want) {
			t.Errorf("%s: %q, want %q", c.rule.Alert, got, c.want)
		}
	}
}

// A test file applies where its rule files and rules are rendered and the
// rules read what it feeds them.
func TestUnitTestApplies(t *testing.T) {
	var u unitTest
	if err := yaml.Unmarshal([]byte(`
rule_files: [npd.yaml]
tests:
  - input_series: [{series: 'problem_gauge{node="a"}', values: '1x5'}]
    alert_rule_test: [{alertname: Condition, exp_alerts: []}]
`), &u.file); err != nil {
		t.Fatal(err)
	}
	rendered := func(file, alert, expr string) renderedRules {
		return renderedRules{file: {Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: "g", Rules: []monitoringv1.Rule{{Alert: alert, Expr: intstr.FromString(expr)}},
		}}}}}
	}
	for _, c := range []struct {
		name string
		rr   renderedRules
		want bool
	}{
		{"reads the input", rendered("npd", "Condition", `problem_gauge == 1`), true},
		{"reads no series", rendered("npd", "Condition", `vector(1)`), true},
		{"reads other series", rendered("npd", "Condition", `kube_node_status_condition == 1`), false},
		{"another alert", rendered("npd", "Other", `problem_gauge == 1`), false},
		{"another rule file", rendered("ksm", "Condition", `problem_gauge == 1`), false},
	} {
		if got := u.applies(c.rr); got != c.want {
			t.Errorf("%s: applies %v, want %v", c.name, got, c.want)
		}
	}
}
