package grafana_test

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/stack"
)

// A correlation generator extends the Prometheus datasource and adds
// Elasticsearch, whose password reaches Grafana from a Secret.
func ExampleGenerateWith() {
	e := &env.Environment{Monitoring: env.Monitoring{
		Enabled:    true,
		Namespace:  "monitoring",
		Prometheus: env.Prometheus{ScrapeInterval: "30s"},
		Grafana: env.Grafana{
			Enabled: true,
			Storage: env.Volume{Role: env.RoleBlock, Size: "10Gi"},
			Admin:   env.GrafanaAdmin{User: "admin"},
		},
	}}
	prom := grafana.PrometheusDatasource(e)
	prom.JSONData = map[string]any{"exemplarTraceIdDestinations": []map[string]any{{"name": "trace_id", "datasourceUid": "tempo"}}}
	es := grafana.Datasource{
		Name: "Elasticsearch", UID: "elasticsearch", Type: "elasticsearch",
		URL:       "https://logs-es-http.logging.svc:9200",
		BasicAuth: true, BasicAuthUser: "elastic",
		SecureJSONData: map[string]env.SecretRef{"basicAuthPassword": {Secret: "grafana-elasticsearch", Key: "password"}},
	}

	var s stack.Set
	if err := grafana.GenerateWith(e, &s, grafana.Options{
		Datasources: []grafana.Datasource{prom, es},
		Dashboards:  []grafana.DashboardConfigMap{{Name: "grafana-dashboard-spark", Folder: "Spark"}},
	}); err != nil {
		fmt.Println(err)
		return
	}
	for _, r := range s.Resources() {
		if cm, ok := r.Object.(*corev1.ConfigMap); ok && cm.Name == grafana.DatasourcesConfigMap {
			fmt.Print(cm.Data["datasources.yaml"])
		}
	}
	// Output:
	// apiVersion: 1
	// datasources:
	// - access: proxy
	//   editable: false
	//   isDefault: true
	//   jsonData:
	//     exemplarTraceIdDestinations:
	//     - datasourceUid: tempo
	//       name: trace_id
	//   name: Prometheus
	//   orgId: 1
	//   type: prometheus
	//   uid: prometheus
	//   url: http://prometheus-k8s.monitoring.svc:9090
	// - access: proxy
	//   basicAuth: true
	//   basicAuthUser: elastic
	//   editable: false
	//   isDefault: false
	//   name: Elasticsearch
	//   orgId: 1
	//   secureJsonData:
	//     basicAuthPassword: $VIGIL_DS_ELASTICSEARCH_BASICAUTHPASSWORD
	//   type: elasticsearch
	//   uid: elasticsearch
	//   url: https://logs-es-http.logging.svc:9200
	// prune: true
}
