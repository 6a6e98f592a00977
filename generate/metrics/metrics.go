// Package metrics is Vigil's catalogue of the metric names the components it
// scrapes really export, at the versions generate/stack pins: one file per
// component under catalogue/, each saying where its list was read (the
// component's source or documentation at the pinned tag). Tests resolve
// every metric name a dashboard, recording rule or alert uses against it, so
// that a panel on a name nothing exports, or an alert that can never fire
// because its metric was renamed upstream, fails the build instead of
// showing "No data" on the day it is needed.
//
// A catalogue line is a base name and its type; the type decides the series
// names a scrape produces: a histogram "h" is h_bucket, h_sum and h_count; a
// summary "s" is s, s_sum and s_count. Spark's PrometheusServlet renders
// Dropwizard metrics with their own suffixes (types dw-gauge, dw-counter,
// dw-histogram, dw-meter and dw-timer).
package metrics

import (
	"bufio"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strings"
	"sync"
)

//go:embed catalogue/*.txt
var files embed.FS

// Type is how a component exposes a metric.
type Type string

// The types of a catalogue line.
const (
	Counter   Type = "counter"
	Gauge     Type = "gauge"
	Histogram Type = "histogram"
	Summary   Type = "summary"
	Info      Type = "info"
	// Untyped is what exporters that write the text format by hand emit
	// without a TYPE line.
	Untyped Type = "untyped"
	// The Dropwizard metric kinds of Spark 4.0's PrometheusServlet, which
	// appends a suffix per statistic.
	DWGauge     Type = "dw-gauge"
	DWCounter   Type = "dw-counter"
	DWHistogram Type = "dw-histogram"
	DWMeter     Type = "dw-meter"
	DWTimer     Type = "dw-timer"
)

// suffixes are the series names a metric of each type produces, as suffixes
// of its base name.
var suffixes = map[Type][]string{
	Counter:     {""},
	Gauge:       {""},
	Info:        {""},
	Untyped:     {""},
	Histogram:   {"_bucket", "_sum", "_count"},
	Summary:     {"", "_sum", "_count"},
	DWGauge:     {"_Number", "_Value"},
	DWCounter:   {"_Count"},
	DWHistogram: dwHistogram,
	DWMeter:     dwMeter,
	DWTimer:     append(append([]string(nil), dwHistogram...), dwMeter[1:]...),
}

var (
	dwHistogram = []string{"_Count", "_Max", "_Mean", "_Min", "_50thPercentile", "_75thPercentile",
		"_95thPercentile", "_98thPercentile", "_99thPercentile", "_999thPercentile", "_StdDev"}
	dwMeter = []string{"_Count", "_MeanRate", "_OneMinuteRate", "_FiveMinuteRate", "_FifteenMinuteRate"}
)

// Metric is one catalogue entry.
type Metric struct {
	// Name is the base name the catalogue lists.
	Name string
	Type Type
	// Component is the catalogue file the name comes from ("kube-state-metrics").
	Component string
}

// Catalogue is a parsed catalogue: every series name, and the metric it
// belongs to.
type Catalogue struct {
	series     map[string]Metric
	components []string
}

// Load parses the embedded catalogue. It fails on a malformed line, an
// unknown type, or a series name two entries would both produce.
var Load = sync.OnceValues(func() (*Catalogue, error) { return parse(files) })

func parse(fsys fs.FS) (*Catalogue, error) {
	c := &Catalogue{series: map[string]Metric{}}
	names, err := fs.Glob(fsys, "catalogue/*.txt")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	for _, name := range names {
		component := strings.TrimSuffix(path.Base(name), ".txt")
		c.components = append(c.components, component)
		f, err := fsys.Open(name)
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		line := 0
		for sc.Scan() {
			line++
			text := strings.TrimSpace(sc.Text())
			if text == "" || strings.HasPrefix(text, "#") {
				continue
			}
			fields := strings.Fields(text)
			if len(fields) != 2 {
				f.Close()
				return nil, fmt.Errorf("%s:%d: want \"<name> <type>\", got %q", name, line, text)
			}
			m := Metric{Name: fields[0], Type: Type(fields[1]), Component: component}
			sfx, ok := suffixes[m.Type]
			if !ok {
				f.Close()
				return nil, fmt.Errorf("%s:%d: %s: unknown type %q", name, line, m.Name, m.Type)
			}
			for _, s := range sfx {
				series := m.Name + s
				if prev, dup := c.series[series]; dup && prev.Component == component {
					f.Close()
					return nil, fmt.Errorf("%s:%d: %s: series %s is already produced by %s", name, line, m.Name, series, prev.Name)
				}
				// A name several components export (process_*, go_*) keeps
				// the first component in file order.
				if _, dup := c.series[series]; !dup {
					c.series[series] = m
				}
			}
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return c, nil
}

// Lookup returns the metric a series name belongs to.
func (c *Catalogue) Lookup(series string) (Metric, bool) {
	m, ok := c.series[series]
	return m, ok
}

// Components lists the catalogue files, sorted.
func (c *Catalogue) Components() []string { return append([]string(nil), c.components...) }

// Len is the number of series names the catalogue knows.
func (c *Catalogue) Len() int { return len(c.series) }
