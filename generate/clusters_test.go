package generate_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/overlays"
)

// bareEnv is the smallest valid environment, named name, on cluster.
func bareEnv(name, cluster string) []byte {
	return []byte(`package ` + name + `

name: "` + name + `"
cluster: name: "` + cluster + `"
storage: {
	backends: disk: {kind: "csi", csi: provisioner: "pd.csi.storage.gke.io"}
	roles: block: "disk"
}
spark: historyServer: enabled: false
logging: elasticsearch: nodeSets: default: {}
`)
}

func loadAll(t *testing.T, fsys fstest.MapFS, dirs ...string) ([]generate.Source, []*generate.Environment) {
	t.Helper()
	var srcs []generate.Source
	var envs []*generate.Environment
	for _, d := range dirs {
		src := generate.Source{Dir: d, FS: fsys}
		e, err := generate.LoadFS(context.Background(), fsys, d)
		if err != nil {
			t.Fatal(err)
		}
		srcs, envs = append(srcs, src), append(envs, e)
	}
	return srcs, envs
}

func TestCheckClusters(t *testing.T) {
	fsys := fstest.MapFS{
		"environments/a/env.cue": {Data: bareEnv("a", "shared")},
		"environments/b/env.cue": {Data: bareEnv("b", "shared")},
		"environments/c/env.cue": {Data: bareEnv("c", "own")},
	}
	ctx := context.Background()

	srcs, envs := loadAll(t, fsys, "environments/a", "environments/b", "environments/c")
	err := generate.CheckClusters(ctx, srcs, envs)
	if err == nil {
		t.Fatal("two environments on cluster shared passed")
	}
	for _, want := range []string{
		"environments/b/env.cue:4:10: cluster.name: environments b and a both deploy to cluster \"shared\"",
		"also set at environments/a/env.cue:4:10",
		"give each environment its own cluster.name",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "environments/c") {
		t.Errorf("c has a cluster of its own:\n%v", err)
	}

	// Distinct clusters, the same environment twice, and invalid
	// (nil) entries pass.
	srcs, envs = loadAll(t, fsys, "environments/a", "environments/c", "environments/a")
	envs = append(envs, nil)
	srcs = append(srcs, generate.Source{Dir: "environments/broken"})
	if err := generate.CheckClusters(ctx, srcs, envs); err != nil {
		t.Errorf("distinct clusters: %v", err)
	}
}

// The examples each have a cluster of their own.
func TestExamplesOneClusterEach(t *testing.T) {
	var srcs []generate.Source
	var envs []*generate.Environment
	for _, n := range vigil.ExampleNames {
		e, err := generate.LoadFS(context.Background(), vigil.Examples, "environments/"+n)
		if err != nil {
			t.Fatal(err)
		}
		srcs, envs = append(srcs, generate.Source{Dir: "environments/" + n, FS: vigil.Examples}), append(envs, e)
	}
	if err := generate.CheckClusters(context.Background(), srcs, envs); err != nil {
		t.Error(err)
	}
}

// Locate finds the user's line for a field set in the environment, in an
// imported package, and below a struct whose own position is the schema's.
func TestLocateAndChangeSources(t *testing.T) {
	src := generate.Source{Dir: "environments/prod", FS: vigil.Examples}
	e, err := generate.LoadFS(context.Background(), vigil.Examples, src.Dir)
	if err != nil {
		t.Fatal(err)
	}
	block := overlays.ObjectChange{Environment: "prod", Group: "storage.k8s.io", Kind: "StorageClass", Name: "vigil-block",
		Action: overlays.ActionRecreate, Fields: []overlays.FieldChange{{Path: "parameters"}}}
	paths := generate.ChangeSources(e.Spec, block)
	if len(paths) == 0 || strings.Join(paths[0], ".") != "storage.backends.flasharray.flasharray.fsType" {
		t.Fatalf("sources of the block class: %v", paths)
	}
	tempo := overlays.ObjectChange{Environment: "prod", Group: "apps", Kind: "StatefulSet", Namespace: "tracing", Name: "tempo",
		Action: overlays.ActionRefused, Fields: []overlays.FieldChange{{Path: "spec.volumeClaimTemplates"}}}
	if got := generate.ChangeSources(e.Spec, tempo); len(got) != 1 || strings.Join(got[0], ".") != "tracing.tempo.storage" {
		t.Fatalf("sources of tempo: %v", got)
	}
	es := overlays.ObjectChange{Environment: "prod", Group: "elasticsearch.k8s.elastic.co", Kind: "Elasticsearch", Namespace: "logging", Name: "logs",
		Action: overlays.ActionRefused, Fields: []overlays.FieldChange{{Path: "spec.nodeSets[data].volumeClaimTemplates[elasticsearch-data].spec.resources.requests.storage"}}}
	if got := generate.ChangeSources(e.Spec, es); len(got) != 1 || strings.Join(got[0], ".") != "logging.elasticsearch.nodeSets.data.storage" {
		t.Fatalf("sources of the data nodeSet: %v", got)
	}
	sel := overlays.ObjectChange{Environment: "prod", Group: "apps", Kind: "Deployment", Namespace: "monitoring", Name: "grafana",
		Action: overlays.ActionRefused, Fields: []overlays.FieldChange{{Path: "spec.selector"}}}
	if got := generate.ChangeSources(e.Spec, sel); got != nil {
		t.Errorf("a selector comes from Vigil, not the environment: %v", got)
	}

	ds, err := generate.Locate(context.Background(), src, [][]string{{"cluster", "name"}, {"storage", "backends", "flasharray"}, {"tracing", "tempo"}, {"logging", "elasticsearch", "nodeSets", "data", "storage"}})
	if err != nil {
		t.Fatal(err)
	}
	// The data nodeSet's line, found in the file so that edits above it do
	// not break the test.
	dataLine := lineOf(t, "environments/prod/env.cue", "\t\tdata: {count:")
	for i, want := range []string{"environments/prod/env.cue:12:", "environments/fleet/fleet.cue:", "environments/prod/env.cue:", "environments/prod/env.cue:" + itoa(dataLine) + ":"} {
		got := ds[i].File + ":" + itoa(ds[i].Line) + ":"
		if !strings.HasPrefix(got, want) || ds[i].Line == 4 {
			t.Errorf("%s at %s, want %s… (not the package clause)", ds[i].Path, got, want)
		}
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

// lineOf is the 1-based number of the first line of file (relative to the
// repository root) that starts with prefix.
func lineOf(t *testing.T, file, prefix string) int {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(stacktest.RepoRoot(), file))
	if err != nil {
		t.Fatal(err)
	}
	for i, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, prefix) {
			return i + 1
		}
	}
	t.Fatalf("%s has no line starting with %q", file, prefix)
	return 0
}
