package sizing_test

import (
	"math"
	"strings"
	"testing"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/sizing"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

const gib = 1 << 30

// known is dev with round inputs whose results are worked out by hand in
// the assertions below.
func known(t *testing.T) *env.Environment {
	t.Helper()
	e := stacktest.Example(t, "dev")
	e.Sizing = env.Sizing{Nodes: 10, PodsPerNode: 30, SeriesPerNode: 1000, LogVolumePerNode: "1GB", EventVolume: "0B", AuditVolume: "0B", IndexRatioPercent: 100}
	p := &e.Monitoring.Prometheus
	p.ScrapeInterval, p.Retention, p.RetentionSize, p.Replicas = "30s", "10d", "", 2
	p.Storage.Size = "1Gi"
	e.Logging.Events.Enabled = false
	e.Audit.Enabled = false
	e.Logging.Elasticsearch.Retention = "9d"
	ns := e.Logging.Elasticsearch.NodeSets["default"]
	ns.Count, ns.Storage.Size = 2, "200Gi"
	e.Logging.Elasticsearch.NodeSets["default"] = ns
	return e
}

func near(t *testing.T, what string, got, want float64) {
	t.Helper()
	if math.Abs(got-want) > 1e-6*math.Max(1, want) {
		t.Errorf("%s = %.3f, want %.3f", what, got, want)
	}
}

func estimate(t *testing.T, e *env.Environment) *sizing.Report {
	t.Helper()
	r, err := sizing.Estimate(e)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestKnownInputs(t *testing.T) {
	e := known(t)
	r := estimate(t, e)
	tsdb := r.Prometheus
	// 1000 series × 10 nodes every 30 s.
	if tsdb.Series != 10000 {
		t.Errorf("series %d", tsdb.Series)
	}
	near(t, "samples/s", tsdb.SamplesPerSecond, 10000.0/30)
	// 10 d = 864000 s × 333.3 samples/s × 2 bytes.
	near(t, "blocks", tsdb.BlockBytes, 576e6)
	// 3 h × 333.3 samples/s × 16 bytes.
	near(t, "WAL", tsdb.WALBytes, 57.6e6)
	near(t, "needed", tsdb.NeededBytes, 633.6e6)
	// 10 nodes × 1 GiB × 100% × (9 + 1) days, one replica on two data nodes.
	l := r.Elasticsearch
	if len(l.Streams) != 1 || l.Streams[0].Kind != "containers+node" {
		t.Fatalf("streams %+v", l.Streams)
	}
	near(t, "primaries", l.Streams[0].PrimaryBytes, 100*gib)
	if l.Replicas != 1 || l.DataNodes != 2 {
		t.Errorf("replicas %d data nodes %d", l.Replicas, l.DataNodes)
	}
	near(t, "total", l.TotalBytes, 200*gib)
	near(t, "per node", l.PerNodeBytes, 100*gib)
	near(t, "smallest volume", l.SmallestVolumeBytes, 200*gib)
	if len(r.Warnings) != 0 {
		t.Errorf("warnings %v", r.Warnings)
	}
	if r.Snapshots != nil {
		t.Error("snapshots off but estimated")
	}

	// Snapshots: 10 GiB a day; the steady state keeps the 10 days in
	// indices and 20 more days of snapshots.
	e.Logging.Elasticsearch.Snapshots.Enabled = true
	e.Logging.Elasticsearch.Snapshots.ExpireAfter = "20d"
	r = estimate(t, e)
	near(t, "snapshot growth", r.Snapshots.DailyBytes, 10*gib)
	near(t, "snapshot steady state", r.Snapshots.SteadyBytes, 300*gib)

	// Index ratio and audit: 150% of 1 GiB a day for 90 + 1 days.
	e.Sizing.IndexRatioPercent = 150
	e.Audit.Enabled = true
	e.Audit.Retention = "90d"
	e.Sizing.AuditVolume = "1GB"
	r = estimate(t, e)
	near(t, "audit", r.Elasticsearch.Streams[1].PrimaryBytes, 1.5*gib*91)
}

// TestWarnings: each configured volume that is too small is named, with
// its field, and a big enough one is not.
func TestWarnings(t *testing.T) {
	e := known(t)
	// 700 MiB × 85% = 595 MiB < 604 MiB needed.
	e.Monitoring.Prometheus.Storage.Size = "700Mi"
	// 500 MiB of blocks allowed < 549 MiB estimated.
	e.Monitoring.Prometheus.RetentionSize = "500MB"
	// One data node without replicas: 100 GiB > 85% of 100 GiB.
	ns := e.Logging.Elasticsearch.NodeSets["default"]
	ns.Count, ns.Storage.Size = 1, "100Gi"
	e.Logging.Elasticsearch.NodeSets["default"] = ns
	r := estimate(t, e)
	got := strings.Join(r.Warnings, "\n")
	for _, want := range []string{"monitoring.prometheus.storage.size", "monitoring.prometheus.retentionSize", "logging.elasticsearch.nodeSets"} {
		if !strings.Contains(got, want) {
			t.Errorf("no warning on %s:\n%s", want, got)
		}
	}
	if len(r.Warnings) != 3 {
		t.Errorf("%d warnings:\n%s", len(r.Warnings), got)
	}
}

// TestSeriesFollowComponents: without a measured figure the estimate sums
// the enabled components, so turning one off lowers it by its share.
func TestSeriesFollowComponents(t *testing.T) {
	e := known(t)
	e.Sizing.SeriesPerNode = 0
	all := estimate(t, e).Prometheus.Series
	e.Monitoring.NodeExporter.Enabled = false
	without := estimate(t, e).Prometheus.Series
	if all-without != 700*e.Sizing.Nodes {
		t.Errorf("node-exporter's share %d, want %d", all-without, 700*e.Sizing.Nodes)
	}
	e.Sizing.PodsPerNode *= 2
	if estimate(t, e).Prometheus.Series <= without {
		t.Error("more pods, no more series")
	}
}

func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		e := stacktest.Example(t, name)
		r := estimate(t, e)
		if len(r.Warnings) != 0 {
			t.Errorf("%s: the example's volumes should fit its estimate: %v", name, r.Warnings)
		}
	}
}

func TestBytes(t *testing.T) {
	for in, want := range map[float64]string{512: "512 B", 1536: "1.5 KiB", 3 * gib: "3.0 GiB", 1 << 40: "1.0 TiB"} {
		if got := sizing.Bytes(in); got != want {
			t.Errorf("Bytes(%g) = %s, want %s", in, got, want)
		}
	}
}
