package generate

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/overlays"
)

// The rendered tree is scanned before it is written: a credential that
// reached a manifest stops the render, and the message names the file but
// not the value.
func TestCheckTreeRefusesCredentials(t *testing.T) {
	set := func(value string) *stack.Set {
		s := &stack.Set{}
		s.Add("monitoring", stack.Namespaces, &corev1.Namespace{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Namespace"},
			ObjectMeta: metav1.ObjectMeta{Name: "monitoring"},
		})
		s.Add("grafana", stack.Instances, &corev1.ConfigMap{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
			ObjectMeta: metav1.ObjectMeta{Name: "settings", Namespace: "monitoring"},
			Data:       map[string]string{"note": value},
		})
		return s
	}
	compile := func(value string) *overlays.Tree {
		tree, err := overlays.Compile(context.Background(), set("plain"), []overlays.Environment{{Name: "prod", Objects: set(value)}})
		if err != nil {
			t.Fatal(err)
		}
		return tree
	}
	if err := checkTree(compile("nothing secret here")); err != nil {
		t.Fatalf("a clean tree is refused: %v", err)
	}
	err := checkTree(compile("AKIAIOSFODNN7EXAMPLE"))
	if err == nil || !errors.Is(err, ErrInvalid) {
		t.Fatalf("got %v, want an ErrInvalid refusal", err)
	}
	if !strings.Contains(err.Error(), "envs/prod/") || !strings.Contains(err.Error(), "an AWS access key id") || strings.Contains(err.Error(), "IOSFODNN7") {
		t.Errorf("the refusal must name the file and the kind of credential, never the value:\n%v", err)
	}
}

// Redact replaces each known shape by its length and leaves the rest.
func TestRedact(t *testing.T) {
	for in, want := range map[string]string{
		"key AKIAIOSFODNN7EXAMPLE here":                   "key <redacted 20 chars> here",
		"url https://hooks.slack.com/services/T0/B0/abc.": "url <redacted 43 chars>",
		`"-----BEGIN EC PRIVATE KEY-----\nMHcCAQ"`:        `"<redacted 38 chars>"`,
		"db password=hunter22 ok":                         "db <redacted 17 chars> ok",
		"password=$DB_PASSWORD stays":                     "password=$DB_PASSWORD stays",
		`kube_secret_info{secret="grafana-admin"} == 1`:   `kube_secret_info{secret="grafana-admin"} == 1`,
		"https://x.example/hook?token=abcdef123":          "https://x.example/hook?<redacted 15 chars>",
		"https://user:pw@example.com/x":                   "<redacted 29 chars>",
		"monitoring.prometheus.replicas: too many":        "monitoring.prometheus.replicas: too many",
	} {
		if got := Redact(in); got != want {
			t.Errorf("Redact(%q) = %q, want %q", in, got, want)
		}
	}
}

// credentialSlow is credential without the prefilters: every regular
// expression on every string.
func credentialSlow(s string) string {
	for _, p := range credentialPatterns {
		if p.re.MatchString(s) {
			return p.what
		}
	}
	return ""
}

// credentialCorpus holds strings that each pattern matches, near misses,
// and case variants of the keywords the case-insensitive ones look for.
var credentialCorpus = []string{
	"AKIAIOSFODNN7EXAMPLE", "ASIAIOSFODNN7EXAMPLE", "akiaiosfodnn7example",
	"https://hooks.slack.com/services/T0/B0/abc", "hooks.slack.com/workflows/x",
	"xoxb-1234567890-abcdef", "ghp_" + strings.Repeat("a", 36), "github_pat_" + strings.Repeat("b", 22),
	"eyJhbGciOi.eyJzdWIiOi.sig", "-----BEGIN RSA PRIVATE KEY-----\nMII\n-----END RSA PRIVATE KEY-----",
	"T-0123abcd-0123-4567-89ab-0123456789ab", "https://user:pw@example.com/x", "postgres://u:p@db/x",
	"password=hunter22", "PASSWORD = hunter22", "PassWd=hunter22", "PWD='hunter22'", "pwd=$PWD",
	"token=abcdef123", "TOKEN=abcdef123", "Api-Key=abcdef123", "ACCESS_KEY=abcdef123", "secret=abcdef123",
	"SeCrEt=abcdef123", `kube_secret_info{secret="grafana"}`, "password: hunter22",
	// U+212A KELVIN SIGN and U+017F LONG S fold to k and s under (?i).
	"api\u212Aey=abcdef123", "\u017Fecret=abcdef123", "pa\u017F\u017Fword=hunter22",
	"", "=", "@", "://", "nothing here", "a=b c@d",
}

// The prefilters never hide a match: on every string of every example's
// rendered tree (each file whole, and each line) and on the corpus,
// credential agrees with running every regular expression.
func TestCredentialPrefilter(t *testing.T) {
	inputs := append([]string(nil), credentialCorpus...)
	for _, s := range credentialCorpus {
		inputs = append(inputs, "x "+s+" y", strings.ToUpper(s), strings.ToLower(s))
	}
	var srcs []Source
	for _, n := range vigil.ExampleNames {
		srcs = append(srcs, Source{Dir: "environments/" + n, FS: vigil.Examples})
	}
	r, err := Render(context.Background(), srcs)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range r.Tree.Paths() {
		b, _ := r.Tree.File(p)
		inputs = append(inputs, string(b))
		inputs = append(inputs, strings.Split(string(b), "\n")...)
	}
	matched := 0
	for _, s := range inputs {
		got, want := credential(s), credentialSlow(s)
		if got != want {
			t.Errorf("credential(%.80q) = %q, every expression says %q", s, got, want)
		}
		if want != "" {
			matched++
		}
		if r, w := Redact(s), redactSlow(s); r != w {
			t.Errorf("Redact(%.80q) = %.80q, every expression gives %.80q", s, r, w)
		}
	}
	if matched < len(credentialCorpus)/2 {
		t.Errorf("only %d inputs look like credentials: the corpus lost its credentials", matched)
	}
}

func redactSlow(s string) string {
	for _, p := range credentialPatterns {
		s = p.re.ReplaceAllStringFunc(s, placeholder)
	}
	return s
}

// FuzzCredentialPrefilter looks for a string the prefilters would let
// through unexamined (make fuzz).
func FuzzCredentialPrefilter(f *testing.F) {
	for _, s := range credentialCorpus {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if got, want := credential(s), credentialSlow(s); got != want {
			t.Errorf("credential(%q) = %q, every expression says %q", s, got, want)
		}
		if got, want := Redact(s), redactSlow(s); got != want {
			t.Errorf("Redact(%q) = %q, every expression gives %q", s, got, want)
		}
	})
}
