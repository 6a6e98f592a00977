package spark

import (
	"fmt"
	"maps"
	"strconv"
	"strings"
)

// Spark's PrometheusServlet: the metrics sink that serves PrometheusPath on
// a driver's UI port and on the History Server's, with no exporter jar
// (stack.md §3 (b)).
var prometheusServlet = Properties{
	"spark.metrics.conf.*.sink.prometheusServlet.class": "org.apache.spark.metrics.sink.PrometheusServlet",
	"spark.metrics.conf.*.sink.prometheusServlet.path":  PrometheusPath,
}

// jobDefaults is the spark-defaults.conf of Spark jobs. The operator passes
// it to every spark-submit it runs (its LoadSparkDefaults feature gate), and
// each job namespace holds a copy for clients that submit themselves. An
// application's own sparkConf overrides any of these.
//
//   - Native metrics: the PrometheusServlet sink plus
//     spark.ui.prometheus.enabled, so the driver serves
//     /metrics/prometheus and /metrics/executors/prometheus on its UI
//     port. spark.metrics.namespace is fixed so that metric names do not
//     carry each run's application id; the run is told apart by the pod
//     labels the driver PodMonitor copies.
//   - With the History Server: the event log in EventLogDir, the S3A
//     settings, and the S3 key pair as environment variables from the
//     Secret references (spark.kubernetes.{driver,executor}.secretKeyRef),
//     so the Secret must exist in every job namespace.
func (g *generator) jobDefaults() Properties {
	p := Properties{
		"spark.ui.prometheus.enabled": "true",
		"spark.metrics.namespace":     "spark",
	}
	maps.Copy(p, prometheusServlet)
	if !g.history {
		return p
	}
	p["spark.eventLog.dir"] = g.logDir
	maps.Copy(p, hadoopS3A(g.s3, g.s3a))
	if !g.e.SparkJobsLogEvents() {
		// Opt-in: jobs without hadoop-aws, or in a namespace without the
		// credentials Secret, still start; an application that sets
		// spark.eventLog.enabled finds the rest here.
		p["spark.eventLog.enabled"] = "false"
		return p
	}
	p["spark.eventLog.enabled"] = "true"
	c := g.e.Spark.HistoryServer.Credentials
	for _, role := range []string{"driver", "executor"} {
		p["spark.kubernetes."+role+".secretKeyRef.AWS_ACCESS_KEY_ID"] = c.AccessKeyID.Secret + ":" + c.AccessKeyID.Key
		p["spark.kubernetes."+role+".secretKeyRef.AWS_SECRET_ACCESS_KEY"] = c.SecretAccessKey.Secret + ":" + c.SecretAccessKey.Key
	}
	return p
}

// historyStorePath is the History Server's local cache of parsed
// applications, on an emptyDir: it is rebuilt from the event log.
const historyStorePath = "/var/lib/spark-history"

// historyDefaults is the History Server's spark-defaults.conf.
func (g *generator) historyDefaults() (Properties, error) {
	c := g.e.Spark.HistoryServer.Cleaner
	p := Properties{
		"spark.history.fs.logDirectory":    g.logDir,
		"spark.history.store.path":         historyStorePath,
		"spark.history.ui.port":            strconv.Itoa(HistoryServerPort),
		"spark.history.fs.cleaner.enabled": strconv.FormatBool(c.Enabled),
	}
	if c.Enabled {
		age, err := sparkDuration(c.MaxAge)
		if err != nil {
			return nil, fmt.Errorf("spark.historyServer.cleaner.maxAge: %w", err)
		}
		p["spark.history.fs.cleaner.maxAge"] = age
		if c.MaxNum > 0 {
			p["spark.history.fs.cleaner.maxNum"] = strconv.Itoa(c.MaxNum)
		}
	}
	maps.Copy(p, hadoopS3A(g.s3, g.s3a))
	maps.Copy(p, prometheusServlet)
	return p, nil
}

// sparkDuration converts a Prometheus-style duration of the schema ("30s",
// "7d", "2w", "1y") into a Spark time string: Spark knows ms, s, m, h and
// d, but not weeks or years.
func sparkDuration(d string) (string, error) {
	i := strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return "", fmt.Errorf("duration %q: want a number and a unit", d)
	}
	n, err := strconv.Atoi(d[:i])
	if err != nil {
		return "", fmt.Errorf("duration %q: %w", d, err)
	}
	switch unit := d[i:]; unit {
	case "ms", "s", "m", "h", "d":
		return d, nil
	case "w":
		return strconv.Itoa(n*7) + "d", nil
	case "y":
		return strconv.Itoa(n*365) + "d", nil
	default:
		return "", fmt.Errorf("duration %q: unknown unit %q", d, unit)
	}
}
