package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// knownCredentials are fakes of the shapes that leak in practice; leak is a
// part of each that must never be printed or rendered.
var knownCredentials = []struct{ name, value, leak string }{
	{"aws-access-key", "AKIAIOSFODNN7EXAMPLE", "IOSFODNN7EXAMPLE"},
	{"github-token", "ghp_" + strings.Repeat("aB3dE6gH9j", 3) + "kLmNoP", "aB3dE6gH9jaB3dE6gH9j"},
	{"jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ2aWdpbCJ9.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg", "c2lnbmF0dXJlLW9mLXRoZS10b2tlbg"},
	{"password-pair", "password=Hunter2-Zq9xW", "Hunter2-Zq9xW"},
	{"pem-private-key", "-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAvigilFAKEKEY\n-----END RSA PRIVATE KEY-----\n", "MIIEowIBAAKCAQEAvigilFAKEKEY"},
	{"slack-webhook", "https://hooks.slack.com/services/T0VIGIL00/B0VIGIL00/vigilFakeWebhookSecret0", "vigilFakeWebhookSecret0"},
}

// TestNoCredentialIsEchoed writes each known credential into every place of
// the schema where a string goes (the list is derived from the schema, not
// kept by hand), then runs gen validate and gen render: each place is
// refused at its line, the credential appears nowhere in stdout or stderr,
// and nothing is rendered.
func TestNoCredentialIsEchoed(t *testing.T) {
	fields, err := stacktest.SchemaStringFields()
	if err != nil {
		t.Fatal(err)
	}
	if len(fields) < 50 {
		t.Fatalf("only %d string fields found in the schema; the walk is broken", len(fields))
	}
	// Nothing else is set, so no line conflicts with another: CUE reports
	// only the first conflict of a package.
	const base = "package test\n"
	header := strings.Count(base, "\n")
	groups := disjoint(fields)
	for _, cred := range knownCredentials {
		for gi, group := range groups {
			t.Run(fmt.Sprintf("%s/%d", cred.name, gi), func(t *testing.T) {
				t.Parallel()
				checkRefused(t, cred.value, cred.leak, base, header, group)
			})
		}
	}
}

// disjoint splits fields into groups in which no path extends another: a
// string at a.b and a struct at a.b.c in one file would conflict, and CUE
// reports only the first conflict of a package.
func disjoint(fields []stacktest.SchemaField) [][]stacktest.SchemaField {
	key := func(f stacktest.SchemaField) string {
		s := f.String()
		s = s[:strings.LastIndex(s, " (")]
		if f.Kind == "key" {
			s += ".<key>"
		}
		return s + "."
	}
	var groups [][]stacktest.SchemaField
next:
	for _, f := range fields {
		for i, g := range groups {
			clash := false
			for _, o := range g {
				if strings.HasPrefix(key(f), key(o)) || strings.HasPrefix(key(o), key(f)) {
					clash = true
					break
				}
			}
			if !clash {
				groups[i] = append(groups[i], f)
				continue next
			}
		}
		groups = append(groups, []stacktest.SchemaField{f})
	}
	return groups
}

func checkRefused(t *testing.T, value, leak, base string, header int, fields []stacktest.SchemaField) {
	dir := filepath.Join(t.TempDir(), "env")
	var b strings.Builder
	b.WriteString(base)
	for _, f := range fields {
		b.WriteString(f.CUE(value) + "\n")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "env.cue"), []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}

	// Every place is refused at its own line.
	_, err := generate.Load(context.Background(), dir)
	var diags generate.Diagnostics
	if !errors.As(err, &diags) {
		t.Fatalf("want diagnostics, got %v", err)
	}
	lines := map[int]bool{}
	for _, d := range diags {
		if d.File == "" || d.Line == 0 {
			t.Errorf("diagnostic without a position: %s", d)
		}
		lines[d.Line] = true
	}
	for i, f := range fields {
		if line := header + 1 + i; !lines[line] {
			t.Errorf("%s: not refused at env.cue:%d (%s)", f, line, f.CUE("…"))
		}
	}

	// Nothing repeats the credential, whatever the command.
	out := filepath.Join(t.TempDir(), "out")
	for _, args := range [][]string{{"validate", dir}, {"render", dir, "-o", out}, {"diff", dir, "-o", out}} {
		var stdout, stderr bytes.Buffer
		if code := run(context.Background(), args, &stdout, &stderr); code != exitInvalid {
			t.Errorf("gen %s: exit %d, want %d", args[0], code, exitInvalid)
		}
		for what, s := range map[string]string{"stdout": stdout.String(), "stderr": stderr.String()} {
			if strings.Contains(s, leak) {
				t.Errorf("gen %s echoes the credential on %s", args[0], what)
			}
		}
	}
	if _, err := os.Stat(out); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a tree was rendered: %v", err)
	}
}
