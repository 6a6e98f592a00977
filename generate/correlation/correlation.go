// Package correlation makes metrics, logs and traces one investigation:
// the Grafana datasources that link them, and the names a workload has in
// each signal (labels.go).
//
//   - Prometheus → traces: exemplars. Prometheus stores them when
//     correlation.exemplars is on (the Prometheus generator enables
//     exemplar-storage), and the Prometheus datasource turns an exemplar's
//     trace_id label into a link to the trace backend.
//   - Logs → traces: the Elasticsearch datasource's data link turns the
//     trace id field of a log line into a link to the trace.
//   - Traces → logs and metrics: the trace backend's datasource links a
//     span to the logs of its pod around the span's time (Elasticsearch,
//     by namespace and pod) and to its pod's metrics (Prometheus).
//
// The package renders no object: Datasources is handed to Grafana
// (grafana.Options.Datasources), which provisions them.
package correlation

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/tracing"
)

// Datasource UIDs, stable across environments so that dashboards and links
// can name them.
const (
	PrometheusUID    = grafana.PrometheusDatasourceUID
	ElasticsearchUID = "elasticsearch"
	TempoUID         = "tempo"
	JaegerUID        = "jaeger"
)

// The container log documents Fluent Bit writes: their time field (the
// Elasticsearch output's default Time_Key), the field of the raw line (the
// tail input's key), and the object a JSON line is parsed into (the
// kubernetes filter's Merge_Log_Key), where an application's own trace id
// field ends up.
const (
	LogsTimeField    = "@timestamp"
	LogsMessageField = "log"
	MergedLogKey     = "log_processed"
)

// LogsIndex is the data stream of the container logs.
func LogsIndex(e *env.Environment) (string, error) {
	s, ok := elasticsearch.StreamOf(e, elasticsearch.StreamContainers)
	if !ok {
		return "", fmt.Errorf("no container log stream in logging.elasticsearch")
	}
	return s.DataStream, nil
}

// traceWindow is how far around a span the logs and metrics links look:
// log lines and samples are written around, not exactly at, span time.
const traceWindow = "5m"

// TraceUID is the UID of the trace backend's datasource, or "" when
// tracing is off.
func TraceUID(e *env.Environment) string {
	if !e.Tracing.Enabled {
		return ""
	}
	if e.Tracing.Backend == env.BackendJaeger {
		return JaegerUID
	}
	return TempoUID
}

// Datasources returns the datasources Grafana provisions for e, the
// Prometheus one first (the default). It is nil when Grafana is off.
func Datasources(e *env.Environment) ([]grafana.Datasource, error) {
	if !e.GrafanaEnabled() {
		return nil, nil
	}
	traceUID := TraceUID(e)

	prom := grafana.PrometheusDatasource(e)
	if e.Correlation.Exemplars && traceUID != "" {
		jd, err := toJSONData(prometheusJSONData{ExemplarTraceIDDestinations: []exemplarDestination{{
			Name: ExemplarTraceIDLabel, DatasourceUID: traceUID,
		}}})
		if err != nil {
			return nil, err
		}
		for k, v := range jd {
			prom.JSONData[k] = v
		}
	}
	out := []grafana.Datasource{prom}

	if e.Logging.Enabled {
		ds, err := elasticsearchDatasource(e, traceUID)
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	if traceUID != "" {
		ds, err := traceDatasource(e, traceUID)
		if err != nil {
			return nil, err
		}
		out = append(out, ds)
	}
	return out, nil
}

// The jsonData of each datasource type, as Grafana's provisioning reads it
// (Grafana docs: "Configure the … data source", provisioning examples).
type prometheusJSONData struct {
	ExemplarTraceIDDestinations []exemplarDestination `json:"exemplarTraceIdDestinations"`
}

type exemplarDestination struct {
	Name          string `json:"name"`
	DatasourceUID string `json:"datasourceUid"`
}

type elasticsearchJSONData struct {
	Index             string     `json:"index"`
	TimeField         string     `json:"timeField"`
	LogMessageField   string     `json:"logMessageField"`
	TLSAuthWithCACert bool       `json:"tlsAuthWithCACert"`
	DataLinks         []dataLink `json:"dataLinks,omitempty"`
}

type dataLink struct {
	// Field is a regular expression matched against field names.
	Field           string `json:"field"`
	URL             string `json:"url"`
	DatasourceUID   string `json:"datasourceUid"`
	URLDisplayLabel string `json:"urlDisplayLabel,omitempty"`
}

type traceJSONData struct {
	TracesToLogsV2  *tracesToLogs   `json:"tracesToLogsV2,omitempty"`
	TracesToMetrics tracesToMetrics `json:"tracesToMetrics"`
	NodeGraph       enabled         `json:"nodeGraph"`
}

type tracesToLogs struct {
	DatasourceUID      string       `json:"datasourceUid"`
	SpanStartTimeShift string       `json:"spanStartTimeShift"`
	SpanEndTimeShift   string       `json:"spanEndTimeShift"`
	Tags               []tagMapping `json:"tags"`
	FilterByTraceID    bool         `json:"filterByTraceID"`
	FilterBySpanID     bool         `json:"filterBySpanID"`
}

type tracesToMetrics struct {
	DatasourceUID      string         `json:"datasourceUid"`
	SpanStartTimeShift string         `json:"spanStartTimeShift"`
	SpanEndTimeShift   string         `json:"spanEndTimeShift"`
	Tags               []tagMapping   `json:"tags"`
	Queries            []metricsQuery `json:"queries"`
}

type metricsQuery struct {
	Name  string `json:"name"`
	Query string `json:"query"`
}

type enabled struct {
	Enabled bool `json:"enabled"`
}

func elasticsearchDatasource(e *env.Environment, traceUID string) (grafana.Datasource, error) {
	es := tracing.LoggingElasticsearch(e)
	index, err := LogsIndex(e)
	if err != nil {
		return grafana.Datasource{}, err
	}
	jd := elasticsearchJSONData{
		Index:             index,
		TimeField:         LogsTimeField,
		LogMessageField:   LogsMessageField,
		TLSAuthWithCACert: true,
	}
	if e.Correlation.LogTraceLinks && traceUID != "" {
		jd.DataLinks = []dataLink{{
			// The field at the top of the document or in the parsed JSON
			// of the line; anchored, so that fields merely containing
			// the name do not match.
			Field:           "^(" + regexp.QuoteMeta(MergedLogKey) + `\.)?` + regexp.QuoteMeta(e.Correlation.TraceIDField) + "$",
			URL:             "${__value.raw}",
			DatasourceUID:   traceUID,
			URLDisplayLabel: "View trace",
		}}
	}
	m, err := toJSONData(jd)
	if err != nil {
		return grafana.Datasource{}, err
	}
	return grafana.Datasource{
		Name:          "Elasticsearch logs",
		UID:           ElasticsearchUID,
		Type:          "elasticsearch",
		URL:           es.URL,
		Access:        "proxy",
		BasicAuth:     true,
		BasicAuthUser: es.User,
		JSONData:      m,
		// Secret references in the monitoring namespace: ECK creates these
		// Secrets in the logging namespace, so they must be mirrored (same
		// names, same keys) into the monitoring namespace.
		SecureJSONData: map[string]env.SecretRef{
			"basicAuthPassword": es.Password,
			"tlsCACert":         es.CA,
		},
	}, nil
}

func traceDatasource(e *env.Environment, uid string) (grafana.Datasource, error) {
	jd := traceJSONData{
		NodeGraph: enabled{Enabled: true},
		TracesToMetrics: tracesToMetrics{
			DatasourceUID:      PrometheusUID,
			SpanStartTimeShift: "-" + traceWindow,
			SpanEndTimeShift:   traceWindow,
			Tags:               traceToMetric,
			// $__tags becomes the label matchers of the span's pod.
			Queries: []metricsQuery{
				{Name: "Pod CPU", Query: `sum(rate(container_cpu_usage_seconds_total{$__tags, container!=""}[5m]))`},
				{Name: "Pod memory", Query: `sum(container_memory_working_set_bytes{$__tags, container!=""})`},
			},
		},
	}
	if e.Logging.Enabled {
		// Logs of the span's pod around the span's time. Not filtered by
		// trace id: most lines (the JVM's, Spark's) carry none, and the
		// pod and time find them all.
		jd.TracesToLogsV2 = &tracesToLogs{
			DatasourceUID:      ElasticsearchUID,
			SpanStartTimeShift: "-" + traceWindow,
			SpanEndTimeShift:   traceWindow,
			Tags:               traceToLog,
		}
	}
	m, err := toJSONData(jd)
	if err != nil {
		return grafana.Datasource{}, err
	}
	name, typ := "Tempo", "tempo"
	if uid == JaegerUID {
		name, typ = "Jaeger", "jaeger"
	}
	return grafana.Datasource{
		Name:     name,
		UID:      uid,
		Type:     typ,
		URL:      tracing.BackendURL(e),
		Access:   "proxy",
		JSONData: m,
	}, nil
}

// toJSONData turns a typed jsonData into the map Grafana's Datasource
// holds. Grafana expands $NAME in provisioning files, and every '$' here is
// Grafana's own interpolation (${__value.raw}, $__tags), so each is
// escaped as '$$'.
func toJSONData(v any) (map[string]any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("datasource jsonData: %w", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("datasource jsonData: %w", err)
	}
	return escapeDollars(m).(map[string]any), nil
}

func escapeDollars(v any) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "$", "$$")
	case map[string]any:
		for k, e := range x {
			x[k] = escapeDollars(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = escapeDollars(e)
		}
		return x
	}
	return v
}
