package fluentd_test

import (
	"fmt"
	"regexp"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentbit"
	"github.com/vigil-stack/vigil/generate/fluentd"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func withFluentd(t *testing.T, name string) *env.Environment {
	e := stacktest.Example(t, name)
	e.Logging.Agent.Fluentd.Enabled = true
	return e
}

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := fluentd.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestGenerate(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			if n := len(generate(t, e).Resources()); n != 0 {
				t.Errorf("the aggregator is off in every example but generates %d objects", n)
			}
		})
	}
	// The aggregator is off in every example; its golden file is prod's
	// with it switched on.
	e := withFluentd(t, "prod")
	s := generate(t, e)
	stacktest.Check(t, s)
	stacktest.Golden(t, "prod", fluentd.Component+"-enabled", s)
	dep := stacktest.FindNamed[*appsv1.Deployment](t, s, e.Logging.Namespace, fluentd.Name)
	if int(*dep.Spec.Replicas) != e.Logging.Agent.Fluentd.Replicas {
		t.Errorf("replicas %d", *dep.Spec.Replicas)
	}
	for _, r := range s.Resources() {
		if r.Layer != stack.Content {
			t.Errorf("%s in layer %s", r.Object.GetName(), r.Layer)
		}
	}
}

// directive is a parsed configuration section.
type directive struct {
	name, arg string
	params    map[string]string
	children  []*directive
}

// parse reads Fluentd's configuration syntax back.
func parse(t *testing.T, text string) []*directive {
	t.Helper()
	root := &directive{}
	stackOf := []*directive{root}
	open := regexp.MustCompile(`^<([a-z_]+)(?: (.+))?>$`)
	for i, line := range strings.Split(strings.TrimSpace(text), "\n") {
		line = strings.TrimSpace(line)
		top := stackOf[len(stackOf)-1]
		switch {
		case line == "":
		case strings.HasPrefix(line, "</"):
			if line != "</"+top.name+">" {
				t.Fatalf("line %d: %s closes <%s>", i+1, line, top.name)
			}
			stackOf = stackOf[:len(stackOf)-1]
		case strings.HasPrefix(line, "<"):
			m := open.FindStringSubmatch(line)
			if m == nil {
				t.Fatalf("line %d: bad directive %q", i+1, line)
			}
			d := &directive{name: m[1], arg: m[2], params: map[string]string{}}
			top.children = append(top.children, d)
			stackOf = append(stackOf, d)
		default:
			k, v, ok := strings.Cut(line, " ")
			if !ok || len(stackOf) == 1 {
				t.Fatalf("line %d: parameter outside a directive: %q", i+1, line)
			}
			if _, dup := top.params[k]; dup {
				t.Fatalf("line %d: %s set twice", i+1, k)
			}
			top.params[k] = v
		}
	}
	if len(stackOf) != 1 {
		t.Fatalf("unclosed <%s>", stackOf[len(stackOf)-1].name)
	}
	return root.children
}

// fluentdMatch implements Fluentd's tag patterns: * is one tag part, **
// zero or more.
func fluentdMatch(pattern, tag string) bool {
	var re strings.Builder
	re.WriteString("^")
	parts := strings.Split(pattern, ".")
	for i, p := range parts {
		switch p {
		case "**":
			if i == 0 {
				re.WriteString(`(?:[^.]+(?:\.[^.]+)*)?`)
			} else {
				re.WriteString(`(?:\.[^.]+)*`)
			}
			continue
		case "*":
			p = `[^.]+`
		default:
			p = regexp.QuoteMeta(p)
		}
		if i > 0 {
			re.WriteString(`\.`)
		}
		re.WriteString(p)
	}
	re.WriteString("$")
	return regexp.MustCompile(re.String()).MatchString(tag)
}

// Parameters of the plugins used (fluentd core, fluent-plugin-prometheus,
// fluent-plugin-elasticsearch 6.0's elasticsearch_data_stream).
var known = map[string]map[string]bool{
	"system":                    set("log_level"),
	"forward":                   set("@type", "@id", "bind", "port"),
	"prometheus":                set("@type", "@id", "bind", "port", "metrics_path"),
	"prometheus_output_monitor": set("@type", "@id"),
	"null":                      set("@type"),
	"elasticsearch_data_stream": set("@type", "@id", "data_stream_name", "data_stream_template_name", "data_stream_ilm_name",
		"host", "port", "scheme", "ssl_verify", "ca_file", "user", "password", "reload_connections", "reload_on_failure",
		"reconnect_on_error", "request_timeout", "suppress_type_name", "log_es_400_reason"),
	"file": set("@type", "path", "flush_mode", "flush_interval", "flush_thread_count", "chunk_limit_size", "total_limit_size",
		"retry_type", "retry_max_interval", "retry_timeout", "overflow_action"),
}

func set(ks ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m
}

func checkParams(t *testing.T, d *directive) {
	t.Helper()
	typ := d.params["@type"]
	if d.name == "system" {
		typ = "system"
	}
	if d.name != "label" {
		table, ok := known[typ]
		if !ok {
			t.Errorf("<%s %s>: no parameter table for @type %q", d.name, d.arg, typ)
		}
		for k := range d.params {
			if !table[k] {
				t.Errorf("<%s %s>: %s is not a parameter of %s", d.name, d.arg, k, typ)
			}
		}
	}
	for _, c := range d.children {
		checkParams(t, c)
	}
}

// TestConfigParsesBack follows every Fluent Bit input through the
// aggregator to its data stream.
func TestConfigParsesBack(t *testing.T) {
	for _, name := range []string{"dev", "prod"} {
		t.Run(name, func(t *testing.T) {
			e := withFluentd(t, name)
			s := generate(t, e)
			cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, e.Logging.Namespace, fluentd.Name)
			ds := parse(t, cm.Data["fluent.conf"])
			var matches []*directive
			for _, d := range ds {
				checkParams(t, d)
				switch {
				case d.name == "source" && d.params["@type"] == "forward":
					if d.params["port"] != fmt.Sprint(fluentd.ForwardPort) {
						t.Errorf("forward source on %s", d.params["port"])
					}
				case d.name == "match":
					matches = append(matches, d)
				}
			}
			streams, err := elasticsearch.Streams(e)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := fluentbit.BuildConfig(e)
			if err != nil {
				t.Fatal(err)
			}
			inputs := cfg.Pipeline.Inputs
			if e.EventsEnabled() {
				// Kubernetes events come from the single events agent.
				ev, err := fluentbit.BuildEventsConfig(e)
				if err != nil {
					t.Fatal(err)
				}
				inputs = append(inputs, ev.Pipeline.Inputs...)
			}
			if len(inputs) != len(streams) {
				t.Fatalf("%d agent inputs for %d streams", len(inputs), len(streams))
			}
			for _, in := range inputs {
				tag := strings.Replace(in.Tag, "*", "var.log.containers.app-7d9_ns_app-0123.log", 1)
				var hit []*directive
				for _, m := range matches {
					if fluentdMatch(m.arg, tag) {
						hit = append(hit, m)
					}
				}
				if len(hit) != 1 {
					t.Errorf("tag %s reaches %d matches", tag, len(hit))
					continue
				}
				st, _ := elasticsearch.StreamOf(e, in.Alias)
				p := hit[0].params
				if p["data_stream_name"] != st.DataStream || p["data_stream_template_name"] != st.Template || p["data_stream_ilm_name"] != st.Policy {
					t.Errorf("%s goes to %v", in.Alias, p)
				}
				if p["password"] != `"#{ENV['ES_PASSWORD']}"` || p["ssl_verify"] != "true" || p["host"] != elasticsearch.Host(e) {
					t.Errorf("%s connection %v", in.Alias, p)
				}
				buf := hit[0].children[0]
				if buf.name != "buffer" || !strings.HasPrefix(buf.params["path"], "/fluentd/buffer/") || buf.params["total_limit_size"] != e.Logging.Agent.StorageLimit {
					t.Errorf("%s buffer %v", in.Alias, buf.params)
				}
			}
		})
	}
}

func TestFluentdMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, tag string
		want         bool
	}{
		{"kube.**", "kube.var.log.containers.a.log", true},
		{"kube.**", "kube", true},
		{"kube.**", "node.x", false},
		{"kube.*", "kube.a.b", false},
		{"**", "anything.at.all", true},
	} {
		if got := fluentdMatch(tc.pattern, tc.tag); got != tc.want {
			t.Errorf("%s ~ %s = %v", tc.pattern, tc.tag, got)
		}
	}
}

func TestRenderRefusesWhatItCannotWrite(t *testing.T) {
	for _, d := range []fluentd.Directive{
		{Name: "match", Arg: "**", Params: []fluentd.Param{fluentd.P("path", "a\nb")}},
		{Name: "match", Arg: "**", Params: []fluentd.Param{fluentd.P("password", "x#y")}},
		{Name: "match", Arg: "**", Params: []fluentd.Param{fluentd.Q("password", `x"y`)}},
		{Name: "match", Arg: "**", Params: []fluentd.Param{fluentd.P("bad key", "v")}},
		{Name: "ma tch"},
	} {
		if out, err := fluentd.Render([]fluentd.Directive{d}); err == nil {
			t.Errorf("Render(%+v) = %q, want an error", d, out)
		}
	}
	out, err := fluentd.Render([]fluentd.Directive{{Name: "source", Params: []fluentd.Param{fluentd.P("@type", "forward"), fluentd.Q("password", "#{ENV['X']}")}}})
	if err != nil || out != "<source>\n  @type forward\n  password \"#{ENV['X']}\"\n</source>\n" {
		t.Errorf("Render = %q, %v", out, err)
	}
}
