package generate

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	cueerrors "cuelang.org/go/cue/errors"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/token"
	"cuelang.org/go/mod/modfile"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/schema"
)

// Environment is a loaded, validated environment: its decoded value and where
// it came from.
type Environment struct {
	// Spec is the concrete environment every generator reads.
	Spec *env.Environment
	// Dir is the environment directory as given to Load.
	Dir string
	// Warnings are advice that did not stop loading (an Elasticsearch data
	// volume on NFS, say). In a strict environment they are errors instead.
	Warnings Diagnostics
	// SecretFiles are the SOPS-encrypted Secret manifests the environment
	// references, checked to be encrypted.
	SecretFiles []SecretFile
}

// languageVersion is written into the module file Vigil supplies when an
// environment directory is not inside a CUE module.
const languageVersion = "v0.16.0"

// virtualRoot is where embedded environments are mounted in CUE's overlay;
// it never exists on disk.
const virtualRoot = "/vigil-embedded"

// Load reads the CUE package in dir, unifies it with the embedded
// #Environment schema, requires it to be concrete, decodes it and runs the
// Go checks. Every problem is returned at once as Diagnostics, each with the
// file, line and column relative to the working directory. The user's files
// are never written: the schema reaches CUE through an in-memory overlay.
func Load(ctx context.Context, dir string) (*Environment, error) {
	req, err := diskRequest(dir)
	if err != nil {
		return nil, err
	}
	return loadInstance(ctx, req)
}

// diskRequest prepares the load of the environment in dir: the user's
// files, read only through Vigil's guarded reader (regular files of a
// bounded size, no link out of the module), and the schema in memory.
// Load and Locate share it, so both see exactly the same package.
func diskRequest(dir string) (loadRequest, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return loadRequest{}, fmt.Errorf("load %s: %w", dir, err)
	}
	if fi, err := os.Stat(abs); err != nil {
		return loadRequest{}, fmt.Errorf("load %s: %w", dir, err)
	} else if !fi.IsDir() {
		return loadRequest{}, invalid(fmt.Errorf("load %s: not a directory; give the directory that holds the environment's .cue files", dir))
	}
	cwd, err := os.Getwd()
	if err != nil {
		return loadRequest{}, fmt.Errorf("load %s: %w", dir, err)
	}
	root, modulePath, err := findModule(abs)
	if err != nil {
		var cerr cueerrors.Error
		if errors.As(err, &cerr) && cerr.Position().IsValid() {
			// A broken cue.mod/module.cue is the user's file: say where,
			// and what (the cause is in the chain, not in Msg).
			d := Diagnostic{Message: leadingPosition.ReplaceAllString(cerr.Error(), "")}
			d.File, d.Line, d.Column = positioner{cwd: cwd}.file(cerr.Position())
			return loadRequest{}, Diagnostics{d}
		}
		return loadRequest{}, fmt.Errorf("load %s: %w", dir, err)
	}
	overlay := map[string]load.Source{}
	if root == "" {
		// A bare directory: give it a module of its own, in memory.
		root = abs
		overlay[filepath.Join(root, "cue.mod", "module.cue")] = load.FromString(
			fmt.Sprintf("module: %q\nlanguage: version: %q\n", "vigil.local/environment", languageVersion))
	}
	if modulePath != schema.ModulePath {
		if err := addSchema(overlay, filepath.Join(root, "cue.mod", "gen", filepath.FromSlash(schema.ImportPath))); err != nil {
			return loadRequest{}, err
		}
	}
	files := map[string][]byte{}
	if err := readPackageFiles(root, modulePath, abs, dir, overlay, files); err != nil {
		return loadRequest{}, fmt.Errorf("load %s: %w", dir, err)
	}
	return loadRequest{dir: abs, display: dir, root: root, module: modulePath, cwd: cwd, overlay: overlay, files: files, read: diskReader(abs)}, nil
}

// LoadFS loads an environment embedded in the binary: fsys mirrors the
// repository layout below the module root (so dir is "environments/prod"
// and a shared package at "environments/fleet" is importable as
// "github.com/vigil-stack/vigil/environments/fleet").
func LoadFS(ctx context.Context, fsys fs.FS, dir string) (*Environment, error) {
	req, err := fsRequest(fsys, dir)
	if err != nil {
		return nil, err
	}
	return loadInstance(ctx, req)
}

// fsRequest is diskRequest for an environment embedded in the binary.
func fsRequest(fsys fs.FS, dir string) (loadRequest, error) {
	overlay := map[string]load.Source{
		path.Join(virtualRoot, "cue.mod", "module.cue"): load.FromString(
			fmt.Sprintf("module: %q\nlanguage: version: %q\n", schema.ModulePath, languageVersion)),
	}
	if err := addSchema(overlay, path.Join(virtualRoot, "schema")); err != nil {
		return loadRequest{}, err
	}
	files := map[string][]byte{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".cue") {
			return err
		}
		b, err := fs.ReadFile(fsys, p)
		if err != nil {
			return err
		}
		if len(b) > maxFileSize {
			return fileError("", p, errTooLarge.Error())
		}
		overlay[path.Join(virtualRoot, p)] = load.FromBytes(b)
		files[path.Join(virtualRoot, p)] = b
		return nil
	})
	if errors.Is(err, ErrInvalid) {
		return loadRequest{}, err
	}
	if err != nil {
		return loadRequest{}, fmt.Errorf("load embedded %s: %w", dir, err)
	}
	return loadRequest{dir: path.Join(virtualRoot, dir), display: dir, root: virtualRoot, module: schema.ModulePath, cwd: virtualRoot, overlay: overlay, files: files, read: fsReader(fsys, dir)}, nil
}

type loadRequest struct {
	dir, display, root, cwd string
	// module is the path of the user's CUE module, "" for a directory in
	// none (Vigil then supplies an internal one the user never sees).
	module  string
	overlay map[string]load.Source
	// files are the user's CUE files in the overlay, by absolute path.
	files map[string][]byte
	read  readFile
}

func addSchema(overlay map[string]load.Source, dir string) error {
	files, err := schema.Files()
	if err != nil {
		return fmt.Errorf("read embedded schema: %w", err)
	}
	for name, b := range files {
		overlay[filepath.Join(dir, name)] = load.FromBytes(b)
	}
	return nil
}

// findModule walks up from dir to the nearest cue.mod/module.cue and returns
// its directory and module path, or "" when there is none.
func findModule(dir string) (root, modulePath string, err error) {
	for d := dir; ; d = filepath.Dir(d) {
		f := filepath.Join(d, "cue.mod", "module.cue")
		b, err := readRegular(filepath.Dir(f), filepath.Base(f))
		if msg, refused := why(err); refused {
			return "", "", invalid(fmt.Errorf("%s %s", f, msg))
		}
		if err == nil {
			mf, err := modfile.ParseNonStrict(b, f)
			if err != nil {
				return "", "", invalid(fmt.Errorf("read CUE module file: %w", err))
			}
			return d, strings.SplitN(mf.Module, "@", 2)[0], nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", "", err
		}
		if filepath.Dir(d) == d {
			return "", "", nil
		}
	}
}

func loadInstance(ctx context.Context, req loadRequest) (*Environment, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return withDeadline(ctx, req.display, func() (*Environment, error) {
		pos := positioner{cwd: req.cwd}
		if diags := checkDepth(req.files, pos.file); len(diags) > 0 {
			return nil, diags
		}
		return evaluate(req)
	})
}

// evaluate loads, unifies, decodes and checks; loadInstance bounds it.
func evaluate(req loadRequest) (*Environment, error) {
	cfg := &load.Config{Dir: req.dir, ModuleRoot: req.root, Overlay: req.overlay}
	insts := load.Instances([]string{".", schema.ImportPath}, cfg)
	pos := positioner{cwd: req.cwd, root: req.root, module: req.module}
	for _, inst := range insts {
		if inst.Err != nil {
			if msg := inst.Err.Error(); len(inst.BuildFiles) == 0 && len(inst.IgnoredFiles) == 0 &&
				(strings.Contains(msg, "no CUE files") || strings.Contains(msg, "matched no packages")) {
				return nil, Diagnostics{{File: pos.dir(req.dir), Message: "no .cue files here: an environment is a directory of CUE files of one package (see environments/ for examples)"}}
			}
			if msg := inst.Err.Error(); strings.HasPrefix(msg, "found packages") {
				// CUE names the files but gives no position.
				return nil, Diagnostics{{File: pos.dir(req.dir), Message: leadingPosition.ReplaceAllString(msg, "") +
					": an environment directory holds one package; give every file the same package clause or move the others out"}}
			}
			return nil, pos.cueDiagnostics(cueerrors.Errors(inst.Err), cue.Value{}, cue.Value{})
		}
	}
	// CUE leaves a file without a package clause out of the package
	// silently; in an environment directory that loses settings.
	var orphans Diagnostics
	for _, f := range insts[0].IgnoredFiles {
		if f.ExcludeReason != nil && strings.Contains(f.ExcludeReason.Error(), "no package name") {
			orphans = append(orphans, Diagnostic{File: pos.dir(f.Filename), Line: 1, Column: 1, Message: fmt.Sprintf("no package clause, so CUE leaves this file out of the environment: start it with package %s", insts[0].PkgName)})
		}
	}
	if len(orphans) > 0 {
		return nil, orphans
	}
	// One context per environment: CUE values are not safe for concurrent
	// use, and a fresh context keeps one environment's memory its own.
	cctx := cuecontext.New()
	vals, err := cctx.BuildInstances(insts)
	if err != nil {
		return nil, pos.cueDiagnostics(cueerrors.Errors(err), cue.Value{}, cue.Value{})
	}
	user, schemaPkg := vals[0], vals[1]
	def := schemaPkg.LookupPath(cue.ParsePath("#Environment"))
	if err := def.Err(); err != nil {
		return nil, fmt.Errorf("embedded schema is broken: %w", err)
	}
	// Credentials are looked for in everything the user wrote, and
	// reported even when CUE finds other mistakes: a secret pasted into a
	// free-form field must not wait for the rest to be fixed.
	leaks := pos.secretLooking(user)
	if err := user.Err(); err != nil {
		return nil, withLeaks(pos.cueDiagnostics(cueerrors.Errors(err), def, user), leaks)
	}

	merged := def.Unify(user)
	if errs := append(allErrors(merged), unknownFields(def, user, nil)...); len(errs) > 0 {
		return nil, withLeaks(pos.cueDiagnostics(errs, def, user), leaks)
	}
	var spec env.Environment
	if err := merged.Decode(&spec); err != nil {
		return nil, withLeaks(pos.cueDiagnostics(cueerrors.Errors(err), def, user), leaks)
	}

	files, sopsIssues := sopsFiles(&spec, req.read)
	diags := append(leaks, pos.issues(merged, append(Check(&spec), sopsIssues...))...)
	if spec.Strict {
		for i := range diags {
			diags[i].Severity = SeverityError
		}
	}
	diags.sort()
	if diags.HasErrors() {
		return nil, diags
	}
	return &Environment{Spec: &spec, Dir: req.display, Warnings: diags, SecretFiles: files}, nil
}

// allErrors validates v field by field: CUE reports only the first error of
// a struct, and a user should see every mistake at once. Optional fields are
// not descended into: absent, they are fine.
func allErrors(v cue.Value) []cueerrors.Error {
	err := v.Validate(cue.Concrete(true), cue.Final())
	// A struct validated on its own does not report its missing required
	// fields, so structs are always walked (an erroneous one reports no
	// struct kind, hence the check on the error too).
	if err == nil && v.IncompleteKind() != cue.StructKind {
		return nil
	}
	var out []cueerrors.Error
	if it, ierr := v.Fields(cue.Optional(true)); ierr == nil {
		for it.Next() {
			ft := it.FieldType()
			switch {
			case ft&cue.OptionalConstraint != 0:
				continue
			case ft&cue.RequiredConstraint != 0:
				// Still a constraint, so the user never set it.
				path := append(v.Path().Selectors(), it.Selector().Required())
				path[len(path)-1] = cue.Str(it.Selector().Unquoted())
				out = append(out, &fieldError{v.Pos(), path, "field is required but not present"})
				continue
			}
			out = append(out, allErrors(it.Value())...)
		}
		if len(out) > 0 {
			return out
		}
	}
	if err == nil {
		return nil
	}
	// A leaf: CUE may report its errors relative to the leaf; anchor them
	// at the leaf's own path.
	for _, e := range cueerrors.Errors(err) {
		if len(e.Path()) < len(v.Path().Selectors()) {
			format, args := e.Msg()
			e = &fieldError{e.Position(), v.Path().Selectors(), fmt.Sprintf(format, args...)}
		}
		out = append(out, e)
	}
	return out
}

// unknownFields finds the fields of the user's value that the schema does
// not allow. CUE reports them only as the first error of their struct, so
// they are looked for directly.
func unknownFields(def, user cue.Value, path []cue.Selector) []cueerrors.Error {
	it, err := user.Fields()
	if err != nil || user.IncompleteKind() != cue.StructKind {
		return nil
	}
	var out []cueerrors.Error
	for it.Next() {
		sel := it.Selector()
		if sel.IsDefinition() || sel.Type()&cue.HiddenLabel != 0 {
			continue
		}
		name := sel.Unquoted()
		field := lookupField(def, name)
		if !field.Exists() {
			field = patternOf(def, name)
		}
		p := append(append([]cue.Selector(nil), path...), cue.Str(name))
		if !field.Exists() {
			out = append(out, &fieldError{it.Value().Pos(), p, "field not allowed"})
			continue
		}
		if field.IncompleteKind() == cue.StructKind && !isSecretRef(field) {
			out = append(out, unknownFields(field, it.Value(), p)...)
		}
	}
	return out
}

// fieldError is an error Vigil finds in a CUE value itself: an unknown
// field, a missing required one.
type fieldError struct {
	pos  token.Pos
	path []cue.Selector
	msg  string
}

func (e *fieldError) Position() token.Pos          { return e.pos }
func (e *fieldError) InputPositions() []token.Pos  { return nil }
func (e *fieldError) Error() string                { return e.msg }
func (e *fieldError) Msg() (string, []interface{}) { return "%s", []interface{}{e.msg} }
func (e *fieldError) Path() []string {
	out := make([]string, len(e.path))
	for i, s := range e.path {
		if s.IsString() {
			out[i] = s.Unquoted()
		} else {
			out[i] = s.String()
		}
	}
	return out
}

// positioner turns CUE errors and Go issues into Diagnostics with positions
// relative to the working directory. root and module, when known, are the
// user's CUE module, to explain imports that do not resolve.
type positioner struct{ cwd, root, module string }

func (p positioner) file(pos token.Pos) (string, int, int) {
	if !pos.IsValid() {
		return "", 0, 0
	}
	name := pos.Filename()
	if rel, err := filepath.Rel(p.cwd, name); err == nil && !strings.HasPrefix(rel, "..") {
		name = rel
	}
	return name, pos.Line(), pos.Column()
}

// dir is a path (of a directory, or of a file as a whole) relative to the
// working directory.
func (p positioner) dir(d string) string {
	if rel, err := filepath.Rel(p.cwd, d); err == nil && !strings.HasPrefix(rel, "..") {
		return rel
	}
	return d
}

func (p positioner) isSchemaFile(pos token.Pos) bool {
	f := filepath.ToSlash(pos.Filename())
	return strings.Contains(f, "/cue.mod/gen/"+schema.ImportPath+"/") ||
		strings.HasPrefix(f, virtualRoot+"/schema/") ||
		(strings.HasSuffix(path.Dir(f), "/schema") && strings.HasPrefix(f, p.cwd))
}

// cueDiagnostics converts CUE's errors. def, when valid, is the schema
// definition; it tells which paths hold secret references, so that a
// literal written there is reported without echoing the value. user, when
// valid, is the user's own value: a field the user left out has no
// position of its own, so it is reported at the nearest enclosing field the
// user wrote.
func (p positioner) cueDiagnostics(errs []cueerrors.Error, def, user cue.Value) Diagnostics {
	type candidate struct {
		d    Diagnostic
		rank int
	}
	best := map[string]candidate{}
	var order []string
	for _, e := range errs {
		format, args := e.Msg()
		msg := fmt.Sprintf(format, args...)
		if strings.Contains(msg, "errors in empty disjunction") {
			// A summary of the errors that follow it.
			continue
		}
		fieldPath := trimDefinition(e.Path())
		d := Diagnostic{Path: env.PathString(fieldPath)}
		pos := p.userPosition(e)
		if (!pos.IsValid() || p.isSchemaFile(pos)) && user.Exists() {
			pos = p.nearestUserPosition(user, fieldPath)
		}
		explained := false
		if msg == "import failed" {
			pos, msg, explained = p.importFailure(e)
			if explained {
				// CUE's path here is the importing package, not a field.
				d.Path = ""
			}
		} else if others := p.otherPlaces(e, pos); others != "" && strings.Contains(msg, "conflicting values") {
			// A conflict has two sides, often one in a shared package:
			// name both, so the user can choose which to keep.
			msg += " (also set at " + others + ")"
		}
		d.File, d.Line, d.Column = p.file(pos)
		if def.Exists() && isSecretRef(schemaAt(def, fieldPath)) && strings.Contains(msg, "conflicting values") {
			msg = "a secret value is written here literally; secrets never go into an environment. " +
				"Reference a Secret instead: {secret: \"<name>\", key: \"<key>\"} (optionally sops: \"<file>.sops.yaml\")"
		} else if explained {
			// Vigil's own words around an import path, which is code, not
			// a value; a credential pasted into one is still caught.
			msg = Redact(msg)
		} else {
			msg = redactValues(msg) + hint(msg)
		}
		d.Message = msg
		// A value that fails a disjunction (*1 | int) fails each arm; keep
		// the most telling failure per field and position.
		key := fmt.Sprintf("%s:%d:%d:%s", d.File, d.Line, d.Column, d.Path)
		c := candidate{d, messageRank(msg)}
		if prev, ok := best[key]; !ok {
			order = append(order, key)
			best[key] = c
		} else if c.rank > prev.rank {
			best[key] = c
		}
	}
	out := make(Diagnostics, 0, len(order))
	for _, k := range order {
		out = append(out, best[k].d)
	}
	out.sort()
	return out
}

// importFailure explains an import CUE could not load. CUE's message is
// only "import failed", at the import; the cause (a syntax error in the
// imported package, a cycle, a missing package) is in the error's chain
// and input positions. A cycle is reported at the import that starts it
// with the imports that close it; any other failure at its own place,
// with the import that led there. A package that cannot be found is
// explained by what its path names (explained is then true: the message
// is Vigil's own, naming the path).
func (p positioner) importFailure(e cueerrors.Error) (at token.Pos, msg string, explained bool) {
	detail := e.Error()
	for {
		_, rest, ok := strings.Cut(detail, "import failed: ")
		if !ok {
			break
		}
		detail = rest
	}
	// Drop a position CUE printed into the text; Vigil prints its own.
	detail = leadingPosition.ReplaceAllString(detail, "")
	at = e.Position()
	var chain []string
	var inner token.Pos
	for _, pos := range e.InputPositions() {
		if pos.IsValid() && pos != at {
			f, l, c := p.file(pos)
			chain = append(chain, fmt.Sprintf("%s:%d:%d", f, l, c))
			inner = pos
		}
	}
	f, l, c := p.file(at)
	switch {
	case strings.Contains(detail, "cycle"):
		return at, "import cycle: the imports at " + strings.Join(chain, ", ") + " lead back here; move the shared values into a package that imports neither", false
	case inner.IsValid():
		return inner, fmt.Sprintf("%s (in a package imported at %s:%d:%d)", detail, f, l, c), false
	}
	if m := missingPackage.FindStringSubmatch(detail); m != nil {
		return at, p.missingImport(m[1]), true
	}
	if m := otherPackageName.FindStringSubmatch(detail); m != nil {
		return at, fmt.Sprintf("import %q: the files of that directory are not of package %s (their package clause names another); "+
			"give them the clause package %s, or name their package after the path: \"%s:<package>\"", m[1], m[2], m[2], m[1]), true
	}
	return at, detail + ": check the import path against the module path in cue.mod/module.cue", false
}

// missingPackage finds the import path in CUE's "cannot find package".
var missingPackage = regexp.MustCompile(`cannot find module providing package (\S+)`)

// otherPackageName finds CUE's "the directory holds files of another
// package": the import path and the package name the path implies.
var otherPackageName = regexp.MustCompile(`cannot find package "([^"]+)": no files in package directory with package name "?([^"\s]+)"?`)

// missingImport says what an import that resolves to no package names —
// Vigil's schema, one of Vigil's examples, a package of the user's module
// or of another — and what to do about it.
func (p positioner) missingImport(importPath string) string {
	// "example.com/m/pkg@v0:name" names the package example.com/m/pkg.
	pkg, _, _ := strings.Cut(importPath, "@")
	pkg, _, _ = strings.Cut(pkg, ":")
	under := func(prefix string) bool { return pkg == prefix || strings.HasPrefix(pkg, prefix+"/") }
	own := "<your module>"
	if p.module != "" && p.module != schema.ModulePath {
		own = p.module
	}
	what := fmt.Sprintf("import %q: no such package", importPath)
	switch {
	case under(schema.ImportPath):
		return fmt.Sprintf("%s: Vigil's schema is the one package %q, which gen supplies itself; import exactly that path", what, schema.ImportPath)
	case p.module != "" && under(p.module):
		rel := strings.TrimPrefix(strings.TrimPrefix(pkg, p.module), "/")
		return fmt.Sprintf("%s: it would be the package of your module %s (cue.mod/module.cue) in the directory %s, which holds no CUE files of it; "+
			"create that directory with .cue files (package %s), or correct the path", what, p.module, p.dir(filepath.Join(p.root, filepath.FromSlash(rel))), path.Base(pkg))
	case under(schema.ModulePath + "/environments"):
		return fmt.Sprintf("%s: it is one of Vigil's example packages, which exist only inside Vigil's repository; "+
			"copy it into your own module and import it from there (as %q), or start a platform repository with `gen init DIR --module %s`, which writes a fleet package to build on",
			what, own+"/"+path.Base(pkg), own)
	case under(schema.ModulePath):
		return fmt.Sprintf("%s: Vigil supplies only its schema, %q; import that, or copy what you need into your own module", what, schema.ImportPath)
	case p.module == "":
		return fmt.Sprintf("%s: this directory is in no CUE module, so it can import only Vigil's schema (%q); "+
			"for packages of your own, put a cue.mod/module.cue naming your module at the root of your repository (`gen init` writes one) and import them by that path", what, schema.ImportPath)
	}
	return fmt.Sprintf("%s: it is neither Vigil's schema (%q) nor a package of your module %s (cue.mod/module.cue); "+
		"correct the path, or list the module that provides it under deps in cue.mod/module.cue", what, schema.ImportPath, p.module)
}

var leadingPosition = regexp.MustCompile(`(^|: )\S+\.cue:\d+:\d+: `)

// otherPlaces lists, as file:line:col, the positions in the user's files
// that took part in an error besides the one it is reported at.
func (p positioner) otherPlaces(e cueerrors.Error, at token.Pos) string {
	atFile, atLine, atCol := p.file(at)
	seen := map[string]bool{fmt.Sprintf("%s:%d:%d", atFile, atLine, atCol): true}
	var out []string
	for _, pos := range append([]token.Pos{e.Position()}, e.InputPositions()...) {
		if !pos.IsValid() || p.isSchemaFile(pos) {
			continue
		}
		f, l, c := p.file(pos)
		k := fmt.Sprintf("%s:%d:%d", f, l, c)
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Strings(out)
	return strings.Join(out, ", ")
}

// userPosition picks the position of an error in the user's files rather
// than in the schema, so the message points at the line to change.
func (p positioner) userPosition(e cueerrors.Error) token.Pos {
	positions := append([]token.Pos{e.Position()}, e.InputPositions()...)
	for _, pos := range positions {
		if pos.IsValid() && !p.isSchemaFile(pos) {
			return pos
		}
	}
	for _, pos := range positions {
		if pos.IsValid() {
			return pos
		}
	}
	return token.NoPos
}

// messageRank orders CUE messages by how much they tell a user: a broken
// constraint beats a type mismatch, which beats a clash with a default.
func messageRank(msg string) int {
	switch {
	case strings.Contains(msg, "invalid value"), strings.Contains(msg, "out of bound"), strings.Contains(msg, "does not satisfy"):
		return 3
	case strings.Contains(msg, "mismatched types") && againstType.MatchString(msg):
		return 2
	case strings.Contains(msg, "secret value"):
		return 4
	}
	return 1
}

// againstType matches a conflict with a type rather than with a default
// value: "conflicting values "two" and int".
var againstType = regexp.MustCompile(`conflicting values .+ and (int|string|bool|float|number|bytes|struct|list|\{.*\}|\[.*\]) \(mismatched`)

// nearestUserPosition finds the deepest prefix of path the user wrote, or
// else the first field of the user's package.
func (p positioner) nearestUserPosition(user cue.Value, path []string) token.Pos {
	sels := env.Selectors(path)
	for n := len(sels); n > 0; n-- {
		if pos := user.LookupPath(cue.MakePath(sels[:n]...)).Pos(); pos.IsValid() && !p.isSchemaFile(pos) {
			return pos
		}
	}
	return p.firstWritten(user)
}

// firstWritten is the first top-level field the user wrote: where a finding
// about a field nobody wrote points, so that it still names a file and line.
func (p positioner) firstWritten(user cue.Value) token.Pos {
	if it, err := user.Fields(); err == nil {
		for it.Next() {
			if pos := it.Value().Pos(); pos.IsValid() && !p.isSchemaFile(pos) {
				return pos
			}
		}
	}
	return user.Pos()
}

// hint says what to do about the common kinds of CUE mistakes.
func hint(msg string) string {
	switch {
	case strings.Contains(msg, "field not allowed"):
		return ": the schema has no such field; check its spelling and place (`gen schema` lists every field)"
	case strings.Contains(msg, "incomplete value"), strings.Contains(msg, "required but not present"):
		return ": set this field; it has no default"
	case strings.Contains(msg, "mismatched types"):
		return ": give a value of the type the schema expects (`gen schema` shows it)"
	case strings.Contains(msg, "does not satisfy"), strings.Contains(msg, "out of bound"), strings.Contains(msg, "invalid value"):
		return ": use a value the schema allows (`gen schema` shows the constraint)"
	case strings.Contains(msg, "conflicting values"):
		return ": the field is set twice to different values (perhaps here and in a shared package); keep one"
	}
	return ""
}

func trimDefinition(p []string) []string {
	if len(p) > 0 && strings.HasPrefix(p[0], "#") {
		return p[1:]
	}
	return p
}

// schemaAt finds the schema of a field, following pattern constraints
// ([Name=string]: …) for keys of collections.
func schemaAt(def cue.Value, fieldPath []string) cue.Value {
	v := def
	for _, f := range fieldPath {
		next := lookupField(v, f)
		if !next.Exists() {
			next = patternOf(v, f)
		}
		if !next.Exists() {
			return next
		}
		v = next
	}
	return v
}

// patternOf returns what a collection's pattern constraint ([Name]: T)
// makes of a field called name, or a non-existent value when no pattern
// accepts that name.
func patternOf(v cue.Value, name string) cue.Value {
	if v.IncompleteKind() != cue.StructKind {
		return cue.Value{}
	}
	probe := v.FillPath(cue.MakePath(cue.Str(name)), v.Context().CompileString("_"))
	f := probe.LookupPath(cue.MakePath(cue.Str(name)))
	if !f.Exists() || f.Err() != nil {
		return cue.Value{}
	}
	return f
}

func lookupField(v cue.Value, name string) cue.Value {
	for _, sel := range []cue.Selector{cue.Str(name), cue.Str(name).Optional(), cue.Str(name).Required()} {
		if f := v.LookupPath(cue.MakePath(sel)); f.Exists() {
			return f
		}
	}
	return cue.Value{}
}

// isSecretRef reports whether a schema value is a #SecretRef: a struct
// declaring exactly the fields secret, key and sops (a map whose pattern
// would accept those names is not one).
func isSecretRef(v cue.Value) bool {
	if !v.Exists() || v.IncompleteKind() != cue.StructKind {
		return false
	}
	it, err := v.Fields(cue.Optional(true))
	if err != nil {
		return false
	}
	var names []string
	for it.Next() {
		names = append(names, it.Selector().Unquoted())
	}
	return strings.Join(names, ",") == "secret,key,sops"
}

// issues positions the Go checks' findings at the user's field, or at the
// nearest enclosing field the user wrote when the value is a default, or
// at the user's first field when the user wrote none of the path.
func (p positioner) issues(v cue.Value, issues []env.Issue) Diagnostics {
	out := make(Diagnostics, 0, len(issues))
	for _, is := range issues {
		d := Diagnostic{Path: env.PathString(is.Path), Message: is.Message}
		if is.Warning {
			d.Severity = SeverityWarning
		}
		pos := p.firstWritten(v)
		sels := env.Selectors(is.Path)
		for n := len(sels); n >= 0; n-- {
			if at := v.LookupPath(cue.MakePath(sels[:n]...)).Pos(); at.IsValid() && !p.isSchemaFile(at) {
				pos = at
				break
			}
		}
		d.File, d.Line, d.Column = p.file(pos)
		out = append(out, d)
	}
	return out
}
