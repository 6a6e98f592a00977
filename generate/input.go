package generate

import (
	"errors"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/spark"
	"github.com/vigil-stack/vigil/generate/stack"
)

// The checks in this file hold the user's values to the grammars of the
// programs that read them later: Prometheus's PromQL parser and rule
// validation, its duration and size parsers, Kubernetes's label and DNS
// grammars and quantities. A value that passes here is one those programs
// accept, so `gen validate` refuses what a cluster would refuse, at the
// line that holds it, instead of rendering a tree that fails to apply or
// that Prometheus refuses to load.

// promQL is the parser of the Prometheus Vigil deploys, with its default
// options: an expression it refuses is one the cluster's Prometheus
// refuses.
var promQL = parser.NewParser(parser.Options{})

// ruleLabelScheme is the grammar of label names in rules and external
// labels. Prometheus 3 accepts any UTF-8 name, but Alertmanager matchers,
// Grafana and older remote-write receivers read the classic grammar, so
// Vigil keeps to it.
const ruleLabelScheme = model.LegacyValidation

// reservedExternalLabels are set by Vigil (cluster) or by the Prometheus
// Operator (prometheus, prometheus_replica): a user value would replace
// the one every alert, dashboard and deduplication relies on.
var reservedExternalLabels = []string{prometheus.ClusterLabel, "prometheus", "prometheus_replica"}

// reservedNamespaces belong to Kubernetes or Flux: a Namespace object of
// that name in the tree would hand it to Flux, which could prune it.
var reservedNamespaces = []string{"default", "flux-system", "kube-node-lease", "kube-public", "kube-system"}

func checkRuleGroups(e *env.Environment) []env.Issue {
	var out []env.Issue
	for _, g := range env.SortedKeys(e.Monitoring.Rules) {
		group := e.Monitoring.Rules[g]
		at := func(f ...string) []string { return append(p("monitoring", "rules", g), f...) }
		if group.Interval != "" {
			out = append(out, promDuration(at("interval"), group.Interval)...)
		}
		if len(group.Alerts) == 0 {
			// The generator refuses it too, but only at render time.
			out = append(out, env.Errorf(at("alerts"), "a rule group needs at least one alert: Prometheus refuses an empty group; add one or remove the group"))
		}
		for _, a := range env.SortedKeys(group.Alerts) {
			alert := group.Alerts[a]
			at := func(f ...string) []string { return append(at("alerts", a), f...) }
			if _, err := promQL.ParseExpr(alert.Expr); err != nil {
				out = append(out, env.Errorf(at("expr"), "not a PromQL expression Prometheus accepts: "+oneLine(err.Error())))
			}
			if alert.For != "" {
				out = append(out, promDuration(at("for"), alert.For)...)
			}
			for _, k := range env.SortedKeys(alert.Labels) {
				v := alert.Labels[k]
				switch {
				case !ruleLabelScheme.IsValidLabelName(k):
					out = append(out, env.Errorf(at("labels", k), "not a Prometheus label name: use letters, digits and underscores, not starting with a digit"))
					continue
				case k == "severity":
					out = append(out, env.Errorf(at("labels", k), "the severity label comes from the severity field, which would silently win; set severity instead"))
					continue
				case k == model.AlertNameLabel || strings.HasPrefix(k, "__"):
					out = append(out, env.Errorf(at("labels", k), fmt.Sprintf("label %s is Prometheus's own (the alert's name, or internal); remove it", k)))
					continue
				}
				out = append(out, ruleTemplate(at("labels", k), a, map[string]string{k: v}, nil)...)
			}
			annotations := map[string][]string{"summary": at("summary"), "description": at("description"), "runbook_url": at("runbook")}
			values := map[string]string{"summary": alert.Summary, "description": alert.Description, "runbook_url": alert.Runbook}
			for _, k := range env.SortedKeys(annotations) {
				if values[k] != "" && (k != "description" || alert.Description != alert.Summary) {
					out = append(out, ruleTemplate(annotations[k], a, nil, map[string]string{k: values[k]})...)
				}
			}
		}
	}
	return out
}

// ruleTemplate checks one label or annotation as Prometheus does when it
// loads a rule file: the text must parse as a Go template with
// Prometheus's functions.
func ruleTemplate(path []string, alert string, labels, annotations map[string]string) []env.Issue {
	r := rulefmt.Rule{Alert: alert, Expr: "vector(1)", Labels: labels, Annotations: annotations}
	var out []env.Issue
	for _, we := range r.Validate(rulefmt.RuleNode{}, ruleLabelScheme, promQL) {
		out = append(out, env.Errorf(path, "Prometheus refuses this rule: "+oneLine(we.Error())+"; Prometheus expands {{ }} as a template: write {{ \"{{\" }} for a literal brace pair"))
	}
	return out
}

// promDuration checks a duration as Prometheus and Alertmanager parse it.
func promDuration(path []string, s string) []env.Issue {
	if _, err := model.ParseDuration(s); err != nil {
		// Not err itself: it repeats the value.
		return []env.Issue{env.Errorf(path, "not a duration Prometheus's parser accepts (Vigil reads every duration with it): use numbers and units from largest to smallest, at most 292 years in all, e.g. 30s, 15m, 90d")}
	}
	return nil
}

// goDuration checks a duration as Go's time.ParseDuration reads it
// (Flux, Tempo, Alertmanager's retention flag).
func goDuration(path []string, s string) []env.Issue {
	if _, err := time.ParseDuration(s); err != nil {
		return []env.Issue{env.Errorf(path, "not a duration Go programs accept: use h, m, s or ms units and stay below 2562047h")}
	}
	return nil
}

// operatorGoDurationPattern is the Prometheus Operator's GoDuration, the
// CRD's pattern for Alertmanager's retention.
var operatorGoDurationPattern = regexp.MustCompile(`^(0|(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`)

func operatorGoDuration(path []string, s string) []env.Issue {
	if _, err := time.ParseDuration(s); err != nil || !operatorGoDurationPattern.MatchString(s) {
		return []env.Issue{env.Errorf(path, "the Prometheus Operator reads this as a Go duration: use h, m, s or ms (e.g. 120h)")}
	}
	return nil
}

func checkDurations(e *env.Environment) []env.Issue {
	var out []env.Issue
	m := e.Monitoring
	out = append(out, promDuration(p("monitoring", "prometheus", "retention"), m.Prometheus.Retention)...)
	out = append(out, promDuration(p("monitoring", "prometheus", "scrapeInterval"), m.Prometheus.ScrapeInterval)...)
	out = append(out, operatorGoDuration(p("monitoring", "alertmanager", "retention"), m.Alertmanager.Retention)...)
	// Alertmanager's config loader runs too (checkAlertmanagerLoads); this
	// check names the field and says what to do.
	for _, f := range []struct {
		name, v string
		nonZero bool
	}{{"groupWait", m.Alertmanager.GroupWait, false}, {"groupInterval", m.Alertmanager.GroupInterval, true}, {"repeatInterval", m.Alertmanager.RepeatInterval, true}} {
		at := p("monitoring", "alertmanager", f.name)
		if issues := promDuration(at, f.v); len(issues) > 0 {
			out = append(out, issues...)
		} else if d, _ := model.ParseDuration(f.v); f.nonZero && d == 0 {
			out = append(out, env.Errorf(at, "Alertmanager refuses a zero "+f.name+" (its config loader: cannot be zero); use at least 1m"))
		}
	}
	out = append(out, promDuration(p("pureExporter", "interval"), e.PureExporter.Interval)...)
	out = append(out, promDuration(p("pureExporter", "slowInterval"), e.PureExporter.SlowInterval)...)
	// Elasticsearch and Spark know no weeks or years; their generators
	// convert those to days, which stays in range when Prometheus's parser
	// (y = 365d) accepts the duration.
	out = append(out, promDuration(p("logging", "elasticsearch", "retention"), e.Logging.Elasticsearch.Retention)...)
	out = append(out, promDuration(p("audit", "retention"), e.Audit.Retention)...)
	out = append(out, promDuration(p("spark", "historyServer", "cleaner", "maxAge"), e.Spark.HistoryServer.Cleaner.MaxAge)...)
	out = append(out, goDuration(p("tracing", "tempo", "retention"), e.Tracing.Tempo.Retention)...)
	for _, f := range []struct{ name, v string }{{"interval", e.Flux.Interval}, {"timeout", e.Flux.Timeout}, {"retryInterval", e.Flux.RetryInterval}} {
		out = append(out, goDuration(p("flux", f.name), f.v)...)
	}
	return out
}

// checkSizes checks the Prometheus retention size as Prometheus parses it.
func checkSizes(e *env.Environment) []env.Issue {
	rs := e.Monitoring.Prometheus.RetentionSize
	if rs == "" {
		return nil
	}
	if _, ok := retentionBytes(rs); !ok {
		return []env.Issue{env.Errorf(p("monitoring", "prometheus", "retentionSize"), "not a size Prometheus accepts: use a number and a unit up to EB that stays below 8EB, e.g. 850GB")}
	}
	return nil
}

// retentionBytes parses a Prometheus size as Prometheus does
// (units.ParseBase2Bytes: KB is 1024 bytes); false when it does not parse
// or does not fit the int64 Prometheus keeps it in.
func retentionBytes(s string) (int64, bool) {
	n, err := units.ParseBase2Bytes(s)
	if err != nil || n <= 0 {
		return 0, false
	}
	// ParseBase2Bytes multiplies in float64: a value past the int64 range
	// converts to garbage rather than failing, so the magnitude is
	// recomputed from the digits and the unit.
	i := strings.IndexFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return 0, false
	}
	digits, err := strconv.ParseFloat(s[:i], 64)
	shift, known := map[string]float64{"B": 0, "KB": 10, "MB": 20, "GB": 30, "TB": 40, "PB": 50, "EB": 60}[s[i:]]
	if err != nil || !known || digits*math.Exp2(shift) >= math.MaxInt64 {
		return 0, false
	}
	return int64(n), true
}

// checkLabels applies the Prometheus label grammar to external labels and
// the Kubernetes one to namespace labels, and keeps the labels Vigil owns.
func checkLabels(e *env.Environment) []env.Issue {
	var out []env.Issue
	for _, k := range env.SortedKeys(e.Monitoring.Prometheus.ExternalLabels) {
		at := p("monitoring", "prometheus", "externalLabels", k)
		switch {
		case !ruleLabelScheme.IsValidLabelName(k) || strings.HasPrefix(k, "__"):
			out = append(out, env.Errorf(at, "not a Prometheus label name: use letters, digits and underscores, not starting with a digit or __"))
		case slices.Contains(reservedExternalLabels, k):
			out = append(out, env.Errorf(at, fmt.Sprintf("external label %s is set by Vigil or the Prometheus Operator (cluster is cluster.name), and every alert and dashboard relies on it; remove it", k)))
		}
	}
	own := stack.Labels("x", "x", "x")
	for _, k := range env.SortedKeys(e.Cluster.Labels) {
		at := p("cluster", "labels", k)
		if badRune(k, false) != "" {
			continue // checkText reports it
		}
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			out = append(out, env.Errorf(at, "not a Kubernetes label key: "+strings.Join(errs, "; ")))
			continue
		}
		if _, ok := own[k]; ok || k == stack.LabelEnvironment || strings.HasPrefix(k, "vigil.dev/") ||
			strings.HasPrefix(k, "pod-security.kubernetes.io/") || k == "kubernetes.io/metadata.name" {
			out = append(out, env.Errorf(at, fmt.Sprintf("label %s is set by Vigil or Kubernetes on the namespaces it renders (the environment, the recommended labels, Pod Security); remove it", k)))
		}
	}
	return out
}

// checkHosts requires every Ingress host and the cluster domain to be a DNS
// name whose labels have at most 63 characters, as the Ingress API does.
func checkHosts(e *env.Environment) []env.Issue {
	var out []env.Issue
	check := func(path []string, host string) {
		if host == "" {
			return
		}
		if len(host) > 253 {
			out = append(out, env.Errorf(path, "a DNS name has at most 253 characters"))
			return
		}
		for i, l := range strings.Split(host, ".") {
			if errs := validation.IsDNS1123Label(l); len(errs) > 0 {
				out = append(out, env.Errorf(path, fmt.Sprintf("label %d of the host name is not a DNS label: %s", i+1, strings.Join(errs, "; "))))
				return
			}
		}
	}
	check(p("cluster", "domain"), e.Cluster.Domain)
	// The Spark Operator expands the format per application and makes its
	// host an Ingress rule: check it with sample names substituted.
	if f := e.Spark.UI.IngressURLFormat; f != "" {
		at := p("spark", "ui", "ingressUrlFormat")
		if !strings.Contains(f, "{{$appName}}") {
			out = append(out, env.Errorf(at, "the format must contain {{$appName}}, or every application would get the same Ingress host"))
		}
		host, _, _ := strings.Cut(strings.NewReplacer("{{$appName}}", "app", "{{$appNamespace}}", "ns", "{{$appId}}", "id").Replace(f), "/")
		if strings.Contains(host, ":") {
			host = host[:strings.Index(host, ":")]
		}
		check(at, host)
	}
	walk(reflect.ValueOf(e).Elem(), nil, func(path []string, v reflect.Value) {
		if in, ok := v.Interface().(env.Ingress); ok {
			check(append(path, "host"), in.Host)
		}
	})
	return out
}

// checkResources requires every limit to be at least its request, which
// the API server enforces on each pod (a workload whose pods it refuses
// never starts), and the Elasticsearch heap to fit in the node's memory.
func checkResources(e *env.Environment) []env.Issue {
	var out []env.Issue
	walk(reflect.ValueOf(e).Elem(), nil, func(path []string, v reflect.Value) {
		r, ok := v.Interface().(env.Resources)
		if !ok {
			return
		}
		for _, q := range []struct{ name, req, lim string }{{"cpu", r.Requests.CPU, r.Limits.CPU}, {"memory", r.Requests.Memory, r.Limits.Memory}} {
			if q.req == "" || q.lim == "" {
				continue
			}
			req, err1 := resource.ParseQuantity(q.req)
			lim, err2 := resource.ParseQuantity(q.lim)
			if err1 == nil && err2 == nil && lim.Cmp(req) < 0 {
				out = append(out, env.Errorf(append(path, "limits", q.name), fmt.Sprintf("the %s limit %s is below its request %s; Kubernetes refuses such a pod: raise the limit or lower the request", q.name, q.lim, q.req)))
			}
		}
	})
	return out
}

// checkAlertmanagerLoads loads the alertmanager.yaml the operator would
// write for e with Alertmanager's own config.Load, the loader the tests
// use on the examples, and reports a refusal at the field it concerns.
func checkAlertmanagerLoads(e *env.Environment) []env.Issue {
	if !e.PrometheusEnabled() {
		return nil
	}
	_, err := alertmanager.LoadConfig(e)
	var le *alertmanager.LoadError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &le):
		return []env.Issue{env.Errorf(le.Path, "Alertmanager's config loader refuses the configuration Vigil builds from this: "+
			oneLine(le.Err.Error())+"; change the value so that Alertmanager accepts it")}
	default:
		// The generator's own refusals (unknown receivers, the reserved
		// receiver name, unparsable resources) have Go checks that name
		// their fields.
		return nil
	}
}

// checkRenderLimits refuses, at the field, what a generator would refuse
// only at render time.
func checkRenderLimits(e *env.Environment) []env.Issue {
	var out []env.Issue
	if _, ok := e.Monitoring.Alertmanager.Slack.Receivers[alertmanager.NullReceiver]; ok {
		out = append(out, env.Errorf(p("monitoring", "alertmanager", "slack", "receivers", alertmanager.NullReceiver),
			fmt.Sprintf("the receiver name %q is Vigil's, for the alerts it drops (Watchdog, InfoInhibitor); choose another name", alertmanager.NullReceiver)))
	}
	if e.Logging.Enabled {
		v := strings.SplitN(e.Logging.Elasticsearch.Version, ".", 3)
		major, _ := strconv.Atoi(v[0])
		minor := 0
		if len(v) > 1 {
			minor, _ = strconv.Atoi(v[1])
		}
		if major < 7 || (major == 7 && minor < 13) {
			out = append(out, env.Errorf(p("logging", "elasticsearch", "version"), "Vigil's data streams, composable templates and lifecycle policies need Elasticsearch 7.13 or later"))
		}
	}
	if e.SparkHistoryEnabled() {
		if res, err := e.Spark.HistoryServer.Resources.Requirements(); err == nil {
			if _, err := spark.DaemonMemory(res); err != nil {
				out = append(out, env.Errorf(p("spark", "historyServer", "resources", "limits", "memory"), "the History Server's heap is three quarters of this limit and needs at least 256Mi: set at least 512Mi"))
			}
		}
	}
	return out
}

// checkNamespaceNames refuses the namespaces of Kubernetes and Flux as
// namespaces Vigil renders.
func checkNamespaceNames(e *env.Environment) []env.Issue {
	var out []env.Issue
	for ns, field := range renderedNamespaces(e) {
		if slices.Contains(reservedNamespaces, ns) {
			out = append(out, env.Errorf(strings.Split(field, "."), fmt.Sprintf("namespace %s belongs to Kubernetes or Flux; Vigil would render it as its own Namespace, which Flux could then prune: choose another name", ns)))
		}
	}
	if e.Spark.Enabled {
		for i, ns := range e.Spark.Operator.JobNamespaces {
			if slices.Contains(reservedNamespaces, ns) && !slices.Contains(e.Cluster.ExistingNamespaces, ns) {
				out = append(out, env.Errorf(p("spark", "operator", "jobNamespaces", strconv.Itoa(i)), fmt.Sprintf("namespace %s belongs to Kubernetes or Flux; run Spark jobs in a namespace of their own", ns)))
			}
		}
	}
	slices.SortFunc(out, func(a, b env.Issue) int { return strings.Compare(env.PathString(a.Path), env.PathString(b.Path)) })
	return out
}

// multiLine are the fields whose text may span lines: Vigil writes them
// only through YAML encoders, Prometheus shows descriptions as written and
// PromQL treats a newline in an expression as white space (long
// expressions read best over several lines).
var multiLine = [][]string{
	{"monitoring", "rules", "*", "alerts", "*", "description"},
	{"monitoring", "rules", "*", "alerts", "*", "expr"},
}

// checkText refuses control characters and invalid UTF-8 in every string
// and map key of the environment. Fluent Bit, Fluentd, kube-apiserver's
// flags and the README Vigil writes are line-based: a newline in a value
// would start a new setting or document there. Reported here, at the line
// of CUE, it is the user's mistake, not a failure inside a generator.
func checkText(e *env.Environment) []env.Issue {
	var out []env.Issue
	walkStrings(reflect.ValueOf(e).Elem(), nil, func(path []string, s string, key bool) {
		allowNL := !key && slices.ContainsFunc(multiLine, func(m []string) bool { return matchPath(m, path) })
		if bad := badRune(s, allowNL); bad != "" {
			what := "value"
			if key {
				what = "name"
			}
			out = append(out, env.Errorf(path, fmt.Sprintf("the %s holds %s; configuration files read it as a new line or setting: remove it", what, bad)))
		}
	})
	return out
}

func badRune(s string, allowNL bool) string {
	if !utf8.ValidString(s) {
		return "bytes that are not UTF-8"
	}
	for _, r := range s {
		if allowNL && (r == '\n' || r == '\t') {
			continue
		}
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || r == '\ufeff' {
			return fmt.Sprintf("the control character %U", r)
		}
	}
	return ""
}

func matchPath(pattern, path []string) bool {
	if len(pattern) != len(path) {
		return false
	}
	for i := range pattern {
		if pattern[i] != "*" && pattern[i] != path[i] {
			return false
		}
	}
	return true
}

// walk calls fn for every struct, map entry and list element reachable from
// v, with its CUE path (the json names of env's types), in a fixed order.
func walk(v reflect.Value, path []string, fn func(path []string, v reflect.Value)) {
	switch v.Kind() {
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walk(v.Elem(), path, fn)
		}
		return
	case reflect.Struct:
		fn(path, v)
		t := v.Type()
		for i := range t.NumField() {
			if name := jsonName(t.Field(i)); name != "" {
				walk(v.Field(i), append(slices.Clip(path), name), fn)
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			walk(v.MapIndex(k), append(slices.Clip(path), k.String()), fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walk(v.Index(i), append(slices.Clip(path), strconv.Itoa(i)), fn)
		}
	}
}

// walkStrings calls fn for every string value and map key reachable from v.
func walkStrings(v reflect.Value, path []string, fn func(path []string, s string, key bool)) {
	switch v.Kind() {
	case reflect.String:
		fn(path, v.String(), false)
	case reflect.Pointer, reflect.Interface:
		if !v.IsNil() {
			walkStrings(v.Elem(), path, fn)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if name := jsonName(t.Field(i)); name != "" {
				walkStrings(v.Field(i), append(slices.Clip(path), name), fn)
			}
		}
	case reflect.Map:
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			p := append(slices.Clip(path), k.String())
			if k.Kind() == reflect.String {
				fn(p, k.String(), true)
			}
			walkStrings(v.MapIndex(k), p, fn)
		}
	case reflect.Slice:
		for i := range v.Len() {
			walkStrings(v.Index(i), append(slices.Clip(path), strconv.Itoa(i)), fn)
		}
	}
}

func jsonName(f reflect.StructField) string {
	if !f.IsExported() {
		return ""
	}
	name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
	if name == "-" {
		return ""
	}
	if name == "" {
		return f.Name
	}
	return name
}

// oneLine keeps a parser's message on the diagnostic's line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }
