package generate

import (
	"context"
	"fmt"
	"io"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/format"
	"cuelang.org/go/cue/load"

	"github.com/vigil-stack/vigil/schema"
)

// WriteSchemaReference prints every field of #Environment with its doc
// comment, type or constraint, and default: the reference `gen schema`
// shows. It reads the embedded schema, so it always matches the binary.
func WriteSchemaReference(ctx context.Context, w io.Writer) error {
	def, err := schemaDefinition(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintln(w, "# Vigil environment schema (#Environment)")
	fmt.Fprintln(w, "# path: constraint (default) — documentation")
	return writeFields(w, def, nil)
}

// schemaDefinition loads #Environment from the embedded schema alone.
func schemaDefinition(ctx context.Context) (cue.Value, error) {
	if err := ctx.Err(); err != nil {
		return cue.Value{}, err
	}
	overlay := map[string]load.Source{}
	if err := addSchema(overlay, virtualRoot+"/schema"); err != nil {
		return cue.Value{}, err
	}
	overlay[virtualRoot+"/cue.mod/module.cue"] = load.FromString(fmt.Sprintf("module: %q\nlanguage: version: %q\n", schema.ModulePath, languageVersion))
	insts := load.Instances([]string{"."}, &load.Config{Dir: virtualRoot + "/schema", ModuleRoot: virtualRoot, Overlay: overlay})
	if insts[0].Err != nil {
		return cue.Value{}, fmt.Errorf("load embedded schema: %w", insts[0].Err)
	}
	v := cuecontext.New().BuildInstance(insts[0])
	def := v.LookupPath(cue.ParsePath("#Environment"))
	return def, def.Err()
}

func writeFields(w io.Writer, v cue.Value, path []string) error {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return fmt.Errorf("schema at %s: %w", strings.Join(path, "."), err)
	}
	for it.Next() {
		sel := it.Selector()
		if sel.IsDefinition() {
			continue
		}
		name := sel.Unquoted()
		field := it.Value()
		p := append(append([]string(nil), path...), name)
		mark := ""
		switch it.FieldType() {
		case cue.OptionalConstraint:
			mark = "?"
		case cue.RequiredConstraint:
			mark = "!"
		}
		doc := docOf(field)
		if field.IncompleteKind() == cue.StructKind && !isSecretRef(field) {
			fmt.Fprintf(w, "\n%s%s:%s\n", strings.Join(p, "."), mark, doc)
			if err := writeFields(w, field, p); err != nil {
				return err
			}
			if pattern := patternOf(field, "name"); pattern.Exists() && !hasField(field, "name") {
				key := strings.Join(append(p, "<name>"), ".")
				if pattern.IncompleteKind() == cue.StructKind && !isSecretRef(pattern) {
					if err := writeFields(w, pattern, append(p, "<name>")); err != nil {
						return err
					}
				} else {
					fmt.Fprintf(w, "%s: %s\n", key, constraint(pattern))
				}
			}
			continue
		}
		fmt.Fprintf(w, "%s%s: %s%s\n", strings.Join(p, "."), mark, constraint(field), doc)
	}
	return nil
}

func docOf(v cue.Value) string {
	var lines []string
	for _, cg := range v.Doc() {
		lines = append(lines, strings.Fields(cg.Text())...)
	}
	if len(lines) == 0 {
		return ""
	}
	return " — " + strings.Join(lines, " ")
}

// constraint prints a leaf's type or constraint and its default.
func constraint(v cue.Value) string {
	if isSecretRef(v) {
		return "#SecretRef {secret: name, key: key, sops?: file}"
	}
	b, err := format.Node(v.Syntax(cue.Raw()), format.Simplify())
	s := strings.Join(strings.Fields(string(b)), " ")
	if err != nil {
		s = v.IncompleteKind().String()
	}
	return s
}

func hasField(v cue.Value, name string) bool {
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return false
	}
	for it.Next() {
		if it.Selector().Unquoted() == name {
			return true
		}
	}
	return false
}
