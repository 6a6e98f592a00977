package overlays

import (
	"strings"
	"testing"

	"github.com/vigil-stack/vigil/generate/stack"
)

func TestFluxNameFitsALabelValue(t *testing.T) {
	env := strings.Repeat("e", 38) // the schema's longest environment name
	short := unitName("prod", "prometheus", stack.Instances)
	if short != "prod-prometheus-instances" {
		t.Errorf("a short name must stay readable, got %q", short)
	}
	a := unitName(env, "node-problem-detector", stack.Node)
	b := unitName(env, "node-problem-detector", stack.Content)
	for _, n := range []string{a, b} {
		if len(n) > 63 {
			t.Errorf("%q is %d characters, more than a label value holds", n, len(n))
		}
		if !strings.HasPrefix(n, env+"-node-problem") {
			t.Errorf("%q lost its readable prefix", n)
		}
	}
	if a == b {
		t.Errorf("two long names that differ only past the cut must stay distinct, both are %q", a)
	}
	if unitName(env, "node-problem-detector", stack.Node) != a {
		t.Error("the shortened name must be deterministic")
	}
}
