package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/nodeexporter"
	"github.com/vigil-stack/vigil/generate/rules"
)

// nodesUSE: node-mixin's USE method per node — utilisation and saturation
// of CPU, memory, disk and network, and errors — on the node-exporter
// recording rules (instance is the node name, see package nodeexporter);
// with kube-state-metrics, the pods of the selected nodes, each a link to
// its pod board.
func nodesUSE(e *env.Environment) *dashboard.DashboardBuilder {
	job := fmt.Sprintf(`job=%q`, nodeexporter.Job)
	node := job + `,instance=~"$node"`
	fs := node + `,fstype!="",mountpoint!=""`
	b := newBoard(UIDNodes, "", "Utilisation, saturation and errors of each node's CPU, memory, disks and network (node exporter).", "kubernetes", "nodes").
		WithVariable(labelVar("node", "Node", `node_uname_info{`+job+`}`, "instance")).
		WithRow(row("CPU and memory")).
		WithPanel(timeSeries("CPU utilisation", "Share of CPU time not idle, waiting for I/O or stolen.", "percentunit",
			q(rules.RecordNodeCPUUtilisation+`{`+node+`}`, "{{instance}}"))).
		WithPanel(timeSeries("CPU saturation (load per CPU)", "1-minute load average over the number of CPUs; above 1 processes wait for a CPU.", "short",
			q(rules.RecordNodeLoadPerCPU+`{`+node+`}`, "{{instance}}"))).
		WithPanel(timeSeries("Memory utilisation", "Share of memory not available to new processes.", "percentunit",
			q(rules.RecordNodeMemUtilisation+`{`+node+`}`, "{{instance}}"))).
		WithPanel(timeSeries("Memory saturation (major page faults)", "Major page faults per second: pages read back from disk.", "short",
			q(rules.RecordNodeMajorFaults+`{`+node+`}`, "{{instance}}"))).
		WithRow(row("Disks")).
		WithPanel(timeSeries("Disk I/O utilisation", "Share of time each device was busy.", "percentunit",
			q(rules.RecordNodeDiskIOTime+`{`+node+`}`, "{{instance}} {{device}}"))).
		WithPanel(timeSeries("Disk I/O saturation", "Weighted time spent on I/O per second: the average queue.", "short",
			q(rules.RecordNodeDiskIOWeighted+`{`+node+`}`, "{{instance}} {{device}}"))).
		WithPanel(timeSeries("File system space used", "Share of each file system used.", "percentunit",
			q(`1 - node_filesystem_avail_bytes{`+fs+`} / node_filesystem_size_bytes{`+fs+`}`, "{{instance}} {{mountpoint}}"))).
		WithPanel(timeSeries("Read-only file systems", "File systems remounted read-only (usually after errors).", "none",
			q(`sum by (instance) (node_filesystem_readonly{`+fs+`})`, "{{instance}}"))).
		WithRow(row("Network")).
		WithPanel(timeSeries("Network utilisation", "Bytes received and sent per second, all devices but lo.", "Bps",
			q(rules.RecordNodeNetReceive+`{`+node+`}`, "{{instance}} receive"),
			q(rules.RecordNodeNetTransmit+`{`+node+`}`, "{{instance}} transmit"))).
		WithPanel(timeSeries("Network saturation (drops)", "Packets dropped per second, all devices but lo.", "short",
			q(rules.RecordNodeNetReceiveDrop+`{`+node+`}`, "{{instance}} receive"),
			q(rules.RecordNodeNetTransmitDrop+`{`+node+`}`, "{{instance}} transmit"))).
		WithPanel(timeSeries("Network errors", "Receive and transmit errors per second.", "short",
			q(`sum by (instance) (rate(node_network_receive_errs_total{`+node+`,device!="lo"}[$__rate_interval]))`, "{{instance}} receive"),
			q(`sum by (instance) (rate(node_network_transmit_errs_total{`+node+`,device!="lo"}[$__rate_interval]))`, "{{instance}} transmit")))
	if computeEnabled(e) {
		b = b.WithRow(row("Pods on $node")).
			WithPanel(usageTable("Pods", "Usage, requests and limits of the pods on the selected nodes; click a row to open the pod.", "node, namespace, pod", `node=~"$node"`).
				DataLinks(links(drill("Open pod", UIDPod, "namespace", "pod"))))
	}
	return b
}
