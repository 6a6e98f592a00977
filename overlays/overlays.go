package overlays

import (
	"bytes"
	"context"
	"fmt"
	"path"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/resid"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Environment is one rendered environment.
type Environment struct {
	// Name is a DNS label ("prod"); it names directories, Flux objects and
	// the value of the vigil.dev/environment label.
	Name string
	// Objects is what the generators produced for this environment.
	Objects *stack.Set
	// Flux configures the environment's Flux objects.
	Flux Flux
	// Prerequisites are what the environment needs on the cluster and
	// does not create; each gets a gate (see Prerequisite).
	Prerequisites []Prerequisite
	// SOPS are the environment's encrypted Secrets (sops.go).
	SOPS SOPS
}

// Tree is a rendered tree: file paths (slash-separated, relative) to
// contents. The same input always gives a byte-identical tree.
type Tree struct {
	files map[string][]byte
}

// Paths lists the files in lexical order.
func (t *Tree) Paths() []string {
	out := make([]string, 0, len(t.files))
	for p := range t.files {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// File returns a copy of a file's content.
func (t *Tree) File(p string) ([]byte, bool) {
	b, ok := t.files[p]
	return bytes.Clone(b), ok
}

// Len is the number of files.
func (t *Tree) Len() int { return len(t.files) }

func (t *Tree) put(p string, b []byte) error {
	if _, dup := t.files[p]; dup {
		return fmt.Errorf("two files at %s (a Vigil bug)", p)
	}
	t.files[p] = b
	return nil
}

// Compile renders the bases from base (the Set of Vigil's default
// environment) and an overlay per environment, then builds every
// kustomization of the tree in process and checks that it yields exactly the
// generated objects, plus the environment label in overlays. A mismatch is a
// *VerificationError. Bases depend on base alone, so rendering one
// environment or all of them writes the same bases.
func Compile(ctx context.Context, base *stack.Set, envs []Environment) (*Tree, error) {
	warmSchema()
	r, err := render(base, envs)
	if err != nil {
		return nil, err
	}
	if err := r.verify(ctx); err != nil {
		return nil, err
	}
	return r.tree, nil
}

// rendered is a tree plus what each of its kustomizations must build into.
type rendered struct {
	tree   *Tree
	checks []buildCheck
	// verified, if set, holds environment checks verified before.
	verified VerifiedChecks
}

// buildCheck is one kustomization to build and what it must yield.
type buildCheck struct {
	dir  string
	what string
	// files are the tree paths the build may read; anything else missing
	// from them fails the build, which proves each overlay self-contained.
	files []string
	want  []*object
}

// baseGroup is one base directory: a component's objects in one layer.
type baseGroup struct {
	component string
	layer     stack.Layer
	dir       string
	objs      []*object
	file      map[objKey]string
	yaml      map[objKey][]byte
}

// checkEnvironments refuses a batch with an invalid or repeated name, or
// an environment without objects.
func checkEnvironments(envs []Environment) error {
	seen := map[string]bool{}
	for _, e := range envs {
		if err := validName("environment name", e.Name); err != nil {
			return err
		}
		if seen[e.Name] {
			return fmt.Errorf("environment %s given twice", e.Name)
		}
		seen[e.Name] = true
		if e.Objects == nil {
			return fmt.Errorf("environment %s: no object set", e.Name)
		}
	}
	return nil
}

func render(base *stack.Set, envs []Environment) (*rendered, error) {
	if err := checkEnvironments(envs); err != nil {
		return nil, err
	}
	c, err := NewCompiler(base)
	if err != nil {
		return nil, err
	}
	r := &rendered{tree: &Tree{files: map[string][]byte{}}}
	for p, b := range c.base.tree.files {
		r.tree.files[p] = b
	}
	r.checks = append(r.checks, c.base.checks...)
	// Environments render in parallel, each into a tree of its own that
	// only reads the bases; they are merged in name order, so the result
	// does not depend on scheduling.
	sorted := append([]Environment(nil), envs...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Name < sorted[j].Name })
	parts, err := c.renderEnvs(sorted)
	if err != nil {
		return nil, err
	}
	for _, part := range parts {
		for _, p := range part.tree.Paths() {
			if err := r.tree.put(p, part.tree.files[p]); err != nil {
				return nil, err
			}
		}
		r.checks = append(r.checks, part.checks...)
	}
	return r, nil
}

// collect converts and checks a Set: objects in a fixed order (layer,
// component, group, kind, namespace, name), each cluster object once.
func collect(s *stack.Set, what string) ([]*object, error) {
	rs := s.Resources()
	objs := make([]*object, 0, len(rs))
	seen := map[clusterKey]*object{}
	for _, r := range rs {
		if err := validName("component name", r.Component); err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if !validLayer(r.Layer) {
			return nil, fmt.Errorf("%s: component %s: unknown layer %s", what, r.Component, r.Layer)
		}
		o, err := newObject(r)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		if prev, dup := seen[o.key.cluster()]; dup {
			return nil, fmt.Errorf("%s: %s is generated twice, by component %s (layer %s) and component %s (layer %s)",
				what, o.key, prev.component, prev.layer, o.component, o.layer)
		}
		seen[o.key.cluster()] = o
		if meta, _ := o.m["metadata"].(map[string]any); meta != nil {
			if labels, _ := meta["labels"].(map[string]any); labels != nil {
				if _, set := labels[stack.LabelEnvironment]; set {
					return nil, fmt.Errorf("%s: component %s sets label %s on %s; the overlay compiler adds it, generators must not",
						what, o.component, stack.LabelEnvironment, o.key)
				}
			}
		}
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool { return objectLess(objs[i], objs[j]) })
	return objs, nil
}

func objectLess(a, b *object) bool {
	if a.layer != b.layer {
		return a.layer < b.layer
	}
	if a.component != b.component {
		return a.component < b.component
	}
	return a.key.less(b.key)
}

// upstreams returns an environment's upstream manifests, checked.
func upstreams(e Environment) ([]stack.Upstream, error) {
	ups := e.Objects.Upstreams()
	seen := map[string]bool{}
	for _, u := range ups {
		if err := validName("upstream name", u.Name); err != nil {
			return nil, err
		}
		if seen[u.Name] {
			return nil, fmt.Errorf("upstream %s given twice", u.Name)
		}
		seen[u.Name] = true
		switch {
		case !validLayer(u.Layer):
			return nil, fmt.Errorf("upstream %s: unknown layer %s", u.Name, u.Layer)
		case u.URL == "":
			return nil, fmt.Errorf("upstream %s: no URL", u.Name)
		case u.Tag == "":
			return nil, fmt.Errorf("upstream %s: no tag; upstream manifests are referenced at a pinned version", u.Name)
		case u.Path == "":
			return nil, fmt.Errorf("upstream %s: no path", u.Name)
		}
	}
	return ups, nil
}

func kustomizationYAML(k *types.Kustomization) ([]byte, error) {
	k.TypeMeta = types.TypeMeta{APIVersion: types.KustomizationVersion, Kind: types.KustomizationKind}
	return toYAML(k)
}

// renderBases writes the base directories of objs, each object's file
// holding encode(object): objectYAML, or the file already rendered when a
// Compiler is rebuilt from its bases (CompilerFromBases).
func (r *rendered) renderBases(objs []*object, encode func(dir, file string, o *object) ([]byte, error)) ([]*baseGroup, error) {
	var groups []*baseGroup
	byDir := map[string]*baseGroup{}
	for _, o := range objs {
		dir := path.Join("base", o.component, o.layer.String())
		g := byDir[dir]
		if g == nil {
			g = &baseGroup{component: o.component, layer: o.layer, dir: dir, yaml: map[objKey][]byte{}}
			byDir[dir] = g
			groups = append(groups, g)
		}
		g.objs = append(g.objs, o)
	}
	for _, g := range groups {
		keys := make([]objKey, len(g.objs))
		for i, o := range g.objs {
			keys[i] = o.key
		}
		g.file = fileNames(keys)
		k := &types.Kustomization{}
		var files []string
		for _, o := range g.objs {
			name := g.file[o.key]
			b, err := encode(g.dir, name, o)
			if err != nil {
				return nil, fmt.Errorf("base %s: %w", g.dir, err)
			}
			g.yaml[o.key] = b
			k.Resources = append(k.Resources, name)
			if err := r.tree.put(path.Join(g.dir, name), b); err != nil {
				return nil, err
			}
			files = append(files, path.Join(g.dir, name))
		}
		sort.Strings(k.Resources)
		b, err := kustomizationYAML(k)
		if err != nil {
			return nil, fmt.Errorf("base %s: %w", g.dir, err)
		}
		kf := path.Join(g.dir, "kustomization.yaml")
		if err := r.tree.put(kf, b); err != nil {
			return nil, err
		}
		r.checks = append(r.checks, buildCheck{
			dir:   g.dir,
			what:  "base " + g.component + " layer " + g.layer.String(),
			files: append(files, kf),
			want:  g.objs,
		})
	}
	return groups, nil
}

func (r *rendered) renderEnv(e Environment, index map[string]*baseGroup, p *patcher) error {
	objs, err := collect(e.Objects, "environment "+e.Name)
	if err != nil {
		return err
	}
	ups, err := upstreams(e)
	if err != nil {
		return err
	}
	flux := e.Flux.withDefaults()
	if err := flux.validate(); err != nil {
		return err
	}
	enc, err := parseSOPS(e.SOPS)
	if err != nil {
		return err
	}
	g, err := buildGraph(e.Name, objs, ups, e.Prerequisites, sopsInput{enc: enc, keySecret: e.SOPS.KeySecret, fluxNamespace: flux.Namespace})
	if err != nil {
		return err
	}
	if err := r.renderSecrets(e.Name, g.secrets); err != nil {
		return err
	}
	for _, n := range g.nodes {
		if n.kind != unitNode {
			continue
		}
		var bi map[objKey]*baseGroup
		if bg := index[path.Join("base", n.component, n.layer.String())]; bg != nil {
			bi = make(map[objKey]*baseGroup, len(bg.objs))
			for _, o := range bg.objs {
				bi[o.key] = bg
			}
		}
		dir := unitDir(e.Name, n.component, n.layer)
		if err := r.renderUnit(e.Name, dir, n.objects, bi, p); err != nil {
			return fmt.Errorf("component %s layer %s: %w", n.component, n.layer, err)
		}
	}
	for _, gt := range g.gates {
		if err := r.renderGate(e.Name, flux, gt, p); err != nil {
			return fmt.Errorf("prerequisite %s: %w", gt, err)
		}
	}
	return r.renderCluster(e.Name, flux, g)
}

// renderGate writes a gate's directory: a ConfigMap in the Flux namespace
// that says what the gate waits for. kustomize refuses an empty
// kustomization, and the ConfigMap lets `kubectl get configmaps -l
// vigil.dev/prerequisite` list an environment's prerequisites.
func (r *rendered) renderGate(env string, f Flux, gt *Gate, p *patcher) error {
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: gt.Kustomization, Namespace: f.Namespace,
			Labels: map[string]string{PrerequisiteAnnotation: strings.ToLower(gt.Kind)},
		},
		Data: map[string]string{"prerequisite": gt.String(), "declared": gt.Source},
	}
	cm.APIVersion, cm.Kind = "v1", "ConfigMap"
	o, err := newObject(stack.Resource{Component: "prerequisites", Object: cm})
	if err != nil {
		return err
	}
	return r.renderUnit(env, gateDir(env, gt.Kustomization), []*object{o}, nil, p)
}

// renderUnit writes the overlay of one unit, envs/<env>/<component>/<layer>.
// The base of the same component and layer is included when the environment
// keeps at least one of its objects; the base objects it does not keep are
// deleted by patch, so that the overlay says what the environment leaves
// out. A unit without any object of its base does not include it at all.
func (r *rendered) renderUnit(env, dir string, objs []*object, index map[objKey]*baseGroup, p *patcher) error {
	envByKey := make(map[objKey]*object, len(objs))
	for _, o := range objs {
		envByKey[o.key] = o
	}
	// Base groups to include, in directory order.
	included := map[*baseGroup]bool{}
	var groups []*baseGroup
	for _, o := range objs {
		if g := index[o.key]; g != nil && !included[g] {
			included[g] = true
			groups = append(groups, g)
		}
	}
	sort.Slice(groups, func(i, j int) bool { return groups[i].dir < groups[j].dir })

	kept := map[objKey]bool{}
	var buildKeys []objKey
	for _, g := range groups {
		for _, o := range g.objs {
			buildKeys = append(buildKeys, o.key)
			if envByKey[o.key] != nil {
				kept[o.key] = true
			}
		}
	}
	added := map[string][]*object{}
	var addedComponents []string
	for _, o := range objs {
		if kept[o.key] {
			continue
		}
		if added[o.component] == nil {
			addedComponents = append(addedComponents, o.component)
		}
		added[o.component] = append(added[o.component], o)
		buildKeys = append(buildKeys, o.key)
	}
	sort.Strings(addedComponents)

	k := &types.Kustomization{Labels: []types.Label{envLabel(env, objs)}}
	files := []string{}
	for _, g := range groups {
		k.Resources = append(k.Resources, relPath(dir, g.dir))
		files = append(files, path.Join(g.dir, "kustomization.yaml"))
		for _, o := range g.objs {
			files = append(files, path.Join(g.dir, g.file[o.key]))
		}
	}
	for _, c := range addedComponents {
		keys := make([]objKey, len(added[c]))
		for i, o := range added[c] {
			keys[i] = o.key
		}
		names := fileNames(keys)
		var rels []string
		for _, o := range added[c] {
			b, err := objectYAML(o)
			if err != nil {
				return err
			}
			rel := path.Join("resources", c, names[o.key])
			if err := r.tree.put(path.Join(dir, rel), b); err != nil {
				return err
			}
			files = append(files, path.Join(dir, rel))
			rels = append(rels, rel)
		}
		sort.Strings(rels)
		k.Resources = append(k.Resources, rels...)
	}
	for _, g := range groups {
		for _, o := range g.objs {
			var (
				pt  patch
				has bool
				err error
			)
			if e := envByKey[o.key]; e != nil {
				pt, has, err = p.diff(o, e, g.yaml[o.key], buildKeys)
			} else {
				pt, err = deletePatch(o.key)
				has = true
			}
			if err != nil {
				return err
			}
			if !has {
				continue
			}
			rel := path.Join("patches", g.component, g.file[o.key])
			if err := r.tree.put(path.Join(dir, rel), pt.body); err != nil {
				return err
			}
			files = append(files, path.Join(dir, rel))
			k.Patches = append(k.Patches, types.Patch{Path: rel, Target: pt.target})
		}
	}
	sort.Slice(k.Patches, func(i, j int) bool { return k.Patches[i].Path < k.Patches[j].Path })
	b, err := kustomizationYAML(k)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	kf := path.Join(dir, "kustomization.yaml")
	if err := r.tree.put(kf, b); err != nil {
		return err
	}
	want := make([]*object, len(objs))
	for i, o := range objs {
		want[i] = withEnvLabel(o, env, true)
	}
	r.checks = append(r.checks, buildCheck{
		dir:   dir,
		what:  "environment " + env + " " + strings.TrimPrefix(dir, path.Join("envs", env)+"/"),
		files: append(files, kf),
		want:  want,
	})
	return nil
}

// relPath is the path from one tree directory to another: up to the root,
// then down.
func relPath(from, to string) string {
	rel := to
	for range strings.Split(from, "/") {
		rel = path.Join("..", rel)
	}
	return rel
}

func (r *rendered) renderCluster(env string, flux Flux, g *depGraph) error {
	dir := path.Join("clusters", env)
	var objs []*object
	for _, fo := range fluxObjects(env, flux, g) {
		o, err := newObject(stack.Resource{Component: "flux", Object: fo})
		if err != nil {
			return err
		}
		objs = append(objs, o)
	}
	sort.Slice(objs, func(i, j int) bool { return objs[i].key.less(objs[j].key) })
	keys := make([]objKey, len(objs))
	for i, o := range objs {
		keys[i] = o.key
	}
	names := fileNames(keys)
	k := &types.Kustomization{
		// Flux objects get the label too, so that everything an
		// environment owns can be selected by it.
		Labels: []types.Label{{Pairs: map[string]string{stack.LabelEnvironment: env}}},
	}
	var files []string
	want := make([]*object, len(objs))
	for i, o := range objs {
		b, err := objectYAML(o)
		if err != nil {
			return err
		}
		if err := r.tree.put(path.Join(dir, names[o.key]), b); err != nil {
			return err
		}
		k.Resources = append(k.Resources, names[o.key])
		files = append(files, path.Join(dir, names[o.key]))
		want[i] = withEnvLabel(o, env, false)
	}
	sort.Strings(k.Resources)
	b, err := kustomizationYAML(k)
	if err != nil {
		return err
	}
	kf := path.Join(dir, "kustomization.yaml")
	if err := r.tree.put(kf, b); err != nil {
		return err
	}
	r.checks = append(r.checks, buildCheck{dir: dir, what: "cluster " + env, files: append(files, kf), want: want})
	return nil
}

// envLabel is the labels entry of an overlay: the environment label on
// every object's metadata and on the pod templates of the workloads in objs,
// never on selectors (immutable) or PVC templates (a StatefulSet's
// volumeClaimTemplates cannot be updated).
//
// The template paths are listed as explicit fields rather than with
// includeTemplates: what includeTemplates covers differs between kustomize
// versions (kustomize v5.5, in kubectl 1.32, also labels
// volumeClaimTemplates; the v0.21 API Flux runs does not), and an overlay
// must build the same everywhere.
func envLabel(env string, objs []*object) types.Label {
	l := types.Label{Pairs: map[string]string{stack.LabelEnvironment: env}}
	seen := map[string]bool{}
	for _, o := range objs {
		for _, p := range templateLabelPaths(o.key) {
			fs := types.FieldSpec{Gvk: resid.Gvk{Group: o.key.Group, Kind: o.key.Kind}, Path: strings.Join(p, "/"), CreateIfNotPresent: true}
			id := fs.Group + "/" + fs.Kind + "/" + fs.Path
			if !seen[id] {
				seen[id] = true
				l.FieldSpecs = append(l.FieldSpecs, fs)
			}
		}
	}
	sort.Slice(l.FieldSpecs, func(i, j int) bool {
		a, b := l.FieldSpecs[i], l.FieldSpecs[j]
		if a.Group != b.Group {
			return a.Group < b.Group
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		return a.Path < b.Path
	})
	return l
}

// withEnvLabel is what the overlay's labels entry makes of an object.
func withEnvLabel(o *object, env string, templates bool) *object {
	m := deepCopy(o.m).(map[string]any)
	setLabel(m, []string{"metadata", "labels"}, env)
	if templates {
		for _, p := range templateLabelPaths(o.key) {
			setLabel(m, p, env)
		}
	}
	return &object{component: o.component, layer: o.layer, key: o.key, m: m}
}

// templateLabelPaths are the pod template metadata of the workload kinds.
func templateLabelPaths(k objKey) [][]string {
	tmpl := []string{"spec", "template", "metadata", "labels"}
	switch k.Group + "/" + k.Kind {
	case "apps/Deployment", "apps/ReplicaSet", "apps/DaemonSet", "apps/StatefulSet", "batch/Job", "/ReplicationController":
		return [][]string{tmpl}
	case "batch/CronJob":
		return [][]string{
			{"spec", "jobTemplate", "metadata", "labels"},
			{"spec", "jobTemplate", "spec", "template", "metadata", "labels"},
		}
	}
	return nil
}

func setLabel(m map[string]any, p []string, env string) {
	for _, k := range p {
		next, ok := m[k].(map[string]any)
		if !ok {
			if _, exists := m[k]; exists {
				return // not a map: kustomize would fail the build
			}
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[stack.LabelEnvironment] = env
}
