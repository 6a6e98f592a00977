package generate

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"

	"github.com/vigil-stack/vigil/schema"
)

// Severity tells whether a Diagnostic stops a render.
type Severity int

const (
	// SeverityError stops validation and rendering.
	SeverityError Severity = iota
	// SeverityWarning is advice; a strict environment treats it as an error.
	SeverityWarning
)

func (s Severity) String() string {
	if s == SeverityWarning {
		return "warning"
	}
	return "error"
}

// Diagnostic is one problem in an environment, at the line of CUE that
// caused it.
type Diagnostic struct {
	Severity Severity
	// File is relative to the working directory when it is below it.
	File         string
	Line, Column int
	// Path is the CUE path of the field at fault ("monitoring.prometheus.replicas").
	Path string
	// Message says what is wrong and what to do.
	Message string
}

func (d Diagnostic) String() string {
	var b strings.Builder
	if d.File != "" && d.Line == 0 {
		fmt.Fprintf(&b, "%s: ", d.File) // a directory or a file as a whole
	} else if d.File != "" {
		fmt.Fprintf(&b, "%s:%d:%d: ", d.File, d.Line, d.Column)
	}
	if d.Severity == SeverityWarning {
		b.WriteString("warning: ")
	}
	if d.Path != "" {
		b.WriteString(d.Path)
		b.WriteString(": ")
	}
	b.WriteString(d.Message)
	// Path and message may quote input (a map key, a Go check's value).
	return Redact(b.String())
}

// Diagnostics is every problem found in one environment. As an error it
// lists them all, one a line, so a user fixes everything in one round.
type Diagnostics []Diagnostic

func (ds Diagnostics) Error() string {
	lines := make([]string, len(ds))
	for i, d := range ds {
		lines[i] = d.String()
	}
	return strings.Join(lines, "\n")
}

// HasErrors reports whether any diagnostic is an error.
func (ds Diagnostics) HasErrors() bool {
	for _, d := range ds {
		if d.Severity == SeverityError {
			return true
		}
	}
	return false
}

// sort orders diagnostics by file, line, column, then message, so output
// does not depend on evaluation order.
func (ds Diagnostics) sort() {
	sort.SliceStable(ds, func(i, j int) bool {
		a, b := ds[i], ds[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		if a.Path != b.Path {
			return a.Path < b.Path
		}
		return a.Message < b.Message
	})
}

// quoted matches the string literals CUE quotes in its messages: plain,
// multi-line and raw (#"…"#) strings. Single quotes are left alone: CUE's
// syntax errors quote tokens with them ('}').
var quoted = regexp.MustCompile(`(=~ ?|!~ ?)?(#*"""(?s:.*?)"""#*|#*"(?:[^"\\\n]|\\.)*"#*)`)

// redactValues replaces every string literal in a CUE message by a
// placeholder with its length: CUE repeats the value that failed a type,
// pattern or conflict check, and that value may be a secret pasted in the
// wrong field. Literals the schema itself contains (enum members, the
// regular expressions after =~) are Vigil's, so they stay readable.
func redactValues(msg string) string {
	lits := schemaLiterals()
	return quoted.ReplaceAllStringFunc(msg, func(m string) string {
		sub := quoted.FindStringSubmatch(m)
		op, lit := sub[1], sub[2]
		if op != "" {
			return m
		}
		s, err := literal.Unquote(lit)
		if err != nil {
			s = strings.Trim(lit, `#"'`)
		}
		if lits[s] {
			return m
		}
		return placeholder(s)
	})
}

var (
	schemaLiteralsOnce sync.Once
	schemaLiteralSet   map[string]bool
)

// schemaLiterals is every string literal of the embedded schema.
func schemaLiterals() map[string]bool {
	schemaLiteralsOnce.Do(func() {
		schemaLiteralSet = map[string]bool{}
		files, err := schema.Files()
		if err != nil {
			return // then every literal is redacted, which is safe
		}
		for name, b := range files {
			f, err := parser.ParseFile(name, b)
			if err != nil {
				continue
			}
			ast.Walk(f, func(n ast.Node) bool {
				if l, ok := n.(*ast.BasicLit); ok && l.Kind == token.STRING {
					if s, err := literal.Unquote(l.Value); err == nil {
						schemaLiteralSet[s] = true
					}
				}
				return true
			}, nil)
		}
	})
	return schemaLiteralSet
}
