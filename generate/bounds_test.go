package generate

import (
	"context"
	"testing"

	"cuelang.org/go/cue"
)

// TestSchemaIntegersAreBounded walks #Environment, through optional fields,
// collections ([Name]: T) and lists, and requires every integer to refuse a
// value beyond int32: each lands in an int32 field of a Kubernetes object or
// an int of a Java program, where a larger number wraps silently.
func TestSchemaIntegersAreBounded(t *testing.T) {
	def, err := schemaDefinition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var ints []string
	walkSchema(def, "#Environment", 0, func(path string, v cue.Value) {
		ints = append(ints, path)
		for _, n := range []int64{1 << 31, -(1 << 31) - 1} {
			if err := v.Unify(v.Context().Encode(n)).Validate(cue.Concrete(true)); err == nil {
				t.Errorf("%s: accepts %d; bound it in the schema (e.g. int & >=1 & <=2147483647, or tighter)", path, n)
			}
		}
	})
	// The test must see the integers it claims to check.
	if len(ints) < 10 {
		t.Fatalf("found only %d integer fields: %v", len(ints), ints)
	}
}

// TestUnboundedIntegerIsFound proves the walk reports an unbounded integer.
func TestUnboundedIntegerIsFound(t *testing.T) {
	def, err := schemaDefinition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	v := def.Context().CompileString(`{a: [string]: {n?: *1 | int & >=1}}`)
	found := false
	walkSchema(v, "x", 0, func(path string, v cue.Value) {
		if v.Unify(v.Context().Encode(int64(1)<<31)).Validate(cue.Concrete(true)) == nil {
			found = true
		}
	})
	if !found {
		t.Fatal("the walk did not reach or did not flag an unbounded int inside a collection")
	}
	_ = def
}

func walkSchema(v cue.Value, path string, depth int, fn func(string, cue.Value)) {
	if depth > 20 {
		return
	}
	k := v.IncompleteKind()
	if k&cue.IntKind != 0 && k&^(cue.IntKind|cue.NumberKind) == 0 {
		fn(path, v)
		return
	}
	if k&cue.StructKind != 0 {
		if it, err := v.Fields(cue.Optional(true)); err == nil {
			for it.Next() {
				if it.Selector().IsDefinition() {
					continue
				}
				walkSchema(it.Value(), path+"."+it.Selector().Unquoted(), depth+1, fn)
			}
		}
		// A collection's pattern ([#Name]: T), probed with a name every
		// pattern of the schema accepts.
		if p := patternOf(v, "a"); p.Exists() {
			walkSchema(p, path+".[_]", depth+1, fn)
		}
	}
	if k&cue.ListKind != 0 {
		if e := v.LookupPath(cue.MakePath(cue.AnyIndex)); e.Exists() {
			walkSchema(e, path+"[_]", depth+1, fn)
		}
	}
}
