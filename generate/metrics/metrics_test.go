package metrics

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestLoad(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Components()) < 15 || c.Len() < 1000 {
		t.Errorf("%d components, %d series: the catalogue is not embedded", len(c.Components()), c.Len())
	}
	for series, want := range map[string]Metric{
		"prometheus_http_request_duration_seconds_bucket":                       {"prometheus_http_request_duration_seconds", Histogram, "prometheus"},
		"prometheus_engine_query_duration_seconds":                              {"prometheus_engine_query_duration_seconds", Summary, "prometheus"},
		"metrics_spark_driver_DAGScheduler_stage_runningStages_Value":           {"metrics_spark_driver_DAGScheduler_stage_runningStages", DWGauge, "spark"},
		"metrics_spark_driver_DAGScheduler_messageProcessingTime_OneMinuteRate": {"metrics_spark_driver_DAGScheduler_messageProcessingTime", DWTimer, "spark"},
		"kube_pod_info": {"kube_pod_info", Gauge, "kube-state-metrics"},
	} {
		got, ok := c.Lookup(series)
		if !ok || got != want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", series, got, ok, want)
		}
	}
	for _, series := range []string{
		"prometheus_http_request_duration_seconds", // a histogram's base name is no series
		"metrics_executor_activeTasks_Count",       // Spark 3.0's name
		"metrics_spark_driver_DAGScheduler_stage_runningStages",
		"kube_pod_info_total",
	} {
		if m, ok := c.Lookup(series); ok {
			t.Errorf("Lookup(%s) = %+v, want unknown", series, m)
		}
	}
}

func TestParseRejects(t *testing.T) {
	for name, tc := range map[string]struct{ text, want string }{
		"one field":       {"foo_total\n", `catalogue/a.txt:1: want "<name> <type>"`},
		"unknown type":    {"# x\nfoo_total count\n", `catalogue/a.txt:2: foo_total: unknown type "count"`},
		"duplicate":       {"foo gauge\nfoo counter\n", "catalogue/a.txt:2: foo: series foo is already produced by foo"},
		"histogram clash": {"foo histogram\nfoo_count counter\n", "catalogue/a.txt:2: foo_count: series foo_count is already produced by foo"},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := parse(fstest.MapFS{"catalogue/a.txt": {Data: []byte(tc.text)}})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("parse: %v, want an error containing %q", err, tc.want)
			}
		})
	}
	// The same name in two components is fine (process_*, rest_client_*).
	c, err := parse(fstest.MapFS{
		"catalogue/a.txt": {Data: []byte("rest_client_requests_total counter\n")},
		"catalogue/b.txt": {Data: []byte("rest_client_requests_total counter\n")},
	})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := c.Lookup("rest_client_requests_total"); m.Component != "a" {
		t.Errorf("shared name attributed to %s, want the first file", m.Component)
	}
}

// Every catalogue file says where its names were read, in its header.
func TestCatalogueFilesNameTheirSource(t *testing.T) {
	names, err := fs.Glob(files, "catalogue/*.txt")
	if err != nil || len(names) == 0 {
		t.Fatalf("no catalogue files: %v", err)
	}
	for _, name := range names {
		b, err := fs.ReadFile(files, name)
		if err != nil {
			t.Fatal(err)
		}
		var header strings.Builder
		for _, line := range strings.Split(string(b), "\n") {
			if !strings.HasPrefix(line, "#") {
				break
			}
			header.WriteString(line)
		}
		if !strings.Contains(header.String(), "Source") {
			t.Errorf("%s: the header comment does not say where the names come from (a \"Source:\" line)", name)
		}
	}
}
