package generate

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

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
