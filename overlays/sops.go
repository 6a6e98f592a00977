package overlays

import (
	"fmt"
	"path"
	"sort"

	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/stack"
)

// SOPS is what an environment ships encrypted: Secret manifests encrypted
// with SOPS, which Vigil copies into the tree byte for byte and never
// decrypts, and the Secret holding the key Flux decrypts them with.
//
// They are applied by one Flux Kustomization per environment,
// <env>-secrets, with spec.decryption (provider sops, secretRef KeySecret),
// from envs/<env>/_secrets/<namespace>/. Each Secret is owned by that unit,
// so every unit whose objects read it depends on it, as on any unit that
// creates what it references; the unit itself waits for a gate on the key
// Secret. A manifest without metadata.namespace is applied in every
// namespace whose objects read it (kustomize's namespace transformer sets
// it; kustomize-controller v1.9 decrypts after the build and does not check
// the SOPS MAC, so the label and namespace kustomize adds are safe).
type SOPS struct {
	// KeySecret is the Secret in the Flux namespace holding the
	// decryption key (for age, a key ending in .agekey).
	KeySecret string
	// Secrets are the encrypted manifests.
	Secrets []EncryptedSecret
}

// EncryptedSecret is one SOPS-encrypted Secret manifest.
type EncryptedSecret struct {
	// Source names it in messages ("secrets/slack.sops.yaml").
	Source string
	// Data is the manifest, one YAML document, byte for byte.
	Data []byte
}

// secretsComponent names the SOPS unit's objects in messages and graphs.
const secretsComponent = "secrets"

// secretsDir holds the encrypted manifests of one environment.
func secretsDir(env string) string { return path.Join("envs", env, "_secrets") }

// encrypted is one encrypted Secret as the compiler sees it: its parsed
// form (for the graph and the verification) and its bytes.
type encrypted struct {
	obj    *object
	source string
	data   []byte
}

// parseSOPS decodes the encrypted manifests; it never looks at their values.
func parseSOPS(s SOPS) ([]*encrypted, error) {
	if len(s.Secrets) == 0 {
		return nil, nil
	}
	if err := validName("SOPS key secret", s.KeySecret); err != nil {
		return nil, err
	}
	var out []*encrypted
	for _, f := range s.Secrets {
		raw, err := yaml.YAMLToJSON(f.Data)
		if err != nil {
			return nil, fmt.Errorf("SOPS file %s: not YAML: %w", f.Source, err)
		}
		m, err := decodeJSONMap(raw)
		if err != nil {
			return nil, fmt.Errorf("SOPS file %s: %w", f.Source, err)
		}
		meta, _ := m["metadata"].(map[string]any)
		name, _ := meta["name"].(string)
		ns, _ := meta["namespace"].(string)
		if m["apiVersion"] != "v1" || m["kind"] != "Secret" || name == "" {
			return nil, fmt.Errorf("SOPS file %s: not a v1 Secret with a name", f.Source)
		}
		if _, ok := m["sops"].(map[string]any); !ok {
			return nil, fmt.Errorf("SOPS file %s: no sops metadata; only encrypted Secrets are shipped", f.Source)
		}
		key := objKey{Version: "v1", Kind: "Secret", Namespace: ns, Name: name}
		out = append(out, &encrypted{obj: &object{component: secretsComponent, key: key, m: m}, source: f.Source, data: f.Data})
	}
	return out, nil
}

// placeSecrets gives each encrypted Secret without a namespace one copy per
// namespace whose objects read it, and refuses one that nothing reads.
func placeSecrets(enc []*encrypted, refs []reference) ([]*encrypted, error) {
	var out []*encrypted
	for _, e := range enc {
		if e.obj.key.Namespace != "" {
			out = append(out, e)
			continue
		}
		nss := map[string]bool{}
		for _, r := range refs {
			if r.to.Kind == "Secret" && r.to.Group == "" && r.to.Name == e.obj.key.Name && r.to.Namespace != "" {
				nss[r.to.Namespace] = true
			}
		}
		if len(nss) == 0 {
			return nil, fmt.Errorf("SOPS file %s: Secret %s names no namespace and no object reads it; set metadata.namespace in the file", e.source, e.obj.key.Name)
		}
		for _, ns := range sortedSet(nss) {
			c := *e
			m := deepCopy(e.obj.m).(map[string]any)
			m["metadata"].(map[string]any)["namespace"] = ns
			k := e.obj.key
			k.Namespace = ns
			c.obj = &object{component: secretsComponent, key: k, m: m}
			out = append(out, &c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].obj.key.less(out[j].obj.key) })
	for i := 1; i < len(out); i++ {
		if out[i].obj.key == out[i-1].obj.key {
			return nil, fmt.Errorf("SOPS files %s and %s both define %s", out[i-1].source, out[i].source, out[i].obj.key)
		}
	}
	return out, nil
}

// renderSecrets writes envs/<env>/_secrets: per namespace, the encrypted
// files unchanged and a kustomization that sets the namespace and the
// environment label; at the top, a kustomization including each namespace.
func (r *rendered) renderSecrets(env string, enc []*encrypted) error {
	if len(enc) == 0 {
		return nil
	}
	dir := secretsDir(env)
	byNS := map[string][]*encrypted{}
	for _, e := range enc {
		byNS[e.obj.key.Namespace] = append(byNS[e.obj.key.Namespace], e)
	}
	top := &types.Kustomization{}
	files := []string{}
	var want []*object
	for _, ns := range sortedKeys(byNS) {
		sub := path.Join(dir, ns)
		keys := make([]objKey, len(byNS[ns]))
		for i, e := range byNS[ns] {
			keys[i] = e.obj.key
		}
		names := fileNames(keys)
		k := &types.Kustomization{Namespace: ns, Labels: []types.Label{{Pairs: map[string]string{stack.LabelEnvironment: env}}}}
		for _, e := range byNS[ns] {
			p := path.Join(sub, names[e.obj.key])
			if err := r.tree.put(p, e.data); err != nil {
				return err
			}
			files = append(files, p)
			k.Resources = append(k.Resources, names[e.obj.key])
			want = append(want, withEnvLabel(e.obj, env, false))
		}
		sort.Strings(k.Resources)
		b, err := kustomizationYAML(k)
		if err != nil {
			return fmt.Errorf("%s: %w", sub, err)
		}
		if err := r.tree.put(path.Join(sub, "kustomization.yaml"), b); err != nil {
			return err
		}
		files = append(files, path.Join(sub, "kustomization.yaml"))
		top.Resources = append(top.Resources, ns)
	}
	b, err := kustomizationYAML(top)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	kf := path.Join(dir, "kustomization.yaml")
	if err := r.tree.put(kf, b); err != nil {
		return err
	}
	r.checks = append(r.checks, buildCheck{dir: dir, what: "environment " + env + " SOPS secrets", files: append(files, kf), want: want})
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// sopsInput is what the graph needs of the SOPS secrets.
type sopsInput struct {
	enc           []*encrypted
	keySecret     string
	fluxNamespace string
}

// keyPrerequisite is the decryption key Secret, gated like any other.
func (s sopsInput) keyPrerequisite() Prerequisite {
	return Prerequisite{APIVersion: "v1", Kind: "Secret", Namespace: s.fluxNamespace, Name: s.keySecret,
		Source: "sops.keySecret (Flux decrypts the environment's SOPS Secrets with it)"}
}

// addSecrets adds the SOPS unit, owner of every encrypted Secret, and
// returns the references of its objects: their namespace and the key Secret.
func (g *depGraph) addSecrets(env string, s sopsInput, refs []reference, owner map[target]*fluxNode, add func(*fluxNode, string) error) ([]reference, error) {
	placed, err := placeSecrets(s.enc, refs)
	if err != nil {
		return nil, err
	}
	n := &fluxNode{name: fluxName(env + "-" + secretsComponent), kind: secretsNode, component: secretsComponent, keySecret: s.keySecret}
	if err := add(n, "the SOPS secrets"); err != nil {
		return nil, err
	}
	var out []reference
	for _, e := range placed {
		t := targetOf(e.obj.key)
		if prev := owner[t]; prev != nil {
			return nil, fmt.Errorf("SOPS file %s: %s is also generated by component %s; drop one of them", e.source, e.obj.key, prev.component)
		}
		owner[t] = n
		n.objects = append(n.objects, e.obj)
		out = append(out,
			reference{from: e.obj.key, field: "metadata.namespace", to: target{Kind: "Namespace", Name: e.obj.key.Namespace}},
			reference{from: e.obj.key, field: "(its Kustomization's spec.decryption.secretRef)", to: target{Kind: "Secret", Namespace: s.fluxNamespace, Name: s.keySecret}})
	}
	g.secrets = placed
	return out, nil
}
