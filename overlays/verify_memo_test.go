package overlays

import (
	"context"
	"strings"
	"testing"
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
