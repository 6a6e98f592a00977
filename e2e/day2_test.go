//go:build e2e

package e2e

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/yaml"
)

// day2Env is the example the day-2 sequence changes: it has every component
// and FlashArray block storage.
const day2Env = "prod"

// edit is one change to an environment's CUE source: old must occur exactly once.
type edit struct{ file, old, new string }

// day2Step is one environment change, rendered, committed and reconciled,
// then checked on the cluster.
type day2Step struct {
	name  string
	edits []edit
	check func(t *testing.T, f *fleet)
	// broken, when set, names the Kustomization that inject breaks: it must
	// fail with the API server's message, what depends on it must wait, and
	// everything else must reconcile.
	broken string
	inject func(t *testing.T, out string)
	// refused, when set, is the kind whose change gen diff and gen
	// render must refuse (exit 3); the step's edits are then undone.
	refused string
}

// obj is a cluster object by resource, namespace and name.
type objRef struct {
	gvr       schema.GroupVersionResource
	namespace string
	name      string
}

var (
	tempo        = objRef{gvrStatefulSet, "tracing", "tempo"}
	prometheusCR = objRef{schema.GroupVersionResource{Group: "monitoring.coreos.com", Version: "v1", Resource: "prometheuses"}, "monitoring", "k8s"}
	historyDep   = objRef{gvrDeployment, "spark-operator", "spark-history-server"}
	blockClass   = objRef{schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "storageclasses"}, "", "vigil-block"}
)

func (f *fleet) get(t *testing.T, r objRef) *unstructured.Unstructured {
	t.Helper()
	var ri = f.c.status.Resource(r.gvr)
	var o *unstructured.Unstructured
	var err error
	if r.namespace != "" {
		o, err = ri.Namespace(r.namespace).Get(f.ctx, r.name, metav1.GetOptions{})
	} else {
		o, err = ri.Get(f.ctx, r.name, metav1.GetOptions{})
	}
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func nested(o *unstructured.Unstructured, path ...string) string {
	v, _, _ := unstructured.NestedFieldNoCopy(o.Object, path...)
	return fmt.Sprint(v)
}

// day2Steps is the sequence, each step starting from the cluster the one
// before left.
func day2Steps() []day2Step {
	env := filepath.Join("environments", day2Env, "env.cue")
	return []day2Step{
		{
			name:  "tracing-off",
			edits: []edit{{env, "tracing: {\n\tenabled: true", "tracing: {\n\tenabled: false"}},
			check: func(t *testing.T, f *fleet) {
				if f.get(t, tempo) != nil {
					t.Error("tracing turned off, but StatefulSet tracing/tempo was not pruned")
				}
			},
		},
		{
			// One commit with three changes, as a platform engineer might
			// push them: a replica count, a retention, an image version
			// (the History Server's follows spark.version). One step
			// rather than two saves a reconcile of every unit (about
			// 45 s), and checkUntouched still holds every object whose
			// render did not change to its UID and generation.
			name: "prometheus-replicas-retention-spark-image",
			edits: []edit{
				{env, "replicas:      2\n", "replicas:      3\n"},
				{env, `retention:     "30d"`, `retention:     "15d"`},
				{env, "spark: {\n", "spark: {\n\tversion: \"4.1.2\"\n"},
			},
			check: func(t *testing.T, f *fleet) {
				p := f.get(t, prometheusCR)
				if p == nil {
					t.Fatal("Prometheus monitoring/k8s missing")
				}
				if r, ret := nested(p, "spec", "replicas"), nested(p, "spec", "retention"); r != "3" || ret != "15d" {
					t.Errorf("Prometheus monitoring/k8s: replicas %s, retention %s; want 3, 15d", r, ret)
				}
				d := f.get(t, historyDep)
				if d == nil {
					t.Fatal("Deployment spark-operator/spark-history-server missing")
				}
				if img := nested(d, "spec", "template", "spec", "containers"); !strings.Contains(img, "4.1.2") {
					t.Errorf("spark-history-server containers %s: want the 4.1.2 image", img)
				}
			},
		},
		{
			// An object the API server refuses in one unit with a
			// dependent: only Grafana's instance may wait; rules, scrape
			// configs and the log agent go on. (Not prod-storage: on an
			// Invalid apply of an object marked
			// kustomize.toolkit.fluxcd.io/force, Flux deletes it and its
			// create fails too, so the StorageClass would be gone until
			// the next valid render.)
			name:   "broken-dashboards",
			broken: day2Env + "-dashboards-content",
			inject: injectBrokenLabel(day2Env+"-dashboards-content", "ConfigMap", "dashboard-cluster-health"),
		},
		{
			// A component back on and a storage parameter changed, in one
			// commit (one reconcile of every unit rather than two). Also
			// the first valid render after the broken one.
			// StorageClass parameters are immutable: Vigil marks every
			// StorageClass kustomize.toolkit.fluxcd.io/force, so Flux
			// replaces it (existing volumes keep their settings).
			name: "tracing-on-flasharray-fstype-ext4",
			edits: []edit{
				{env, "tracing: {\n\tenabled: false", "tracing: {\n\tenabled: true"},
				{env, "audit: enabled: true\n", "audit: enabled: true\nstorage: backends: flasharray: flasharray: fsType: \"ext4\"\n"},
			},
			check: func(t *testing.T, f *fleet) {
				if f.get(t, tempo) == nil {
					t.Error("tracing turned back on, but StatefulSet tracing/tempo is missing")
				}
				sc := f.get(t, blockClass)
				if sc == nil {
					t.Fatal("StorageClass vigil-block missing")
				}
				if fs := nested(sc, "parameters"); !strings.Contains(fs, "ext4") {
					t.Errorf("StorageClass vigil-block parameters %s: want fsType ext4", fs)
				}
			},
		},
		{
			// Shrinking an Elasticsearch nodeSet's volume would lose data:
			// gen diff and gen render refuse it (exit 3) and the tree on
			// disk stays as it was; nothing reaches the cluster.
			name:    "refused-elasticsearch-shrink",
			edits:   []edit{{env, `data: {count: 3, roles: ["data", "ingest"], memory: "16Gi", heap: "8g", cpu: "2", storage: size: "1Ti"}`, `data: {count: 3, roles: ["data", "ingest"], memory: "16Gi", heap: "8g", cpu: "2", storage: size: "500Gi"}`}},
			refused: "Elasticsearch",
		},
	}
}

// TestDay2 moves one cluster through a sequence of environment changes, each
// rendered, committed and reconciled by Flux to Ready with its effect checked
// and with the Flux inventory equal to the render, so nothing is lost or left;
// objects a step's render did not change must not be touched on the cluster.
// It starts with one prerequisite missing (issue 12): only the units that
// need it wait, and its gate names it.
func TestDay2(t *testing.T) {
	p := setup(t)
	ctx := t.Context()
	// A private copy of the CUE module (cue.mod, schema/, environments/) to edit.
	ws := filepath.Join(p.work, "workspace")
	for _, d := range []string{"cue.mod", "environments", "schema"} {
		mustRun(t, "", "mkdir", "-p", ws)
		mustRun(t, "", "cp", "-r", filepath.Join(p.repo, d), filepath.Join(ws, d))
	}
	envDir := filepath.Join(ws, "environments", day2Env)
	c := startCluster(t, p, filepath.Join(p.work, "cluster-day2"))
	installCRDs(t, ctx, c, p)
	out := filepath.Join(p.work, "day2-0")
	render(t, p, envDir, out)
	// The example itself, before any change: this is prod's proof (what
	// TestEnvironments does for the other examples), on this cluster
	// rather than a fresh one of its own.
	if !t.Run("strict-apply", func(t *testing.T) { strictApply(t, ctx, c, p, day2Env, out) }) {
		return
	}
	skipWithoutFlux(t)
	f := newFleet(t, ctx, c, p, day2Env)
	gates := gatesOf(t, ctx, envDir)
	f.prov = c.startProvisioner(ctx, without(gates, missingGate), renderedObjects(t, out, day2Env))
	f.publish(t, out, "day 2: initial render")
	f.bootstrap(t)
	if !t.Run("missing-prerequisite", func(t *testing.T) {
		f.waitBroken(t, missingGate, missingSecret, 6*time.Minute)
		// Provided late: the gate passes on its next reconcile, which
		// `flux reconcile kustomization` would request; so does the test.
		f.prov.set(gates, renderedObjects(t, out, day2Env))
		f.requestReconcile(t, missingGate)
		f.waitReady(t, 4*time.Minute)
		f.checkInventory(t, out)
		checkECKOperator(t, ctx, c)
	}) {
		return
	}

	for i, step := range day2Steps() {
		prev := out
		ok := t.Run(step.name, func(t *testing.T) {
			undo := applyEdits(t, ws, step.edits)
			next := filepath.Join(p.work, fmt.Sprintf("day2-%d", i+1))
			if step.refused != "" {
				defer undo()
				checkRefused(t, p, envDir, prev, next, step.refused)
				return
			}
			render(t, p, envDir, next)
			out = next
			f.prov.set(gatesOf(t, ctx, envDir), renderedObjects(t, next, day2Env))
			before := f.snapshot(t, renderedObjects(t, prev, day2Env))
			start := time.Now()
			if step.inject != nil {
				step.inject(t, next)
			}
			f.publish(t, next, "day 2: "+step.name)
			if step.broken != "" {
				f.waitBroken(t, step.broken, brokenValue, 5*time.Minute)
				t.Logf("%s failed as expected, dependents waited, in %s", step.broken, time.Since(start).Round(100*time.Millisecond))
				return
			}
			f.waitReady(t, 5*time.Minute)
			f.checkInventory(t, next)
			f.checkUntouched(t, before, prev, next)
			step.check(t, f)
			t.Logf("%s reconciled and checked in %s", step.name, time.Since(start).Round(100*time.Millisecond))
		})
		if !ok {
			break // later steps start from a cluster in an unknown state
		}
	}
}

// The prerequisite TestDay2 leaves out at first: the Alertmanager's Slack
// webhook Secret, which only the Alertmanager instance needs.
const (
	missingGate   = day2Env + "-needs-secret-monitoring-alertmanager-slack"
	missingSecret = "monitoring/alertmanager-slack"
)

// applyEdits changes the workspace's CUE sources and returns what undoes it.
func applyEdits(t *testing.T, ws string, edits []edit) (undo func()) {
	t.Helper()
	orig := map[string][]byte{}
	for _, e := range edits {
		path := filepath.Join(ws, e.file)
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if _, seen := orig[path]; !seen {
			orig[path] = data
		}
		if n := strings.Count(string(data), e.old); n != 1 {
			t.Fatalf("%s: %q occurs %d times, want once (did the example change?)", e.file, e.old, n)
		}
		if err := os.WriteFile(path, []byte(strings.Replace(string(data), e.old, e.new, 1)), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return func() {
		for path, data := range orig {
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Error(err)
			}
		}
	}
}

// checkRefused runs gen diff and gen render of a data-losing change against
// the tree the cluster runs: both must exit 3 naming the refused kind, and
// render must leave the tree as it was.
func checkRefused(t *testing.T, p paths, envDir, prev, scratch, kind string) {
	t.Helper()
	mustRun(t, "", "cp", "-r", prev, scratch)
	before := mustRun(t, "", "git", "--no-pager", "diff", "--no-index", "--stat", prev, scratch)
	for _, args := range [][]string{{"diff", envDir, "-o", scratch}, {"render", envDir, "-o", scratch}} {
		cmd := exec.Command(p.gen, args...)
		cmd.Dir = p.repo
		outb, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != 3 {
			t.Errorf("gen %s: want exit 3 (refused), got %v\n%s", args[0], err, outb)
			continue
		}
		if !strings.Contains(string(outb), "refus") || !strings.Contains(string(outb), kind) {
			t.Errorf("gen %s: exit 3 but the output does not say %s is refused:\n%s", args[0], kind, outb)
		}
		t.Logf("gen %s refused it: %s", args[0], firstLine(string(outb)))
	}
	if after := mustRun(t, "", "git", "--no-pager", "diff", "--no-index", "--stat", prev, scratch); after != before {
		t.Errorf("gen render changed the tree although it refused the change: %s", after)
	}
}

// requestReconcile asks kustomize-controller to reconcile a Kustomization
// now, as `flux reconcile kustomization NAME` does.
func (f *fleet) requestReconcile(t *testing.T, name string) {
	t.Helper()
	ri := f.c.status.Resource(gvrKustomization).Namespace(fluxNamespace)
	patch := fmt.Sprintf(`{"metadata":{"annotations":{"reconcile.fluxcd.io/requestedAt":%q}}}`, time.Now().Format(time.RFC3339Nano))
	if _, err := ri.Patch(f.ctx, name, types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
}

// objState is what identifies an object's version on the cluster: a new UID
// means it was recreated, a new generation (or, for kinds without one, a new
// resourceVersion) that its desired state was written.
type objState struct{ uid, generation, resourceVersion string }

// snapshot reads the cluster state of rendered objects, by inventory id.
func (f *fleet) snapshot(t *testing.T, objs []*unstructured.Unstructured) map[string]objState {
	t.Helper()
	out := map[string]objState{}
	for _, o := range objs {
		ri, err := f.c.resource(o)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ri.Get(f.ctx, o.GetName(), metav1.GetOptions{})
		if err != nil {
			t.Fatalf("%s: %v", describe(o), err)
		}
		gen := ""
		if g := got.GetGeneration(); g != 0 {
			gen = fmt.Sprint(g)
		}
		out[inventoryID(o.GetNamespace(), o.GetName(), o.GroupVersionKind().Group, o.GetKind())] =
			objState{uid: string(got.GetUID()), generation: gen, resourceVersion: got.GetResourceVersion()}
	}
	return out
}

// checkUntouched checks that every object rendered identically before and
// after a step is the same object on the cluster, with the same desired
// state: a step changes what its render changes and nothing else.
func (f *fleet) checkUntouched(t *testing.T, before map[string]objState, prev, next string) {
	t.Helper()
	canon := func(dir string) map[string]string {
		m := map[string]string{}
		for _, o := range renderedObjects(t, dir, f.env) {
			b, err := json.Marshal(o.Object)
			if err != nil {
				t.Fatal(err)
			}
			m[inventoryID(o.GetNamespace(), o.GetName(), o.GroupVersionKind().Group, o.GetKind())] = string(b)
		}
		return m
	}
	was, is := canon(prev), canon(next)
	var same []*unstructured.Unstructured
	for _, o := range renderedObjects(t, next, f.env) {
		id := inventoryID(o.GetNamespace(), o.GetName(), o.GroupVersionKind().Group, o.GetKind())
		if was[id] != "" && was[id] == is[id] {
			same = append(same, o)
		}
	}
	after := f.snapshot(t, same)
	touched := 0
	for id, a := range after {
		b := before[id]
		switch {
		case a.uid != b.uid:
			t.Errorf("%s: recreated although its render did not change", id)
		case a.generation != b.generation:
			t.Errorf("%s: generation %s -> %s although its render did not change", id, b.generation, a.generation)
		case a.generation == "" && a.resourceVersion != b.resourceVersion:
			t.Errorf("%s: rewritten although its render did not change", id)
		default:
			continue
		}
		touched++
	}
	t.Logf("%d objects rendered unchanged, %d touched on the cluster", len(after), touched)
}

// brokenLabel is the label injectBrokenLabel adds, with a value no label may
// have: kustomize builds it happily, so only the API server can refuse it.
// (An unknown field would not do: Flux's server-side apply, at the API
// server's default field validation, drops unknown fields without failing;
// the strict-apply half of the test is what catches those.)
const (
	brokenLabel = "vigil-e2e-broken"
	// brokenValue is what the API server's message quotes (it names the
	// value, not the key).
	brokenValue = "not a label value!"
)

// injectBrokenLabel gives one object of the unit that the named Kustomization
// applies an invalid label value, with a JSON 6902 patch in the unit's
// kustomization, in the test's copy of the render only.
func injectBrokenLabel(unit, kind, name string) func(t *testing.T, out string) {
	return func(t *testing.T, out string) {
		t.Helper()
		var ks struct {
			Spec struct{ Path string } `json:"spec"`
		}
		raw, err := os.ReadFile(filepath.Join(out, "clusters", day2Env, "kustomization-"+unit+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(raw, &ks); err != nil {
			t.Fatal(err)
		}
		kpath := filepath.Join(out, strings.TrimPrefix(ks.Spec.Path, "./deploy/"), "kustomization.yaml")
		if raw, err = os.ReadFile(kpath); err != nil {
			t.Fatal(err)
		}
		var k map[string]any
		if err := yaml.Unmarshal(raw, &k); err != nil {
			t.Fatal(err)
		}
		patches, _ := k["patches"].([]any)
		k["patches"] = append(patches, map[string]any{
			"target": map[string]any{"kind": kind, "name": name},
			"patch":  fmt.Sprintf(`[{"op": "add", "path": "/metadata/labels/%s", "value": %q}]`, brokenLabel, brokenValue),
		})
		if raw, err = yaml.Marshal(k); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(kpath, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// waitBroken waits until the broken Kustomization reports the API server's
// refusal (its message names want) and every other Kustomization that does
// not depend on it, directly or not, is Ready at the new revision; then it
// checks that those that do depend on it did not apply the new revision.
func (f *fleet) waitBroken(t *testing.T, broken, want string, timeout time.Duration) {
	t.Helper()
	var dependents map[string]bool
	var list *unstructured.UnstructuredList
	err := poll(f.ctx, timeout, func() (bool, string, error) {
		var err error
		list, err = f.c.status.Resource(gvrKustomization).Namespace(fluxNamespace).List(f.ctx, metav1.ListOptions{})
		if err != nil {
			return false, "", err
		}
		dependents = dependentsOf(list, broken)
		var waiting []string
		for i := range list.Items {
			k := &list.Items[i]
			status, reason, msg := conditionDetail(k, "Ready")
			path, _, _ := unstructured.NestedString(k.Object, "spec", "path")
			applied, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision")
			current := !strings.HasPrefix(path, "./deploy/") || strings.HasSuffix(applied, f.rev)
			switch {
			case k.GetName() == broken:
				if status != "False" || !strings.Contains(msg, want) {
					waiting = append(waiting, fmt.Sprintf("%s to fail naming %s (now %s %s: %s)", broken, want, status, reason, firstLine(msg)))
				}
			case dependents[k.GetName()]:
			case status != "True" || !current:
				waiting = append(waiting, fmt.Sprintf("%s (%s %s: %s)", k.GetName(), status, reason, firstLine(msg)))
			}
		}
		return len(waiting) == 0, "waiting for " + strings.Join(waiting, "; "), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := range list.Items {
		k := &list.Items[i]
		if !dependents[k.GetName()] {
			continue
		}
		if applied, _, _ := unstructured.NestedString(k.Object, "status", "lastAppliedRevision"); strings.HasSuffix(applied, f.rev) {
			t.Errorf("%s applied revision %s although %s, which it depends on, failed", k.GetName(), f.rev[:8], broken)
		}
	}
	_, _, msg := conditionDetail(find(list, broken), "Ready")
	t.Logf("%s: %s; waiting as they should: %v", broken, firstLine(msg), keys(dependents))
}

// dependentsOf returns the Kustomizations that depend on name, directly or not.
func dependentsOf(list *unstructured.UnstructuredList, name string) map[string]bool {
	deps := map[string][]string{}
	for _, k := range list.Items {
		ds, _, _ := unstructured.NestedSlice(k.Object, "spec", "dependsOn")
		for _, d := range ds {
			if m, ok := d.(map[string]any); ok {
				deps[k.GetName()] = append(deps[k.GetName()], fmt.Sprint(m["name"]))
			}
		}
	}
	out := map[string]bool{}
	for changed := true; changed; {
		changed = false
		for k, ds := range deps {
			for _, d := range ds {
				if (d == name || out[d]) && !out[k] {
					out[k], changed = true, true
				}
			}
		}
	}
	return out
}

func find(list *unstructured.UnstructuredList, name string) *unstructured.Unstructured {
	for i := range list.Items {
		if list.Items[i].GetName() == name {
			return &list.Items[i]
		}
	}
	return &unstructured.Unstructured{Object: map[string]any{}}
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
