//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil"
)

// The example environments TestEnvironments proves, each on its own
// cluster: environments share cluster-scoped names, so one cluster holds one
// environment. The fourth, prod (day2Env), gets the same proof as the first
// steps of TestDay2, on the cluster the day-2 changes then run on.
var environments = []string{"dev", "staging", "cloud"}

// TestExamplesCovered keeps the two lists honest: every example is proven
// by TestEnvironments or TestDay2.
func TestExamplesCovered(t *testing.T) {
	proven := append([]string{day2Env}, environments...)
	for _, name := range vigil.ExampleNames {
		if !slices.Contains(proven, name) {
			t.Errorf("example %s is proven by no e2e test: add it to environments", name)
		}
	}
}

// layers in the order Vigil's Flux Kustomizations apply them (the upstream
// CRDs, the crds layer, are applied from the local copies first).
var layers = []string{"namespaces", "storage", "node", "operators", "instances", "content"}

var (
	gvrKustomization = schema.GroupVersionResource{Group: "kustomize.toolkit.fluxcd.io", Version: "v1", Resource: "kustomizations"}
	gvrGitRepository = schema.GroupVersionResource{Group: "source.toolkit.fluxcd.io", Version: "v1", Resource: "gitrepositories"}
	gvrHelmRelease   = schema.GroupVersionResource{Group: "helm.toolkit.fluxcd.io", Version: "v2", Resource: "helmreleases"}
)

// setup finds the checkout and the cache, and builds gen once for the run.
func setup(t *testing.T) paths {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	p := paths{repo: filepath.Dir(wd), cache: cacheDir(), work: t.TempDir()}
	if w := os.Getenv("E2E_WORK"); w != "" {
		// e2e/run.sh stops every cluster-* under it, also on interrupt.
		p.work = filepath.Join(w, t.Name())
		if err := os.MkdirAll(p.work, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, need := range []string{
		filepath.Join(p.cache, "upstream", "eck-crds-v"+eckVersion),
		filepath.Join(p.cache, "upstream", "eck-chart-"+eckVersion),
		filepath.Join(p.cache, "upstream", "prometheus-operator-crds-"+promOpVersion),
		filepath.Join(p.cache, "upstream", "spark-operator-crds-"+sparkOpVersion),
	} {
		if _, err := os.Stat(need); err != nil {
			t.Fatalf("%s missing: run e2e/upstream.sh (make e2e does)", need)
		}
	}
	p.gen = filepath.Join(p.work, "gen")
	if _, err := run(p.repo, "go", "build", "-o", p.gen, "./cmd/gen"); err != nil {
		t.Fatal(err)
	}
	return p
}

// render renders one environment directory into out with the CLI, as a user would.
func render(t *testing.T, p paths, envDir, out string) {
	t.Helper()
	if _, err := run(p.repo, p.gen, "render", envDir, "-o", out); err != nil {
		t.Fatal(err)
	}
}

// TestEnvironments renders every example and proves it on a fresh cluster:
// strict server-side apply of every object, then Flux reconciling every
// Kustomization to Ready in dependency order with the inventory Vigil rendered.
func TestEnvironments(t *testing.T) {
	p := setup(t)
	for _, env := range environments {
		t.Run(env, func(t *testing.T) {
			ctx := t.Context()
			out := filepath.Join(p.work, "render-"+env)
			render(t, p, filepath.Join(p.repo, "environments", env), out)
			c := startCluster(t, p, filepath.Join(p.work, "cluster-"+env))
			installCRDs(t, ctx, c, p)
			t.Run("strict-apply", func(t *testing.T) { strictApply(t, ctx, c, p, env, out) })
			t.Run("flux", func(t *testing.T) {
				skipWithoutFlux(t)
				f := newFleet(t, ctx, c, p, env)
				gates := gatesOf(t, ctx, filepath.Join(p.repo, "environments", env))
				t.Logf("providing %d prerequisites out of band: %s", len(gates), gateNames(gates))
				f.prov = c.startProvisioner(ctx, gates, renderedObjects(t, out, env))
				f.publish(t, out, "render "+env)
				f.bootstrap(t)
				f.waitReady(t, 5*time.Minute)
				f.checkInventory(t, out)
				checkECKOperator(t, ctx, c)
			})
		})
	}
}

// skipWithoutFlux skips a test when E2E_CONTROLLERS left a Flux controller
// out (a quick strict-apply-only run); make e2e always runs all three.
func skipWithoutFlux(t *testing.T) {
	t.Helper()
	v, set := os.LookupEnv("E2E_CONTROLLERS")
	if !set {
		return
	}
	for _, c := range []string{"source-controller", "kustomize-controller", "helm-controller"} {
		if !slices.Contains(strings.Fields(v), c) {
			t.Skipf("E2E_CONTROLLERS=%q leaves out %s", v, c)
		}
	}
}

// installCRDs installs, for real, the CRDs every render needs before its
// objects can even be dry-run: Flux's (from the controllers' module zips)
// and the upstream ones Vigil references (prepared by e2e/upstream.sh).
func installCRDs(t *testing.T, ctx context.Context, c *cluster, p paths) {
	t.Helper()
	start := time.Now()
	// flux-system holds the Flux objects of every render.
	ns := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": fluxNamespace}}}
	if _, err := c.apply(ctx, ns, false); err != nil {
		t.Fatal(err)
	}
	var crds []*unstructured.Unstructured
	for _, ctrl := range []string{"source-controller@" + fluxVersion, "kustomize-controller@" + fluxVersion, "helm-controller@" + helmCtrlVersion} {
		// The controllers' module zips (in the module cache since e2e/build.sh) hold their CRDs.
		out, err := run(os.TempDir(), "go", "mod", "download", "-json", "github.com/fluxcd/"+ctrl)
		if err != nil {
			t.Fatal(err)
		}
		var mod struct{ Dir string }
		if err := json.Unmarshal([]byte(out), &mod); err != nil {
			t.Fatalf("go mod download %s: %v", ctrl, err)
		}
		objs, err := readYAMLDir(filepath.Join(mod.Dir, "config", "crd", "bases"))
		if err != nil || len(objs) == 0 {
			t.Fatalf("Flux CRDs of %s: %v", ctrl, err)
		}
		crds = append(crds, objs...)
	}
	eck, err := buildKustomization(filepath.Join(p.cache, "upstream", "eck-crds-v"+eckVersion, "config", "crds", "v1", "patches"))
	if err != nil {
		t.Fatal(err)
	}
	promOp, err := readYAMLDir(filepath.Join(p.cache, "upstream", "prometheus-operator-crds-"+promOpVersion, "example", "prometheus-operator-crd"))
	if err != nil || len(promOp) == 0 {
		t.Fatalf("prometheus-operator CRDs: %v", err)
	}
	crds = append(append(crds, eck...), promOp...)
	// A few at a time: one by one, the API server's OpenAPI rebuild after
	// each CRD made this take up to a minute on a loaded machine. Warnings
	// are not attributed per CRD here (c.apply's log is shared), and none
	// would be Vigil's.
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(6)
	for _, crd := range crds {
		g.Go(func() error {
			ri, err := c.resource(crd)
			if err != nil {
				return err
			}
			body, err := json.Marshal(crd.Object)
			if err != nil {
				return err
			}
			_, err = ri.Patch(gctx, crd.GetName(), types.ApplyPatchType, body, metav1.PatchOptions{FieldManager: fieldManager, Force: new(true)})
			if err != nil {
				return fmt.Errorf("CRD %s: %w", crd.GetName(), err)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		t.Fatal(err)
	}
	if err := c.waitCRDs(ctx); err != nil {
		t.Fatal(err)
	}
	c.startControllers(t)
	t.Logf("%d CRDs established in %s (Flux, ECK %s, prometheus-operator %s; spark-operator's are not available offline)", len(crds), time.Since(start).Round(100*time.Millisecond), eckVersion, promOpVersion)
}

// strictApply applies every rendered object server-side with strict field
// validation: Namespaces for real (namespaced objects need them), everything
// else as a dry run. Errors and Warning headers (deprecated APIs, PodSecurity)
// both fail the test. Canaries prove that each kind of failure is caught.
func strictApply(t *testing.T, ctx context.Context, c *cluster, p paths, env, out string) {
	objs := renderedObjects(t, out, env)
	// The cluster layer too: Flux Kustomizations and GitRepositories.
	clusterObjs, err := buildKustomization(filepath.Join(out, "clusters", env))
	if err != nil {
		t.Fatal(err)
	}
	objs = append(objs, clusterObjs...)
	applied := 0
	for _, obj := range objs {
		dry := obj.GetKind() != "Namespace"
		warns, err := c.apply(ctx, obj, dry)
		if err != nil {
			t.Errorf("%s: rejected: %v", describe(obj), err)
			continue
		}
		for _, w := range warns {
			t.Errorf("%s: warning: %s", describe(obj), w)
		}
		applied++
	}
	t.Logf("%d objects passed strict server-side apply", applied)

	// Vigil renders no Spark Operator custom resources; that is what makes
	// the missing spark-operator CRDs (not available offline) harmless here.
	for _, obj := range objs {
		if obj.GroupVersionKind().Group == "sparkoperator.k8s.io" {
			t.Errorf("%s: a sparkoperator.k8s.io object, but this harness has no spark-operator CRDs to check it against", describe(obj))
		}
	}

	checkECKPodTemplates(t, ctx, c, objs)
	canaries(t, ctx, c, objs)
}

// renderedObjects builds every Flux unit of an environment from the render,
// layer by layer in apply order: envs/<env>/<component>/<layer>/ (and
// envs/<env>/<layer>/ for the components named after their layer), then
// the prerequisite gates.
func renderedObjects(t *testing.T, out, env string) []*unstructured.Unstructured {
	t.Helper()
	var objs []*unstructured.Unstructured
	build := func(dir string) {
		built, err := buildKustomization(dir)
		if err != nil {
			t.Fatal(err)
		}
		objs = append(objs, built...)
	}
	envDir := filepath.Join(out, "envs", env)
	for _, layer := range layers {
		if _, err := os.Stat(filepath.Join(envDir, layer, "kustomization.yaml")); err == nil {
			build(filepath.Join(envDir, layer))
		}
		units, err := filepath.Glob(filepath.Join(envDir, "*", layer, "kustomization.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		sort.Strings(units)
		for _, u := range units {
			build(filepath.Dir(u))
		}
	}
	gates, err := filepath.Glob(filepath.Join(envDir, "_prerequisites", "*", "kustomization.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(gates)
	for _, g := range gates {
		build(filepath.Dir(g))
	}
	if len(objs) == 0 {
		t.Fatalf("%s: the render holds no object", env)
	}
	return objs
}

// canaries proves the checks above can fail: an unknown field on a built-in
// kind and on a custom resource must be rejected, and a pod that violates
// the restricted profile in a namespace that warns must draw a warning.
func canaries(t *testing.T, ctx context.Context, c *cluster, objs []*unstructured.Unstructured) {
	ns := ""
	var cr *unstructured.Unstructured
	for _, o := range objs {
		if ns == "" && o.GetNamespace() != "" {
			ns = o.GetNamespace()
		}
		if cr == nil && strings.HasSuffix(o.GroupVersionKind().Group, "coreos.com") && o.GetNamespace() != "" {
			cr = o.DeepCopy()
		}
	}
	cm := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "ConfigMap",
		"metadata": map[string]any{"name": "vigil-e2e-canary", "namespace": ns},
		"data":     map[string]any{"a": "b"}, "unknownField": "x",
	}}
	canary := []*unstructured.Unstructured{cm}
	if cr != nil {
		cr.SetName("vigil-e2e-canary")
		if err := unstructured.SetNestedField(cr.Object, true, "spec", "unknownField"); err != nil {
			t.Fatal(err)
		}
		canary = append(canary, cr)
	} else {
		t.Error("no monitoring.coreos.com object rendered to make a custom-resource canary from")
	}
	for _, o := range canary {
		_, err := c.apply(ctx, o, true)
		if err == nil || !strings.Contains(err.Error(), "unknownField") {
			t.Errorf("canary %s with an unknown field: want rejection naming it, got %v", describe(o), err)
		}
	}

	// PodSecurity: a privileged pod in a namespace that warns at restricted.
	warnNS := ""
	for _, o := range objs {
		if o.GetKind() == "Namespace" && o.GetLabels()["pod-security.kubernetes.io/warn"] == "restricted" {
			warnNS = o.GetName()
			break
		}
	}
	if warnNS == "" {
		t.Error("no namespace warns at restricted: PodSecurity warnings would go unseen")
		return
	}
	pod := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Pod",
		"metadata": map[string]any{"name": "vigil-e2e-canary", "namespace": warnNS},
		"spec": map[string]any{"containers": []any{map[string]any{
			"name": "c", "image": "example.invalid/canary:1",
			"securityContext": map[string]any{"privileged": true},
		}}},
	}}
	warns, err := c.apply(ctx, pod, true)
	if err != nil || !slices.ContainsFunc(warns, func(w string) bool { return strings.Contains(w, "PodSecurity") }) {
		t.Errorf("canary privileged pod in %s: want a PodSecurity warning, got warnings %q, error %v", warnNS, warns, err)
	}
}

// checkECKPodTemplates checks the pod templates of ECK resources, which ECK's
// CRDs leave unchecked (x-kubernetes-preserve-unknown-fields), as core
// PodTemplates. ECK adds the main container's image itself; the check fills
// in a placeholder image where the template names none.
func checkECKPodTemplates(t *testing.T, ctx context.Context, c *cluster, objs []*unstructured.Unstructured) {
	n := 0
	for _, o := range objs {
		var templates []map[string]any
		switch o.GroupVersionKind().GroupKind().String() {
		case "Elasticsearch.elasticsearch.k8s.elastic.co":
			sets, _, _ := unstructured.NestedSlice(o.Object, "spec", "nodeSets")
			for _, s := range sets {
				if m, ok := s.(map[string]any); ok {
					if pt, ok := m["podTemplate"].(map[string]any); ok {
						templates = append(templates, pt)
					}
				}
			}
		case "Kibana.kibana.k8s.elastic.co":
			if pt, ok, _ := unstructured.NestedMap(o.Object, "spec", "podTemplate"); ok {
				templates = append(templates, pt)
			}
		}
		for i, pt := range templates {
			pt = runtimeDeepCopy(pt)
			spec, _ := pt["spec"].(map[string]any)
			if spec == nil {
				continue
			}
			for _, key := range []string{"containers", "initContainers"} {
				cs, _ := spec[key].([]any)
				for _, ci := range cs {
					if cm, ok := ci.(map[string]any); ok && cm["image"] == nil {
						cm["image"] = "example.invalid/eck-managed:1"
					}
				}
			}
			if cs, _ := spec["containers"].([]any); len(cs) == 0 {
				spec["containers"] = []any{map[string]any{"name": "eck-managed", "image": "example.invalid/eck-managed:1"}}
			}
			ptObj := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "PodTemplate",
				"metadata": map[string]any{"name": fmt.Sprintf("%s-%d", strings.ToLower(o.GetKind()), i), "namespace": o.GetNamespace()},
				"template": pt,
			}}
			warns, err := c.apply(ctx, ptObj, true)
			if err != nil {
				t.Errorf("%s pod template %d: rejected as a PodTemplate: %v", describe(o), i, err)
			}
			for _, w := range warns {
				t.Errorf("%s pod template %d: warning: %s", describe(o), i, w)
			}
			n++
		}
	}
	t.Logf("%d ECK pod templates passed as PodTemplates", n)
}

func runtimeDeepCopy(m map[string]any) map[string]any {
	return (&unstructured.Unstructured{Object: m}).DeepCopy().Object
}

// fleet is the git side of a Flux run: the rendered tree in a local
// repository Flux fetches over HTTP, with the upstream sources beside it.
type fleet struct {
	c      *cluster
	p      paths
	env    string
	work   string // the fleet repository's work tree
	bare   string
	ctx    context.Context
	status *statusWriter
	prov   *provisioner
	rev    string
}

var upstreamURLs = map[string]string{
	"https://github.com/elastic/cloud-on-k8s":                    gitURL("cloud-on-k8s"),
	"https://github.com/prometheus-operator/prometheus-operator": gitURL("prometheus-operator"),
	"https://github.com/kubeflow/spark-operator":                 gitURL("spark-operator"),
	"https://helm.elastic.co":                                    filesURL("helm-elastic/"),
}

func newFleet(t *testing.T, ctx context.Context, c *cluster, p paths, env string) *fleet {
	t.Helper()
	f := &fleet{c: c, p: p, env: env, ctx: ctx, work: filepath.Join(c.dir, "fleet-work"), bare: filepath.Join(c.dir, "git", "fleet.git")}
	// Upstream sources at the tags Vigil pins, and ECK's Helm repository.
	for repo, src := range map[string]struct{ dir, tag string }{
		"cloud-on-k8s":        {"eck-crds-v" + eckVersion, "v" + eckVersion},
		"prometheus-operator": {"prometheus-operator-crds-" + promOpVersion, promOpVersion},
		"spark-operator":      {"spark-operator-crds-" + sparkOpVersion, sparkOpVersion},
	} {
		w := filepath.Join(c.dir, "upstream-work", repo)
		if err := os.MkdirAll(filepath.Dir(w), 0o755); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "", "cp", "-r", filepath.Join(p.cache, "upstream", src.dir), w)
		gitInit(t, w)
		gitCommit(t, w, "upstream "+src.tag)
		mustRun(t, w, "git", "tag", src.tag)
		mustRun(t, "", "git", "clone", "-q", "--bare", w, filepath.Join(c.dir, "git", repo+".git"))
	}
	mustRun(t, "", "cp", "-r", filepath.Join(p.cache, "upstream", "eck-chart-"+eckVersion), filepath.Join(c.dir, "files", "helm-elastic"))
	mustRun(t, "", "git", "init", "-q", "--bare", "-b", "main", f.bare)
	if err := os.MkdirAll(f.work, 0o755); err != nil {
		t.Fatal(err)
	}
	gitInit(t, f.work)
	f.status = c.startStatusWriter(ctx)
	return f
}

func mustRun(t *testing.T, dir, name string, args ...string) string {
	t.Helper()
	out, err := run(dir, name, args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func gitInit(t *testing.T, dir string) {
	mustRun(t, dir, "git", "init", "-q", "-b", "main")
	mustRun(t, dir, "git", "config", "user.name", "vigil-e2e")
	mustRun(t, dir, "git", "config", "user.email", "vigil-e2e@example.invalid")
}

func gitCommit(t *testing.T, dir, msg string) string {
	mustRun(t, dir, "git", "add", "-A")
	mustRun(t, dir, "git", "commit", "-q", "--allow-empty", "-m", msg)
	return strings.TrimSpace(mustRun(t, dir, "git", "rev-parse", "HEAD"))
}

// publish puts a render at deploy/ in the fleet repository (where Vigil's
// Kustomizations look for it), with upstream URLs pointing at the loopback
// server in this copy only, and pushes it.
func (f *fleet) publish(t *testing.T, out, msg string) {
	t.Helper()
	deploy := filepath.Join(f.work, "deploy")
	if err := os.RemoveAll(deploy); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "", "cp", "-r", out, deploy)
	if err := rewriteURLs(deploy); err != nil {
		t.Fatal(err)
	}
	f.rev = gitCommit(t, f.work, msg)
	mustRun(t, f.work, "git", "push", "-q", "--force", f.bare, "HEAD:main")
	if f.c.dyn != nil {
		// Ask source-controller to fetch now rather than at its interval.
		gr, err := f.c.status.Resource(gvrGitRepository).Namespace(fluxNamespace).Get(f.ctx, gitRepositoryName, metav1.GetOptions{})
		if err == nil {
			ann := gr.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann["reconcile.fluxcd.io/requestedAt"] = time.Now().Format(time.RFC3339Nano)
			gr.SetAnnotations(ann)
			if _, err := f.c.status.Resource(gvrGitRepository).Namespace(fluxNamespace).Update(f.ctx, gr, metav1.UpdateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// rewriteURLs points the url of every Flux source object in the tree at the
// loopback server, and fails on one it does not know, so that nothing is
// fetched from the internet.
func rewriteURLs(root string) error {
	return filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var doc any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		obj, _ := doc.(map[string]any) // JSON 6902 patches are lists
		api, _ := obj["apiVersion"].(string)
		spec, _ := obj["spec"].(map[string]any)
		if !strings.HasPrefix(api, "source.toolkit.fluxcd.io/") || spec == nil || spec["url"] == nil {
			return nil
		}
		local, ok := upstreamURLs[fmt.Sprint(spec["url"])]
		if !ok {
			return fmt.Errorf("%s: %v is not served offline by the harness", path, spec["url"])
		}
		spec["url"] = local
		out, err := yaml.Marshal(obj)
		if err != nil {
			return err
		}
		return os.WriteFile(path, out, 0o644)
	})
}

// bootstrap does what `flux bootstrap` would: the flux-system namespace,
// the GitRepository of the fleet and a root Kustomization that applies the
// environment's cluster directory (and so follows its changes).
func (f *fleet) bootstrap(t *testing.T) {
	t.Helper()
	objs := []*unstructured.Unstructured{
		{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": fluxNamespace}}},
		{Object: map[string]any{
			"apiVersion": "source.toolkit.fluxcd.io/v1", "kind": "GitRepository",
			"metadata": map[string]any{"name": gitRepositoryName, "namespace": fluxNamespace},
			"spec":     map[string]any{"interval": "10m", "url": gitURL("fleet"), "ref": map[string]any{"branch": "main"}},
		}},
		{Object: map[string]any{
			"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
			"metadata": map[string]any{"name": "flux-system", "namespace": fluxNamespace},
			"spec": map[string]any{"interval": "10m", "path": "./deploy/clusters/" + f.env, "prune": true,
				"sourceRef": map[string]any{"kind": "GitRepository", "name": gitRepositoryName}},
		}},
	}
	for _, o := range objs {
		if _, err := f.c.apply(f.ctx, o, false); err != nil {
			t.Fatalf("bootstrap %s: %v", describe(o), err)
		}
	}
}

// waitReady waits until every Kustomization has applied the current revision
// and is Ready, checks that each became Ready no earlier than what it depends
// on, and that every HelmRelease is Ready.
func (f *fleet) waitReady(t *testing.T, timeout time.Duration) {
	t.Helper()
	start := time.Now()
	readyAt := map[string]time.Duration{}
	deps := map[string][]string{}
	err := poll(f.ctx, timeout, func() (bool, string, error) {
		list, err := f.c.status.Resource(gvrKustomization).Namespace(fluxNamespace).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		var waiting []string
		// One time per poll: what this poll sees Ready became Ready at the
		// same moment as far as the test can tell (ties are not an order).
		now := time.Since(start)
		for i := range list.Items {
			k := &list.Items[i]
			name := k.GetName()
			ds, _, _ := unstructured.NestedSlice(k.Object, "spec", "dependsOn")
			deps[name] = nil
			for _, d := range ds {
				if m, ok := d.(map[string]any); ok {
					deps[name] = append(deps[name], fmt.Sprint(m["name"]))
				}
			}
			status, reason, msg := conditionDetail(k, "Ready")
			applied, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
			path, _, _ := unstructured.NestedString(k.Object, "spec", "path")
			if !strings.HasPrefix(path, "./deploy/") {
				// Upstream CRDs: dependents wait only until they were
				// applied at their tag once (Vigil's readyExpr), as Flux
				// re-applies them on every commit; that moment orders
				// them. They must still be Ready at the end.
				observed, _, _ := unstructured.NestedInt64(k.Object, "status", "observedGeneration")
				if _, seen := readyAt[name]; !seen && applied != "" && observed == k.GetGeneration() {
					readyAt[name] = now
				}
				if status != "True" {
					waiting = append(waiting, fmt.Sprintf("%s (%s %s: %s)", name, status, reason, firstLine(msg)))
				}
				continue
			}
			if status == "True" && strings.HasSuffix(applied, f.rev) {
				if _, seen := readyAt[name]; !seen {
					readyAt[name] = now
				}
				continue
			}
			delete(readyAt, name)
			waiting = append(waiting, fmt.Sprintf("%s (%s %s: %s)", name, status, reason, firstLine(msg)))
		}
		if len(list.Items) == 0 {
			return false, "no Kustomization yet", nil
		}
		hrs, err := f.c.status.Resource(gvrHelmRelease).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		for i := range hrs.Items {
			if s, reason, msg := conditionDetail(&hrs.Items[i], "Ready"); s != "True" {
				waiting = append(waiting, fmt.Sprintf("HelmRelease %s (%s %s: %s)", hrs.Items[i].GetName(), s, reason, firstLine(msg)))
			}
		}
		return len(waiting) == 0, "not ready: " + strings.Join(waiting, "; "), nil
	})
	for _, e := range f.status.errors() {
		t.Errorf("status writer: %s", e)
	}
	if f.prov != nil {
		for _, e := range f.prov.errors() {
			t.Errorf("prerequisite provisioner: %s", e)
		}
	}
	if err != nil {
		t.Fatalf("Flux did not reconcile %s: %v", f.rev[:8], err)
	}
	names := make([]string, 0, len(readyAt))
	for n := range readyAt {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return readyAt[names[i]] < readyAt[names[j]] })
	var order []string
	for _, n := range names {
		order = append(order, fmt.Sprintf("%s@%.1fs", n, readyAt[n].Seconds()))
		for _, d := range deps[n] {
			if readyAt[d] > readyAt[n] {
				t.Errorf("%s became Ready before %s, which it depends on", n, d)
			}
		}
	}
	t.Logf("revision %s Ready after %s: %s", f.rev[:8], time.Since(start).Round(100*time.Millisecond), strings.Join(order, " "))
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}

// checkInventory compares what Flux applied from the render (the inventories
// of the Kustomizations at ./deploy/envs/...) with the objects Vigil rendered.
func (f *fleet) checkInventory(t *testing.T, out string) {
	t.Helper()
	want := map[string]bool{}
	for _, o := range renderedObjects(t, out, f.env) {
		want[inventoryID(o.GetNamespace(), o.GetName(), o.GroupVersionKind().Group, o.GetKind())] = true
	}
	got := map[string]bool{}
	list, err := f.c.status.Resource(gvrKustomization).Namespace(fluxNamespace).List(f.ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range list.Items {
		path, _, _ := unstructured.NestedString(k.Object, "spec", "path")
		if !strings.HasPrefix(path, "./deploy/envs/") {
			continue
		}
		entries, _, _ := unstructured.NestedSlice(k.Object, "status", "inventory", "entries")
		for _, e := range entries {
			if m, ok := e.(map[string]any); ok {
				got[fmt.Sprint(m["id"])] = true
			}
		}
	}
	for id := range want {
		if !got[id] {
			t.Errorf("rendered but not in any Flux inventory: %s", id)
		}
	}
	for id := range got {
		if !want[id] {
			t.Errorf("in a Flux inventory but not rendered: %s", id)
		}
	}
	t.Logf("Flux inventory = render: %d objects", len(want))
}

// inventoryID is Flux's inventory entry id (cli-utils ObjMetadata) without the version.
func inventoryID(ns, name, group, kind string) string {
	return strings.Join([]string{ns, name, group, kind}, "_")
}

// checkECKOperator checks the operator the ECK chart installed through the
// HelmRelease: restricted PodSecurity (its pod template dry-run as a
// PodTemplate in a namespace that warns at restricted must draw no warning)
// and no CPU limit (the chart's default one is removed by Vigil).
func checkECKOperator(t *testing.T, ctx context.Context, c *cluster) {
	t.Helper()
	sts, err := c.status.Resource(gvrStatefulSet).Namespace("elastic-system").Get(ctx, "elastic-operator", metav1.GetOptions{})
	if err != nil {
		t.Errorf("the ECK operator StatefulSet from the chart: %v", err)
		return
	}
	containers, _, _ := unstructured.NestedSlice(sts.Object, "spec", "template", "spec", "containers")
	for _, ci := range containers {
		cm, _ := ci.(map[string]any)
		if cpu, found, _ := unstructured.NestedFieldNoCopy(cm, "resources", "limits", "cpu"); found {
			t.Errorf("ECK operator container %v has a CPU limit %v", cm["name"], cpu)
		}
	}
	nss, err := c.status.Resource(gvrNamespace).List(ctx, metav1.ListOptions{LabelSelector: "pod-security.kubernetes.io/warn=restricted"})
	if err != nil || len(nss.Items) == 0 {
		t.Errorf("no namespace warns at restricted to check the ECK operator in: %v", err)
		return
	}
	tmpl, _, _ := unstructured.NestedMap(sts.Object, "spec", "template")
	pt := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "PodTemplate",
		"metadata": map[string]any{"name": "eck-operator-check", "namespace": nss.Items[0].GetName()},
		"template": tmpl,
	}}
	warns, err := c.apply(ctx, pt, true)
	if err != nil {
		t.Errorf("ECK operator pod template: %v", err)
	}
	for _, w := range warns {
		t.Errorf("ECK operator pod template: warning: %s", w)
	}
}
