package elasticsearch_test

import (
	"bufio"
	"encoding/json"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentbit"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// object is a saved object read back from the ConfigMap, attributes left
// raw so that each type can be decoded strictly.
type object struct {
	Type       string                    `json:"type"`
	ID         string                    `json:"id"`
	Attributes json.RawMessage           `json:"attributes"`
	References []elasticsearch.Reference `json:"references"`
}

func strict(t *testing.T, b []byte, into any) {
	t.Helper()
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
}

// readObjects parses the import file of the Kibana bootstrap ConfigMap.
func readObjects(t *testing.T, e *env.Environment) ([]object, *batchv1.Job) {
	t.Helper()
	s := generate(t, e)
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, e.Logging.Namespace, elasticsearch.KibanaBootstrapName)
	job := stacktest.FindNamed[*batchv1.Job](t, s, e.Logging.Namespace, elasticsearch.KibanaBootstrapName)
	var out []object
	sc := bufio.NewScanner(strings.NewReader(cm.Data["saved-objects.ndjson"]))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var o object
		strict(t, sc.Bytes(), &o)
		out = append(out, o)
	}
	if len(out) == 0 {
		t.Fatal("no saved objects")
	}
	return out, job
}

var kqlField = regexp.MustCompile(`([A-Za-z@][-A-Za-z0-9_.@/]*)\s*:`)

// searchProblems checks one saved search against what Vigil writes: its
// data view exists and every field its columns, sort and query use is a
// field of the view's stream.
func searchProblems(e *env.Environment, views map[string]elasticsearch.DataView, streamOf map[string]string, o object, attrs elasticsearch.SavedSearch) []string {
	var out []string
	if len(o.References) != 1 || o.References[0].Type != elasticsearch.TypeDataView {
		return []string{fmt.Sprintf("search %s references %+v, want one data view", o.ID, o.References)}
	}
	view := o.References[0].ID
	if _, ok := views[view]; !ok {
		return []string{fmt.Sprintf("search %s uses data view %s, which the import file lacks", o.ID, view)}
	}
	known := map[string]bool{}
	for _, f := range elasticsearch.Fields(streamOf[view]) {
		known[f.Name] = true
	}
	var src elasticsearch.SearchSource
	if err := json.Unmarshal([]byte(attrs.Meta.SearchSourceJSON), &src); err != nil {
		return []string{fmt.Sprintf("search %s: searchSourceJSON: %v", o.ID, err)}
	}
	if src.IndexRefName != o.References[0].Name {
		out = append(out, fmt.Sprintf("search %s: indexRefName %q names no reference", o.ID, src.IndexRefName))
	}
	fields := append([]string{}, attrs.Columns...)
	for _, s := range attrs.Sort {
		fields = append(fields, s[0])
	}
	for _, m := range kqlField.FindAllStringSubmatch(src.Query.Query, -1) {
		fields = append(fields, m[1])
	}
	for _, f := range fields {
		if !known[f] {
			out = append(out, fmt.Sprintf("search %s uses field %s, which the %s stream does not have", o.ID, f, streamOf[view]))
		}
	}
	return out
}

// TestKibanaContent reads every example's saved objects back: each data
// view's pattern matches exactly the data stream of its stream, each
// search uses only fields Vigil's pipeline writes, each reference resolves,
// and the Job imports the file with overwrite so a re-run replaces rather
// than copies.
func TestKibanaContent(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			if !e.KibanaEnabled() {
				t.Skip("Kibana off")
			}
			objs, job := readObjects(t, e)
			streams, err := elasticsearch.Streams(e)
			if err != nil {
				t.Fatal(err)
			}
			views := map[string]elasticsearch.DataView{}
			streamOf := map[string]string{}
			byID := map[string]string{}
			for _, o := range objs {
				if prev, dup := byID[o.ID]; dup {
					t.Errorf("id %s used by a %s and a %s", o.ID, prev, o.Type)
				}
				byID[o.ID] = o.Type
				if o.Type != elasticsearch.TypeDataView {
					continue
				}
				var dv elasticsearch.DataView
				strict(t, o.Attributes, &dv)
				views[o.ID] = dv
				var hits []string
				for _, st := range streams {
					if ok, _ := path.Match(dv.Title, st.DataStream); ok {
						hits = append(hits, st.Kind)
					}
				}
				if len(hits) != 1 {
					t.Errorf("data view %s (%s) matches the data streams of %v, want exactly one", o.ID, dv.Title, hits)
					continue
				}
				streamOf[o.ID] = hits[0]
				if dv.TimeFieldName != elasticsearch.TimeField {
					t.Errorf("data view %s time field %s", o.ID, dv.TimeFieldName)
				}
			}
			if len(views) != len(streams) {
				t.Errorf("%d data views for %d streams", len(views), len(streams))
			}
			var searches, dashboards int
			for _, o := range objs {
				for _, r := range o.References {
					if byID[r.ID] != r.Type {
						t.Errorf("%s %s references %s %s, which the import file lacks", o.Type, o.ID, r.Type, r.ID)
					}
				}
				switch o.Type {
				case elasticsearch.TypeSearch:
					searches++
					var attrs elasticsearch.SavedSearch
					strict(t, o.Attributes, &attrs)
					for _, p := range searchProblems(e, views, streamOf, o, attrs) {
						t.Error(p)
					}
				case elasticsearch.TypeDashboard:
					dashboards++
					var d elasticsearch.Dashboard
					strict(t, o.Attributes, &d)
					var panels []elasticsearch.Panel
					if err := json.Unmarshal([]byte(d.PanelsJSON), &panels); err != nil {
						t.Fatalf("panelsJSON: %v", err)
					}
					for _, p := range panels {
						want := p.PanelIndex + ":" + p.PanelRefName
						if !slices.ContainsFunc(o.References, func(r elasticsearch.Reference) bool { return r.Name == want }) {
							t.Errorf("panel %s has no reference %s", p.PanelIndex, want)
						}
					}
				case elasticsearch.TypeDataView:
				default:
					t.Errorf("unexpected type %s", o.Type)
				}
			}
			if searches == 0 || dashboards != 1 {
				t.Errorf("%d searches, %d dashboards", searches, dashboards)
			}

			c := job.Spec.Template.Spec.Containers[0]
			url := c.Args[len(c.Args)-1]
			if url != elasticsearch.KibanaURL(e)+"/api/saved_objects/_import?overwrite=true" ||
				!slices.Contains(c.Args, "kbn-xsrf: true") || !slices.Contains(c.Args, "file=@/etc/vigil/kibana/saved-objects.ndjson") {
				t.Errorf("import request %v", c.Args)
			}
			for _, a := range append(append([]string{}, c.Args...), c.Command...) {
				if strings.Contains(a, "ES_PASSWORD") && a != "%ES_PASSWORD" && a != "elastic:{{ES_PASSWORD}}" && !strings.HasPrefix(a, "out=") {
					t.Errorf("the password must only be expanded by curl: %q", a)
				}
			}
			if job.Spec.Template.Annotations["vigil.dev/bootstrap-hash"] == "" || job.Annotations["kustomize.toolkit.fluxcd.io/force"] != "enabled" {
				t.Error("the Job must be recreated when the objects change")
			}
		})
	}
}

// TestKibanaIDsStable pins the ids: a changed id would make the next
// import add a copy next to the object operators already know.
func TestKibanaIDsStable(t *testing.T) {
	e := stacktest.Example(t, "prod")
	ids := func() []string {
		objs, err := elasticsearch.SavedObjects(e)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, o := range objs {
			out = append(out, o.Type+"/"+o.ID)
		}
		return out
	}
	want := []string{
		"index-pattern/vigil-logs-application", "index-pattern/vigil-logs-system", "index-pattern/vigil-logs-audit", "index-pattern/vigil-logs-events",
		"search/vigil-search-errors", "search/vigil-search-spark-drivers", "search/vigil-search-audit-changes", "search/vigil-search-warning-events",
		"dashboard/vigil-logs-overview",
	}
	if got := ids(); !slices.Equal(got, want) {
		t.Errorf("prod saved objects\n got %v\nwant %v", got, want)
	}
	a, _ := elasticsearch.SavedObjects(e)
	b, _ := elasticsearch.SavedObjects(e)
	na, _ := elasticsearch.NDJSON(a)
	nb, _ := elasticsearch.NDJSON(b)
	if na != nb {
		t.Error("the import file is not deterministic")
	}
}

// TestSearchCheckRejects proves the field check catches a search on a
// field Vigil does not write, in a column and in the query.
func TestSearchCheckRejects(t *testing.T) {
	e := stacktest.Example(t, "prod")
	views := map[string]elasticsearch.DataView{"vigil-logs-audit": {Title: "logs-kubernetes.audit-*"}}
	streamOf := map[string]string{"vigil-logs-audit": elasticsearch.StreamAudit}
	src, _ := json.Marshal(elasticsearch.SearchSource{Query: elasticsearch.Query{Query: `user.name : "alice"`}, IndexRefName: "ref"})
	o := object{ID: "bad", References: []elasticsearch.Reference{{Name: "ref", Type: elasticsearch.TypeDataView, ID: "vigil-logs-audit"}}}
	attrs := elasticsearch.SavedSearch{Columns: []string{"verb", "kubernetes.namespace_name"}, Meta: elasticsearch.SourceMeta{SearchSourceJSON: string(src)}}
	got := strings.Join(searchProblems(e, views, streamOf, o, attrs), "\n")
	for _, want := range []string{"field kubernetes.namespace_name", "field user.name"} {
		if !strings.Contains(got, want) {
			t.Errorf("the check misses %s:\n%s", want, got)
		}
	}
	o.References[0].ID = "vigil-logs-nothing"
	if p := searchProblems(e, views, streamOf, o, attrs); len(p) != 1 || !strings.Contains(p[0], "lacks") {
		t.Errorf("a missing data view passes: %v", p)
	}
}

// TestFieldsMatchPipeline ties the field table to the names the rest of
// Vigil uses for the same data: the correlation table's log fields and
// Fluent Bit's message field; and the index templates map every field.
func TestFieldsMatchPipeline(t *testing.T) {
	has := func(kind, f string) bool {
		return slices.ContainsFunc(elasticsearch.Fields(kind), func(x elasticsearch.Field) bool { return x.Name == f })
	}
	for _, f := range []string{correlation.FieldNamespace, correlation.FieldPod, correlation.FieldSparkApp, correlation.FieldSparkAppID, fluentbit.MessageField, fluentbit.TimeField} {
		if !has(elasticsearch.StreamContainers, f) {
			t.Errorf("container logs lack %s", f)
		}
	}
	e := stacktest.Example(t, "prod")
	streams, _ := elasticsearch.Streams(e)
	for _, st := range streams {
		tpl := elasticsearch.Template(e, st)
		if tpl.Template.Mappings == nil {
			t.Errorf("template of %s maps nothing", st.Kind)
			continue
		}
		for _, f := range elasticsearch.Fields(st.Kind) {
			if tpl.Template.Mappings.Properties[f.Name].Type != f.Type {
				t.Errorf("template of %s maps %s as %q, want %s", st.Kind, f.Name, tpl.Template.Mappings.Properties[f.Name].Type, f.Type)
			}
		}
	}
}

func TestKibanaOff(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Kibana.Enabled = false
	for _, r := range generate(t, e).Resources() {
		if r.Object.GetName() == elasticsearch.KibanaBootstrapName {
			t.Errorf("Kibana off but %T %s", r.Object, r.Object.GetName())
		}
	}
}
