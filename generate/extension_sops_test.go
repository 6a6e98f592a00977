package generate_test

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha512"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/fstest"

	"filippo.io/age"
	"filippo.io/age/armor"
	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate"
)

// sopsFixture encrypts a Secret the way SOPS does (AES-256-GCM per value
// with a 32-byte nonce and the value's path as additional data, the data key
// encrypted to an age recipient, a MAC over the values), with a key made
// for the test: no key is committed.
func sopsFixture(t *testing.T, name, namespace string, data map[string]string) (file []byte, id *age.X25519Identity) {
	t.Helper()
	id, err := age.GenerateX25519Identity()
	if err != nil {
		t.Fatal(err)
	}
	dataKey := make([]byte, 32)
	if _, err := rand.Read(dataKey); err != nil {
		t.Fatal(err)
	}
	block, err := aes.NewCipher(dataKey)
	if err != nil {
		t.Fatal(err)
	}
	gcm, err := cipher.NewGCMWithNonceSize(block, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := func(plain, aad string) string {
		iv := make([]byte, 32)
		if _, err := rand.Read(iv); err != nil {
			t.Fatal(err)
		}
		sealed := gcm.Seal(nil, iv, []byte(plain), []byte(aad))
		ct, tag := sealed[:len(sealed)-16], sealed[len(sealed)-16:]
		b64 := base64.StdEncoding.EncodeToString
		return fmt.Sprintf("ENC[AES256_GCM,data:%s,iv:%s,tag:%s,type:str]", b64(ct), b64(iv), b64(tag))
	}
	const lastModified = "2026-11-30T00:00:00Z"
	values := map[string]string{}
	mac := sha512.New()
	for k, v := range data {
		b64 := base64.StdEncoding.EncodeToString([]byte(v))
		values[k] = enc(b64, "data:"+k+":")
		io.WriteString(mac, b64)
	}
	var armored bytes.Buffer
	aw := armor.NewWriter(&armored)
	w, err := age.Encrypt(aw, id.Recipient())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(dataKey); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if err := aw.Close(); err != nil {
		t.Fatal(err)
	}
	meta := map[string]any{"name": name}
	if namespace != "" {
		meta["namespace"] = namespace
	}
	doc := map[string]any{
		"apiVersion": "v1", "kind": "Secret", "type": "Opaque", "metadata": meta, "data": values,
		"sops": map[string]any{
			"age":          []any{map[string]any{"recipient": id.Recipient().String(), "enc": armored.String()}},
			"lastmodified": lastModified,
			"mac":          enc(fmt.Sprintf("%X", mac.Sum(nil)), lastModified),
			"version":      "3.10.2",
		},
	}
	file, err = yaml.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	// The fixture is a real age file: the identity recovers the data key.
	r, err := age.Decrypt(armor.NewReader(strings.NewReader(armored.String())), id)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := io.ReadAll(r); !bytes.Equal(got, dataKey) {
		t.Fatal("age does not round-trip the data key")
	}
	return file, id
}

// TestSOPSSecretsShipEncrypted renders dev with Grafana's admin password
// from a SOPS file: the file reaches the tree byte for byte, a Flux
// Kustomization decrypts it with the key Secret the schema names, Grafana's
// unit waits for it (and no longer for a gate), the Kustomization waits for
// a gate on the key, and the plaintext appears nowhere.
func TestSOPSSecretsShipEncrypted(t *testing.T) {
	const plaintext = "correct-horse-battery-staple-42"
	file, _ := sopsFixture(t, "grafana-admin", "", map[string]string{"password": plaintext})
	fsys := withFile(t, "environments/dev/sops.cue", `package dev
monitoring: grafana: admin: password: sops: "secrets/grafana.sops.yaml"
sops: keySecret: "sops-age"
`)
	fsys["environments/dev/secrets/grafana.sops.yaml"] = &fstest.MapFile{Data: file}
	r, err := generate.Render(context.Background(), []generate.Source{{Dir: "environments/dev", FS: fsys}})
	if err != nil {
		t.Fatal(err)
	}
	tree := r.Tree
	got, ok := tree.File("envs/dev/_secrets/monitoring/secret-grafana-admin.yaml")
	if !ok || !bytes.Equal(got, file) {
		t.Errorf("the encrypted manifest is not in the tree unchanged (present: %v)", ok)
	}
	for _, p := range tree.Paths() {
		b, _ := tree.File(p)
		for _, leak := range []string{plaintext, base64.StdEncoding.EncodeToString([]byte(plaintext))} {
			if strings.Contains(string(b), leak) {
				t.Errorf("%s holds the plaintext", p)
			}
		}
		if strings.HasPrefix(p, "clusters/dev/") && strings.Contains(p, "needs-secret-monitoring-grafana-admin") {
			t.Errorf("%s: a gate still waits for the Secret the SOPS unit creates", p)
		}
	}
	ks := kustomization(t, tree, "clusters/dev/kustomization-dev-secrets.yaml")
	if d := ks.Spec.Decryption; d == nil || d.Provider != "sops" || d.SecretRef == nil || d.SecretRef.Name != "sops-age" {
		t.Errorf("dev-secrets decryption = %+v, want provider sops with secretRef sops-age", d)
	}
	if ks.Spec.Path != "./deploy/envs/dev/_secrets" {
		t.Errorf("dev-secrets path = %s", ks.Spec.Path)
	}
	if !dependsOn(ks, "dev-needs-secret-flux-system-sops-age") {
		t.Errorf("dev-secrets does not wait for the key's gate: %v", ks.Spec.DependsOn)
	}
	if g := kustomization(t, tree, "clusters/dev/kustomization-dev-grafana-instances.yaml"); !dependsOn(g, "dev-secrets") {
		t.Errorf("Grafana's unit does not wait for the SOPS Secrets: %v", g.Spec.DependsOn)
	}
}

func kustomization(t *testing.T, tree interface{ File(string) ([]byte, bool) }, p string) *kustomizev1.Kustomization {
	t.Helper()
	b, ok := tree.File(p)
	if !ok {
		t.Fatalf("%s is not in the tree", p)
	}
	var ks kustomizev1.Kustomization
	if err := yaml.Unmarshal(b, &ks); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	return &ks
}

func dependsOn(ks *kustomizev1.Kustomization, name string) bool {
	for _, d := range ks.Spec.DependsOn {
		if d.Name == name {
			return true
		}
	}
	return false
}
