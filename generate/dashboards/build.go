package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"
	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	"github.com/grafana/grafana-foundation-sdk/go/elasticsearch"
	"github.com/grafana/grafana-foundation-sdk/go/logs"
	"github.com/grafana/grafana-foundation-sdk/go/prometheus"
	"github.com/grafana/grafana-foundation-sdk/go/stat"
	"github.com/grafana/grafana-foundation-sdk/go/table"
	"github.com/grafana/grafana-foundation-sdk/go/timeseries"

	"github.com/vigil-stack/vigil/generate/correlation"
)

// The small vocabulary every dashboard is written in: Prometheus panels on
// the ${datasource} variable, Elasticsearch panels on the provisioned logs
// datasource, label_values variables, and a fixed layout (two panels a
// row, stats four a row).

// DatasourceVariable is the variable every dashboard selects its
// Prometheus with.
const DatasourceVariable = "datasource"

// promDS is the Prometheus datasource the dashboard's variable selects.
var promDS = common.DataSourceRef{Type: ptr("prometheus"), Uid: ptr("${" + DatasourceVariable + "}")}

// logsDS is the provisioned Elasticsearch datasource of the logs.
var logsDS = common.DataSourceRef{Type: ptr("elasticsearch"), Uid: ptr(correlation.ElasticsearchUID)}

// query is one PromQL target with its legend.
type query struct {
	expr, legend string
}

func q(expr, legend string) query { return query{expr, legend} }

var refIDs = "ABCDEFGHIJ"

func promTargets(qs []query) []cog.Builder[variants.Dataquery] {
	out := make([]cog.Builder[variants.Dataquery], 0, len(qs))
	for i, x := range qs {
		t := prometheus.NewDataqueryBuilder().Expr(x.expr).RefId(refIDs[i : i+1]).Range()
		if x.legend != "" {
			t.LegendFormat(x.legend)
		}
		out = append(out, t)
	}
	return out
}

// timeSeries is a half-width graph of Prometheus queries.
func timeSeries(title, description, unit string, qs ...query) *timeseries.PanelBuilder {
	b := timeseries.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).
		Datasource(promDS).Span(12).Height(8).
		LineWidth(1).FillOpacity(10).
		Legend(common.NewVizLegendOptionsBuilder().DisplayMode(common.LegendDisplayModeList).Placement(common.LegendPlacementBottom).ShowLegend(true))
	for _, t := range promTargets(qs) {
		b.WithTarget(t)
	}
	return b
}

// singleStat is a quarter-width stat of one instant Prometheus query.
func singleStat(title, description, unit string, expr string) *stat.PanelBuilder {
	t := prometheus.NewDataqueryBuilder().Expr(expr).RefId("A").Instant()
	return stat.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).
		Datasource(promDS).Span(6).Height(4).
		ColorMode(common.BigValueColorModeValue).GraphMode(common.BigValueGraphModeNone).
		Orientation(common.VizOrientationAuto).
		ReduceOptions(common.NewReduceDataOptionsBuilder().Calcs([]string{"lastNotNull"})).
		WithTarget(t)
}

// instantTable is a full-width table of one instant Prometheus query, one
// row per series.
func instantTable(title, description, unit string, expr string) *table.PanelBuilder {
	t := prometheus.NewDataqueryBuilder().Expr(expr).RefId("A").Instant().Format(prometheus.PromQueryFormatTable)
	return table.NewPanelBuilder().
		Title(title).Description(description).Unit(unit).
		Datasource(promDS).Span(24).Height(8).
		Footer(common.NewTableFooterOptionsBuilder().Show(false).Reducer([]string{"sum"})).
		WithTarget(t).
		// Drop the Time column and the raw value name of an instant table.
		WithTransformation(dashboard.DataTransformerConfig{Id: "organize", Options: map[string]any{
			"excludeByName": map[string]any{"Time": true},
			"renameByName":  map[string]any{"Value": title},
		}})
}

// logCount is a half-width graph of log lines per bucket from
// Elasticsearch, split by a field.
func logCount(title, description, lucene, splitField string) *timeseries.PanelBuilder {
	t := elasticsearch.NewDataqueryBuilder().
		RefId("A").Query(lucene).TimeField(correlation.LogsTimeField).
		Metrics([]elasticsearch.MetricAggregation{{Count: &elasticsearch.Count{Id: "1", Type: elasticsearch.MetricAggregationTypeCount}}}).
		BucketAggs([]elasticsearch.BucketAggregation{
			{Terms: &elasticsearch.Terms{Id: "2", Type: elasticsearch.BucketAggregationTypeTerms, Field: ptr(splitField), Settings: &elasticsearch.ElasticsearchTermsSettings{
				Size: ptr("10"), Order: ptr(elasticsearch.TermsOrderDesc), OrderBy: ptr("_count"),
			}}},
			{DateHistogram: &elasticsearch.DateHistogram{Id: "3", Type: elasticsearch.BucketAggregationTypeDateHistogram, Field: ptr(correlation.LogsTimeField), Settings: &elasticsearch.ElasticsearchDateHistogramSettings{
				Interval: ptr("auto"),
			}}},
		})
	return timeseries.NewPanelBuilder().
		Title(title).Description(description).Unit("short").
		Datasource(logsDS).Span(12).Height(8).
		DrawStyle(common.GraphDrawStyleBars).FillOpacity(60).
		Stacking(common.NewStackingConfigBuilder().Mode(common.StackingModeNormal)).
		WithTarget(t)
}

// logLines is a full-width list of log lines from Elasticsearch.
func logLines(title, description, lucene string) *logs.PanelBuilder {
	t := elasticsearch.NewDataqueryBuilder().
		RefId("A").Query(lucene).TimeField(correlation.LogsTimeField).
		Metrics([]elasticsearch.MetricAggregation{{Logs: &elasticsearch.Logs{Id: "1", Type: elasticsearch.MetricAggregationTypeLogs}}})
	return logs.NewPanelBuilder().
		Title(title).Description(description).
		Datasource(logsDS).Span(24).Height(10).
		ShowTime(true).WrapLogMessage(true).EnableLogDetails(true).
		SortOrder(common.LogsSortOrderDescending).
		DedupStrategy(common.LogsDedupStrategyNone).
		WithTarget(t)
}

// datasourceVar selects the Prometheus datasource.
func datasourceVar() *dashboard.DatasourceVariableBuilder {
	return dashboard.NewDatasourceVariableBuilder(DatasourceVariable).Label("Prometheus").Type("prometheus")
}

// labelVar is a multi-value variable of the values of a label, "All"
// meaning every value (no allValue: a regex would not work in the Lucene
// queries the logs panels share the variable with).
func labelVar(name, label, selector, labelName string) *dashboard.QueryVariableBuilder {
	query := fmt.Sprintf("label_values(%s, %s)", selector, labelName)
	return dashboard.NewQueryVariableBuilder(name).
		Label(label).
		Datasource(promDS).
		Query(dashboard.StringOrMap{String: ptr(query)}).
		Definition(query).
		Refresh(dashboard.VariableRefreshOnTimeRangeChanged).
		Sort(dashboard.VariableSortAlphabeticalAsc).
		Multi(true).
		IncludeAll(true)
}

// newBoard starts a dashboard with Vigil's defaults: read-only (it is
// provisioned from Git), UTC, shared crosshair, links to its siblings.
func newBoard(uid, title, description string, tags ...string) *dashboard.DashboardBuilder {
	return dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Description(description).
		Tags(append([]string{Tag}, tags...)).
		Readonly().
		Timezone(common.TimeZoneUtc).
		Time("now-3h", "now").
		Refresh("1m").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("Vigil").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true)).
		WithVariable(datasourceVar())
}

// row starts a row of panels.
func row(title string) *dashboard.RowBuilder { return dashboard.NewRowBuilder(title) }

func ptr[T any](v T) *T { return &v }
