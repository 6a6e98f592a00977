package generate

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"cuelang.org/go/cue"
	yamlv3 "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/overlays"
)

// hostile are values that break a line-based or document-based format
// when written into it as text: document separators, comments, quotes,
// newlines, control characters and the expansion syntaxes of Fluent Bit,
// Fluentd and Flux. Each carries the marker, so that any piece of it that
// reaches the output can be found.
var hostile = []string{
	"zq1 ---",
	"zq2\n---\nkind: Policy\nrules: [{level: None}]",
	"zq3 # a comment?",
	`zq4 "double" 'single' \back`,
	"zq5\x00nul\x07bell\x1b[31m",
	"zq6\r\n</match>\n<match **>",
	"zq7 ${ES_PASSWORD} #{ENV['HOME']} $(HOME)",
	"zq8: {a: b}, [c]",
	"zq9\u2028line separator",
}

var marker = regexp.MustCompile(`zq[0-9]`)

// TestFreeTextCannotInject takes every string field of the schema that
// accepts free text (found by probing the schema, not listed by hand),
// sets it to each hostile value in every example, and requires either a
// refusal by the checks at that field, or a render in which every embedded
// configuration file (YAML, JSON, properties, Fluentd) still parses as one
// document and holds the value intact, never split into settings of its
// own.
func TestFreeTextCannotInject(t *testing.T) {
	def, err := schemaDefinition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var free [][]string
	freeText(def, nil, &free)
	if len(free) < 8 {
		t.Fatalf("found only %d free-text fields: %v", len(free), free)
	}
	reached := map[string]bool{}
	for _, name := range vigil.ExampleNames {
		base, err := LoadFS(context.Background(), vigil.Examples, "environments/"+name)
		if err != nil {
			t.Fatal(err)
		}
		baseline := embeddedFiles(t, base.Spec)
		for _, h := range hostile {
			var accepted [][]string
			for _, f := range free {
				for _, c := range concretePaths(reflect.ValueOf(base.Spec).Elem(), f, nil, h) {
					one := cloneSpec(t, base.Spec)
					if !setOne(reflect.ValueOf(one).Elem(), c, h) {
						t.Fatalf("cannot set %v", c)
					}
					if refusedAt(Check(one), c) {
						continue
					}
					if badRune(h, false) != "" && !matchPath(multiLine[0], c) {
						t.Errorf("%s: %s = %q: a control character is accepted", name, env.PathString(c), h)
						continue
					}
					accepted = append(accepted, c)
				}
			}
			// Everything accepted goes in at once: one build per value.
			spec := cloneSpec(t, base.Spec)
			for _, c := range accepted {
				setOne(reflect.ValueOf(spec).Elem(), c, h)
			}
			if name == "prod" {
				compiles(t, spec, h)
			}
			for key, body := range embeddedFiles(t, spec) {
				checkEmbedded(t, name, key, body, baseline[key], h)
				if slices.ContainsFunc(intactForms(h), func(f string) bool { return strings.Contains(body, f) }) {
					reached[key] = true
				}
			}
		}
	}
	if len(reached) == 0 {
		t.Fatal("no hostile value reached an embedded file: the test proves nothing")
	}
	t.Logf("%d free-text fields reached %d files: %v", len(free), len(reached), slices.Sorted(maps.Keys(reached)))
}

// compiles requires the overlay compiler to build spec's objects into a
// tree that builds back into them: a value the checks accept must never
// surface later as a verification failure (which reads as a Vigil bug).
func compiles(t *testing.T, spec *env.Environment, h string) {
	t.Helper()
	b, err := BaseEnvironment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base, err := Build(b.Spec)
	if err != nil {
		t.Fatal(err)
	}
	set, err := Build(spec)
	if err != nil {
		t.Fatal(err)
	}
	flux, err := fluxOptions(spec)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := overlays.Compile(context.Background(), base, []overlays.Environment{{Name: spec.Name, Objects: set, Flux: flux}}); err != nil {
		t.Errorf("with %q in every free-text field the checks accept, the tree does not compile: %v", h, err)
	}
}

// checkEmbedded parses one embedded file back. A YAML or JSON file is one
// document; a line-based file has as many lines as without the value; and
// wherever a piece of the hostile value appears, the whole value is there
// (escaped as the format needs), not a piece split off into a setting.
func checkEmbedded(t *testing.T, example, key, body, baseline, h string) {
	t.Helper()
	switch {
	case strings.HasSuffix(key, ".yaml") || strings.HasSuffix(key, ".yml") || strings.HasSuffix(key, ".json"):
		dec := yamlv3.NewDecoder(strings.NewReader(body))
		var docs int
		for {
			var n yamlv3.Node
			err := dec.Decode(&n)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("%s: %s does not parse with %q in it: %v", example, key, h, err)
				return
			}
			docs++
			// A ConfigMap's or Secret's object holds whole files as
			// scalars; its files are checked on their own.
			if marker.MatchString(body) && !strings.HasSuffix(key, "/ConfigMap.json") && !strings.HasSuffix(key, "/Secret.json") {
				leavesIntact(t, example, key, &n, h)
			}
		}
		if docs != 1 {
			t.Errorf("%s: %s holds %d YAML documents with %q in it", example, key, docs, h)
		}
	case strings.HasSuffix(key, ".conf"):
		if strings.Count(body, "\n") != strings.Count(baseline, "\n") {
			t.Errorf("%s: %s has %d lines with %q in it, %d without", example, key, strings.Count(body, "\n"), h, strings.Count(baseline, "\n"))
		}
	}
}

// leavesIntact requires every scalar holding the marker to hold the whole
// hostile value.
func leavesIntact(t *testing.T, example, key string, n *yamlv3.Node, h string) {
	if n.Kind == yamlv3.ScalarNode && marker.MatchString(n.Value) {
		if !slices.ContainsFunc(intactForms(h), func(f string) bool { return strings.Contains(n.Value, f) }) {
			t.Errorf("%s: %s: the value %q was split: a scalar holds %q", example, key, h, n.Value)
		}
		return
	}
	for _, c := range n.Content {
		leavesIntact(t, example, key, c, h)
	}
}

// intactForms are the ways a value may appear whole: as written, quoted
// for a regular expression, and with $ doubled where Grafana's
// provisioning would otherwise expand it as an environment variable.
func intactForms(h string) []string {
	var out []string
	for _, f := range []string{h, regexp.QuoteMeta(h)} {
		out = append(out, f, strings.ReplaceAll(f, "$", "$$"))
	}
	return out
}

// embeddedFiles builds spec and returns the data of every ConfigMap and
// Secret, by namespace/name/key, plus every object's JSON under its kind.
func embeddedFiles(t *testing.T, spec *env.Environment) map[string]string {
	t.Helper()
	s, err := Build(spec)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	out := map[string]string{}
	for _, r := range s.Resources() {
		o := r.Object
		id := o.GetNamespace() + "/" + o.GetName() + "/"
		switch c := o.(type) {
		case *corev1.ConfigMap:
			for k, v := range c.Data {
				out[id+k] = v
			}
		case *corev1.Secret:
			for k, v := range c.StringData {
				out[id+k] = v
			}
		}
		b, err := json.Marshal(o)
		if err != nil {
			t.Fatal(err)
		}
		out[id+reflect.TypeOf(o).Elem().Name()+".json"] = string(b)
	}
	return out
}

// freeText finds the string fields of the schema that accept a value with
// YAML, comment and quote syntax in it. A path element "*" is any key of
// a collection or any element of a list.
func freeText(v cue.Value, path []string, out *[][]string) {
	if len(path) > 12 {
		return
	}
	k := v.IncompleteKind()
	if k&cue.StringKind != 0 {
		probe := v.Context().Encode(`zq --- # "q' : [x]`)
		if v.Unify(probe).Validate(cue.Concrete(true)) == nil {
			*out = append(*out, slices.Clone(path))
		}
	}
	if k&cue.StructKind != 0 {
		if it, err := v.Fields(cue.Optional(true)); err == nil {
			for it.Next() {
				if !it.Selector().IsDefinition() {
					freeText(it.Value(), append(slices.Clip(path), it.Selector().Unquoted()), out)
				}
			}
		}
		if p := patternOf(v, "a"); p.Exists() {
			freeText(p, append(slices.Clip(path), "*"), out)
		}
	}
	if k&cue.ListKind != 0 {
		if e := v.LookupPath(cue.MakePath(cue.AnyIndex)); e.Exists() {
			freeText(e, append(slices.Clip(path), "*"), out)
		}
	}
}

// concretePaths lists the places in v that a schema path names: "*" is
// every existing entry of a map or list; a map or list of strings also
// gets a new entry, and a map of strings a new key equal to the value.
// Absent optional blocks stay absent: the example does not use them.
func concretePaths(v reflect.Value, path, at []string, value string) [][]string {
	if len(path) == 0 {
		if v.Kind() == reflect.String {
			return [][]string{at}
		}
		return nil
	}
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			return concretePaths(v.Elem(), path, at, value)
		}
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if jsonName(t.Field(i)) == path[0] {
				return concretePaths(v.Field(i), path[1:], append(slices.Clip(at), path[0]), value)
			}
		}
	case reflect.Map:
		if path[0] != "*" || v.Type().Key().Kind() != reflect.String {
			return nil
		}
		var out [][]string
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			out = append(out, concretePaths(v.MapIndex(k), path[1:], append(slices.Clip(at), k.String()), value)...)
		}
		if v.Type().Elem().Kind() == reflect.String && len(path) == 1 {
			out = append(out, append(slices.Clip(at), "zqkey"), append(slices.Clip(at), value))
		}
		return out
	case reflect.Slice:
		if path[0] != "*" {
			return nil
		}
		var out [][]string
		for i := range v.Len() {
			out = append(out, concretePaths(v.Index(i), path[1:], append(slices.Clip(at), strconv.Itoa(i)), value)...)
		}
		if v.Type().Elem().Kind() == reflect.String && len(path) == 1 {
			out = append(out, append(slices.Clip(at), strconv.Itoa(v.Len())))
		}
		return out
	}
	return nil
}

// setOne sets the string at a concrete path, adding the map entry or list
// element it names when missing.
func setOne(v reflect.Value, path []string, value string) bool {
	if len(path) == 0 {
		if v.Kind() != reflect.String {
			return false
		}
		v.SetString(value)
		return true
	}
	switch v.Kind() {
	case reflect.Pointer:
		return !v.IsNil() && setOne(v.Elem(), path, value)
	case reflect.Struct:
		t := v.Type()
		for i := range t.NumField() {
			if jsonName(t.Field(i)) == path[0] {
				return setOne(v.Field(i), path[1:], value)
			}
		}
	case reflect.Map:
		if v.IsNil() {
			v.Set(reflect.MakeMap(v.Type()))
		}
		k := reflect.ValueOf(path[0])
		e := reflect.New(v.Type().Elem()).Elem()
		if cur := v.MapIndex(k); cur.IsValid() {
			e.Set(cur)
		}
		if !setOne(e, path[1:], value) {
			return false
		}
		v.SetMapIndex(k, e)
		return true
	case reflect.Slice:
		i, err := strconv.Atoi(path[0])
		if err != nil {
			return false
		}
		if i == v.Len() {
			v.Set(reflect.Append(v, reflect.Zero(v.Type().Elem())))
		}
		return i < v.Len() && setOne(v.Index(i), path[1:], value)
	}
	return false
}

func refusedAt(issues []env.Issue, path []string) bool {
	for _, is := range issues {
		if !is.Warning && len(is.Path) >= len(path)-1 && slices.Equal(is.Path[:min(len(is.Path), len(path))], path[:min(len(is.Path), len(path))]) {
			return true
		}
	}
	return false
}

func cloneSpec(t *testing.T, e *env.Environment) *env.Environment {
	t.Helper()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var out env.Environment
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
