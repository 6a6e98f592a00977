package generate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"cuelang.org/go/cue/ast"
	"cuelang.org/go/cue/load"
	"cuelang.org/go/cue/parser"
	"cuelang.org/go/cue/token"
)

// Limits on what Vigil reads. An environment is a few kilobytes of CUE; the
// limits stop a mistaken or hostile directory long before it costs memory
// or minutes.
const (
	// maxFileSize bounds every .cue and sops: file read.
	maxFileSize = 1 << 20
	// maxDepth bounds the nesting of CUE expressions (structs, lists,
	// operators) in a file and of the evaluated value: CUE's evaluator is
	// recursive, and a thousand nested lists take minutes.
	maxDepth = 100
)

// evalTimeout bounds loading and evaluating one environment; a variable so
// that tests can shorten it.
var evalTimeout = 30 * time.Second

// fileError is a refused input file, at its path.
func fileError(display, rel, why string) error {
	return invalid(fmt.Errorf("%s: %s", filepath.Join(display, rel), why))
}

// readRegular reads the file rel below root and refuses anything that is
// not a regular file inside root: a FIFO or device (reading it would block
// or never end), a symlink whose target leaves root, a file over
// maxFileSize. The file is opened non-blocking and checked again after
// opening, so swapping in a FIFO after the check does not hang Vigil.
func readRegular(root, rel string) ([]byte, error) {
	name := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(name)
	if err != nil {
		return nil, err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		target, err := filepath.EvalSymlinks(name)
		if err != nil {
			return nil, err
		}
		realRoot, err := filepath.EvalSymlinks(root)
		if err != nil {
			return nil, err
		}
		if r, err := filepath.Rel(realRoot, target); err != nil || r == ".." || strings.HasPrefix(r, ".."+string(filepath.Separator)) {
			return nil, errEscapes
		}
		name = target
	}
	f, err := os.OpenFile(name, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err = f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, errNotRegular
	}
	if fi.Size() > maxFileSize {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > maxFileSize {
		return nil, errTooLarge
	}
	return b, nil
}

var (
	errEscapes    = errors.New("is a symlink to a file outside the environment directory; copy the file in instead")
	errNotRegular = errors.New("is not a regular file (a FIFO, device or directory); Vigil reads only regular files")
	errTooLarge   = fmt.Errorf("is larger than %d bytes; an environment file is a few kilobytes", maxFileSize)
)

// why turns readRegular's refusals into a sentence about the file; other
// errors are I/O errors and returned as they are.
func why(err error) (string, bool) {
	for _, e := range []error{errEscapes, errNotRegular, errTooLarge} {
		if errors.Is(err, e) {
			return e.Error(), true
		}
	}
	return "", false
}

// readPackageFiles reads the .cue files of the directories CUE loads for
// an environment: dir itself and each directory above it up to the module
// root (CUE loads a package's files from those too), and the directories
// of the packages they import from the module, transitively. Each is
// checked with readRegular and goes into the overlay, so CUE never opens a
// user's file itself.
func readPackageFiles(root, modulePath, dir, display string, overlay map[string]load.Source, files map[string][]byte) error {
	var dirs []string
	for d := dir; ; d = filepath.Dir(d) {
		dirs = append(dirs, d)
		if d == root || filepath.Dir(d) == d {
			break
		}
	}
	seen := map[string]bool{}
	for len(dirs) > 0 {
		d := dirs[0]
		dirs = dirs[1:]
		if seen[d] {
			continue
		}
		seen[d] = true
		entries, err := os.ReadDir(d)
		if errors.Is(err, fs.ErrNotExist) && d != dir {
			continue // a missing import: CUE reports it at the import
		}
		if err != nil {
			return fmt.Errorf("read %s: %w", d, err)
		}
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".cue") || strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "_") {
				continue
			}
			rel, err := filepath.Rel(dir, filepath.Join(d, e.Name()))
			if err != nil {
				rel = filepath.Join(d, e.Name())
			}
			b, err := readRegular(d, e.Name())
			if msg, refused := why(err); refused {
				return fileError(display, rel, msg)
			} else if err != nil {
				return fmt.Errorf("read %s: %w", filepath.Join(display, rel), err)
			}
			overlay[filepath.Join(d, e.Name())] = load.FromBytes(b)
			files[filepath.Join(d, e.Name())] = b
			if modulePath == "" {
				continue
			}
			f, err := parser.ParseFile(e.Name(), b, parser.ImportsOnly)
			if err != nil {
				continue // CUE reports the syntax error with its position
			}
			for spec := range f.ImportSpecs() {
				p := strings.Trim(spec.Path.Value, `"`)
				p, _, _ = strings.Cut(p, ":")
				if rest, ok := strings.CutPrefix(p, modulePath+"/"); ok {
					dirs = append(dirs, filepath.Join(root, filepath.FromSlash(rest)))
				}
			}
		}
	}
	return nil
}

// checkDepth refuses a file whose expressions nest deeper than maxDepth,
// at the position where the limit is crossed.
func checkDepth(files map[string][]byte, display func(token.Pos) (string, int, int)) Diagnostics {
	var out Diagnostics
	for name, b := range files {
		f, err := parser.ParseFile(name, b)
		if err != nil {
			continue // CUE reports it
		}
		depth := 0
		var deepest ast.Node
		ast.Walk(f, func(n ast.Node) bool {
			depth++
			if depth > maxDepth && deepest == nil {
				deepest = n
			}
			return deepest == nil
		}, func(ast.Node) { depth-- })
		if deepest != nil {
			d := Diagnostic{Message: fmt.Sprintf("expressions nest more than %d levels deep here; Vigil refuses such files rather than evaluate them for minutes: flatten the value", maxDepth)}
			d.File, d.Line, d.Column = display(deepest.Pos())
			out = append(out, d)
		}
	}
	out.sort()
	return out
}

// withDeadline runs load under ctx and evalTimeout. CUE's evaluator takes
// no context, so a runaway evaluation is left behind in its goroutine and
// the caller gets a clear error instead of waiting for it.
func withDeadline(ctx context.Context, display string, load func() (*Environment, error)) (*Environment, error) {
	ctx, cancel := context.WithTimeout(ctx, evalTimeout)
	defer cancel()
	type result struct {
		e   *Environment
		err error
	}
	done := make(chan result, 1)
	go func() {
		// A panic here would end the process from a goroutine no caller
		// can recover in; it is a Vigil bug, reported as an error.
		defer func() {
			if r := recover(); r != nil {
				done <- result{nil, fmt.Errorf("%s: loading panicked (a Vigil bug): %v", display, r)}
			}
		}()
		e, err := load()
		done <- result{e, err}
	}()
	select {
	case r := <-done:
		return r.e, r.err
	case <-ctx.Done():
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			return nil, invalid(fmt.Errorf("%s: evaluating the environment took longer than %s; look for deeply nested or self-referencing values (a comprehension or list that grows without bound)", display, evalTimeout))
		}
		return nil, ctx.Err()
	}
}
