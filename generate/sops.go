package generate

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
)

// SecretFile is a SOPS-encrypted Secret manifest an environment references.
// Vigil never decrypts it: it checks that it is encrypted and names the
// Secret the reference expects, and the overlay compiler ships it for Flux
// to decrypt.
type SecretFile struct {
	// Path is the file's path relative to the environment directory.
	Path string
	// Secret is the name of the Secret it defines.
	Secret string
	// Data is the encrypted manifest, byte for byte.
	Data []byte
}

// readFile reads a file of the environment directory, from disk or from
// the embedded file system.
type readFile func(rel string) ([]byte, error)

func diskReader(dir string) readFile {
	return func(rel string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, filepath.FromSlash(rel))) }
}

func fsReader(fsys fs.FS, dir string) readFile {
	return func(rel string) ([]byte, error) { return fs.ReadFile(fsys, path.Join(dir, rel)) }
}

// sopsFiles reads and checks every SOPS file the environment references.
// Two references to the same file are read once.
func sopsFiles(e *env.Environment, read readFile) ([]SecretFile, []env.Issue) {
	var files []SecretFile
	var issues []env.Issue
	seen := map[string]bool{}
	for _, u := range SecretRefs(e) {
		rel := u.Ref.SOPS
		if rel == "" || seen[rel] {
			continue
		}
		seen[rel] = true
		at := append(append([]string(nil), u.Path...), "sops")
		if strings.HasPrefix(rel, "/") || strings.Contains("/"+rel+"/", "/../") {
			continue // checkSecrets reports it
		}
		b, err := read(rel)
		if err != nil {
			why := "cannot be read"
			if errors.Is(err, fs.ErrNotExist) {
				why = "does not exist"
			}
			issues = append(issues, env.Errorf(at, fmt.Sprintf("%s %s; the path is relative to the environment directory", rel, why)))
			continue
		}
		if msg := checkSOPSSecret(b, u.Ref.Secret); msg != "" {
			issues = append(issues, env.Errorf(at, rel+": "+msg))
			continue
		}
		files = append(files, SecretFile{Path: rel, Secret: u.Ref.Secret, Data: b})
	}
	return files, issues
}

// checkSOPSSecret returns what is wrong with a SOPS Secret manifest, or "".
// It never quotes a value of the file.
func checkSOPSSecret(b []byte, name string) string {
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Data       map[string]any `json:"data"`
		StringData map[string]any `json:"stringData"`
		SOPS       map[string]any `json:"sops"`
	}
	if err := yaml.Unmarshal(b, &m); err != nil {
		return "not a YAML manifest"
	}
	if m.Kind != "Secret" || m.APIVersion != "v1" {
		return "not a v1 Secret manifest"
	}
	if m.Metadata.Name != name {
		return fmt.Sprintf("defines Secret %q, but the reference names %q; SOPS leaves metadata in clear, so fix either", m.Metadata.Name, name)
	}
	if m.SOPS == nil || m.SOPS["mac"] == nil {
		return "not SOPS-encrypted (no sops metadata): encrypt it with `sops --encrypt --in-place`; a plain Secret must never reach the rendered tree"
	}
	for _, values := range []map[string]any{m.Data, m.StringData} {
		for _, v := range values {
			if s, ok := v.(string); !ok || !strings.HasPrefix(s, "ENC[") {
				return "holds a value that is not encrypted: encrypt data and stringData with sops"
			}
		}
	}
	return ""
}
