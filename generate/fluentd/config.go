package fluentd

import (
	"fmt"
	"strings"
)

// Directive is one section of a Fluentd configuration file:
// <name arg> params and nested directives </name>. Params keep their order,
// so the rendered file is deterministic.
type Directive struct {
	Name     string
	Arg      string
	Params   []Param
	Children []Directive
}

// Param is one "key value" line. Quoted values are written in double
// quotes, where Fluentd expands "#{...}" (used for ENV lookups); others are
// written bare.
type Param struct {
	Key    string
	Value  string
	Quoted bool
}

// P is a bare parameter.
func P(key, value string) Param { return Param{Key: key, Value: value} }

// Q is a double-quoted parameter.
func Q(key, value string) Param { return Param{Key: key, Value: value, Quoted: true} }

// Render writes directives in Fluentd's configuration syntax. It refuses
// values that the syntax cannot hold on one line.
func Render(ds []Directive) (string, error) {
	var b strings.Builder
	for i, d := range ds {
		if i > 0 {
			b.WriteString("\n")
		}
		if err := render(&b, d, 0); err != nil {
			return "", err
		}
	}
	return b.String(), nil
}

func render(b *strings.Builder, d Directive, depth int) error {
	indent := strings.Repeat("  ", depth)
	if !validWord(d.Name) || strings.ContainsAny(d.Arg, "<>\n") {
		return fmt.Errorf("invalid directive <%s %s>", d.Name, d.Arg)
	}
	head := d.Name
	if d.Arg != "" {
		head += " " + d.Arg
	}
	fmt.Fprintf(b, "%s<%s>\n", indent, head)
	for _, p := range d.Params {
		if !validWord(strings.TrimPrefix(p.Key, "@")) {
			return fmt.Errorf("<%s>: invalid parameter name %q", d.Name, p.Key)
		}
		if strings.ContainsAny(p.Value, "\n\r") || p.Value == "" {
			return fmt.Errorf("<%s> %s: a value must be one non-empty line", d.Name, p.Key)
		}
		v := p.Value
		if p.Quoted {
			if strings.ContainsAny(v, `"\`) {
				return fmt.Errorf("<%s> %s: a quoted value cannot hold quotes or backslashes", d.Name, p.Key)
			}
			v = `"` + v + `"`
		} else if strings.Contains(v, "#") || strings.HasPrefix(v, `"`) || strings.HasPrefix(v, "'") {
			return fmt.Errorf("<%s> %s: %q would be read as a comment or a quoted string; quote it", d.Name, p.Key, v)
		}
		fmt.Fprintf(b, "%s  %s %s\n", indent, p.Key, v)
	}
	for _, c := range d.Children {
		if err := render(b, c, depth+1); err != nil {
			return err
		}
	}
	fmt.Fprintf(b, "%s</%s>\n", indent, d.Name)
	return nil
}

func validWord(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '@') {
			return false
		}
	}
	return true
}
