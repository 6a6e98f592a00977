package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/pureexporter"
)

// storage: PersistentVolumeClaims from the kubelet's volume statistics and
// kube-state-metrics, and the Pure arrays from their exporters.
func storage(e *env.Environment) *dashboard.DashboardBuilder {
	const ns = `namespace=~"$namespace"`
	b := newBoard("vigil-storage", "", "PersistentVolumeClaim usage and, on Pure Storage, array capacity and performance.", "storage").
		WithVariable(labelVar("namespace", "Namespace", "kubelet_volume_stats_capacity_bytes", "namespace"))

	p := e.PureExporter
	fb := e.PureExporterEnabled() && len(p.FlashBlades) > 0
	fa := e.PureExporterEnabled() && len(p.FlashArrays) > 0
	if fb || fa {
		b = b.WithVariable(labelVar("array", "Array", fmt.Sprintf(`up{job=~"%s|%s"}`, pureexporter.JobFBArray, pureexporter.JobFAArray), pureexporter.LabelArray))
	}

	b = b.WithRow(row("PersistentVolumeClaims in $namespace")).
		WithPanel(singleStat("Claims", "PersistentVolumeClaims in the selected namespaces.", "none",
			`count(kube_persistentvolumeclaim_info{`+ns+`}) or vector(0)`)).
		WithPanel(singleStat("Pending claims", "Claims not bound to a volume: provisioning failed or waits for a consumer.", "none",
			`sum(kube_persistentvolumeclaim_status_phase{`+ns+`,phase="Pending"}) or vector(0)`)).
		WithPanel(singleStat("Claims over 85% full", "Claims with less than 15% free space (alert PersistentVolumeClaimLowSpace).", "none",
			`count(kubelet_volume_stats_available_bytes{`+ns+`} / kubelet_volume_stats_capacity_bytes{`+ns+`} < 0.15) or vector(0)`)).
		WithPanel(singleStat("Requested capacity", "Storage requested by the claims.", "bytes",
			`sum(kube_persistentvolumeclaim_resource_requests_storage_bytes{`+ns+`})`)).
		WithPanel(instantTable("Claim usage", "Used share of each mounted claim, fullest first.", "percentunit",
			`sort_desc(max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_used_bytes{`+ns+`} / kubelet_volume_stats_capacity_bytes{`+ns+`}))`)).
		WithPanel(timeSeries("Free space", "Free bytes of each claim.", "bytes",
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_available_bytes{`+ns+`})`, "{{namespace}}/{{persistentvolumeclaim}}"))).
		WithPanel(timeSeries("Inodes used", "Used share of the inodes of each claim.", "percentunit",
			q(`max by (namespace, persistentvolumeclaim) (kubelet_volume_stats_inodes_used{`+ns+`} / kubelet_volume_stats_inodes{`+ns+`})`, "{{namespace}}/{{persistentvolumeclaim}}")))

	const rw = `dimension=~"read_bytes_per_sec|write_bytes_per_sec"`
	const lat = `dimension=~"usec_per_read_op|usec_per_write_op"`
	const array = `instance=~"$array"`
	if fb {
		b = b.WithRow(row("FlashBlade")).
			WithPanel(timeSeries("FlashBlade capacity used", "Used share of each blade (alerts at 85% and 95%).", "percent",
				q(pureexporter.FlashBladeUsedPercent(array), "{{instance}}"))).
			WithPanel(timeSeries("FlashBlade open alerts", "Alerts open on the blades, by severity.", "none",
				q(`sum by (instance, severity) (purefb_alerts_open{`+array+`})`, "{{instance}} {{severity}}"))).
			WithPanel(timeSeries("FlashBlade bandwidth", "Read and write bytes per second, all protocols.", "Bps",
				q(`sum by (instance, dimension) (purefb_array_performance_bandwidth_bytes{`+array+`,`+rw+`})`, "{{instance}} {{dimension}}"))).
			WithPanel(timeSeries("FlashBlade latency", "Read and write latency per protocol.", "µs",
				q(`max by (instance, protocol, dimension) (purefb_array_performance_latency_usec{`+array+`,`+lat+`})`, "{{instance}} {{protocol}} {{dimension}}")))
	}
	if fa {
		b = b.WithRow(row("FlashArray")).
			WithPanel(timeSeries("FlashArray capacity used", "Used share of each array (alerts at 85% and 95%).", "percent",
				q(pureexporter.FlashArrayUsedPercent(array), "{{instance}}"))).
			WithPanel(timeSeries("FlashArray data reduction", "Data reduction ratio of each array.", "none",
				q(`max by (instance) (purefa_array_space_data_reduction_ratio{`+array+`})`, "{{instance}}"))).
			WithPanel(timeSeries("FlashArray bandwidth", "Read and write bytes per second.", "Bps",
				q(`sum by (instance, dimension) (purefa_array_performance_bandwidth_bytes{`+array+`,`+rw+`})`, "{{instance}} {{dimension}}"))).
			WithPanel(timeSeries("FlashArray latency", "Read and write latency.", "µs",
				q(`max by (instance, dimension) (purefa_array_performance_latency_usec{`+array+`,`+lat+`})`, "{{instance}} {{dimension}}")))
	}
	return b
}
