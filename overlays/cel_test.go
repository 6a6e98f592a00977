package overlays

import (
	"testing"

	"github.com/google/cel-go/cel"
	"github.com/google/cel-go/common/types"
	"github.com/google/cel-go/ext"
)

// evalLikeFlux evaluates a health check expression the way
// kustomize-controller v1.9 does (github.com/fluxcd/pkg/runtime/cel at the
// cel-go version it pins): parsed, not compiled, against the object's
// fields as variables.
func evalLikeFlux(t *testing.T, expr string, obj map[string]any) (bool, error) {
	t.Helper()
	env, err := cel.NewEnv(cel.HomogeneousAggregateLiterals(), cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true), cel.CrossTypeNumericComparisons(true), cel.OptionalTypes(),
		ext.Strings(), ext.Sets(), ext.Encoders())
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Parse(expr)
	if iss != nil && iss.Err() != nil {
		t.Fatalf("%s does not parse: %v", expr, iss.Err())
	}
	prg, err := env.Program(ast)
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := prg.Eval(obj)
	if err != nil {
		return false, err
	}
	b, ok := v.(types.Bool)
	if !ok {
		t.Fatalf("%s is not boolean: %v", expr, v)
	}
	return bool(b), nil
}

// A gate's expression is true only when the Secret holds every key; a
// Secret without data fails the evaluation, which fails the check too.
func TestSecretKeysExpr(t *testing.T) {
	expr := secretKeysExpr([]string{"access-key-id", "secret.key"})
	secret := func(keys ...string) map[string]any {
		data := map[string]any{}
		for _, k := range keys {
			data[k] = "c2VjcmV0"
		}
		return map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s3"}, "data": data}
	}
	for _, tc := range []struct {
		name string
		obj  map[string]any
		want bool
	}{
		{"all keys", secret("access-key-id", "secret.key", "extra"), true},
		{"one key missing", secret("access-key-id"), false},
		{"no key", secret(), false},
	} {
		got, err := evalLikeFlux(t, expr, tc.obj)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
	noData := secret()
	delete(noData, "data")
	if ok, err := evalLikeFlux(t, expr, noData); err == nil || ok {
		t.Errorf("a Secret without data: got %v, %v; want an error", ok, err)
	}
}

// readyExprLikeFlux evaluates a dependsOn readyExpr the way
// kustomize-controller v1.9's checkDependencies does: compiled, boolean,
// with self and dep as google.protobuf.Struct variables.
func readyExprLikeFlux(t *testing.T, expr string, self, dep map[string]any) (bool, error) {
	t.Helper()
	env, err := cel.NewEnv(cel.HomogeneousAggregateLiterals(), cel.EagerlyValidateDeclarations(true),
		cel.DefaultUTCTimeZone(true), cel.CrossTypeNumericComparisons(true), cel.OptionalTypes(),
		ext.Strings(), ext.Sets(), ext.Encoders(),
		cel.Variable("self", cel.ObjectType("google.protobuf.Struct")),
		cel.Variable("dep", cel.ObjectType("google.protobuf.Struct")))
	if err != nil {
		t.Fatal(err)
	}
	ast, iss := env.Compile(expr)
	if iss != nil && iss.Err() != nil {
		t.Fatalf("%s does not compile: %v", expr, iss.Err())
	}
	if ast.OutputType() != cel.BoolType {
		t.Fatalf("%s is of type %s, Flux wants bool", expr, ast.OutputType())
	}
	prg, err := env.Program(ast, cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		t.Fatal(err)
	}
	v, _, err := prg.Eval(map[string]any{"self": self, "dep": dep})
	if err != nil {
		return false, err
	}
	return bool(v.(types.Bool)), nil
}

// A dependency on upstream CRDs is met once they were applied at the pinned
// tag by the current spec, whether or not the Kustomization is Ready at
// this moment (Flux re-applies them on every commit of the fleet).
func TestUpstreamAppliedExpr(t *testing.T) {
	expr := upstreamAppliedExpr("v0.95.2")
	self := map[string]any{"metadata": map[string]any{"name": "prod-prometheus-rules-content"}}
	dep := func(generation, observed int64, applied string, ready string) map[string]any {
		status := map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": ready}}}
		if observed > 0 {
			status["observedGeneration"] = observed
		}
		if applied != "" {
			status["lastAppliedRevision"] = applied
		}
		return map[string]any{"metadata": map[string]any{"name": "prod-prometheus-operator-crds", "generation": generation}, "status": status}
	}
	for _, tc := range []struct {
		name string
		dep  map[string]any
		want bool
	}{
		{"applied at the tag, Ready", dep(1, 1, "v0.95.2@sha1:9b9b3f36404e561f077d9abfbf9e1b7d3d72e1e3", "True"), true},
		{"applied at the tag, reconciling again", dep(1, 1, "v0.95.2@sha1:9b9b3f36404e561f077d9abfbf9e1b7d3d72e1e3", "Unknown"), true},
		{"never applied", dep(1, 0, "", "Unknown"), false},
		{"applied at the previous tag only", dep(2, 1, "v0.94.0@sha1:1111111111111111111111111111111111111111", "Unknown"), false},
		{"a tag that only starts like it", dep(1, 1, "v0.95.20@sha1:1111111111111111111111111111111111111111", "True"), false},
		{"spec changed, not reconciled yet", dep(3, 2, "v0.95.2@sha1:9b9b3f36404e561f077d9abfbf9e1b7d3d72e1e3", "True"), false},
		{"no status at all", map[string]any{"metadata": map[string]any{"name": "x", "generation": int64(1)}}, false},
	} {
		got, err := readyExprLikeFlux(t, expr, self, tc.dep)
		if err != nil || got != tc.want {
			t.Errorf("%s: got %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}
