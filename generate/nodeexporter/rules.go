package nodeexporter

import (
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// alert is one alerting rule, written compactly.
type alert struct {
	name, expr, dur, severity, summary, description string
}

// vigilOnly are the alerts node-mixin has no runbook for.
var vigilOnly = map[string]bool{"NodeExporterDown": true, "NodeMemoryHighUtilization": true}

func (a alert) rule() monitoringv1.Rule {
	runbook := stack.UpstreamRunbook("node", a.name)
	if vigilOnly[a.name] {
		runbook = stack.VigilRunbook(a.name)
	}
	r := monitoringv1.Rule{
		Alert:       a.name,
		Expr:        intstr.FromString(a.expr),
		Labels:      map[string]string{"severity": a.severity},
		Annotations: map[string]string{"summary": a.summary, "description": a.description, "runbook_url": runbook},
	}
	if a.dur != "" {
		r.For = ptr.To(monitoringv1.Duration(a.dur))
	}
	return r
}

// sel fills the {{sel}} placeholder of an expression with the exporter's
// job, and {{fs}} with the file systems worth watching.
func sel(expr string) string {
	return strings.NewReplacer(
		"{{sel}}", `job="`+Job+`"`,
		"{{fs}}", `job="`+Job+`", fstype!="", mountpoint!=""`,
	).Replace(expr)
}

// ruleGroups are the node alert rules.
func ruleGroups() []monitoringv1.RuleGroup {
	groups := []struct {
		name   string
		alerts []alert
	}{
		{"node-exporter.availability", []alert{
			{
				name: "NodeExporterDown", dur: "15m", severity: "warning",
				expr:        sel(`up{{{sel}}} == 0`),
				summary:     "A node exporter cannot be scraped",
				description: `Prometheus cannot scrape the node exporter on {{ $labels.instance }}: that node is not monitored.`,
			},
		}},
		{"node-exporter.filesystem", []alert{
			{
				name: "NodeFilesystemSpaceFillingUp", dur: "1h", severity: "warning",
				expr: sel(`node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < 0.20
and predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 24 * 3600) < 0
and node_filesystem_readonly{{{fs}}} == 0`),
				summary:     "A file system is predicted to run out of space within a day",
				description: `{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} space left and is filling up.`,
			},
			{
				name: "NodeFilesystemSpaceFillingUp", dur: "1h", severity: "critical",
				expr: sel(`node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < 0.10
and predict_linear(node_filesystem_avail_bytes{{{fs}}}[6h], 4 * 3600) < 0
and node_filesystem_readonly{{{fs}}} == 0`),
				summary:     "A file system is predicted to run out of space within four hours",
				description: `{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} space left and is filling up fast.`,
			},
			{
				name: "NodeFilesystemAlmostOutOfSpace", dur: "30m", severity: "warning",
				expr: sel(`node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < 0.05
and node_filesystem_readonly{{{fs}}} == 0`),
				summary:     "A file system has less than 5% space left",
				description: `{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} space left.`,
			},
			{
				name: "NodeFilesystemAlmostOutOfSpace", dur: "30m", severity: "critical",
				expr: sel(`node_filesystem_avail_bytes{{{fs}}} / node_filesystem_size_bytes{{{fs}}} < 0.03
and node_filesystem_readonly{{{fs}}} == 0`),
				summary:     "A file system has less than 3% space left",
				description: `{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} space left.`,
			},
			{
				name: "NodeFilesystemAlmostOutOfFiles", dur: "1h", severity: "warning",
				expr: sel(`node_filesystem_files_free{{{fs}}} / node_filesystem_files{{{fs}}} < 0.05
and node_filesystem_readonly{{{fs}}} == 0`),
				summary:     "A file system has less than 5% inodes left",
				description: `{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} inodes left.`,
			},
			{
				name: "NodeFilesystemFilesFillingUp", dur: "1h", severity: "warning",
				expr: sel(`node_filesystem_files_free{{{fs}}} / node_filesystem_files{{{fs}}} < 0.40
and predict_linear(node_filesystem_files_free{{{fs}}}[6h], 24 * 3600) < 0
and node_filesystem_readonly{{{fs}}} == 0`),
				summary:     "A file system is predicted to run out of inodes within a day",
				description: `{{ $labels.mountpoint }} on {{ $labels.instance }} has {{ $value | humanizePercentage }} inodes left and is using them up.`,
			},
		}},
		{"node-exporter.network", []alert{
			{
				name: "NodeHighNumberConntrackEntriesUsed", dur: "5m", severity: "warning",
				expr:        sel(`node_nf_conntrack_entries{{{sel}}} / node_nf_conntrack_entries_limit{{{sel}}} > 0.75`),
				summary:     "The conntrack table is more than 75% full",
				description: `{{ $labels.instance }} uses {{ $value | humanizePercentage }} of its conntrack entries; when the table is full, new connections are dropped.`,
			},
			{
				name: "NodeNetworkReceiveErrs", dur: "1h", severity: "warning",
				expr:        sel(`rate(node_network_receive_errs_total{{{sel}}}[5m]) / rate(node_network_receive_packets_total{{{sel}}}[5m]) > 0.01`),
				summary:     "A network interface reports receive errors",
				description: `{{ $labels.device }} on {{ $labels.instance }} fails to receive {{ $value | humanizePercentage }} of its packets.`,
			},
			{
				name: "NodeNetworkTransmitErrs", dur: "1h", severity: "warning",
				expr:        sel(`rate(node_network_transmit_errs_total{{{sel}}}[5m]) / rate(node_network_transmit_packets_total{{{sel}}}[5m]) > 0.01`),
				summary:     "A network interface reports transmit errors",
				description: `{{ $labels.device }} on {{ $labels.instance }} fails to send {{ $value | humanizePercentage }} of its packets.`,
			},
			// Pod interfaces (veth pairs and CNI devices) come and go with
			// pods; only the node's own links are expected to stay up.
			{
				name: "NodeNetworkInterfaceFlapping", dur: "5m", severity: "warning",
				expr:        sel(`increase(node_network_carrier_changes_total{{{sel}}, device!~"veth.+|cali.+|lxc.+|cni.+|flannel.+|vxlan.+|tunl.+"}[10m]) > 4`),
				summary:     "A network interface keeps losing its link",
				description: `{{ $labels.device }} on {{ $labels.instance }} changed its carrier state {{ $value | humanize }} times in 10 minutes; check the cable, the NIC and the switch port.`,
			},
			{
				name: "NodeBondingDegraded", dur: "5m", severity: "warning",
				expr:        sel(`node_bonding_active{{{sel}}} < node_bonding_slaves{{{sel}}}`),
				summary:     "A bonded interface has lost a link",
				description: `Bond {{ $labels.master }} on {{ $labels.instance }} has {{ $value }} active links of its configured ones: it runs without redundancy.`,
			},
		}},
		{"node-exporter.time", []alert{
			{
				name: "NodeClockNotSynchronising", dur: "10m", severity: "warning",
				expr: sel(`min_over_time(node_timex_sync_status{{{sel}}}[5m]) == 0
and node_timex_maxerror_seconds{{{sel}}} >= 16`),
				summary:     "The clock is not synchronising",
				description: `The clock of {{ $labels.instance }} is not synchronised by NTP; check the time daemon.`,
			},
			{
				name: "NodeClockSkewDetected", dur: "10m", severity: "warning",
				expr: sel(`(node_timex_offset_seconds{{{sel}}} > 0.05 and deriv(node_timex_offset_seconds{{{sel}}}[5m]) >= 0)
or (node_timex_offset_seconds{{{sel}}} < -0.05 and deriv(node_timex_offset_seconds{{{sel}}}[5m]) <= 0)`),
				summary:     "The clock is skewed",
				description: `The clock of {{ $labels.instance }} is off by {{ $value | humanizeDuration }} and not converging.`,
			},
		}},
		{"node-exporter.resources", []alert{
			{
				name: "NodeMemoryMajorPagesFaults", dur: "15m", severity: "warning",
				expr:        sel(`rate(node_vmstat_pgmajfault{{{sel}}}[5m]) > 500`),
				summary:     "The node is paging heavily",
				description: `{{ $labels.instance }} has {{ $value | humanize }} major page faults per second: memory is short.`,
			},
			{
				name: "NodeMemoryHighUtilization", dur: "15m", severity: "warning",
				expr:        sel(`1 - node_memory_MemAvailable_bytes{{{sel}}} / node_memory_MemTotal_bytes{{{sel}}} > 0.90`),
				summary:     "The node has less than 10% memory available",
				description: `{{ $labels.instance }} uses {{ $value | humanizePercentage }} of its memory.`,
			},
			{
				name: "NodeFileDescriptorLimit", dur: "15m", severity: "critical",
				expr:        sel(`node_filefd_allocated{{{sel}}} / node_filefd_maximum{{{sel}}} > 0.90`),
				summary:     "The kernel is close to its file descriptor limit",
				description: `{{ $labels.instance }} has allocated {{ $value | humanizePercentage }} of the kernel's file descriptors.`,
			},
			{
				name: "NodeRAIDDegraded", dur: "15m", severity: "critical",
				expr:        sel(`node_md_disks_required{{{sel}}} - ignoring (state) node_md_disks{state="active", {{sel}}} > 0`),
				summary:     "A RAID array is degraded",
				description: `The array {{ $labels.device }} on {{ $labels.instance }} is missing {{ $value }} disks.`,
			},
			{
				name: "NodeRAIDDiskFailure", dur: "15m", severity: "warning",
				expr:        sel(`node_md_disks{state="failed", {{sel}}} > 0`),
				summary:     "A RAID member disk has failed",
				description: `The array {{ $labels.device }} on {{ $labels.instance }} has {{ $value }} failed disks; replace them.`,
			},
			// iowait counts as idle here: a CPU waiting on a disk is free
			// to run work, and NodeDiskIOSaturation covers the disk.
			{
				name: "NodeCPUHighUsage", dur: "15m", severity: "info",
				expr:        sel(`1 - avg without (cpu) (sum without (mode) (rate(node_cpu_seconds_total{{{sel}}, mode=~"idle|iowait"}[5m]))) > 0.90`),
				summary:     "The node's CPUs are more than 90% busy",
				description: `{{ $labels.instance }} has used {{ $value | humanizePercentage }} of its CPU time for 15 minutes.`,
			},
			// Load counts runnable and uninterruptible tasks: more than two
			// per CPU means work is queueing.
			{
				name: "NodeSystemSaturation", dur: "15m", severity: "warning",
				expr:        sel(`node_load1{{{sel}}} / on (instance) group_left () count by (instance) (node_cpu_seconds_total{{{sel}}, mode="idle"}) > 2`),
				summary:     "The node's load is more than twice its CPUs",
				description: `{{ $labels.instance }} has a load of {{ $value | humanize }} per CPU: processes wait to run.`,
			},
			// The weighted I/O time grows by the number of requests in
			// flight each second: its rate is the average queue depth.
			{
				name: "NodeDiskIOSaturation", dur: "30m", severity: "warning",
				expr:        sel(`rate(node_disk_io_time_weighted_seconds_total{{{sel}}}[5m]) > 10`),
				summary:     "A disk has a deep I/O queue",
				description: `{{ $labels.device }} on {{ $labels.instance }} has {{ $value | humanize }} I/O requests queued on average.`,
			},
		}},
	}
	var out []monitoringv1.RuleGroup
	for _, g := range groups {
		rg := monitoringv1.RuleGroup{Name: g.name}
		for _, a := range g.alerts {
			rg.Rules = append(rg.Rules, a.rule())
		}
		out = append(out, rg)
	}
	return out
}

func rules(meta metav1.ObjectMeta) *monitoringv1.PrometheusRule {
	return &monitoringv1.PrometheusRule{ObjectMeta: meta, Spec: monitoringv1.PrometheusRuleSpec{Groups: ruleGroups()}}
}
