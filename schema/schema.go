// Package schema embeds Vigil's CUE schema, the contract every environment is
// checked against. The .cue files beside this file are both what users import
// as "github.com/vigil-stack/vigil/schema" and what the binary loads, so an
// environment directory needs nothing else on disk.
package schema

import (
	"embed"
	"io/fs"
)

// ImportPath is the CUE import path of the schema package.
const ImportPath = "github.com/vigil-stack/vigil/schema"

// ModulePath is the CUE (and Go) module that holds the schema.
const ModulePath = "github.com/vigil-stack/vigil"

//go:embed *.cue
var files embed.FS

// Files returns the schema's CUE files by base name, sorted by name.
func Files() (map[string][]byte, error) {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(entries))
	for _, e := range entries {
		b, err := files.ReadFile(e.Name())
		if err != nil {
			return nil, err
		}
		out[e.Name()] = b
	}
	return out, nil
}
