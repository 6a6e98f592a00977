package generate

import (
	"os"
	"runtime"
	"testing"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"golang.org/x/mod/modfile"
)

// safeCUE is the cuelang.org/go version the tests below prove safe.
// v0.17.1 exhausts memory exporting a comprehension whose body holds only
// if-guarded fields; do not move off this version without rerunning them.
const safeCUE = "v0.16.1"

func TestCUEVersionIsPinned(t *testing.T) {
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	mf, err := modfile.Parse("go.mod", b, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range mf.Require {
		if r.Mod.Path == "cuelang.org/go" {
			if r.Mod.Version != safeCUE {
				t.Fatalf("cuelang.org/go is %s; the export test below was proven on %s only", r.Mod.Version, safeCUE)
			}
			return
		}
	}
	t.Fatal("cuelang.org/go is not required by go.mod")
}

// TestCUEExportOfGuardedComprehension evaluates and exports the pattern
// that blows up in cuelang.org/go v0.17.1 and checks that it stays within a
// small memory budget.
func TestCUEExportOfGuardedComprehension(t *testing.T) {
	const src = `
import "list"
#Opt: {a?: int, b?: string, c?: bool}
in: {for i in list.Range(0, 200, 1) {"k\(i)": #Opt & {a: i, if i mod 2 == 0 {b: "even"}}}}
out: {for k, v in in {
	(k): {
		if v.a != _|_ {a: v.a}
		if v.b != _|_ {b: v.b}
		if v.c != _|_ {c: v.c}
	}
}}
`
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	v := cuecontext.New().CompileString(src)
	if err := v.Validate(cue.Concrete(true)); err != nil {
		t.Fatal(err)
	}
	syn := v.LookupPath(cue.ParsePath("out")).Syntax(cue.Final(), cue.Concrete(true))
	if syn == nil {
		t.Fatal("no syntax")
	}
	runtime.ReadMemStats(&after)
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 256<<20 {
		t.Fatalf("exporting the guarded comprehension allocated %d MiB; the CUE version is not safe", alloc>>20)
	}
}
