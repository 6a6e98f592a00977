package generate_test

import (
	"context"
	"encoding/json"
	"io/fs"
	"regexp"
	"strings"
	"testing"
	"testing/fstest"

	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stack"
)

// withFile is the examples plus one file.
func withFile(t testing.TB, name, text string) fstest.MapFS {
	t.Helper()
	fsys := fstest.MapFS{name: {Data: []byte(text)}}
	err := fs.WalkDir(vigil.Examples, ".", func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			b, rerr := fs.ReadFile(vigil.Examples, p)
			fsys[p] = &fstest.MapFile{Data: b}
			return rerr
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return fsys
}

const mirror = "mirror.example.com/vigil"

// TestMirrorRegistry renders prod, every component on, with a mirror: no
// image of any object of the tree comes from another registry, no file names
// an upstream image or Maven Central, and gen images lists only the mirror.
func TestMirrorRegistry(t *testing.T) {
	fsys := withFile(t, "environments/prod/mirror.cue", `package prod
images: registry: "`+mirror+`"
sources: github: "https://git.example.com/github"
sources: elasticCharts: "https://charts.example.com/elastic"
spark: historyServer: s3aJars: image: "`+mirror+`/acme/spark-s3a-jars:4.0"
`)
	r, err := generate.Render(context.Background(), []generate.Source{{Dir: "environments/prod", FS: fsys}})
	if err != nil {
		t.Fatal(err)
	}
	images, sources := 0, 0
	for _, p := range r.Tree.Paths() {
		content, _ := r.Tree.File(p)
		// Nothing Flux fetches at run time may be on the internet: the
		// upstream CRDs' GitRepositories and ECK's HelmRepository.
		for _, upstream := range []string{"https://github.com/", "https://helm.elastic.co"} {
			if strings.HasPrefix(p, "clusters/prod/") || strings.HasPrefix(p, "envs/prod/") {
				if regexp.MustCompile(`(?m)^\s*url: ` + regexp.QuoteMeta(upstream)).Match(content) {
					t.Errorf("%s: Flux fetches from %s", p, upstream)
				}
			}
		}
		if strings.HasPrefix(p, "clusters/prod/") && strings.Contains(string(content), "url: https://git.example.com/github/") {
			sources++
		}
		if !strings.HasPrefix(p, "envs/prod/") {
			continue // bases are the default environment's, which the overlays patch
		}
		b, _ := r.Tree.File(p)
		var m any
		if err := yaml.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		walkImages(m, "", func(ref string) {
			images++
			if !strings.HasPrefix(ref, mirror+"/") {
				t.Errorf("%s: image %s is not on the mirror", p, ref)
			}
		})
	}
	// What the tree builds into (Compile proved it equal to these
	// objects); patch files keep the base's values in their test
	// operations, which pull nothing.
	for _, res := range r.Objects["prod"].Resources() {
		b, err := json.Marshal(res.Object)
		if err != nil {
			t.Fatal(err)
		}
		for _, repo := range stack.Repositories() {
			if strings.Contains(string(b), repo+":") || strings.Contains(string(b), repo+"@") || strings.Contains(string(b), `"`+repo+`"`) {
				t.Errorf("%s %s names upstream image %s", res.Object.GetObjectKind().GroupVersionKind().Kind, res.Object.GetName(), repo)
			}
		}
		if strings.Contains(string(b), "repo1.maven.org") {
			t.Errorf("%s %s downloads from Maven Central", res.Object.GetObjectKind().GroupVersionKind().Kind, res.Object.GetName())
		}
	}
	if images < 10 {
		t.Errorf("found only %d image fields in envs/prod; the walk is broken", images)
	}
	if sources < 3 {
		t.Errorf("%d GitRepositories on the git mirror, want prometheus-operator's, ECK's and spark-operator's", sources)
	}
	var chart bool
	for _, res := range r.Objects["prod"].Resources() {
		if res.Object.GetObjectKind().GroupVersionKind().Kind == "HelmRepository" {
			b, _ := json.Marshal(res.Object)
			chart = chart || strings.Contains(string(b), `"url":"https://charts.example.com/elastic"`)
		}
	}
	if !chart {
		t.Error("ECK's HelmRepository is not on the chart mirror")
	}
	refs, err := generate.Images(r.Environments[0].Spec, r.Objects["prod"])
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		mirror + "/prometheus/prometheus:" + stack.Prometheus.Version:                              false,
		mirror + "/elasticsearch/elasticsearch:" + stack.Elasticsearch.Version:                     false,
		mirror + "/eck/eck-operator:" + stack.ECKOperator.Version:                                  false,
		mirror + "/prometheus-operator/prometheus-config-reloader:" + stack.ConfigReloader.Version: false,
		mirror + "/acme/spark-s3a-jars:4.0":                                                        false,
	}
	for i, ref := range refs {
		if i > 0 && refs[i-1] >= ref {
			t.Errorf("images not sorted and unique: %s after %s", ref, refs[i-1])
		}
		if !strings.HasPrefix(ref, mirror+"/") {
			t.Errorf("gen images lists %s, not on the mirror", ref)
		}
		if _, ok := want[ref]; ok {
			want[ref] = true
		}
	}
	for ref, seen := range want {
		if !seen {
			t.Errorf("gen images misses %s", ref)
		}
	}
}

// TestMirrorNeedsSourceMirrors: with a mirror registry, Flux's upstream
// sources must have mirrors too; validation says which, at images.registry.
func TestMirrorNeedsSourceMirrors(t *testing.T) {
	fsys := withFile(t, "environments/prod/mirror.cue", `package prod
images: registry: "`+mirror+`"
spark: historyServer: s3aJars: image: "`+mirror+`/acme/spark-s3a-jars:4.0"
`)
	_, err := generate.Render(context.Background(), []generate.Source{{Dir: "environments/prod", FS: fsys}})
	if err == nil {
		t.Fatal("a mirror registry without source mirrors rendered")
	}
	for _, want := range []string{"mirror.cue:2:", "sources.github", "sources.elasticCharts"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

// TestMirrorRefusesMavenDownload: a mirror says the cluster is offline, so
// the History Server's default download is refused with what to set.
func TestMirrorRefusesMavenDownload(t *testing.T) {
	fsys := withFile(t, "environments/prod/mirror.cue", "package prod\nimages: registry: \""+mirror+"\"\n"+
		"sources: {github: \"https://git.example.com/github\", elasticCharts: \"https://charts.example.com/elastic\"}\n")
	_, err := generate.Render(context.Background(), []generate.Source{{Dir: "environments/prod", FS: fsys}})
	if err == nil || !strings.Contains(err.Error(), "s3aJars.image") {
		t.Fatalf("want a refusal naming s3aJars.image, got %v", err)
	}
}

// walkImages calls f with every string under an "image" key.
func walkImages(v any, key string, f func(string)) {
	switch x := v.(type) {
	case map[string]any:
		for k, e := range x {
			walkImages(e, k, f)
		}
	case []any:
		for _, e := range x {
			walkImages(e, key, f)
		}
	case string:
		if key == "image" {
			f(x)
		}
	}
}

func TestMirrored(t *testing.T) {
	for _, c := range []struct{ registry, in, want string }{
		{"m.example.com", "quay.io/prometheus/prometheus:v3.16.0", "m.example.com/prometheus/prometheus:v3.16.0"},
		{"m.example.com:5000/x/", "docker.io/library/busybox@sha256:" + strings.Repeat("a", 64), "m.example.com:5000/x/library/busybox@sha256:" + strings.Repeat("a", 64)},
		{"m.example.com", "busybox:1", "m.example.com/library/busybox:1"},
		{"m.example.com", "grafana/grafana:1", "m.example.com/grafana/grafana:1"},
		{"", "quay.io/a/b:1", "quay.io/a/b:1"},
	} {
		if got := stack.Mirrored(c.registry, c.in); got != c.want {
			t.Errorf("Mirrored(%q, %q) = %q, want %q", c.registry, c.in, got, c.want)
		}
	}
}
