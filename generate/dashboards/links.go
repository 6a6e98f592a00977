package dashboards

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/table"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/env"
)

// Links between dashboards and to Explore. A drill-down is a data link:
// clicking a row of a namespace table opens the namespace's board with its
// variable set from the row (${__data.fields.<label>}), keeping the
// datasource and the time range. Links to logs and traces open Grafana's
// Explore on the provisioned Elasticsearch and trace datasources
// (package correlation), filtered by the same namespace and pod.

// The UIDs of the boards other boards link to.
const (
	UIDCluster   = "vigil-k8s-cluster"
	UIDNamespace = "vigil-k8s-namespace"
	UIDWorkload  = "vigil-k8s-workload"
	UIDPod       = "vigil-k8s-pod"
	UIDNodes     = "vigil-nodes"
)

// rowField is the value of a label in the clicked table row;
// seriesLabel the label of the clicked graph series.
func rowField(label string) string    { return "${__data.fields." + label + "}" }
func seriesLabel(label string) string { return "${__field.labels." + label + "}" }

// boardURL is the path of a board with its variables set, keeping the
// datasource and the time range of the board the link is on.
func boardURL(uid string, vars ...string) string {
	var b strings.Builder
	b.WriteString("/d/" + uid + "?${" + DatasourceVariable + ":queryparam}&${__url_time_range}")
	for i := 0; i+1 < len(vars); i += 2 {
		b.WriteString("&var-" + vars[i] + "=" + vars[i+1])
	}
	return b.String()
}

// drill is a data link of a table to a board, its variables taken from
// the clicked row.
func drill(title, uid string, labels ...string) cog.Builder[dashboard.DashboardLink] {
	return drillWith(rowField, title, uid, labels...)
}

// drillSeries is a data link of a graph to a board, its variables taken
// from the clicked series' labels.
func drillSeries(title, uid string, labels ...string) cog.Builder[dashboard.DashboardLink] {
	return drillWith(seriesLabel, title, uid, labels...)
}

func drillWith(value func(string) string, title, uid string, labels ...string) cog.Builder[dashboard.DashboardLink] {
	var vars []string
	for _, l := range labels {
		vars = append(vars, l, value(l))
	}
	return dashboard.NewDashboardLinkBuilder(title).Type(dashboard.DashboardLinkTypeLink).Url(boardURL(uid, vars...))
}

// exploreURL is a Grafana Explore URL of one query on a datasource. The
// pane state is JSON in the query string; Grafana interpolates ${…}
// variables in the URL before it opens it, so they are kept out of the
// escaping (their values, Kubernetes names, need none).
func exploreURL(dsType, dsUID string, query map[string]any) (string, error) {
	q := map[string]any{"refId": "A", "datasource": map[string]string{"type": dsType, "uid": dsUID}}
	for k, v := range query {
		q[k] = v
	}
	panes := map[string]any{"a": map[string]any{
		"datasource": dsUID,
		"queries":    []any{q},
		"range":      map[string]string{"from": "${__from}", "to": "${__to}"},
	}}
	b, err := json.Marshal(panes)
	if err != nil {
		return "", fmt.Errorf("explore link: %w", err)
	}
	escaped := url.QueryEscape(string(b))
	// Undo the escaping of the variables' ${ and }.
	escaped = unescapeVariables(escaped)
	return "/explore?schemaVersion=1&orgId=1&panes=" + escaped, nil
}

// unescapeVariables turns %24%7Bname%7D back into ${name}.
func unescapeVariables(s string) string {
	var b strings.Builder
	for {
		i := strings.Index(s, "%24%7B")
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		j := strings.Index(s[i:], "%7D")
		if j < 0 {
			b.WriteString(s)
			return b.String()
		}
		name, err := url.QueryUnescape(s[i+len("%24%7B") : i+j])
		if err != nil {
			name = s[i+len("%24%7B") : i+j]
		}
		b.WriteString(s[:i] + "${" + name + "}")
		s = s[i+j+len("%7D"):]
	}
}

// signalLinks are the links from a pod (namespace and pod given as Grafana
// expressions) to its logs and its traces, for the signals e collects.
func signalLinks(e *env.Environment, namespace, pod string) ([]cog.Builder[dashboard.DashboardLink], error) {
	var out []cog.Builder[dashboard.DashboardLink]
	if e.Logging.Enabled {
		u, err := exploreURL("elasticsearch", correlation.ElasticsearchUID, map[string]any{
			"query":   fmt.Sprintf(`%s:"%s" AND %s:"%s"`, correlation.FieldNamespace, namespace, correlation.FieldPod, pod),
			"metrics": []map[string]string{{"id": "1", "type": "logs"}},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, dashboard.NewDashboardLinkBuilder("Logs of the pod").Type(dashboard.DashboardLinkTypeLink).Url(u).TargetBlank(true))
	}
	// Tempo's TraceQL selects spans by the pod's resource attributes;
	// Jaeger searches by service only, which a pod does not name.
	if correlation.TraceUID(e) == correlation.TempoUID {
		u, err := exploreURL("tempo", correlation.TempoUID, map[string]any{
			"queryType": "traceql",
			"query":     fmt.Sprintf(`{resource.%s="%s" && resource.%s="%s"}`, correlation.AttrNamespace, namespace, correlation.AttrPod, pod),
		})
		if err != nil {
			return nil, err
		}
		out = append(out, dashboard.NewDashboardLinkBuilder("Traces of the pod").Type(dashboard.DashboardLinkTypeLink).Url(u).TargetBlank(true))
	}
	return out, nil
}

// table is a full-width table of instant queries, one row per label set:
// the queries are merged on their labels and each value column is named
// by its query's legend.
func multiTable(title, description, unit string, qs ...query) *table.PanelBuilder {
	b := table.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).
		Datasource(promDS).Span(24).Height(8).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"}))
	rename := map[string]any{}
	for i, x := range qs {
		ref := refIDs[i : i+1]
		b.WithTarget(prometheus.NewDataqueryBuilder().Expr(x.expr).RefId(ref).Instant().Format(prometheus.PromQueryFormatTable))
		name := "Value #" + ref
		if len(qs) == 1 {
			name = "Value"
		}
		rename[name] = x.legend
	}
	return b.
		WithTransformation(dashboard.DataTransformerConfig{Id: "merge", Options: map[string]any{}}).
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName":  rename,
		}})
}
