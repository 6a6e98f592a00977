package generate_test

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
)

// TestLongestEnvironmentNameRenders makes validation and render agree on
// the length of an environment name: the longest name the schema accepts
// renders prod (every component, every upstream CRD source), and one more
// character is refused at the name's line rather than by the overlay
// compiler after validation said yes.
func TestLongestEnvironmentNameRenders(t *testing.T) {
	const longest = 38
	for _, n := range []int{longest, longest + 1} {
		name := "p" + strings.Repeat("r", n-1)
		fsys := fstest.MapFS{}
		err := fs.WalkDir(vigil.Examples, "environments", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(vigil.Examples, p)
			if p == "environments/prod/env.cue" {
				b = []byte(strings.Replace(string(b), `name: "prod"`, `name: "`+name+`"`, 1))
			}
			fsys[p] = &fstest.MapFile{Data: b}
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		_, err = generate.Render(context.Background(), []generate.Source{{Dir: "environments/prod", FS: fsys}})
		var diags generate.Diagnostics
		switch {
		case n <= longest && err != nil:
			t.Errorf("a %d-character name validates but does not render: %v", n, err)
		case n > longest && !errors.As(err, &diags):
			t.Errorf("a %d-character name is not refused by validation: %v", n, err)
		case n > longest && (len(diags) != 1 || diags[0].Path != "name" || diags[0].Line == 0):
			t.Errorf("a %d-character name: want one diagnostic at name, got %v", n, diags)
		}
	}
}
