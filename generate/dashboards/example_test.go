package dashboards_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/dashboards"
	"github.com/vigil-stack/vigil/generate/env"
)

// List tells Grafana which dashboard ConfigMaps to mount, in which folder.
func ExampleList() {
	e := &env.Environment{Monitoring: env.Monitoring{Enabled: true, Namespace: "monitoring", Grafana: env.Grafana{Enabled: true}}}
	for _, d := range dashboards.List(e) {
		fmt.Println(d.Folder, d.Name)
	}
	// Output:
	// Kubernetes dashboard-cluster-health
	// Storage dashboard-storage
	// Kubernetes dashboard-kubelet
	// Storage dashboard-persistent-volumes
	// Monitoring dashboard-prometheus
	// Monitoring dashboard-alertmanager
}
