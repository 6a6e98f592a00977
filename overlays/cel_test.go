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
