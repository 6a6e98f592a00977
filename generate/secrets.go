package generate

import (
	"regexp"

	"cuelang.org/go/cue"
)

// secretPatterns recognise credentials pasted into free-form fields (labels,
// CSI parameters, rule annotations), where the schema cannot tell a secret
// from a string. A match is an error that names the field, never the value.
var secretPatterns = []struct {
	what string
	re   *regexp.Regexp
}{
	{"a Slack webhook URL", regexp.MustCompile(`hooks\.slack\.com/services/`)},
	{"a Slack token", regexp.MustCompile(`\bxox[abposr]-[0-9A-Za-z-]{10,}`)},
	{"an AWS access key id", regexp.MustCompile(`\b(AKIA|ASIA)[0-9A-Z]{16}\b`)},
	{"a private key", regexp.MustCompile(`-----BEGIN [A-Z ]*PRIVATE KEY-----`)},
	{"a Pure Storage API token", regexp.MustCompile(`\bT-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`)},
	{"a password in a URL", regexp.MustCompile(`://[^/\s:@]+:[^/\s@]+@`)},
}

// secretLooking reports every concrete string of v that looks like a
// credential.
func (p positioner) secretLooking(v cue.Value) Diagnostics {
	var out Diagnostics
	v.Walk(func(f cue.Value) bool { return true }, func(f cue.Value) {
		if f.Kind() != cue.StringKind {
			return
		}
		s, err := f.String()
		if err != nil {
			return
		}
		for _, sp := range secretPatterns {
			if sp.re.MatchString(s) {
				d := Diagnostic{
					Path:    pathOf(f),
					Message: "this looks like " + sp.what + "; secrets never go into an environment. Put it in a Secret and reference it ({secret: \"<name>\", key: \"<key>\"})",
				}
				d.File, d.Line, d.Column = p.file(f.Pos())
				out = append(out, d)
				return
			}
		}
	})
	return out
}

func pathOf(v cue.Value) string {
	sels := v.Path().Selectors()
	if len(sels) > 0 && sels[0].IsDefinition() {
		sels = sels[1:]
	}
	return cue.MakePath(sels...).String()
}
