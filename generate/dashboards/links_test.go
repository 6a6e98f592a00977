package dashboards_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/dashboards"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// linkedBoard is the part of a dashboard that holds links: the board's
// own, each panel's, and each panel's data links.
type linkedBoard struct {
	UID    string       `json:"uid"`
	Links  []link       `json:"links"`
	Panels []linkedPane `json:"panels"`
}

type linkedPane struct {
	Title       string `json:"title"`
	Links       []link `json:"links"`
	FieldConfig struct {
		Defaults struct {
			Links []link `json:"links"`
		} `json:"defaults"`
	} `json:"fieldConfig"`
	Panels []linkedPane `json:"panels"`
}

type link struct {
	Title string `json:"title"`
	Type  string `json:"type"`
	URL   string `json:"url"`
}

// linkedBoards decodes the dashboards of a Set for their links.
func linkedBoards(t *testing.T, s *stack.Set) []linkedBoard {
	t.Helper()
	var out []linkedBoard
	for _, cm := range stacktest.Find[*corev1.ConfigMap](s) {
		for key, body := range cm.Data {
			var b linkedBoard
			if err := json.Unmarshal([]byte(body), &b); err != nil {
				t.Fatalf("%s/%s does not parse: %v", cm.Name, key, err)
			}
			out = append(out, b)
		}
	}
	return out
}

var boardPath = regexp.MustCompile(`^/d/([^/?]+)\?`)

// checkLinks reports every link of b that leads nowhere: a board UID the
// environment does not render, an Explore pane whose state does not parse
// or names a datasource Grafana is not given, a URL of another shape.
func checkLinks(t reporter, b linkedBoard, uids map[string]bool, datasources map[string]bool) {
	t.Helper()
	check := func(where string, l link) {
		if l.Type == "dashboards" {
			// The tag dropdown of every board: no URL.
			return
		}
		switch {
		case boardPath.MatchString(l.URL):
			uid := boardPath.FindStringSubmatch(l.URL)[1]
			if !uids[uid] {
				t.Errorf("%s: %s: link %q leads to board %s, which this environment does not render", b.UID, where, l.Title, uid)
			}
		case strings.HasPrefix(l.URL, "/explore?"):
			v, err := url.ParseQuery(strings.TrimPrefix(l.URL, "/explore?"))
			if err != nil {
				t.Errorf("%s: %s: link %q: %v", b.UID, where, l.Title, err)
				return
			}
			var panes map[string]struct {
				Datasource string `json:"datasource"`
				Queries    []struct {
					Datasource struct {
						UID string `json:"uid"`
					} `json:"datasource"`
					Query string `json:"query"`
				} `json:"queries"`
			}
			if err := json.Unmarshal([]byte(v.Get("panes")), &panes); err != nil || len(panes) == 0 {
				t.Errorf("%s: %s: link %q: Explore panes %q do not parse: %v", b.UID, where, l.Title, v.Get("panes"), err)
				return
			}
			for _, p := range panes {
				if !datasources[p.Datasource] {
					t.Errorf("%s: %s: link %q: Explore on datasource %q, which Grafana is not given", b.UID, where, l.Title, p.Datasource)
				}
				for _, q := range p.Queries {
					if q.Datasource.UID != p.Datasource || q.Query == "" {
						t.Errorf("%s: %s: link %q: query %+v", b.UID, where, l.Title, q)
					}
				}
			}
		default:
			t.Errorf("%s: %s: link %q to %q is neither a board nor Explore", b.UID, where, l.Title, l.URL)
		}
	}
	for _, l := range b.Links {
		check("board links", l)
	}
	var walk func([]linkedPane)
	walk = func(ps []linkedPane) {
		for _, p := range ps {
			for _, l := range p.Links {
				check(fmt.Sprintf("panel %q", p.Title), l)
			}
			for _, l := range p.FieldConfig.Defaults.Links {
				check(fmt.Sprintf("panel %q data link", p.Title), l)
			}
			walk(p.Panels)
		}
	}
	walk(b.Panels)
}

func datasourceUIDs(t *testing.T, e *env.Environment) map[string]bool {
	t.Helper()
	ds, err := correlation.Datasources(e)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, d := range ds {
		out[d.UID] = true
	}
	return out
}

// Every link of every board leads to a board the same environment renders
// or to Explore on a datasource it provisions, in the examples and with
// the components the boards depend on switched off.
func TestLinksLeadSomewhere(t *testing.T) {
	variants := map[string]func(*env.Environment){
		"as is":                      nil,
		"without kube-state-metrics": func(e *env.Environment) { e.Monitoring.KubeStateMetrics.Enabled = false },
		"without node exporter":      func(e *env.Environment) { e.Monitoring.NodeExporter.Enabled = false },
	}
	for _, name := range stacktest.ExampleNames {
		for vname, change := range variants {
			t.Run(name+" "+vname, func(t *testing.T) {
				e := stacktest.Example(t, name)
				if change != nil {
					change(e)
				}
				bs := linkedBoards(t, generate(t, e))
				uids := map[string]bool{}
				for _, b := range bs {
					uids[b.UID] = true
				}
				ds := datasourceUIDs(t, e)
				links := 0
				for _, b := range bs {
					checkLinks(t, b, uids, ds)
					for _, p := range b.Panels {
						links += len(p.Links) + len(p.FieldConfig.Defaults.Links)
						for _, c := range p.Panels {
							links += len(c.Links) + len(c.FieldConfig.Defaults.Links)
						}
					}
				}
				if e.Monitoring.KubeStateMetrics.Enabled && links == 0 {
					t.Errorf("no panel links at all: the drill-down is gone")
				}
			})
		}
	}
}

// The drill-down goes cluster → namespace → workload → pod, and the pod
// board links to logs and traces when prod collects them.
func TestDrillDown(t *testing.T) {
	e := stacktest.Example(t, "prod")
	targets := map[string][]string{}
	for _, b := range linkedBoards(t, generate(t, e)) {
		var walk func([]linkedPane)
		walk = func(ps []linkedPane) {
			for _, p := range ps {
				for _, l := range append(p.Links, p.FieldConfig.Defaults.Links...) {
					if m := boardPath.FindStringSubmatch(l.URL); m != nil {
						targets[b.UID] = append(targets[b.UID], m[1])
					} else {
						targets[b.UID] = append(targets[b.UID], l.Title)
					}
				}
				walk(p.Panels)
			}
		}
		walk(b.Panels)
	}
	for from, to := range map[string]string{
		dashboards.UIDCluster:   dashboards.UIDNamespace,
		dashboards.UIDNamespace: dashboards.UIDWorkload,
		dashboards.UIDWorkload:  dashboards.UIDPod,
		dashboards.UIDNodes:     dashboards.UIDPod,
	} {
		if !slices.Contains(targets[from], to) {
			t.Errorf("%s does not link to %s (links to %v)", from, to, targets[from])
		}
	}
	if !slices.Contains(targets[dashboards.UIDNamespace], dashboards.UIDPod) {
		t.Errorf("namespace board does not link to pods")
	}
	want := []string{"Logs of the pod"}
	if correlation.TraceUID(e) == correlation.TempoUID {
		want = append(want, "Traces of the pod")
	}
	for _, w := range want {
		if !slices.Contains(targets[dashboards.UIDPod], w) {
			t.Errorf("pod board lacks %q (links %v)", w, targets[dashboards.UIDPod])
		}
	}
}

// checkLinks rejects a link to an unknown board, Explore on an unknown
// datasource, unparsable Explore state and a URL of another shape.
func TestLinkCheckerCatches(t *testing.T) {
	uids := map[string]bool{"a": true}
	ds := map[string]bool{"elasticsearch": true}
	explore := func(panes string) string { return "/explore?schemaVersion=1&panes=" + url.QueryEscape(panes) }
	for _, c := range []struct {
		name string
		l    link
		want string
	}{
		{"unknown board", link{Title: "x", URL: "/d/nope?var-a=1"}, "does not render"},
		{"unknown datasource", link{Title: "x", URL: explore(`{"a":{"datasource":"tempo","queries":[{"datasource":{"uid":"tempo"},"query":"{}"}]}}`)}, "not given"},
		{"bad panes", link{Title: "x", URL: explore(`{"a":`)}, "do not parse"},
		{"elsewhere", link{Title: "x", URL: "https://example.com"}, "neither a board nor Explore"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var r recorder
			checkLinks(&r, linkedBoard{UID: "b", Panels: []linkedPane{{Title: "p", Links: []link{c.l}}}}, uids, ds)
			if !slices.ContainsFunc(r.errs, func(e string) bool { return strings.Contains(e, c.want) }) {
				t.Errorf("checkLinks reported %q, want %q", r.errs, c.want)
			}
		})
	}
	var r recorder
	checkLinks(&r, linkedBoard{UID: "b", Panels: []linkedPane{{Title: "p", Links: []link{{Title: "ok", URL: "/d/a?x"}}}}}, uids, ds)
	if len(r.errs) != 0 {
		t.Errorf("a good link is rejected: %v", r.errs)
	}
}
