// Package sizing estimates the disk an environment needs: Prometheus's
// TSDB, Elasticsearch's data volumes and the growth of the snapshot
// bucket on S3, from the environment itself (replicas, retention, scrape
// interval, enabled components) and its sizing section (nodes, pods, log
// volume). docs/sizing.md gives every formula with its source; the figures
// here follow it exactly. `gen size ENV` prints the report.
//
// The estimates are planning figures, not measurements: every input that
// can be measured on a running cluster can be given instead
// (sizing.seriesPerNode, sizing.logVolumePerNode, sizing.indexRatioPercent),
// and docs/sizing.md says how to measure it.
package sizing

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/alecthomas/units"
	"github.com/prometheus/common/model"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
)

// BytesPerSample is the upper end of what Prometheus's storage
// documentation gives for a compressed sample ("on average, Prometheus
// uses only around 1-2 bytes per sample").
const BytesPerSample = 2.0

// walHours is the raw data the write-ahead log keeps beyond the blocks:
// at least two hours (storage documentation, "On-disk layout"), plus the
// head block being filled, so three hours of samples.
const walHours = 3

// walBytesPerSample is what one sample costs in the WAL, uncompressed: an
// 8-byte value plus varint deltas of its series reference and timestamp,
// about 13 bytes (Robust Perception, "How much space does the WAL take
// up?"), rounded up.
const walBytesPerSample = 16.0

// fillLimit is the share of a volume an estimate may reach before gen size
// warns: Prometheus compacts into new blocks before it deletes old ones,
// and Elasticsearch stops allocating shards to a node past its low disk
// watermark, 85% by default.
const (
	prometheusFillLimit    = 0.85
	elasticsearchFillLimit = 0.85
)

// Planning figures for the series each component exports, per node or per
// pod. They are Vigil's assumptions for a typical node, stated so that
// they can be replaced: sizing.seriesPerNode overrides their sum.
var (
	seriesPerNode = []component{
		{"node-exporter", 700, func(e *env.Environment) bool { return e.Monitoring.NodeExporter.Enabled }},
		{"kubelet and cAdvisor (per node)", 300, func(*env.Environment) bool { return true }},
		{"Fluent Bit", 150, func(e *env.Environment) bool { return e.Logging.Enabled }},
		{"node-problem-detector", 30, func(e *env.Environment) bool { return e.NodeProblemDetector.Enabled }},
	}
	seriesPerPod = []component{
		{"cAdvisor containers", 60, func(*env.Environment) bool { return true }},
		{"kube-state-metrics pods", 40, func(e *env.Environment) bool { return e.Monitoring.KubeStateMetrics.Enabled }},
	}
)

// clusterSeries are the series that do not grow with nodes: Prometheus,
// Alertmanager, the operators, the exporters of shared services.
const clusterSeries = 5000

type component struct {
	name    string
	series  int
	enabled func(*env.Environment) bool
}

// Report is the whole estimate.
type Report struct {
	Environment   string
	Prometheus    *TSDB
	Elasticsearch *Logs
	Snapshots     *Snapshots
	// Warnings name every configured volume that is too small.
	Warnings []string
}

// TSDB is the Prometheus estimate, per replica: every replica stores
// every sample.
type TSDB struct {
	Series           int
	SeriesFrom       string
	ScrapeInterval   time.Duration
	SamplesPerSecond float64
	Retention        time.Duration
	BlockBytes       float64
	WALBytes         float64
	// NeededBytes is BlockBytes + WALBytes.
	NeededBytes float64
	Replicas    int
	VolumeBytes float64
	// RetentionSizeBytes is monitoring.prometheus.retentionSize, 0 if unset.
	RetentionSizeBytes float64
}

// Logs is the Elasticsearch estimate.
type Logs struct {
	Streams []StreamSize
	// Replicas is the index templates' number_of_replicas.
	Replicas  int
	DataNodes int
	// TotalBytes is the sum of the streams, replicas included.
	TotalBytes float64
	// PerNodeBytes spreads TotalBytes over the data nodes.
	PerNodeBytes float64
	// SmallestVolumeBytes is the smallest data node volume.
	SmallestVolumeBytes float64
}

// StreamSize is one data stream's share.
type StreamSize struct {
	Kind          string
	DailyRawBytes float64
	// Days counts the retention plus the day a backing index may wait
	// for rollover before its retention starts.
	Days float64
	// PrimaryBytes is DailyRawBytes × index ratio × Days.
	PrimaryBytes float64
}

// Snapshots is the growth of the snapshot repository.
type Snapshots struct {
	// DailyBytes is what a day adds (primary data only, no replicas).
	DailyBytes float64
	// SteadyBytes is the repository's size once SLM deletes as fast as
	// snapshots add: every segment alive within retention + expireAfter.
	SteadyBytes float64
	ExpireAfter time.Duration
}

// Estimate computes the report of an environment.
func Estimate(e *env.Environment) (*Report, error) {
	r := &Report{Environment: e.Name}
	if e.Monitoring.Enabled {
		t, err := tsdb(e)
		if err != nil {
			return nil, err
		}
		r.Prometheus = t
		if t.VolumeBytes > 0 && t.NeededBytes > prometheusFillLimit*t.VolumeBytes {
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"monitoring.prometheus.storage.size: %s holds less than the estimated %s for %s of retention with %.0f%% free for compaction: grow the volume, shorten retention, or scrape less",
				Bytes(t.VolumeBytes), Bytes(t.NeededBytes), days(t.Retention), 100*(1-prometheusFillLimit)))
		}
		if t.RetentionSizeBytes > 0 && t.BlockBytes > t.RetentionSizeBytes {
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"monitoring.prometheus.retentionSize: %s is below the estimated %s of blocks: Prometheus will delete data before %s",
				Bytes(t.RetentionSizeBytes), Bytes(t.BlockBytes), days(t.Retention)))
		}
	}
	if e.Logging.Enabled {
		l, err := logs(e)
		if err != nil {
			return nil, err
		}
		r.Elasticsearch = l
		if l.SmallestVolumeBytes > 0 && l.PerNodeBytes > elasticsearchFillLimit*l.SmallestVolumeBytes {
			r.Warnings = append(r.Warnings, fmt.Sprintf(
				"logging.elasticsearch.nodeSets: a data node's volume of %s holds less than its estimated %s below the 85%% low disk watermark: add data nodes, grow the volumes, or shorten retention",
				Bytes(l.SmallestVolumeBytes), Bytes(l.PerNodeBytes)))
		}
		if e.SnapshotsEnabled() {
			sn, err := snapshots(e, l)
			if err != nil {
				return nil, err
			}
			r.Snapshots = sn
		}
	}
	return r, nil
}

func tsdb(e *env.Environment) (*TSDB, error) {
	p := e.Monitoring.Prometheus
	sz := e.Sizing
	interval, err := duration(p.ScrapeInterval)
	if err != nil {
		return nil, fmt.Errorf("monitoring.prometheus.scrapeInterval: %w", err)
	}
	retention, err := duration(p.Retention)
	if err != nil {
		return nil, fmt.Errorf("monitoring.prometheus.retention: %w", err)
	}
	t := &TSDB{ScrapeInterval: interval, Retention: retention, Replicas: p.Replicas}
	if sz.SeriesPerNode > 0 {
		t.Series = sz.SeriesPerNode * sz.Nodes
		t.SeriesFrom = fmt.Sprintf("sizing.seriesPerNode %d × %d nodes", sz.SeriesPerNode, sz.Nodes)
	} else {
		perNode, names := 0, []string{}
		for _, c := range seriesPerNode {
			if c.enabled(e) {
				perNode += c.series
				names = append(names, c.name)
			}
		}
		for _, c := range seriesPerPod {
			if c.enabled(e) {
				perNode += c.series * sz.PodsPerNode
				names = append(names, c.name)
			}
		}
		t.Series = perNode*sz.Nodes + clusterSeries
		t.SeriesFrom = fmt.Sprintf("estimate: %d per node (%s, %d pods per node) × %d nodes + %d cluster-wide",
			perNode, strings.Join(names, ", "), sz.PodsPerNode, sz.Nodes, clusterSeries)
	}
	t.SamplesPerSecond = float64(t.Series) / interval.Seconds()
	t.BlockBytes = retention.Seconds() * t.SamplesPerSecond * BytesPerSample
	t.WALBytes = walHours * 3600 * t.SamplesPerSecond * walBytesPerSample
	t.NeededBytes = t.BlockBytes + t.WALBytes
	if t.VolumeBytes, err = quantity(p.Storage.Size); err != nil {
		return nil, fmt.Errorf("monitoring.prometheus.storage.size: %w", err)
	}
	if p.RetentionSize != "" {
		n, err := units.ParseBase2Bytes(p.RetentionSize)
		if err != nil {
			return nil, fmt.Errorf("monitoring.prometheus.retentionSize: %w", err)
		}
		t.RetentionSizeBytes = float64(n)
	}
	return t, nil
}

func logs(e *env.Environment) (*Logs, error) {
	sz := e.Sizing
	streams, err := elasticsearch.Streams(e)
	if err != nil {
		return nil, err
	}
	ratio := float64(sz.IndexRatioPercent) / 100
	perNode, err := byteSize(sz.LogVolumePerNode)
	if err != nil {
		return nil, fmt.Errorf("sizing.logVolumePerNode: %w", err)
	}
	events, err := byteSize(sz.EventVolume)
	if err != nil {
		return nil, fmt.Errorf("sizing.eventVolume: %w", err)
	}
	audit, err := byteSize(sz.AuditVolume)
	if err != nil {
		return nil, fmt.Errorf("sizing.auditVolume: %w", err)
	}
	l := &Logs{DataNodes: elasticsearch.DataNodes(e)}
	if l.DataNodes >= 2 {
		l.Replicas = 1 // as elasticsearch.Template sets it
	}
	for _, st := range streams {
		var raw float64
		kind := st.Kind
		switch st.Kind {
		case elasticsearch.StreamContainers:
			// logVolumePerNode covers what a node ships, container and
			// node logs together; both streams have the logs retention.
			raw = perNode * float64(sz.Nodes)
			kind = "containers+node"
		case elasticsearch.StreamNode:
			continue
		case elasticsearch.StreamAudit:
			raw = audit
		case elasticsearch.StreamEvents:
			raw = events
		}
		d, err := duration(st.Retention)
		if err != nil {
			return nil, fmt.Errorf("retention of the %s stream: %w", st.Kind, err)
		}
		// A backing index is deleted its retention after rollover, and
		// rolls over after at most a day (elasticsearch.Policy).
		dd := d.Hours()/24 + 1
		s := StreamSize{Kind: kind, DailyRawBytes: raw, Days: dd, PrimaryBytes: raw * ratio * dd}
		l.Streams = append(l.Streams, s)
		l.TotalBytes += s.PrimaryBytes * float64(1+l.Replicas)
	}
	if l.DataNodes > 0 {
		l.PerNodeBytes = l.TotalBytes / float64(l.DataNodes)
	}
	for _, name := range env.SortedKeys(e.Logging.Elasticsearch.NodeSets) {
		ns := e.Logging.Elasticsearch.NodeSets[name]
		if !holdsData(ns.Roles) {
			continue
		}
		v, err := quantity(ns.Storage.Size)
		if err != nil {
			return nil, fmt.Errorf("logging.elasticsearch.nodeSets.%s.storage.size: %w", name, err)
		}
		if l.SmallestVolumeBytes == 0 || v < l.SmallestVolumeBytes {
			l.SmallestVolumeBytes = v
		}
	}
	return l, nil
}

func snapshots(e *env.Environment, l *Logs) (*Snapshots, error) {
	expire, err := duration(e.Logging.Elasticsearch.Snapshots.ExpireAfter)
	if err != nil {
		return nil, fmt.Errorf("logging.elasticsearch.snapshots.expireAfter: %w", err)
	}
	ratio := float64(e.Sizing.IndexRatioPercent) / 100
	sn := &Snapshots{ExpireAfter: expire}
	for _, s := range l.Streams {
		day := s.DailyRawBytes * ratio
		sn.DailyBytes += day
		sn.SteadyBytes += day * (s.Days + expire.Hours()/24)
	}
	return sn, nil
}

func holdsData(roles []string) bool {
	for _, r := range roles {
		if r == "data" || strings.HasPrefix(r, "data_") {
			return true
		}
	}
	return false
}

// duration reads an environment duration as Vigil's checks do, with
// Prometheus's parser (d, w and y included).
func duration(s string) (time.Duration, error) {
	d, err := model.ParseDuration(s)
	if err != nil {
		return 0, err
	}
	return time.Duration(d), nil
}

// byteSize reads a #ByteSize as Prometheus reads retentionSize (KB = 1024).
func byteSize(s string) (float64, error) {
	n, err := units.ParseBase2Bytes(s)
	if err != nil {
		return 0, err
	}
	return float64(n), nil
}

func quantity(s string) (float64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, err
	}
	return q.AsApproximateFloat64(), nil
}

// Bytes renders a size with a binary unit.
func Bytes(b float64) string {
	const unit = 1024.0
	if b < unit {
		return fmt.Sprintf("%.0f B", b)
	}
	exp := int(math.Log(b) / math.Log(unit))
	if exp > 6 {
		exp = 6
	}
	return fmt.Sprintf("%.1f %ciB", b/math.Pow(unit, float64(exp)), "KMGTPE"[exp-1])
}

func days(d time.Duration) string { return fmt.Sprintf("%g days", d.Hours()/24) }
