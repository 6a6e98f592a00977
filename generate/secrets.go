package generate

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/token"

	"github.com/vigil-stack/vigil/overlays"
)

// credentialPatterns recognise credentials by their shape, wherever they
// are: in any string or map key of an environment (the schema cannot tell
// a secret from a string), in the rendered tree, and in any message Vigil
// prints. Each pattern matches the whole credential, so that Redact can
// replace exactly it.
var credentialPatterns = []struct {
	what string
	re   *regexp.Regexp
	// may is a cheap test that every match of re passes (a literal re
	// cannot match without): the regular expressions run only on the few
	// strings that pass it. Scanning a rendered tree with all of them took
	// a fifth of a prod render's CPU; TestCredentialPrefilter and
	// FuzzCredentialPrefilter hold may to never hide a match.
	may func(s string) bool
}{
	{"a Slack webhook URL", regexp.MustCompile(`(?:https?://)?hooks\.slack\.com/(?:services|workflows|triggers)/[^\s"'\\]*`),
		containsAny("hooks.slack.com/")},
	{"a Slack token", regexp.MustCompile(`\bxox[abposre]-[0-9A-Za-z-]{10,}`), containsAny("xox")},
	{"an AWS access key id", regexp.MustCompile(`\b(?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}\b`),
		containsAny("AKIA", "ASIA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA")},
	{"a GitHub token", regexp.MustCompile(`\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})\b`),
		containsAny("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_")},
	{"a JSON Web Token", regexp.MustCompile(`\beyJ[A-Za-z0-9_-]{4,}\.eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*`), containsAny("eyJ")},
	// A PEM block up to its end line, or to the end of the text or quoted
	// string when a message cut it short.
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----(?:(?s:.*?)-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|[^"]*)`),
		containsAny("-----BEGIN ")},
	{"a Pure Storage API token", regexp.MustCompile(`\bT-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`), containsAny("T-")},
	{"a password in a URL", regexp.MustCompile(`[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@"']+:[^/\s@"']+@[^\s"']*`),
		func(s string) bool { return strings.Contains(s, "://") && strings.Contains(s, "@") }},
	// password=hunter2 (in a DSN, a command line), api_key=… or ?token=…
	// in a URL. A value that is a reference ($VAR, ${…}, {{…}}, <…>, a path) is
	// not a credential; secret="…" and token="…" are PromQL label
	// matchers (kube_secret_info{secret="grafana"}), so those two keys
	// count only unquoted.
	{"a password", regexp.MustCompile(`(?i)\b(?:password|passwd|pwd)\s*=\s*["']?[^\s"'$<{/&;,)][^\s"'&;,)]{3,}`),
		func(s string) bool { return strings.Contains(s, "=") && containsFoldAny(s, "passw", "pwd") }},
	{"an API key or token", regexp.MustCompile(`(?i)\b(?:secret|api[_-]?key|access[_-]?key|token)=[^\s"'$<{/&;,)][^\s"'&;,)]{3,}`),
		func(s string) bool { return containsFoldAny(s, "secret=", "key=", "token=") }},
}

// containsAny returns a test for whether s contains any of subs.
func containsAny(subs ...string) func(string) bool {
	return func(s string) bool {
		for _, sub := range subs {
			if strings.Contains(s, sub) {
				return true
			}
		}
		return false
	}
}

// containsFoldAny reports whether s contains any of subs (lower-case
// ASCII) in any case, the way (?i) compares them.
func containsFoldAny(s string, subs ...string) bool {
	for _, sub := range subs {
		if indexFold(s, sub) {
			return true
		}
	}
	return false
}

// indexFold is strings.Contains(strings.ToLower(s), sub) for ASCII sub,
// without the copy, plus the two non-ASCII runes Unicode folds to ASCII
// letters (U+212A KELVIN SIGN to k, U+017F LATIN SMALL LETTER LONG S to s),
// which (?i) matches too.
func indexFold(s, sub string) bool {
	if strings.ContainsRune(s, '\u212A') || strings.ContainsRune(s, '\u017F') {
		return true // rare: let the regular expression decide
	}
	first := sub[0]
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i]|0x20 != first {
			continue
		}
		match := true
		for j := 1; j < len(sub); j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c |= 0x20
			}
			if c != sub[j] {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

// credential returns what s contains that looks like a credential, or "".
func credential(s string) string {
	for _, p := range credentialPatterns {
		if p.may(s) && p.re.MatchString(s) {
			return p.what
		}
	}
	return ""
}

// placeholder stands for a value that is never printed: its length is
// enough to find it again in one's own files.
func placeholder(s string) string {
	return fmt.Sprintf("<redacted %d chars>", utf8.RuneCountInString(s))
}

// Redact replaces everything in s that looks like a credential by a
// placeholder with its length. Every message Vigil prints passes through it.
func Redact(s string) string {
	for _, p := range credentialPatterns {
		if p.may(s) {
			s = p.re.ReplaceAllStringFunc(s, placeholder)
		}
	}
	return s
}

// secretAdvice is what to do about a credential found in an environment.
const secretAdvice = "; secrets never go into an environment. Put it in a Secret and reference it ({secret: \"<name>\", key: \"<key>\"})"

// secretLooking reports every string value and every field name or map key
// of v, hidden fields included, that looks like a credential. It walks the
// whole value rather than chosen fields: any free-form string can carry a
// pasted secret into the rendered tree or a message.
func (p positioner) secretLooking(v cue.Value) Diagnostics {
	var out Diagnostics
	report := func(f cue.Value, at token.Pos, what, where string) {
		d := Diagnostic{Path: pathOf(f), Message: where + " looks like " + what + secretAdvice}
		d.File, d.Line, d.Column = p.file(at)
		out = append(out, d)
	}
	var walk func(f cue.Value, depth int)
	walk = func(f cue.Value, depth int) {
		if depth > maxDepth {
			return // loadInstance reports values this deep
		}
		switch f.IncompleteKind() {
		case cue.StringKind:
			if s, err := f.String(); err == nil {
				if what := credential(s); what != "" {
					report(f, valuePos(f), what, "this value")
				}
			}
		case cue.StructKind:
			it, err := f.Fields(cue.Hidden(true), cue.Optional(false), cue.Definitions(false))
			if err != nil {
				return
			}
			for it.Next() {
				if what := credential(labelText(it.Selector())); what != "" {
					report(it.Value(), it.Value().Pos(), what, "this field name")
					continue
				}
				walk(it.Value(), depth+1)
			}
		case cue.ListKind:
			it, err := f.List()
			if err != nil {
				return
			}
			for it.Next() {
				walk(it.Value(), depth+1)
			}
		}
	}
	walk(v, 0)
	return out
}

// withLeaks adds the credentials found to CUE's diagnostics, one line per
// field: CUE's own message wins only where it already says that a secret
// is written literally (a #SecretRef field).
func withLeaks(diags, leaks Diagnostics) Diagnostics {
	if len(leaks) == 0 {
		return diags
	}
	literal := map[string]bool{}
	for _, d := range diags {
		if strings.Contains(d.Message, "secret value is written here literally") {
			literal[d.Path] = true
		}
	}
	var out Diagnostics
	reported := map[string]bool{}
	for _, d := range leaks {
		if !literal[d.Path] {
			out = append(out, d)
			reported[d.Path] = true
		}
	}
	for _, d := range diags {
		if !reported[d.Path] {
			out = append(out, d)
		}
	}
	out.sort()
	return out
}

// checkTree scans every file of the rendered tree for credentials before
// it is written: a defence in depth behind secretLooking, for a credential
// that reaches a manifest by a path the environment scan does not see. A
// hit stops the render; the message names the file, never the value.
func checkTree(t *overlays.Tree) error {
	var hits []string
	for _, p := range t.Paths() {
		b, _ := t.File(p)
		if what := credential(string(b)); what != "" {
			hits = append(hits, fmt.Sprintf("%s holds what looks like %s", p, what))
		}
	}
	if len(hits) == 0 {
		return nil
	}
	return invalid(fmt.Errorf("the rendered tree would carry credentials, so nothing was written:\n  %s\nfind the value in the environment and replace it with a Secret reference ({secret: \"<name>\", key: \"<key>\"})",
		strings.Join(hits, "\n  ")))
}

// labelText is a field's name as written, for any kind of label.
func labelText(sel cue.Selector) string {
	if sel.IsString() {
		return sel.Unquoted()
	}
	return sel.String()
}

// valuePos is where a field's value is written (the string, not the
// label), so that a message points at the text to replace.
func valuePos(v cue.Value) token.Pos {
	if f, ok := v.Source().(*ast.Field); ok && f.Value != nil && f.Value.Pos().IsValid() {
		return f.Value.Pos()
	}
	return v.Pos()
}

func pathOf(v cue.Value) string {
	sels := v.Path().Selectors()
	if len(sels) > 0 && sels[0].IsDefinition() {
		sels = sels[1:]
	}
	return cue.MakePath(sels...).String()
}
