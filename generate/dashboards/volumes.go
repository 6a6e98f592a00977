package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
)

// persistentVolumes: the space and inodes of each mounted claim (the
// kubelet's volume stats) and, with kube-state-metrics, the phases of
// claims and volumes.
func persistentVolumes(e *env.Environment) *dashboard.DashboardBuilder {
	k := fmt.Sprintf(`job=%q,metrics_path="/metrics",namespace=~"$namespace",persistentvolumeclaim=~"$claim"`, prometheusoperator.KubeletJob)
	b := newBoard("vigil-persistent-volumes", "", "Space and inodes of each mounted PersistentVolumeClaim, and the phases of claims and volumes.", "kubernetes", "storage").
		WithVariable(labelVar("namespace", "Namespace", fmt.Sprintf(`kubelet_volume_stats_capacity_bytes{job=%q}`, prometheusoperator.KubeletJob), "namespace")).
		WithVariable(labelVar("claim", "Claim", fmt.Sprintf(`kubelet_volume_stats_capacity_bytes{job=%q,namespace=~"$namespace"}`, prometheusoperator.KubeletJob), "persistentvolumeclaim")).
		WithRow(row("Claims in $namespace")).
		WithPanel(multiTable("Claims", "Space and inodes used by each mounted claim.", "bytes",
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_capacity_bytes{`+k+`})`, "Capacity"),
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{`+k+`})`, "Used"),
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{`+k+`} / kubelet_volume_stats_capacity_bytes{`+k+`})`, "Space used"),
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_inodes_used{`+k+`} / kubelet_volume_stats_inodes{`+k+`})`, "Inodes used")).
			OverrideByRegexp(".* used$", []dashboard.DynamicConfigValue{{Id: "unit", Value: "percentunit"}})).
		WithPanel(timeSeries("Space used", "Share of each claim's volume used.", "percentunit",
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{`+k+`} / kubelet_volume_stats_capacity_bytes{`+k+`})`, "{{namespace}}/{{persistentvolumeclaim}}"))).
		WithPanel(timeSeries("Inodes used", "Share of each claim's inodes used.", "percentunit",
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_inodes_used{`+k+`} / kubelet_volume_stats_inodes{`+k+`})`, "{{namespace}}/{{persistentvolumeclaim}}")))
	if e.Monitoring.KubeStateMetrics.Enabled {
		b = b.WithRow(row("Claims and volumes")).
			WithPanel(timeSeries("Claims by phase", "PersistentVolumeClaims of the selected namespaces by phase; Pending ones wait for a volume.", "none",
				q(`sum by (phase) (kube_persistentvolumeclaim_status_phase{namespace=~"$namespace"})`, "{{phase}}"))).
			WithPanel(timeSeries("Volumes by phase", "PersistentVolumes by phase; Failed and Released ones need attention.", "none",
				q(`sum by (phase) (kube_persistentvolume_status_phase)`, "{{phase}}")))
	}
	return b
}
