package generate

import (
	"context"
	"fmt"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/storage"
	"github.com/vigil-stack/vigil/generate/tracing"
	"github.com/vigil-stack/vigil/overlays"
)

// Locate finds where fields of an environment are written: one Diagnostic
// per path (Message empty), at the CUE that sets the field, or at the
// nearest enclosing field the user wrote when the value is a default. It
// loads the source's CUE again, so it is meant for error paths, after a
// render has decided something must be reported.
func Locate(ctx context.Context, src Source, paths [][]string) (Diagnostics, error) {
	user, cwd, err := src.userValue(ctx)
	if err != nil {
		return nil, fmt.Errorf("locate fields of %s: %w", src, err)
	}
	pos := positioner{cwd: cwd}
	out := make(Diagnostics, 0, len(paths))
	for _, p := range paths {
		d := Diagnostic{Path: env.PathString(p)}
		d.File, d.Line, d.Column = pos.file(pos.locate(user, p))
		out = append(out, d)
	}
	return out, nil
}

// locate finds the user's position for a field: the field itself, else
// the first field below it that the user wrote (a struct's position is
// often the schema's, its leaves are the user's), else the nearest
// enclosing field the user wrote.
func (p positioner) locate(v cue.Value, path []string) token.Pos {
	sels := env.Selectors(path)
	x := v.LookupPath(cue.MakePath(sels...))
	if pos := x.Pos(); pos.IsValid() && !p.isSchemaFile(pos) {
		return pos
	}
	if pos := p.firstUserField(x, 0); pos.IsValid() {
		return pos
	}
	for n := len(sels) - 1; n >= 0; n-- {
		if pos := v.LookupPath(cue.MakePath(sels[:n]...)).Pos(); pos.IsValid() && !p.isSchemaFile(pos) {
			return pos
		}
	}
	return token.NoPos
}

// firstUserField searches the fields below v, in order, for one the user
// wrote; depth bounds the search.
func (p positioner) firstUserField(v cue.Value, depth int) token.Pos {
	if depth > 8 {
		return token.NoPos
	}
	it, err := v.Fields()
	if err != nil {
		return token.NoPos
	}
	for it.Next() {
		f := it.Value()
		if pos := f.Pos(); pos.IsValid() && !p.isSchemaFile(pos) {
			return pos
		}
		if pos := p.firstUserField(f, depth+1); pos.IsValid() {
			return pos
		}
	}
	return token.NoPos
}

// userValue builds the user's CUE package the way Load and LoadFS see it
// (the same guarded reads, the same in-memory schema), without the schema
// unification and checks.
func (s Source) userValue(ctx context.Context) (cue.Value, string, error) {
	if err := ctx.Err(); err != nil {
		return cue.Value{}, "", err
	}
	var req loadRequest
	var err error
	if s.FS != nil {
		req, err = fsRequest(s.FS, s.Dir)
	} else {
		req, err = diskRequest(s.Dir)
	}
	if err != nil {
		return cue.Value{}, "", err
	}
	insts := load.Instances([]string{"."}, &load.Config{Dir: req.dir, ModuleRoot: req.root, Overlay: req.overlay})
	if len(insts) != 1 || insts[0].Err != nil {
		return cue.Value{}, "", fmt.Errorf("loading CUE: %v", insts[0].Err)
	}
	return cuecontext.New().BuildInstance(insts[0]), req.cwd, nil
}

// ChangeSources names the environment fields an object change comes from,
// most specific first, for the objects whose immutable fields an
// environment drives. Nil means the change comes from Vigil's own output
// (a new Vigil version), not from a field of the environment.
func ChangeSources(e *env.Environment, c overlays.ObjectChange) [][]string {
	var fields []string
	for _, f := range c.Fields {
		fields = append(fields, f.Path)
	}
	has := func(prefix string) bool {
		for _, f := range fields {
			if strings.HasPrefix(f, prefix) {
				return true
			}
		}
		return false
	}
	switch {
	case c.Kind == "StorageClass" && strings.HasPrefix(c.Name, storage.ClassName("")):
		role := strings.TrimPrefix(c.Name, storage.ClassName(""))
		name, b, ok := e.Storage.RoleBackend(role)
		if !ok {
			return [][]string{{"storage", "roles", role}}
		}
		be := []string{"storage", "backends", name}
		var out [][]string
		if has("parameters") {
			if b.Kind == env.KindFlashArray {
				out = append(out, append(be[:3:3], "flasharray", "fsType"))
			}
			out = append(out, be)
		}
		if has("provisioner") {
			out = append(out, append(be[:3:3], "kind"))
		}
		if has("reclaimPolicy") {
			out = append(out, append(be[:3:3], "reclaimPolicy"))
		}
		if has("volumeBindingMode") {
			out = append(out, []string{"storage", "roles", role})
		}
		return out
	case c.Kind == "StatefulSet" && c.Name == tracing.TempoName && has("spec.volumeClaimTemplates"):
		return [][]string{{"tracing", "tempo", "storage"}}
	case c.Kind == "PersistentVolumeClaim" && c.Name == grafana.StorageClaim:
		return [][]string{{"monitoring", "grafana", "storage"}}
	case c.Kind == "Elasticsearch":
		// Fields read spec.nodeSets[<name>].volumeClaimTemplates….
		var out [][]string
		seen := map[string]bool{}
		for _, f := range fields {
			rest, ok := strings.CutPrefix(f, "spec.nodeSets[")
			name, _, found := strings.Cut(rest, "]")
			if ok && found && !seen[name] {
				seen[name] = true
				out = append(out, []string{"logging", "elasticsearch", "nodeSets", name, "storage"})
			}
		}
		return out
	}
	return nil
}
