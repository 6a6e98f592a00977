package stacktest

import (
	"fmt"
	"path"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/literal"
	"cuelang.org/go/cue/load"

	"github.com/vigil-stack/vigil/schema"
)

// Step is one step of a path into an environment: a field or map key, or
// (List) an element of a list.
type Step struct {
	Key  string
	List bool
}

// SchemaField is a place of #Environment where a user can write a string:
// a string field, a #SecretRef (a literal there is a mistake), or a map
// key (Kind "key": the place is the key itself).
type SchemaField struct {
	Path []Step
	Kind string
}

func (f SchemaField) String() string {
	var parts []string
	for _, s := range f.Path {
		if s.List {
			parts = append(parts, "[0]")
			continue
		}
		parts = append(parts, s.Key)
	}
	return strings.Join(parts, ".") + " (" + f.Kind + ")"
}

// CUE is one line of CUE that writes value at the field: for a map key,
// value is the key.
func (f SchemaField) CUE(value string) string {
	steps := f.Path
	inner := literal.String.Quote(value)
	if f.Kind == "key" {
		steps = append(append([]Step(nil), steps...), Step{Key: value})
		inner = "_"
	}
	var b strings.Builder
	var write func(steps []Step)
	write = func(steps []Step) {
		if len(steps) == 0 {
			b.WriteString(inner)
			return
		}
		if steps[0].List {
			b.WriteString("[")
			write(steps[1:])
			b.WriteString("]")
			return
		}
		b.WriteString("{" + literal.Label.Quote(steps[0].Key) + ": ")
		write(steps[1:])
		b.WriteString("}")
	}
	write(steps)
	s := b.String()
	// The outermost braces are the file's own struct.
	return strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")
}

// probeKey stands for any key of a map (a pattern constraint [Name]: T).
const probeKey = "probe"

// SchemaStringFields walks the embedded #Environment and returns every
// place a string can be written, map keys included, sorted by path. It is
// derived from the schema, so a field added to the schema is covered
// without editing a list.
func SchemaStringFields() ([]SchemaField, error) {
	const root = "/vigil-schema-walk"
	files, err := schema.Files()
	if err != nil {
		return nil, err
	}
	overlay := map[string]load.Source{
		root + "/cue.mod/module.cue": load.FromString(fmt.Sprintf("module: %q\nlanguage: version: %q\n", schema.ModulePath, "v0.16.0")),
	}
	for name, b := range files {
		overlay[path.Join(root, "schema", name)] = load.FromBytes(b)
	}
	insts := load.Instances([]string{"."}, &load.Config{Dir: root + "/schema", ModuleRoot: root, Overlay: overlay})
	if insts[0].Err != nil {
		return nil, insts[0].Err
	}
	def := cuecontext.New().BuildInstance(insts[0]).LookupPath(cue.ParsePath("#Environment"))
	if err := def.Err(); err != nil {
		return nil, err
	}
	var out []SchemaField
	walkSchema(def, nil, &out, 0)
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out, nil
}

func walkSchema(v cue.Value, at []Step, out *[]SchemaField, depth int) {
	if depth > 16 {
		return
	}
	here := func(kind string) {
		*out = append(*out, SchemaField{Path: append([]Step(nil), at...), Kind: kind})
	}
	kind := v.IncompleteKind()
	if kind&cue.StringKind != 0 {
		here("string")
	}
	if kind&cue.ListKind != 0 {
		if elem := v.LookupPath(cue.MakePath(cue.AnyIndex)); elem.Exists() {
			walkSchema(elem, append(at, Step{List: true}), out, depth+1)
		}
	}
	if kind&cue.StructKind == 0 {
		return
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return
	}
	names := map[string]bool{}
	fields := 0
	for it.Next() {
		sel := it.Selector()
		if sel.IsDefinition() || sel.Type()&cue.HiddenLabel != 0 {
			continue
		}
		fields++
		names[sel.Unquoted()] = true
		walkSchema(it.Value(), append(at, Step{Key: sel.Unquoted()}), out, depth+1)
	}
	if names["secret"] && names["key"] && fields <= 3 {
		here("secretref")
	}
	if names[probeKey] {
		return
	}
	probe := v.FillPath(cue.MakePath(cue.Str(probeKey)), v.Context().CompileString("_"))
	if p := probe.LookupPath(cue.MakePath(cue.Str(probeKey))); p.Exists() && p.Err() == nil {
		here("key")
		walkSchema(p, append(at, Step{Key: probeKey}), out, depth+1)
	}
}
