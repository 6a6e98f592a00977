package generate

import (
	"context"
	"testing"

	"cuelang.org/go/cue"
	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil/generate/env"
)

// The schema leaves out the half of monitoring.controlPlane that a cluster
// does not set, and Go fills in its defaults: they must be the schema's.
func TestControlPlaneDefaultsMatchSchema(t *testing.T) {
	def, err := schemaDefinition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		path string
		got  any
		want func() any
	}{
		{"selfManaged", &env.SelfManagedControlPlane{}, func() any { v := env.DefaultSelfManaged(); return &v }},
		{"managed", &env.ManagedControlPlane{}, func() any { v := env.DefaultManaged(); return &v }},
	} {
		v := def.LookupPath(cue.MakePath(cue.Str("monitoring"), cue.Str("controlPlane"), cue.Str(c.path).Optional()))
		// An optional field's value is its schema; unifying it with {}
		// gives the defaults.
		v = v.Unify(def.Context().CompileString("{}"))
		if err := v.Decode(c.got); err != nil {
			t.Fatalf("%s: %v", c.path, err)
		}
		if d := cmp.Diff(c.want(), c.got); d != "" {
			t.Errorf("%s: Go defaults differ from the schema's (-go +schema):\n%s", c.path, d)
		}
	}
}
