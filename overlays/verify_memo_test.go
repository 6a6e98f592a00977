package overlays

import (
	"context"
	"crypto/sha256"
	"strings"
	"sync"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

// TestVerifyEveryBase builds every base of the realistic stack with the
// per-process memo off: the bases themselves are proved here, whatever
// other tests remembered.
func TestVerifyEveryBase(t *testing.T) {
	memoBases = false
	defer func() { memoBases = true }()
	warmSchema()
	r, err := render(realisticStack("base"), realisticEnvs()[2:])
	if err != nil {
		t.Fatal(err)
	}
	bases := 0
	for _, c := range r.checks {
		if strings.HasPrefix(c.dir, "base/") {
			bases++
			if p := r.check(c); len(p) > 0 {
				t.Errorf("%s: %v", c.dir, p)
			}
		}
	}
	if bases == 0 {
		t.Fatal("no base checks")
	}
}

// TestVerifyMemoDoesNotHideChange: a base verified once is skipped only
// while identical; a changed byte is built again and fails.
func TestVerifyMemoDoesNotHideChange(t *testing.T) {
	warmSchema()
	r, err := render(smallStack(), []Environment{{Name: "prod", Objects: smallStack()}})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.verify(context.Background()); err != nil {
		t.Fatal(err)
	}
	const f = "base/prometheus/instances/service-prometheus.yaml"
	r.tree.files[f] = []byte(strings.Replace(string(r.tree.files[f]), "name: prometheus", "name: prometheus-x", 1))
	err = r.verify(context.Background())
	if err == nil || !strings.Contains(err.Error(), "base/prometheus/instances (base prometheus layer instances)") {
		t.Fatalf("a changed base passed verification after the memo: %v", err)
	}
}

// fakeVerified is a VerifiedChecks in memory that counts what it is asked.
type fakeVerified struct {
	mu         sync.Mutex
	keys       map[[sha256.Size]byte]bool
	hits, adds int
}

func (f *fakeVerified) Verified(k [sha256.Size]byte) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.keys[k] {
		f.hits++
	}
	return f.keys[k]
}

func (f *fakeVerified) Remember(k [sha256.Size]byte) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys[k] = true
	f.adds++
}

// With RememberVerified, Batch records every environment check that
// passed, skips them all when the same environment comes again, and
// builds again exactly the units whose files changed. A check that fails
// is never recorded.
func TestRememberVerified(t *testing.T) {
	c, err := NewCompiler(smallStack())
	if err != nil {
		t.Fatal(err)
	}
	m := &fakeVerified{keys: map[[sha256.Size]byte]bool{}}
	c.RememberVerified(m)
	batch := func(s *stack.Set) error {
		_, err := c.Batch(context.Background(), []Environment{{Name: "prod", Objects: s}})
		return err
	}
	if err := batch(prodStack()); err != nil {
		t.Fatal(err)
	}
	first := m.adds
	if first == 0 || m.hits != 0 {
		t.Fatalf("first batch: %d recorded, %d skipped; want some recorded, none skipped", m.adds, m.hits)
	}
	if err := batch(prodStack()); err != nil {
		t.Fatal(err)
	}
	if m.adds != first || m.hits != first {
		t.Fatalf("same environment again: %d more recorded, %d skipped of %d", m.adds-first, m.hits, first)
	}
	// One more replica changes the prometheus instances unit only.
	changed := prodStack()
	for _, r := range changed.Resources() {
		if sts, ok := r.Object.(*appsv1.StatefulSet); ok {
			sts.Spec.Replicas = ptr(*sts.Spec.Replicas + 1)
		}
	}
	hits := m.hits
	if err := batch(changed); err != nil {
		t.Fatal(err)
	}
	if rebuilt := first - (m.hits - hits); rebuilt < 1 || rebuilt >= first {
		t.Errorf("one unit changed: %d of %d checks built again, want at least one and not all", rebuilt, first)
	}

	// A failing check: the environment's files are verified against
	// objects that differ (what checkOnce sees when Vigil has a bug).
	r, err := render(smallStack(), []Environment{{Name: "dev", Objects: prodStack()}})
	if err != nil {
		t.Fatal(err)
	}
	r.verified = m
	adds := m.adds
	for i := range r.checks {
		if !strings.HasPrefix(r.checks[i].dir, "base/") && len(r.checks[i].want) > 0 {
			r.checks[i].want[0] = &object{key: r.checks[i].want[0].key, m: map[string]any{"kind": "Wrong"}}
			if p := r.checkOnce(r.checks[i]); len(p) == 0 {
				t.Fatal("a wrong check passed")
			}
			break
		}
	}
	if m.adds != adds {
		t.Error("a failed check was recorded as verified")
	}
}
