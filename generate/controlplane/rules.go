package controlplane

import (
	"fmt"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Named is one PrometheusRule of the control plane: its name, the job its
// rules read and its groups.
type Named struct {
	Name, Job string
	Groups    []monitoringv1.RuleGroup
}

// Rules returns the rules of every scraped component: an alert on a
// component Prometheus cannot scrape could never fire, or would always.
func Rules(e *env.Environment, scrape env.ControlPlaneScrape) []Named {
	if !scrape.APIServer {
		return nil
	}
	out := []Named{{"kube-apiserver-rules", APIServerJob, apiServerGroups()}}
	if scrape.Scheduler {
		out = append(out, Named{"kube-scheduler-rules", SchedulerJob, []monitoringv1.RuleGroup{downGroup("kubernetes-system-scheduler", SchedulerJob, "KubeScheduler", "kube-scheduler",
			"no Pod is scheduled: new and evicted Pods stay Pending")}})
	}
	if scrape.ControllerManager {
		out = append(out, Named{"kube-controller-manager-rules", ControllerManagerJob, []monitoringv1.RuleGroup{downGroup("kubernetes-system-controller-manager", ControllerManagerJob, "KubeControllerManager", "kube-controller-manager",
			"no controller runs: Deployments do not roll out, nodes are not watched, Endpoints go stale")}})
	}
	if scrape.Etcd {
		out = append(out, Named{"etcd-rules", EtcdJob, []monitoringv1.RuleGroup{etcdGroup()}})
	}
	if scrape.CoreDNS {
		out = append(out, Named{"coredns-rules", CoreDNSJob, []monitoringv1.RuleGroup{coreDNSGroup()}})
	}
	return out
}

// alert is one alerting rule; upstream names the kube-prometheus runbook
// area of alerts that share kube-prometheus's name, and an empty one a
// section of docs/runbooks.md.
type alert struct {
	name, expr, dur, severity, summary, description, upstream string
	labels                                                    map[string]string
}

func (a alert) rule() monitoringv1.Rule {
	runbook := stack.VigilRunbook(a.name)
	if a.upstream != "" {
		runbook = stack.UpstreamRunbook(a.upstream, a.name)
	}
	l := map[string]string{"severity": a.severity}
	for k, v := range a.labels {
		l[k] = v
	}
	r := monitoringv1.Rule{
		Alert:       a.name,
		Expr:        intstr.FromString(a.expr),
		Labels:      l,
		Annotations: map[string]string{"summary": a.summary, "description": a.description, "runbook_url": runbook},
	}
	if a.dur != "" {
		r.For = ptr.To(monitoringv1.Duration(a.dur))
	}
	return r
}

func record(name, expr string, labels map[string]string) monitoringv1.Rule {
	return monitoringv1.Rule{Record: name, Expr: intstr.FromString(expr), Labels: labels}
}

func job(j string) string { return `job="` + j + `"` }

// downGroup alerts when no instance of a component is scraped, and when
// one instance is not.
func downGroup(group, j, prefix, what, consequence string) monitoringv1.RuleGroup {
	return monitoringv1.RuleGroup{Name: group, Rules: []monitoringv1.Rule{
		alert{name: prefix + "Down", expr: `absent(up{` + job(j) + `} == 1)`, dur: "15m", severity: "critical",
			summary:     "Target disappeared from Prometheus target discovery.",
			description: "No " + what + " has been scraped for 15 minutes: either it is down, and " + consequence + ", or Prometheus cannot reach it (see docs/control-plane.md).",
			upstream:    "kubernetes"}.rule(),
		alert{name: prefix + "InstanceUnreachable", expr: `up{` + job(j) + `} == 0`, dur: "15m", severity: "warning",
			summary:     what + " instance is unreachable.",
			description: what + " {{ $labels.instance }} has been unreachable for 15 minutes.",
			upstream:    "kubernetes"}.rule(),
	}}
}

// The API server SLO: 99% of requests succeed (no 5xx) and are fast enough
// over 30 days. A request is too slow when its SLI latency (without webhooks
// and priority-and-fairness queueing) exceeds 1 s for a single object or a
// mutation, 5 s for a namespace's collection and 30 s for the cluster's.
const (
	sloTarget   = 0.99
	errorBudget = 1 - sloTarget
)

// verbClass is a class of requests with its own SLO.
type verbClass struct {
	name, verbs string
}

var verbClasses = []verbClass{
	{"read", "LIST|GET"},
	{"write", "POST|PUT|PATCH|DELETE"},
}

// burnWindows are the windows the burn rate is recorded over.
var burnWindows = []string{"5m", "30m", "1h", "2h", "6h", "1d", "3d"}

// burnRateExpr is the share of requests of a class in a window that failed
// the SLO: answered 5xx, or (as the SLI histogram counts them) slower than
// their scope allows. The slow part subtracts the fast requests from all
// that the histogram observed.
func burnRateExpr(c verbClass, w string) string {
	sel := job(APIServerJob) + `,verb=~"` + c.verbs + `"`
	h := "apiserver_request_sli_duration_seconds"
	// A sum with no series would make the whole expression empty: a scope
	// without traffic, or no 5xx since the API server started, counts 0.
	bucket := func(scope, le string) string {
		return fmt.Sprintf(`(sum(rate(%s_bucket{%s,subresource!~"proxy|attach|log|exec|portforward",scope%s,le=~"%s(\\.0)?"}[%s])) or vector(0))`, h, sel, scope, le, w)
	}
	fast := bucket(`=~"resource|"`, "1")
	if c.name == "read" {
		fast = "(\n      " + fast + "\n    + " + bucket(`="namespace"`, "5") + "\n    + " + bucket(`="cluster"`, "30") + "\n  )"
	}
	return fmt.Sprintf(`(
  (
    sum(rate(%[1]s_count{%[2]s,subresource!~"proxy|attach|log|exec|portforward"}[%[3]s]))
    - %[4]s
  )
  + (sum(rate(apiserver_request_total{%[2]s,code=~"5.."}[%[3]s])) or vector(0))
)
/ sum(rate(apiserver_request_total{%[2]s}[%[3]s]))`, h, sel, w, fast)
}

// burnAlerts are the multi-window, multi-burn-rate alerts of the Google
// SRE workbook: a long window that shows the budget is burning, a short
// one that shows it still is.
var burnAlerts = []struct {
	long, short, dur, severity string
	factor                     float64
}{
	{"1h", "5m", "2m", "critical", 14.4},
	{"6h", "30m", "15m", "critical", 6},
	{"1d", "2h", "1h", "warning", 3},
	{"3d", "6h", "3h", "warning", 1},
}

func apiServerGroups() []monitoringv1.RuleGroup {
	j := job(APIServerJob)
	burn := monitoringv1.RuleGroup{Name: "kube-apiserver-burnrate"}
	for _, w := range burnWindows {
		for _, c := range verbClasses {
			burn.Rules = append(burn.Rules, record("apiserver_request:burnrate"+w, burnRateExpr(c, w), map[string]string{"verb": c.name}))
		}
	}
	// The 30-day availability, as the dashboards show it: the time-weighted
	// mean of the hourly burn rate (one hour of no traffic counts like a
	// busy one), so that it costs one series per class instead of 30 days
	// of raw histograms.
	availability := monitoringv1.RuleGroup{Name: "kube-apiserver-availability", Interval: ptr.To(monitoringv1.Duration("3m"))}
	for _, c := range verbClasses {
		availability.Rules = append(availability.Rules, record("apiserver_request:availability30d",
			`1 - avg_over_time(apiserver_request:burnrate1h{verb="`+c.name+`"}[30d])`, map[string]string{"verb": c.name}))
	}
	// What the API server dashboard charts.
	histogram := monitoringv1.RuleGroup{Name: "kube-apiserver-histogram", Rules: []monitoringv1.Rule{
		record("code_verb:apiserver_request_total:rate5m",
			`sum by (code, verb) (rate(apiserver_request_total{`+j+`}[5m]))`, nil),
		record("verb_scope_le:apiserver_request_sli_duration_seconds_bucket:rate5m",
			`sum by (verb, scope, le) (rate(apiserver_request_sli_duration_seconds_bucket{`+j+`,verb!~"WATCH|CONNECT"}[5m]))`, nil),
	}}
	slos := monitoringv1.RuleGroup{Name: "kube-apiserver-slos"}
	for _, b := range burnAlerts {
		threshold := strings.TrimRight(strings.TrimRight(fmt.Sprintf("%.4f", b.factor*errorBudget), "0"), ".")
		slos.Rules = append(slos.Rules, alert{name: "KubeAPIErrorBudgetBurn",
			expr: `apiserver_request:burnrate` + b.long + ` > ` + threshold +
				` and on (verb) apiserver_request:burnrate` + b.short + ` > ` + threshold,
			dur: b.dur, severity: b.severity,
			summary: "The API server is burning too much error budget.",
			description: fmt.Sprintf("{{ $labels.verb | title }} requests to the API server are failing or too slow at %.4g times the rate the 99%% 30-day SLO allows, "+
				"over the last %s and %s: at this rate the month's error budget is gone in %s.", b.factor, b.long, b.short, budgetGone(b.factor)),
			upstream: "kubernetes",
			labels:   map[string]string{"long": b.long, "short": b.short}}.rule())
	}
	system := monitoringv1.RuleGroup{Name: "kubernetes-system-apiserver", Rules: []monitoringv1.Rule{
		certAlert("warning", 7*24*3600, "7 days"),
		certAlert("critical", 24*3600, "24 hours"),
		alert{name: "KubeAggregatedAPIErrors",
			expr:     `sum by (name, namespace) (increase(aggregator_unavailable_apiservice_total{` + j + `}[10m])) > 4`,
			severity: "warning", summary: "An aggregated API has reported errors.",
			description: "The aggregated API {{ $labels.name }}/{{ $labels.namespace }} has been reported unavailable {{ $value | humanize }} times in 10 minutes: its requests fail meanwhile.",
			upstream:    "kubernetes"}.rule(),
		alert{name: "KubeAggregatedAPIDown",
			expr: `(1 - max by (name, namespace) (avg_over_time(aggregator_unavailable_apiservice{` + j + `}[10m]))) * 100 < 85`,
			dur:  "5m", severity: "warning", summary: "An aggregated API is down.",
			description: "The aggregated API {{ $labels.name }}/{{ $labels.namespace }} has been available only {{ $value | humanize }}% of the last 10 minutes.",
			upstream:    "kubernetes"}.rule(),
		alert{name: "KubeAPIDown", expr: `absent(up{` + j + `} == 1)`, dur: "15m", severity: "critical",
			summary:     "Target disappeared from Prometheus target discovery.",
			description: "No API server has been scraped for 15 minutes: the API is down, or Prometheus cannot reach it.",
			upstream:    "kubernetes"}.rule(),
		alert{name: "KubeAPIInstanceUnreachable", expr: `up{` + j + `} == 0`, dur: "15m", severity: "warning",
			summary:     "An API server instance is unreachable.",
			description: "The API server {{ $labels.instance }} has been unreachable for 15 minutes.",
			upstream:    "kubernetes"}.rule(),
		alert{name: "KubeAPITerminatedRequests",
			expr: `sum(rate(apiserver_request_terminations_total{` + j + `}[10m]))
/ (sum(rate(apiserver_request_total{` + j + `}[10m])) + sum(rate(apiserver_request_terminations_total{` + j + `}[10m])))
> 0.20`,
			dur: "5m", severity: "warning", summary: "The API server has terminated a significant share of its incoming requests.",
			description: "The API server has terminated {{ $value | humanizePercentage }} of its incoming requests in 10 minutes (priority and fairness rejections, timeouts): clients see errors and retry.",
			upstream:    "kubernetes"}.rule(),
		alert{name: "KubeAPILatencyHigh",
			expr: `histogram_quantile(0.99, sum by (verb, le) (verb_scope_le:apiserver_request_sli_duration_seconds_bucket:rate5m{scope=~"resource|"})) > 1`,
			dur:  "15m", severity: "warning", summary: "The API server answers single-object requests slowly.",
			description: "The 99th percentile latency of {{ $labels.verb }} requests on single objects has been {{ $value | humanizeDuration }} for 15 minutes (the SLO allows 1s). Look at etcd's latencies and the API server's load.",
		}.rule(),
	}}
	return []monitoringv1.RuleGroup{burn, availability, histogram, slos, system}
}

// budgetGone is how long a 30-day error budget lasts at a burn factor.
func budgetGone(factor float64) string {
	hours := 30 * 24 / factor
	if hours < 72 {
		return fmt.Sprintf("%.0f hours", hours)
	}
	return fmt.Sprintf("%.0f days", hours/24)
}

// certAlert fires when the client certificates presented to the API server
// (kubelets', controllers', users') expire soon: a client whose certificate
// expires is locked out. The 1st percentile is the soonest-expiring 1%.
func certAlert(severity string, seconds int, within string) monitoringv1.Rule {
	j := job(APIServerJob)
	return alert{name: "KubeClientCertificateExpiration",
		expr: fmt.Sprintf(`histogram_quantile(0.01, sum by (job, instance, le) (rate(apiserver_client_certificate_expiration_seconds_bucket{%[1]s}[5m]))) < %[2]d
and on (job, instance) sum by (job, instance) (rate(apiserver_client_certificate_expiration_seconds_count{%[1]s}[5m])) > 0`, j, seconds),
		dur: "5m", severity: severity, summary: "A client certificate is about to expire.",
		description: "A client certificate used to authenticate to the API server {{ $labels.instance }} expires in less than " + within + ".",
		upstream:    "kubernetes"}.rule()
}

func etcdGroup() monitoringv1.RuleGroup {
	j := job(EtcdJob)
	q := func(metric string) string {
		return `histogram_quantile(0.99, sum by (instance, le) (rate(` + metric + `_bucket{` + j + `}[5m])))`
	}
	return monitoringv1.RuleGroup{Name: "etcd", Rules: []monitoringv1.Rule{
		alert{name: "EtcdMembersDown", expr: `count(up{` + j + `} == 0) > 0`, dur: "10m", severity: "warning",
			summary:     "etcd members are down.",
			description: "{{ $value }} etcd members have not been scraped for 10 minutes: the cluster tolerates fewer further failures."}.rule(),
		alert{name: "EtcdInsufficientMembers", expr: `sum(up{` + j + `} == bool 1) < (count(up{` + j + `}) + 1) / 2`, dur: "3m", severity: "critical",
			summary:     "etcd has lost quorum.",
			description: "Only {{ $value }} etcd members are up, fewer than a quorum: etcd refuses writes and the API server cannot change anything."}.rule(),
		alert{name: "EtcdNoLeader", expr: `etcd_server_has_leader{` + j + `} == 0`, dur: "1m", severity: "critical",
			summary:     "An etcd member has no leader.",
			description: "etcd member {{ $labels.instance }} has had no leader for a minute: it serves no writes."}.rule(),
		alert{name: "EtcdHighNumberOfLeaderChanges", expr: `increase(etcd_server_leader_changes_seen_total{` + j + `}[15m]) >= 4`, dur: "5m", severity: "warning",
			summary:     "etcd changes leader too often.",
			description: "etcd member {{ $labels.instance }} has seen {{ $value | humanize }} leader changes in 15 minutes: slow disks or network between members."}.rule(),
		alert{name: "EtcdHighNumberOfFailedProposals", expr: `rate(etcd_server_proposals_failed_total{` + j + `}[15m]) > 5 / 3600`, dur: "15m", severity: "warning",
			summary:     "etcd proposals are failing.",
			description: "etcd member {{ $labels.instance }} has failed {{ $value | humanize }} proposals per second over 15 minutes (more than 5 an hour): leader elections or lost quorum."}.rule(),
		alert{name: "EtcdHighFsyncDurations", expr: q("etcd_disk_wal_fsync_duration_seconds") + ` > 0.5`, dur: "10m", severity: "warning",
			summary:     "etcd's WAL fsync is slow.",
			description: "The 99th percentile of etcd's WAL fsync on {{ $labels.instance }} is {{ $value | humanizeDuration }}: its disk is too slow, every write waits for it."}.rule(),
		alert{name: "EtcdHighFsyncDurations", expr: q("etcd_disk_wal_fsync_duration_seconds") + ` > 1`, dur: "10m", severity: "critical",
			summary:     "etcd's WAL fsync is very slow.",
			description: "The 99th percentile of etcd's WAL fsync on {{ $labels.instance }} is {{ $value | humanizeDuration }}: leader elections follow."}.rule(),
		alert{name: "EtcdHighCommitDurations", expr: q("etcd_disk_backend_commit_duration_seconds") + ` > 0.25`, dur: "10m", severity: "warning",
			summary:     "etcd's backend commits are slow.",
			description: "The 99th percentile of etcd's backend commit on {{ $labels.instance }} is {{ $value | humanizeDuration }}: its disk is too slow."}.rule(),
		alert{name: "EtcdDatabaseQuotaLowSpace",
			expr: `last_over_time(etcd_mvcc_db_total_size_in_bytes{` + j + `}[5m]) / last_over_time(etcd_server_quota_backend_bytes{` + j + `}[5m]) > 0.95`,
			dur:  "10m", severity: "critical", summary: "etcd's database is almost at its quota.",
			description: "etcd's database on {{ $labels.instance }} uses {{ $value | humanizePercentage }} of its quota: at 100% etcd raises a NOSPACE alarm and refuses writes. Compact and defragment it."}.rule(),
		alert{name: "EtcdDatabaseHighFragmentationRatio",
			expr: `last_over_time(etcd_mvcc_db_total_size_in_use_in_bytes{` + j + `}[5m]) / last_over_time(etcd_mvcc_db_total_size_in_bytes{` + j + `}[5m]) < 0.5
and etcd_mvcc_db_total_size_in_use_in_bytes{` + j + `} > 104857600`,
			dur: "10m", severity: "warning", summary: "etcd's database is fragmented.",
			description: "Only {{ $value | humanizePercentage }} of etcd's database on {{ $labels.instance }} is in use: defragment it to give the space back before it reaches its quota."}.rule(),
	}}
}

func coreDNSGroup() monitoringv1.RuleGroup {
	j := job(CoreDNSJob)
	return monitoringv1.RuleGroup{Name: "coredns", Rules: []monitoringv1.Rule{
		alert{name: "CoreDNSDown", expr: `absent(up{` + j + `} == 1)`, dur: "15m", severity: "critical",
			summary:     "CoreDNS cannot be scraped.",
			description: "No CoreDNS pod has been scraped for 15 minutes: cluster DNS may be down, and with it every Service name lookup."}.rule(),
		alert{name: "CoreDNSErrorsHigh",
			expr: `sum by (server, zone) (rate(coredns_dns_responses_total{` + j + `,rcode="SERVFAIL"}[5m]))
/ sum by (server, zone) (rate(coredns_dns_responses_total{` + j + `}[5m])) > 0.03`,
			dur: "10m", severity: "warning", summary: "CoreDNS answers many queries with SERVFAIL.",
			description: "{{ $value | humanizePercentage }} of CoreDNS's answers for zone {{ $labels.zone }} are SERVFAIL: its upstream resolvers or the API server fail it."}.rule(),
		alert{name: "CoreDNSLatencyHigh",
			expr: `histogram_quantile(0.99, sum by (server, zone, le) (rate(coredns_dns_request_duration_seconds_bucket{` + j + `}[5m]))) > 4`,
			dur:  "10m", severity: "warning", summary: "CoreDNS answers slowly.",
			description: "The 99th percentile of CoreDNS's answers for zone {{ $labels.zone }} takes {{ $value | humanizeDuration }}: clients time out (5 s by default) and retry."}.rule(),
	}}
}
