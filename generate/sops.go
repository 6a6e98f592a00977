package generate

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"regexp"
	"strings"

	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/overlays"
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

// diskReader reads only regular files inside dir (readRegular): a sops:
// path that is a FIFO, a device or a symlink out of the directory is
// refused, not read.
func diskReader(dir string) readFile {
	return func(rel string) ([]byte, error) { return readRegular(dir, rel) }
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
		if msg, refused := why(err); refused {
			issues = append(issues, env.Errorf(at, rel+" "+msg))
			continue
		}
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

// sopsMetadata is the sops: section of an encrypted file, as the SOPS
// format documents it (getsops/sops stores.metadata, which is unexported and
// comes with every key service's SDK, so it is restated here). Only what
// proves the file encrypted is kept.
type sopsMetadata struct {
	KeyGroups    []sopsKeyGroup `json:"key_groups"`
	LastModified string         `json:"lastmodified"`
	MAC          string         `json:"mac"`
	Version      string         `json:"version"`
	sopsKeyGroup
}

// sopsKeyGroup lists the master keys that can decrypt the data key; each
// holds that key encrypted (enc).
type sopsKeyGroup struct {
	KMS     []sopsKey `json:"kms"`
	GCPKMS  []sopsKey `json:"gcp_kms"`
	HCKMS   []sopsKey `json:"hckms"`
	AzureKV []sopsKey `json:"azure_kv"`
	Vault   []sopsKey `json:"hc_vault"`
	Age     []sopsKey `json:"age"`
	PGP     []sopsKey `json:"pgp"`
}

type sopsKey struct {
	Enc string `json:"enc"`
}

func (g sopsKeyGroup) keys() []sopsKey {
	var out []sopsKey
	for _, ks := range [][]sopsKey{g.KMS, g.GCPKMS, g.HCKMS, g.AzureKV, g.Vault, g.Age, g.PGP} {
		out = append(out, ks...)
	}
	return out
}

// encValue is a value SOPS encrypted with AES-256-GCM: base64 data, a
// 32-byte nonce and a 16-byte tag (getsops/sops aes.cipher).
var encValue = regexp.MustCompile(`^ENC\[AES256_GCM,data:([A-Za-z0-9+/]*={0,2}),iv:([A-Za-z0-9+/]+={0,2}),tag:([A-Za-z0-9+/]+={0,2}),type:(str|int|float|bool|bytes|comment)\]$`)

func isEncrypted(s string) bool {
	m := encValue.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	for i, n := range map[int]int{2: 32, 3: 16} {
		b, err := base64.StdEncoding.DecodeString(m[i])
		if err != nil || len(b) != n {
			return false
		}
	}
	_, err := base64.StdEncoding.DecodeString(m[1])
	return err == nil
}

// checkSOPSSecret returns what is wrong with a SOPS Secret manifest, or "".
// It never quotes a value of the file.
func checkSOPSSecret(b []byte, name string) string {
	docs, err := yamlDocuments(b)
	if err != nil {
		return "not a YAML manifest"
	}
	if len(docs) != 1 {
		// kubectl and Flux would apply every document, and only the
		// first is checked here.
		return fmt.Sprintf("holds %d YAML documents; a SOPS Secret file holds exactly one", len(docs))
	}
	var m struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Metadata   struct {
			Name string `json:"name"`
		} `json:"metadata"`
		Data       map[string]any `json:"data"`
		StringData map[string]any `json:"stringData"`
		SOPS       *sopsMetadata  `json:"sops"`
	}
	if err := yaml.Unmarshal(docs[0], &m); err != nil {
		return "not a YAML manifest of a Secret (a field has the wrong type)"
	}
	if m.Kind != "Secret" || m.APIVersion != "v1" {
		return "not a v1 Secret manifest"
	}
	if m.Metadata.Name != name {
		return fmt.Sprintf("defines Secret %q, but the reference names %q; SOPS leaves metadata in clear, so fix either", m.Metadata.Name, name)
	}
	if m.SOPS == nil {
		return "not SOPS-encrypted (no sops metadata): encrypt it with `sops --encrypt --in-place`; a plain Secret must never reach the rendered tree"
	}
	if !isEncrypted(m.SOPS.MAC) {
		return "has no valid sops.mac (an ENC[AES256_GCM,…] value); re-encrypt it with sops rather than edit it by hand"
	}
	if m.SOPS.Version == "" || m.SOPS.LastModified == "" {
		return "has incomplete sops metadata (version, lastmodified); re-encrypt it with sops"
	}
	keys := m.SOPS.keys()
	for _, g := range m.SOPS.KeyGroups {
		keys = append(keys, g.keys()...)
	}
	if len(keys) == 0 {
		return "names no key (age, pgp, kms, …) in its sops metadata, so nobody can decrypt it; re-encrypt it with sops"
	}
	for _, k := range keys {
		if k.Enc == "" {
			return "has a sops key without its encrypted data key (enc); re-encrypt it with sops"
		}
	}
	if len(m.Data)+len(m.StringData) == 0 {
		return "holds no data; a SOPS Secret file has data or stringData"
	}
	for _, values := range []map[string]any{m.Data, m.StringData} {
		for _, v := range values {
			if s, ok := v.(string); !ok || !isEncrypted(s) {
				return "holds a value that is not encrypted (ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]): encrypt data and stringData with sops"
			}
		}
	}
	return ""
}

// yamlDocuments splits a YAML stream into its non-empty documents.
func yamlDocuments(b []byte) ([][]byte, error) {
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(b)))
	var docs [][]byte
	for {
		d, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs, nil
		}
		if err != nil {
			return nil, err
		}
		var v any
		if err := yaml.Unmarshal(d, &v); err != nil {
			return nil, err
		}
		if v != nil {
			docs = append(docs, d)
		}
	}
}

// SOPS is what the overlay compiler ships of the environment's SOPS
// files: each manifest unchanged, and the key Secret Flux decrypts with.
func (e *Environment) SOPS() overlays.SOPS {
	s := overlays.SOPS{KeySecret: e.Spec.SOPS.KeySecret}
	for _, f := range e.SecretFiles {
		s.Secrets = append(s.Secrets, overlays.EncryptedSecret{Source: f.Path, Data: f.Data})
	}
	return s
}
