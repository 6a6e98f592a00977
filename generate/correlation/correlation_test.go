package correlation_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func datasources(t *testing.T, e *env.Environment) map[string]grafana.Datasource {
	t.Helper()
	list, err := correlation.Datasources(e)
	if err != nil {
		t.Fatalf("Datasources: %v", err)
	}
	out := map[string]grafana.Datasource{}
	for _, d := range list {
		out[d.UID] = d
	}
	if len(list) > 0 && list[0].UID != correlation.PrometheusUID {
		t.Errorf("first datasource %s, want Prometheus (the default)", list[0].UID)
	}
	return out
}

// TestExamples provisions the datasources through Grafana and keeps the
// provisioning file as the golden review surface.
func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, name)
			list, err := correlation.Datasources(e)
			if err != nil {
				t.Fatal(err)
			}
			var all stack.Set
			if err := grafana.GenerateWith(e, &all, grafana.Options{Datasources: list}); err != nil {
				t.Fatalf("grafana rejects the datasources: %v", err)
			}
			stacktest.Check(t, &all)
			var s stack.Set
			for _, cm := range stacktest.Find[*corev1.ConfigMap](&all) {
				if cm.Name == grafana.DatasourcesConfigMap {
					s.Add("correlation", stack.Instances, cm)
				}
			}
			stacktest.Golden(t, name, "correlation", &s)
		})
	}
}

func TestProd(t *testing.T) {
	e := stacktest.Example(t, "prod")
	ds := datasources(t, e)
	if len(ds) != 3 {
		t.Fatalf("datasources %v, want prometheus, elasticsearch, tempo", ds)
	}
	want := []any{map[string]any{"name": "trace_id", "datasourceUid": "tempo"}}
	if d := cmp.Diff(want, ds["prometheus"].JSONData["exemplarTraceIdDestinations"]); d != "" {
		t.Errorf("exemplar links (-want +got):\n%s", d)
	}

	es := ds["elasticsearch"]
	if es.URL != "https://logging-es-http.logging.svc:9200" || !es.BasicAuth || es.BasicAuthUser != "elastic" {
		t.Errorf("elasticsearch %s basicAuth %v %s", es.URL, es.BasicAuth, es.BasicAuthUser)
	}
	if es.SecureJSONData["basicAuthPassword"].Secret != "logging-es-elastic-user" || es.SecureJSONData["tlsCACert"].Key != "ca.crt" {
		t.Errorf("secure fields %+v", es.SecureJSONData)
	}
	if es.JSONData["index"] != "logs-kubernetes.container-default" || es.JSONData["timeField"] != "@timestamp" {
		t.Errorf("index %v time field %v, want Fluent Bit's container log stream", es.JSONData["index"], es.JSONData["timeField"])
	}
	// '$' is written '$$' in the provisioning file; Grafana reads '$'.
	link := []any{map[string]any{"field": `^(log_processed\.)?trace_id$$`, "url": "$${__value.raw}", "datasourceUid": "tempo", "urlDisplayLabel": "View trace"}}
	if d := cmp.Diff(link, es.JSONData["dataLinks"]); d != "" {
		t.Errorf("log → trace data link (-want +got):\n%s", d)
	}

	tempo := ds["tempo"]
	if tempo.Type != "tempo" || tempo.URL != "http://tempo.tracing.svc:3200" {
		t.Errorf("tempo %s %s", tempo.Type, tempo.URL)
	}
	logs := tempo.JSONData["tracesToLogsV2"].(map[string]any)
	wantTags := []any{
		map[string]any{"key": "k8s.namespace.name", "value": "kubernetes.namespace_name"},
		map[string]any{"key": "k8s.pod.name", "value": "kubernetes.pod_name"},
	}
	if logs["datasourceUid"] != "elasticsearch" || !cmp.Equal(logs["tags"], wantTags) {
		t.Errorf("trace → logs %v", logs)
	}
	metrics := tempo.JSONData["tracesToMetrics"].(map[string]any)
	for _, q := range metrics["queries"].([]any) {
		if !strings.Contains(q.(map[string]any)["query"].(string), "$$__tags") {
			t.Errorf("trace → metrics query %v does not use the escaped $$__tags", q)
		}
	}
}

func TestVariants(t *testing.T) {
	t.Run("no tracing", func(t *testing.T) {
		ds := datasources(t, stacktest.Example(t, "staging"))
		if _, ok := ds["prometheus"].JSONData["exemplarTraceIdDestinations"]; ok {
			t.Errorf("exemplar link without a trace backend")
		}
		if _, ok := ds["elasticsearch"].JSONData["dataLinks"]; ok {
			t.Errorf("log data link without a trace backend")
		}
		if len(ds) != 2 {
			t.Errorf("%d datasources, want prometheus and elasticsearch", len(ds))
		}
	})
	t.Run("exemplars and log links off", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.Correlation.Exemplars = false
		e.Correlation.LogTraceLinks = false
		ds := datasources(t, e)
		if _, ok := ds["prometheus"].JSONData["exemplarTraceIdDestinations"]; ok {
			t.Errorf("exemplar link with exemplars off")
		}
		if _, ok := ds["elasticsearch"].JSONData["dataLinks"]; ok {
			t.Errorf("log data link with logTraceLinks off")
		}
	})
	t.Run("custom trace id field", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.Correlation.TraceIDField = "trace.id"
		link := datasources(t, e)["elasticsearch"].JSONData["dataLinks"].([]any)[0].(map[string]any)
		if link["field"] != `^(log_processed\.)?trace\.id$$` {
			t.Errorf("field %v", link["field"])
		}
	})
	t.Run("jaeger", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.Tracing.Backend = env.BackendJaeger
		ds := datasources(t, e)
		j, ok := ds["jaeger"]
		if !ok || j.Type != "jaeger" || j.URL != "http://jaeger.logging.svc:16686" {
			t.Fatalf("jaeger datasource %+v", j)
		}
		want := []any{map[string]any{"name": "trace_id", "datasourceUid": "jaeger"}}
		if d := cmp.Diff(want, ds["prometheus"].JSONData["exemplarTraceIdDestinations"]); d != "" {
			t.Errorf("exemplar links (-want +got):\n%s", d)
		}
	})
	t.Run("no logging", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.Logging.Enabled = false
		ds := datasources(t, e)
		if _, ok := ds["elasticsearch"]; ok {
			t.Errorf("elasticsearch datasource without logging")
		}
		if _, ok := ds["tempo"].JSONData["tracesToLogsV2"]; ok {
			t.Errorf("trace → logs link without logging")
		}
	})
	t.Run("no grafana", func(t *testing.T) {
		e := stacktest.Example(t, "prod")
		e.Monitoring.Grafana.Enabled = false
		if ds := datasources(t, e); len(ds) != 0 {
			t.Errorf("%d datasources without Grafana", len(ds))
		}
	})
}

func TestKSMLabel(t *testing.T) {
	for in, want := range map[string]string{
		correlation.PodLabelSparkApp:   "label_sparkoperator_k8s_io_app_name",
		correlation.PodLabelSparkAppID: "label_spark_app_selector",
		correlation.PodLabelSparkRole:  "label_spark_role",
	} {
		if got := correlation.KSMLabel(in); got != want {
			t.Errorf("KSMLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
