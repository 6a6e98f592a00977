package overlays

import (
	"context"
	"encoding/json"
	"math/rand"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/vigil-stack/vigil/generate/stack"
)

// The memo answers for a trial it has seen, and only for that trial: a
// different environment object runs the trial again.
func TestTrialMemoAnswersForTheSameTrial(t *testing.T) {
	base := deployment("ns", "web", 1)
	base.APIVersion, base.Kind = "apps/v1", "Deployment"
	b, err := newObject(stack.Resource{Component: "web", Layer: stack.Instances, Object: base})
	if err != nil {
		t.Fatal(err)
	}
	baseYAML, err := objectYAML(b)
	if err != nil {
		t.Fatal(err)
	}
	env := deepCopy(b.m).(map[string]any)
	env["spec"].(map[string]any)["replicas"] = json.Number("3")
	patchYAML := []byte("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: ns\nspec:\n  replicas: 3\n")

	m := newTrialMemo()
	p := newPatcher(m)
	if !p.mergeIsExact(baseYAML, patchYAML, env) {
		t.Fatal("the merge patch is exact, the trial says not")
	}
	k, ok := trialKey(baseYAML, patchYAML, env)
	if !ok || len(m.seen) != 1 || !m.seen[k] {
		t.Fatalf("memo holds %v; want the one passed trial", m.seen)
	}
	m.seen[k] = false // only the memo can answer false now
	if p.mergeIsExact(baseYAML, patchYAML, env) {
		t.Error("the memo was not consulted for a trial it has seen")
	}
	other := deepCopy(env).(map[string]any)
	other["spec"].(map[string]any)["replicas"] = json.Number("4")
	if p.mergeIsExact(baseYAML, patchYAML, other) {
		t.Error("a patch to 3 replicas judged exact for 4: the memo answered for another trial")
	}
	if len(m.seen) != 2 {
		t.Errorf("memo holds %d trials; want 2", len(m.seen))
	}
}

func TestTrialMemoForgetsWhenFull(t *testing.T) {
	m := newTrialMemo()
	for i := range trialMemoSize {
		var k [32]byte
		k[0], k[1], k[2] = byte(i), byte(i>>8), byte(i>>16)
		m.put(k, true)
	}
	m.put([32]byte{0xff, 0xff, 0xff}, true)
	if len(m.seen) != 1 {
		t.Errorf("a full memo holds %d trials after one more; want it emptied first (1)", len(m.seen))
	}
}

// Environments compiled in one batch share the memo; each one's tree is
// the tree it has compiled alone, and an environment patched like another
// runs no trial of its own.
func TestTrialMemoSharedByABatch(t *testing.T) {
	for seed := int64(1); seed <= 5; seed++ {
		r := rand.New(rand.NewSource(seed))
		base := propertyBase(r)
		objs := perturb(r, base)
		alone, err := NewCompiler(base)
		if err != nil {
			t.Fatal(err)
		}
		want, err := alone.Batch(context.Background(), []Environment{{Name: "b", Objects: objs}})
		if err != nil {
			t.Fatal(err)
		}
		trialsAlone := len(alone.trials.seen)
		if trialsAlone == 0 {
			t.Fatalf("seed %d: b ran no merge-patch trial; pick seeds that do", seed)
		}

		shared, err := NewCompiler(base)
		if err != nil {
			t.Fatal(err)
		}
		got, err := shared.Batch(context.Background(), []Environment{{Name: "a", Objects: objs}, {Name: "b", Objects: objs}})
		if err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(want["b"].files, got["b"].files); d != "" {
			t.Errorf("seed %d: b compiled beside a (-alone +beside):\n%s", seed, d)
		}
		if n := len(shared.trials.seen); n != trialsAlone {
			t.Errorf("seed %d: %d trials for a and b patched alike, %d for b alone; want b's answered by a's", seed, n, trialsAlone)
		}
	}
}
