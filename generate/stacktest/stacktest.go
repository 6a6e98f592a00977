// Package stacktest holds the checks every component generator's tests run:
// strict decoding of each object against its Go type, the conventions every
// object must follow, real Prometheus parsing of every rule, and golden
// files. It is imported only by tests, so its heavy dependencies (the
// Prometheus rule parser) never reach the binary.
package stacktest

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Update rewrites golden files instead of comparing with them:
// go test ./... -update.
var Update = flag.Bool("update", false, "rewrite golden files under testdata/")

// ExampleNames are the example environments every generator is tested on.
var ExampleNames = vigil.ExampleNames

// Example loads an example environment through the real loader.
func Example(t testing.TB, name string) *env.Environment {
	t.Helper()
	e, err := generate.LoadFS(context.Background(), vigil.Examples, "environments/"+name)
	if err != nil {
		t.Fatalf("load example %s: %v", name, err)
	}
	return e.Spec
}

// RepoRoot is the repository's top directory.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(filepath.Dir(filepath.Dir(file)))
}

// PromQL is the parser the cluster's Prometheus uses.
var PromQL = parser.NewParser(parser.Options{})

// Check runs every convention check on a Set.
func Check(t testing.TB, s *stack.Set) {
	t.Helper()
	for _, r := range s.Resources() {
		o := r.Object
		id := fmt.Sprintf("%s %s/%s (%s, %s)", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName(), r.Component, r.Layer)
		if err := strictRoundTrip(o); err != nil {
			t.Errorf("%s: %v", id, err)
		}
		labels := o.GetLabels()
		for _, k := range []string{stack.LabelName, stack.LabelPartOf, stack.LabelManagedBy} {
			if labels[k] == "" {
				t.Errorf("%s: missing label %s", id, k)
			}
		}
		if sec, ok := o.(*corev1.Secret); ok && (len(sec.Data) > 0 || len(sec.StringData) > 0) {
			t.Errorf("%s: a Secret with data; secrets are only ever referenced", id)
		}
		for _, c := range containers(t, o) {
			checkContainer(t, id, c)
		}
		if pr, ok := o.(*monitoringv1.PrometheusRule); ok {
			CheckRules(t, id, pr)
		}
	}
}

// strictRoundTrip marshals an object and decodes it back strictly into a
// fresh value of its registered type: an unknown field, or a field the
// type cannot hold, fails.
func strictRoundTrip(o stack.Object) error {
	b, err := yaml.Marshal(o)
	if err != nil {
		return fmt.Errorf("marshal: %w", err)
	}
	gvk := o.GetObjectKind().GroupVersionKind()
	if gvk.Empty() {
		return fmt.Errorf("no apiVersion/kind")
	}
	fresh, err := stack.Scheme.New(gvk)
	if err != nil {
		return fmt.Errorf("kind not in scheme: %w", err)
	}
	if err := yaml.UnmarshalStrict(b, fresh); err != nil {
		return fmt.Errorf("strict decode: %w", err)
	}
	b2, err := yaml.Marshal(fresh)
	if err != nil {
		return err
	}
	if !bytes.Equal(b, b2) {
		return fmt.Errorf("does not survive a round trip:\n%s", cmp.Diff(string(b), string(b2)))
	}
	return nil
}

// containers finds every container and init container of any pod template
// in an object, whatever its kind, by walking its JSON form.
func containers(t testing.TB, o stack.Object) []corev1.Container {
	u, err := toUnstructured(o)
	if err != nil {
		t.Fatalf("%v", err)
	}
	var out []corev1.Container
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			for _, k := range []string{"containers", "initContainers"} {
				if list, ok := x[k].([]any); ok {
					for _, c := range list {
						b, _ := json.Marshal(c)
						var cc corev1.Container
						if json.Unmarshal(b, &cc) == nil && cc.Name != "" {
							out = append(out, cc)
						}
					}
				}
			}
			for _, v := range x {
				walk(v)
			}
		case []any:
			for _, v := range x {
				walk(v)
			}
		}
	}
	walk(u)
	return out
}

func toUnstructured(o stack.Object) (map[string]any, error) {
	b, err := json.Marshal(o)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(b, &m)
}

func checkContainer(t testing.TB, id string, c corev1.Container) {
	t.Helper()
	if c.Image != "" && !stack.KnownImage(c.Image) {
		t.Errorf("%s: container %s: image %q is not in the pinned release table (generate/stack/images.go)", id, c.Name, c.Image)
	}
	if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() {
		t.Errorf("%s: container %s: needs cpu and memory requests", id, c.Name)
	}
	if c.Resources.Limits.Memory().IsZero() {
		t.Errorf("%s: container %s: needs a memory limit", id, c.Name)
	}
	if c.SecurityContext == nil {
		t.Errorf("%s: container %s: needs a securityContext", id, c.Name)
	}
	for _, e := range c.Env {
		if e.Value != "" && looksSecret(e.Name) {
			t.Errorf("%s: container %s: env %s holds a literal value; secrets come from secretKeyRef", id, c.Name, e.Name)
		}
	}
}

func looksSecret(name string) bool {
	n := strings.ToUpper(name)
	for _, w := range []string{"PASSWORD", "SECRET", "TOKEN", "API_KEY", "ACCESS_KEY"} {
		if strings.Contains(n, w) {
			return true
		}
	}
	return false
}

// CheckRules parses every expression of a PrometheusRule with the real
// PromQL parser and validates its groups as Prometheus validates a rule file.
func CheckRules(t testing.TB, id string, pr *monitoringv1.PrometheusRule) {
	t.Helper()
	if len(pr.Spec.Groups) == 0 {
		t.Errorf("%s: no rule groups", id)
	}
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if _, err := PromQL.ParseExpr(r.Expr.String()); err != nil {
				t.Errorf("%s: group %s rule %s%s: %v", id, g.Name, r.Alert, r.Record, err)
			}
			if r.Alert != "" {
				for _, k := range []string{"summary", "description"} {
					if r.Annotations[k] == "" {
						t.Errorf("%s: alert %s: missing annotation %s", id, r.Alert, k)
					}
				}
				if r.Labels["severity"] == "" {
					t.Errorf("%s: alert %s: missing severity label", id, r.Alert)
				}
			}
		}
	}
	file := struct {
		Groups []monitoringv1.RuleGroup `json:"groups"`
	}{pr.Spec.Groups}
	b, err := yaml.Marshal(file)
	if err != nil {
		t.Fatalf("%s: %v", id, err)
	}
	if _, errs := rulefmt.Parse(b, false, model.UTF8Validation, PromQL, slog.New(slog.DiscardHandler)); len(errs) > 0 {
		t.Errorf("%s: not a valid Prometheus rule file: %v", id, errs)
	}
}

// Find returns the objects of a kind in a Set, for targeted assertions.
func Find[T stack.Object](s *stack.Set) []T {
	var out []T
	for _, r := range s.Resources() {
		if o, ok := r.Object.(T); ok {
			out = append(out, o)
		}
	}
	return out
}

// FindNamed returns the object of type T with a name, failing the test when
// there is none.
func FindNamed[T stack.Object](t testing.TB, s *stack.Set, namespace, name string) T {
	t.Helper()
	for _, o := range Find[T](s) {
		if o.GetName() == name && o.GetNamespace() == namespace {
			return o
		}
	}
	var zero T
	t.Fatalf("no %T %s/%s", zero, namespace, name)
	return zero
}

// Golden compares the YAML of a Set with
// testdata/generate/<env>/<component>.yaml, or rewrites it with -update.
func Golden(t testing.TB, envName, component string, s *stack.Set) {
	t.Helper()
	got := Render(t, s)
	path := filepath.Join(RepoRoot(), "testdata", "generate", envName, component+".yaml")
	if *Update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs from the golden file (-want +got); if the change is intended, rerun with -update and read the diff:\n%s", path, d)
	}
}

// Render writes a Set as one YAML stream, each object preceded by a comment
// naming its component and layer, and the upstream references at the end.
func Render(t testing.TB, s *stack.Set) []byte {
	t.Helper()
	var b bytes.Buffer
	for _, r := range s.Resources() {
		y, err := yaml.Marshal(r.Object)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "---\n# component: %s, layer: %s\n%s", r.Component, r.Layer, y)
	}
	for _, u := range s.Upstreams() {
		fmt.Fprintf(&b, "---\n# upstream %s (component %s, layer %s): %s@%s %s\n", u.Name, u.Component, u.Layer, u.URL, u.Tag, u.Path)
	}
	return b.Bytes()
}

// Unstructured converts an object for field-path assertions.
func Unstructured(t testing.TB, o stack.Object) *unstructured.Unstructured {
	t.Helper()
	m, err := toUnstructured(o)
	if err != nil {
		t.Fatal(err)
	}
	return &unstructured.Unstructured{Object: m}
}
