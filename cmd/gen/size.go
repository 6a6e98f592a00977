package main

import (
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/sizing"
)

// sizeCommand prints the disk an environment needs (generate/sizing,
// docs/sizing.md). A volume that is too small is a warning on stderr, not
// a failure: the figures are estimates.
func sizeCommand() *cobra.Command {
	return &cobra.Command{
		Use:   "size DIR",
		Short: "Estimate the TSDB, Elasticsearch and snapshot disk an environment needs",
		Long: `size estimates, from an environment's replicas, retention, scrape interval,
enabled components and its sizing section (nodes, pods per node, log volume),
the disk Prometheus's TSDB, Elasticsearch's data nodes and the S3 snapshot
repository need, and warns where a configured volume is too small for its
retention. docs/sizing.md gives every formula and its source; measure the
inputs on a running cluster and put them in the sizing section for better
figures.`,
		Example: `  gen size environments/prod`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(c *cobra.Command, dirs []string) error {
			e, err := generate.Load(c.Context(), dirs[0])
			if err != nil {
				return &generate.SourceError{Source: dirs[0], Err: err}
			}
			r, err := sizing.Estimate(e.Spec)
			if err != nil {
				return fmt.Errorf("%s: %w", dirs[0], err)
			}
			printSize(c.OutOrStdout(), r)
			for _, w := range r.Warnings {
				fmt.Fprintln(c.ErrOrStderr(), "warning:", w)
			}
			return nil
		},
	}
}

func printSize(out io.Writer, r *sizing.Report) {
	w := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Disk estimate for %s (formulas: docs/sizing.md)\n", r.Environment)
	if t := r.Prometheus; t != nil {
		fmt.Fprintln(w, "\nPrometheus TSDB, per replica")
		fmt.Fprintf(w, "  series\t%d\t(%s)\n", t.Series, t.SeriesFrom)
		fmt.Fprintf(w, "  samples/s\t%.0f\t(series / %s scrape interval)\n", t.SamplesPerSecond, t.ScrapeInterval)
		fmt.Fprintf(w, "  blocks\t%s\t(samples/s × %g days × %g bytes/sample)\n", sizing.Bytes(t.BlockBytes), t.Retention.Hours()/24, sizing.BytesPerSample)
		fmt.Fprintf(w, "  write-ahead log\t%s\t(3 h of samples, uncompressed)\n", sizing.Bytes(t.WALBytes))
		fmt.Fprintf(w, "  needed\t%s\tvolume %s, %d replica(s): %s in all\n", sizing.Bytes(t.NeededBytes), sizing.Bytes(t.VolumeBytes), t.Replicas, sizing.Bytes(t.NeededBytes*float64(t.Replicas)))
	}
	if l := r.Elasticsearch; l != nil {
		fmt.Fprintln(w, "\nElasticsearch")
		for _, s := range l.Streams {
			fmt.Fprintf(w, "  %s\t%s\t(%s/day sent × index ratio × %g days)\n", s.Kind, sizing.Bytes(s.PrimaryBytes), sizing.Bytes(s.DailyRawBytes), s.Days)
		}
		fmt.Fprintf(w, "  total\t%s\t(primaries × %d copies)\n", sizing.Bytes(l.TotalBytes), 1+l.Replicas)
		fmt.Fprintf(w, "  per data node\t%s\t%d data node(s), smallest volume %s (85%% watermark: %s)\n", sizing.Bytes(l.PerNodeBytes), l.DataNodes, sizing.Bytes(l.SmallestVolumeBytes), sizing.Bytes(0.85*l.SmallestVolumeBytes))
	}
	if s := r.Snapshots; s != nil {
		fmt.Fprintln(w, "\nS3 snapshot repository")
		fmt.Fprintf(w, "  growth\t%s/day\t(new primary data; snapshots are incremental)\n", sizing.Bytes(s.DailyBytes))
		fmt.Fprintf(w, "  steady state\t%s\t(data kept in indices + %g days of snapshots)\n", sizing.Bytes(s.SteadyBytes), s.ExpireAfter.Hours()/24)
	}
	w.Flush()
}
