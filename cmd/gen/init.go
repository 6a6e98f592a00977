package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"sort"
	"strings"
	"text/template"

	"cuelang.org/go/mod/module"
	"github.com/spf13/cobra"

	"github.com/vigil-stack/vigil/overlays"
)

// The files of a new platform repository are Go templates compiled into the
// binary, so gen init works anywhere without Vigil's repository.
//
//go:embed templates/*.tmpl
var initTemplates embed.FS

// genPackage is what a platform repository installs to run gen.
const genPackage = "github.com/vigil-stack/vigil/cmd/gen"

// initFiles maps each template to the file it becomes; NAME is the
// environment's name.
var initFiles = map[string]string{
	"module.cue.tmpl": "cue.mod/module.cue",
	"fleet.cue.tmpl":  "fleet/fleet.cue",
	"env.cue.tmpl":    "envs/NAME/env.cue",
	"gitignore.tmpl":  ".gitignore",
	"README.md.tmpl":  "README.md",
	"vigil.yaml.tmpl": ".github/workflows/vigil.yaml",
}

// initData is what the templates may use.
type initData struct {
	Module, Name, Package string
	FluxPath, Bootstrap   string
	GenPackage, Version   string
	LanguageVersion       string
}

// envName is the schema's #Name (an RFC 1123 label) within the 38
// characters it allows an environment name.
var envName = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,36}[a-z0-9])?$`)

func initCommand() *cobra.Command {
	var modulePath, name string
	c := &cobra.Command{
		Use:   "init DIR",
		Short: "Start a platform repository: a CUE module, a fleet package, one environment and a CI job",
		Long: `init writes a new platform repository into DIR, which must not exist or be
empty: cue.mod/module.cue with the module path given, a fleet package that
imports Vigil's schema (github.com/vigil-stack/vigil/schema, which gen
supplies itself), one minimal environment under envs/NAME, a .gitignore, a
README with the flux bootstrap command that matches the rendered tree, and a
GitHub Actions job that runs gen validate and gen render and fails when the
committed deploy/ is stale (gen diff exits 1).`,
		Example: `  gen init platform --module github.com/acme/platform --name dev
  cd platform && gen render envs/dev`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, a []string) error {
			if err := module.CheckPathWithoutVersion(modulePath); err != nil {
				return usageError{fmt.Errorf("--module %q is not a CUE module path (such as github.com/acme/platform): %w", modulePath, err)}
			}
			if !envName.MatchString(name) {
				return usageError{fmt.Errorf("--name %q is not an environment name: lower-case letters, digits and '-', at most 38, starting and ending with a letter or digit", name)}
			}
			data := newInitData(modulePath, name)
			files, err := renderInit(data)
			if err != nil {
				return err
			}
			if err := writeNewDir(a[0], files); err != nil {
				return err
			}
			w := c.OutOrStdout()
			fmt.Fprintf(w, "%s: platform repository for module %s with environment %s\n", a[0], modulePath, name)
			fmt.Fprintf(w, "next:\n  cd %s\n  gen render envs/%s        # writes deploy/; commit it\n  %s\n", a[0], name, data.Bootstrap)
			return nil
		},
	}
	c.Flags().StringVar(&modulePath, "module", "example.com/platform", "CUE module path of the repository (e.g. github.com/acme/platform)")
	c.Flags().StringVar(&name, "name", "dev", "name of the first environment (and of its cluster)")
	return c
}

func newInitData(modulePath, name string) initData {
	version := "latest"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		version = bi.Main.Version
	}
	// A package clause is a CUE identifier; an environment name may hold
	// '-' and start with a digit.
	pkg := strings.ReplaceAll(name, "-", "_")
	if pkg[0] >= '0' && pkg[0] <= '9' {
		pkg = "env_" + pkg
	}
	const fluxPath = "./deploy" // the schema's default, where gen render writes
	owner, repo := "<owner>", "<repository>"
	if parts := strings.Split(modulePath, "/"); len(parts) == 3 && parts[0] == "github.com" {
		owner, repo = parts[1], parts[2]
	}
	return initData{
		Module: modulePath, Name: name, Package: pkg,
		FluxPath: fluxPath,
		// Flux reads the environment's Kustomizations from clusters/<env>
		// below flux.path.
		Bootstrap: fmt.Sprintf("flux bootstrap github --owner=%s --repository=%s --branch=main --path=%s/clusters/%s",
			owner, repo, fluxPath, name),
		GenPackage: genPackage, Version: version,
		LanguageVersion: "v0.16.0",
	}
}

// renderInit executes every template; the result maps slash paths to
// contents.
func renderInit(data initData) (map[string][]byte, error) {
	out := map[string][]byte{}
	for tmpl, target := range initFiles {
		src, err := initTemplates.ReadFile("templates/" + tmpl)
		if err != nil {
			return nil, fmt.Errorf("init template %s: %w", tmpl, err)
		}
		t, err := template.New(tmpl).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return nil, fmt.Errorf("init template %s: %w", tmpl, err)
		}
		var b bytes.Buffer
		if err := t.Execute(&b, data); err != nil {
			return nil, fmt.Errorf("init template %s: %w", tmpl, err)
		}
		out[strings.ReplaceAll(target, "NAME", data.Name)] = b.Bytes()
	}
	return out, nil
}

// writeNewDir creates dir holding files, all or nothing: the files are
// written into a sibling directory that is then renamed into place. dir
// must not exist or be empty; a user's files are never overwritten.
func writeNewDir(dir string, files map[string][]byte) error {
	entries, err := os.ReadDir(dir)
	exists := err == nil
	switch {
	case err == nil && len(entries) > 0:
		return fmt.Errorf("init %s: %w: it is not empty; give a new or empty directory", dir, overlays.ErrRefused)
	case err != nil && !errors.Is(err, fs.ErrNotExist):
		return fmt.Errorf("init %s: %w", dir, err)
	}
	parent := filepath.Dir(filepath.Clean(dir))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	tmp, err := os.MkdirTemp(parent, "."+filepath.Base(dir)+".vigil-init-")
	if err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	defer os.RemoveAll(tmp) // gone after the rename; only a failure leaves it
	names := make([]string, 0, len(files))
	for p := range files {
		names = append(names, p)
	}
	sort.Strings(names)
	for _, p := range names {
		target := filepath.Join(tmp, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return fmt.Errorf("init %s: %w", dir, err)
		}
		if err := os.WriteFile(target, files[p], 0o644); err != nil {
			return fmt.Errorf("init %s: write %s: %w", dir, path.Clean(p), err)
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	if exists {
		// dir exists and was empty. os.Remove fails on a directory that
		// is not, so files put into it meanwhile are never lost.
		if err := os.Remove(dir); err != nil {
			return fmt.Errorf("init %s: %w", dir, err)
		}
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("init %s: %w", dir, err)
	}
	return nil
}
