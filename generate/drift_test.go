package generate

import (
	"context"
	"reflect"
	"sort"
	"strings"
	"testing"

	"cuelang.org/go/cue"

	"github.com/vigil-stack/vigil/generate/env"
)

// TestGoTypesMatchSchema walks #Environment and env.Environment side by
// side: every CUE field has a Go field with its JSON name and a compatible
// kind, and every Go field has a CUE field. The Go types are written by
// hand; this test is what keeps them from drifting from the schema.
func TestGoTypesMatchSchema(t *testing.T) {
	def, err := schemaDefinition(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compareStruct(t, "#Environment", def, reflect.TypeOf(env.Environment{}))
}

func compareStruct(t *testing.T, path string, v cue.Value, typ reflect.Type) {
	t.Helper()
	goFields := map[string]reflect.StructField{}
	// Embedded structs (env.Platform) contribute their fields, as in JSON.
	for _, f := range reflect.VisibleFields(typ) {
		if f.Anonymous {
			continue
		}
		name := strings.Split(f.Tag.Get("json"), ",")[0]
		if name == "" || name == "-" {
			t.Errorf("%s: Go field %s has no json name", path, f.Name)
			continue
		}
		goFields[name] = f
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	seen := map[string]bool{}
	for it.Next() {
		sel := it.Selector()
		if sel.IsDefinition() {
			continue
		}
		name := sel.Unquoted()
		seen[name] = true
		f, ok := goFields[name]
		if !ok {
			t.Errorf("%s.%s: in the schema but not in the Go type %s", path, name, typ)
			continue
		}
		if it.FieldType() == cue.OptionalConstraint && !optionalInGo(f) {
			t.Errorf("%s.%s: optional in the schema, so the Go field needs omitempty or a pointer", path, name)
		}
		compareValue(t, path+"."+name, it.Value(), f.Type)
	}
	var extra []string
	for name := range goFields {
		if !seen[name] {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range extra {
		t.Errorf("%s.%s: in the Go type %s but not in the schema", path, name, typ)
	}
}

func optionalInGo(f reflect.StructField) bool {
	k := f.Type.Kind()
	return strings.Contains(f.Tag.Get("json"), "omitempty") || k == reflect.Pointer || k == reflect.Map || k == reflect.Slice || k == reflect.Interface
}

func compareValue(t *testing.T, path string, v cue.Value, typ reflect.Type) {
	t.Helper()
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	kind := v.IncompleteKind()
	switch typ.Kind() {
	case reflect.Interface:
		return // free-form (legacy settings kept only to be rejected)
	case reflect.String:
		if kind != cue.StringKind {
			t.Errorf("%s: schema kind %v, Go string", path, kind)
		}
	case reflect.Int:
		if kind != cue.IntKind {
			t.Errorf("%s: schema kind %v, Go int", path, kind)
		}
	case reflect.Bool:
		if kind != cue.BoolKind {
			t.Errorf("%s: schema kind %v, Go bool", path, kind)
		}
	case reflect.Slice:
		if kind != cue.ListKind {
			t.Errorf("%s: schema kind %v, Go slice", path, kind)
			return
		}
		elem := v.LookupPath(cue.MakePath(cue.AnyIndex))
		if !elem.Exists() {
			// A list with a default (*["spark"] | [...#Name]): its default
			// shows the element kind.
			d, _ := v.Default()
			elem = d.LookupPath(cue.MakePath(cue.Index(0)))
		}
		compareValue(t, path+"[]", elem, typ.Elem())
	case reflect.Map:
		if kind != cue.StructKind {
			t.Errorf("%s: schema kind %v, Go map", path, kind)
			return
		}
		elem := patternOf(v, "name")
		if !elem.Exists() {
			t.Errorf("%s: Go map but the schema declares no [name]: pattern", path)
			return
		}
		compareValue(t, path+".<name>", elem, typ.Elem())
	case reflect.Struct:
		if kind != cue.StructKind {
			t.Errorf("%s: schema kind %v, Go struct", path, kind)
			return
		}
		compareStruct(t, path, v, typ)
	default:
		t.Errorf("%s: unexpected Go kind %v", path, typ.Kind())
	}
}
