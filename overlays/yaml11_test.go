package overlays

import (
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	yaml2 "go.yaml.in/yaml/v2"
	yaml3 "go.yaml.in/yaml/v3"
)

// resolve11 is the type a YAML 1.1 reader (PyYAML, Psych, libyaml-based
// tools) gives a plain scalar, after the type repository at
// yaml.org/type: bool, int (base 2, 8, 10, 16, 60), float, null, timestamp,
// merge and value. Written independently of yaml11Ambiguous, so that one
// checks the other.
func resolve11(s string) string {
	switch s {
	case "y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO",
		"true", "True", "TRUE", "false", "False", "FALSE",
		"on", "On", "ON", "off", "Off", "OFF":
		return "bool"
	case "", "~", "null", "Null", "NULL":
		return "null"
	case "<<":
		return "merge"
	case "=":
		return "value" // PyYAML: "could not determine a constructor"
	}
	for kind, re := range types11 {
		if re.MatchString(s) {
			return kind
		}
	}
	return "str"
}

var types11 = map[string]*regexp.Regexp{
	"int": regexp.MustCompile(`^[-+]?(0b[01_]+|0[0-7_]+|0|[1-9][0-9_]*|0x[0-9a-fA-F_]+|[1-9][0-9_]*(:[0-5]?[0-9])+)$`),
	"float": regexp.MustCompile(`^([-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?` +
		`|[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]*|[-+]?\.(inf|Inf|INF)|\.(nan|NaN|NAN))$`),
	"timestamp": regexp.MustCompile(`^\d{4}-\d\d?-\d\d?(([Tt]|[ \t]+)\d\d?:\d\d:\d\d(\.\d*)?([ \t]*(Z|[-+]\d\d?(:\d\d)?))?)?$`),
}

// Strings that YAML 1.1 or 1.2 readers would take for something else come
// out quoted, and read back as the same string.
func TestYAMLScalarsReadTheSameEverywhere(t *testing.T) {
	for _, s := range []string{"=", "<<", "~", "", "yes", "No", "ON", "off", "y", "N", "null", "true",
		"0777", "0b101", "0x1F", "1_000", "1:20", "190:20:30.15", "1.5", ".5", "1e3", "0o17", ".inf", ".NaN",
		"2026-11-30", "2026-11-30T10:00:00Z", "=~", "!=", "- x", "a: b", "#x", "plain", "10Gi", "v1.2.3"} {
		b, err := toYAML(map[string]any{"k": s})
		if err != nil {
			t.Fatal(err)
		}
		var n yaml3.Node
		if err := yaml3.Unmarshal(b, &n); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		v := n.Content[0].Content[1]
		if v.Value != s {
			t.Errorf("%q reads back as %q", s, v.Value)
		}
		if v.Style == 0 && resolve11(s) != "str" {
			t.Errorf("%q is written plain (%s); a YAML 1.1 reader takes it for a %s", s, strings.TrimSpace(string(b)), resolve11(s))
		}
		var m map[string]any
		if err := yaml2.Unmarshal(b, &m); err != nil || m["k"] != s {
			t.Errorf("%q: yaml.v2 reads %#v (%v)", s, m["k"], err)
		}
	}
}

// Every file of the rendered example tree reads the same with a YAML 1.1
// reader as with a 1.2 one: no plain scalar changes type, and yaml.v2
// decodes the same values as yaml.v3.
func TestRenderedTreeReadsTheSameWithYAML11(t *testing.T) {
	// The golden tree, which TestRender in package generate keeps equal
	// to what rendering the examples writes.
	root := filepath.Join("..", "testdata", "render")
	files := 0
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".yaml") {
			return err
		}
		files++
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		var doc yaml3.Node
		if err := yaml3.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", rel, err)
		}
		checkPlainScalars(t, rel, &doc)
		var v2, v3 any
		if err := yaml2.Unmarshal(b, &v2); err != nil {
			t.Errorf("%s: yaml.v2: %v", rel, err)
			return nil
		}
		if err := yaml3.Unmarshal(b, &v3); err != nil {
			return err
		}
		if !reflect.DeepEqual(stringKeys(v2), v3) {
			t.Errorf("%s: yaml.v2 and yaml.v3 read different values", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 100 {
		t.Fatalf("only %d files under %s", files, root)
	}
}

func checkPlainScalars(t *testing.T, file string, n *yaml3.Node) {
	t.Helper()
	if n.Kind == yaml3.ScalarNode && n.Style == 0 {
		want := map[string]string{"!!str": "str", "!!int": "int", "!!float": "float", "!!bool": "bool", "!!null": "null", "!!timestamp": "timestamp"}[n.ShortTag()]
		if got := resolve11(n.Value); got != want {
			t.Errorf("%s:%d:%d: %q is a %s for YAML 1.2 readers but a %s for YAML 1.1 ones", file, n.Line, n.Column, n.Value, want, got)
		}
	}
	for _, c := range n.Content {
		checkPlainScalars(t, file, c)
	}
}

// stringKeys turns yaml.v2's map[interface{}]interface{} into the
// map[string]interface{} yaml.v3 decodes.
func stringKeys(v any) any {
	switch v := v.(type) {
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = stringKeys(e)
		}
		return m
	case []any:
		for i := range v {
			v[i] = stringKeys(v[i])
		}
	}
	return v
}
