package generate_test

import (
	"testing"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestBuildExamples generates the whole stack of every example and runs the
// shared checks over all of it together; the per-component packages test
// their own parts and goldens.
func TestBuildExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			s, err := generate.Build(stacktest.Example(t, name))
			if err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, s)
			if n := len(s.Resources()); n < 100 {
				t.Errorf("only %d objects for the whole stack", n)
			}
		})
	}
}
