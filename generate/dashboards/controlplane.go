package dashboards

import (
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"

	"github.com/vigil-stack/vigil/generate/controlplane"
	"github.com/vigil-stack/vigil/generate/env"
)

// The control-plane dashboards: one per component Prometheus scrapes
// (package controlplane decides which, from the cluster's kind). The API
// server's reads the SLO recording rules of package controlplane.

// controlPlaneBoards are the boards' entries, each enabled when its
// component is scraped.
var (
	apiServerBoard = Board{UID: "vigil-apiserver", Title: "API server", Folder: FolderKubernetes,
		enabled: func(e *env.Environment) bool { return e.ControlPlaneScrape().APIServer }, build: apiServer}
	etcdBoard = Board{UID: "vigil-etcd", Title: "etcd", Folder: FolderKubernetes,
		enabled: func(e *env.Environment) bool { return e.ControlPlaneScrape().Etcd }, build: etcd}
	schedulerBoard = Board{UID: "vigil-scheduler-controller-manager", Title: "Scheduler and controller manager", Folder: FolderKubernetes,
		enabled: func(e *env.Environment) bool {
			s := e.ControlPlaneScrape()
			return s.Scheduler || s.ControllerManager
		}, build: schedulerControllerManager}
	coreDNSBoard = Board{UID: "vigil-coredns", Title: "CoreDNS", Folder: FolderKubernetes,
		enabled: func(e *env.Environment) bool { return e.ControlPlaneScrape().CoreDNS }, build: coreDNS}
)

func jobInstance(job string) string { return fmt.Sprintf(`job=%q,instance=~"$instance"`, job) }

// apiServer: the 30-day availability and error budget of the SLO, burn
// rates, traffic, errors and latency by verb, and each instance's load.
func apiServer(*env.Environment) *dashboard.DashboardBuilder {
	j := jobInstance(controlplane.APIServerJob)
	budget := func(verb string) string {
		return `(apiserver_request:availability30d{verb="` + verb + `"} - 0.99) / 0.01`
	}
	return newBoard("vigil-apiserver", "", "kube-apiserver: its 99% availability SLO, requests, errors, latency and load.", "kubernetes", "control-plane").
		WithVariable(labelVar("instance", "Instance", `up{job="`+controlplane.APIServerJob+`"}`, "instance")).
		WithRow(row("Availability (30 days, 99% SLO)")).
		WithPanel(singleStat("Read availability", "Share of reads (GET, LIST) in 30 days that succeeded within their latency objective.", "percentunit",
			`apiserver_request:availability30d{verb="read"}`)).
		WithPanel(singleStat("Write availability", "Share of writes (POST, PUT, PATCH, DELETE) in 30 days that succeeded within 1 s.", "percentunit",
			`apiserver_request:availability30d{verb="write"}`)).
		WithPanel(singleStat("Read error budget left", "Share of the month's read error budget (1% of requests) not yet spent.", "percentunit", budget("read"))).
		WithPanel(singleStat("Write error budget left", "Share of the month's write error budget (1% of requests) not yet spent.", "percentunit", budget("write"))).
		WithPanel(timeSeries("Burn rate (1h)", "Share of requests failing the SLO over the last hour; 0.144 (14.4 times the budget) pages.", "percentunit",
			q(`apiserver_request:burnrate1h`, "{{verb}}"))).
		WithPanel(timeSeries("Burn rate (5m)", "Share of requests failing the SLO over the last 5 minutes.", "percentunit",
			q(`apiserver_request:burnrate5m`, "{{verb}}"))).
		WithRow(row("Requests")).
		WithPanel(timeSeries("Requests by code", "Requests per second answered with each status code.", "reqps",
			q(`sum by (code) (code_verb:apiserver_request_total:rate5m)`, "{{code}}"))).
		WithPanel(timeSeries("Error ratio by verb", "Share of each verb's requests answered 5xx.", "percentunit",
			q(`sum by (verb) (code_verb:apiserver_request_total:rate5m{code=~"5.."}) / sum by (verb) (code_verb:apiserver_request_total:rate5m)`, "{{verb}}"))).
		WithPanel(timeSeries("Latency p99 by verb", "99th percentile SLI latency (without webhooks and queueing), single-object requests.", "s",
			q(`histogram_quantile(0.99, sum by (verb, le) (verb_scope_le:apiserver_request_sli_duration_seconds_bucket:rate5m{scope=~"resource|"}))`, "{{verb}}"))).
		WithPanel(timeSeries("Latency p99 of lists by scope", "99th percentile SLI latency of LIST requests by scope (objectives: 5 s namespace, 30 s cluster).", "s",
			q(`histogram_quantile(0.99, sum by (scope, le) (verb_scope_le:apiserver_request_sli_duration_seconds_bucket:rate5m{verb="LIST"}))`, "{{scope}}"))).
		WithRow(row("Instances")).
		WithPanel(timeSeries("In-flight requests", "Requests being served, per instance and kind (mutating or read-only).", "short",
			q(`sum by (instance, request_kind) (apiserver_current_inflight_requests{`+j+`})`, "{{instance}} {{request_kind}}"))).
		WithPanel(timeSeries("Terminated requests", "Requests the API server rejected to protect itself (priority and fairness, timeouts).", "reqps",
			q(`sum by (instance) (rate(apiserver_request_terminations_total{`+j+`}[$__rate_interval]))`, "{{instance}}"))).
		WithPanel(timeSeries("etcd request latency p99", "99th percentile latency of the API server's requests to etcd, by operation.", "s",
			q(`histogram_quantile(0.99, sum by (operation, le) (rate(etcd_request_duration_seconds_bucket{`+j+`}[$__rate_interval])))`, "{{operation}}"))).
		WithPanel(timeSeries("Client certificate expiry (1st percentile)", "Time left on the soonest-expiring 1% of client certificates presented.", "s",
			q(`histogram_quantile(0.01, sum by (instance, le) (rate(apiserver_client_certificate_expiration_seconds_bucket{`+j+`}[$__rate_interval])))`, "{{instance}}"))).
		WithPanel(timeSeries("CPU", "CPU cores used by each instance.", "short",
			q(`rate(process_cpu_seconds_total{`+j+`}[$__rate_interval])`, "{{instance}}"))).
		WithPanel(timeSeries("Memory", "Resident memory of each instance.", "bytes",
			q(`process_resident_memory_bytes{`+j+`}`, "{{instance}}"))).
		WithPanel(instantTable("Unavailable aggregated APIs", "APIServices the API server reports unavailable now.", "none",
			`max by (name, namespace) (aggregator_unavailable_apiservice{job="`+controlplane.APIServerJob+`"}) > 0`))
}

// etcd: membership and leadership, disk latencies, database size against
// its quota, proposals and the peers' network.
func etcd(*env.Environment) *dashboard.DashboardBuilder {
	j := jobInstance(controlplane.EtcdJob)
	p99 := func(metric string) string {
		return `histogram_quantile(0.99, sum by (instance, le) (rate(` + metric + `_bucket{` + j + `}[$__rate_interval])))`
	}
	return newBoard("vigil-etcd", "", "etcd: members, leader, disk latency, database size and proposals.", "kubernetes", "control-plane").
		WithVariable(labelVar("instance", "Instance", `up{job="`+controlplane.EtcdJob+`"}`, "instance")).
		WithRow(row("Cluster")).
		WithPanel(singleStat("Members up", "etcd members Prometheus scrapes.", "none",
			`sum(up{job="`+controlplane.EtcdJob+`"})`)).
		WithPanel(singleStat("Members without leader", "Members that have no leader now.", "none",
			`count(etcd_server_has_leader{job="`+controlplane.EtcdJob+`"} == 0) or vector(0)`)).
		WithPanel(singleStat("Leader changes (1d)", "Leader elections seen in the last day.", "none",
			`max(increase(etcd_server_leader_changes_seen_total{job="`+controlplane.EtcdJob+`"}[1d]))`)).
		WithPanel(singleStat("Database use of quota", "Largest member database against its quota; at 100% etcd refuses writes.", "percentunit",
			`max(etcd_mvcc_db_total_size_in_bytes{job="`+controlplane.EtcdJob+`"} / etcd_server_quota_backend_bytes{job="`+controlplane.EtcdJob+`"})`)).
		WithRow(row("Disk")).
		WithPanel(timeSeries("WAL fsync p99", "99th percentile of the write-ahead log's fsync; above 0.5 s alerts.", "s",
			q(p99("etcd_disk_wal_fsync_duration_seconds"), "{{instance}}"))).
		WithPanel(timeSeries("Backend commit p99", "99th percentile of backend commits; above 0.25 s alerts.", "s",
			q(p99("etcd_disk_backend_commit_duration_seconds"), "{{instance}}"))).
		WithPanel(timeSeries("Database size", "Size of each member's database file, and the part in use.", "bytes",
			q(`etcd_mvcc_db_total_size_in_bytes{`+j+`}`, "{{instance}} file"),
			q(`etcd_mvcc_db_total_size_in_use_in_bytes{`+j+`}`, "{{instance}} in use"))).
		WithPanel(timeSeries("Proposals", "Raft proposals committed, applied and failed per second, and pending.", "short",
			q(`sum(rate(etcd_server_proposals_committed_total{`+j+`}[$__rate_interval]))`, "committed"),
			q(`sum(rate(etcd_server_proposals_applied_total{`+j+`}[$__rate_interval]))`, "applied"),
			q(`sum(rate(etcd_server_proposals_failed_total{`+j+`}[$__rate_interval]))`, "failed"),
			q(`sum(etcd_server_proposals_pending{`+j+`})`, "pending"))).
		WithRow(row("Network")).
		WithPanel(timeSeries("Peer round trip p99", "99th percentile round trip to each peer.", "s",
			q(`histogram_quantile(0.99, sum by (instance, To, le) (rate(etcd_network_peer_round_trip_time_seconds_bucket{`+j+`}[$__rate_interval])))`, "{{instance}} → {{To}}"))).
		WithPanel(timeSeries("gRPC requests", "Client requests started per second, by method.", "reqps",
			q(`sum by (grpc_method) (rate(grpc_server_started_total{`+j+`}[$__rate_interval]))`, "{{grpc_method}}")))
}

// schedulerControllerManager: whether they run, the scheduler's queue and
// latency, and the controller manager's work queues.
func schedulerControllerManager(*env.Environment) *dashboard.DashboardBuilder {
	s := `job="` + controlplane.SchedulerJob + `"`
	c := `job="` + controlplane.ControllerManagerJob + `"`
	return newBoard("vigil-scheduler-controller-manager", "", "kube-scheduler and kube-controller-manager: up, scheduling and work queues.", "kubernetes", "control-plane").
		WithRow(row("Up")).
		WithPanel(timeSeries("Instances up", "Scraped instances of each component.", "none",
			q(`sum by (job) (up{job=~"`+controlplane.SchedulerJob+`|`+controlplane.ControllerManagerJob+`"})`, "{{job}}"))).
		WithPanel(timeSeries("API requests by code", "Requests the two components make to the API server, by status code.", "reqps",
			q(`sum by (job, code) (rate(rest_client_requests_total{job=~"`+controlplane.SchedulerJob+`|`+controlplane.ControllerManagerJob+`"}[$__rate_interval]))`, "{{job}} {{code}}"))).
		WithRow(row("Scheduler")).
		WithPanel(timeSeries("Pending pods", "Pods waiting in each scheduling queue.", "none",
			q(`sum by (queue) (scheduler_pending_pods{`+s+`})`, "{{queue}}"))).
		WithPanel(timeSeries("Scheduling attempts", "Attempts per second by result (scheduled, unschedulable, error).", "short",
			q(`sum by (result) (rate(scheduler_schedule_attempts_total{`+s+`}[$__rate_interval]))`, "{{result}}"))).
		WithPanel(timeSeries("Scheduling attempt p99", "99th percentile duration of a scheduling attempt, by result.", "s",
			q(`histogram_quantile(0.99, sum by (result, le) (rate(scheduler_scheduling_attempt_duration_seconds_bucket{`+s+`}[$__rate_interval])))`, "{{result}}"))).
		WithRow(row("Controller manager")).
		WithPanel(timeSeries("Work queue depth", "Items waiting in each controller's queue (top 10).", "none",
			q(`topk(10, sum by (name) (workqueue_depth{`+c+`}))`, "{{name}}"))).
		WithPanel(timeSeries("Work queue adds", "Items added per second to each controller's queue (top 10).", "short",
			q(`topk(10, sum by (name) (rate(workqueue_adds_total{`+c+`}[$__rate_interval])))`, "{{name}}")))
}

// coreDNS: queries, answers by code, latency and the cache.
func coreDNS(*env.Environment) *dashboard.DashboardBuilder {
	j := jobInstance(controlplane.CoreDNSJob)
	return newBoard("vigil-coredns", "", "CoreDNS: queries, answer codes, latency and cache.", "kubernetes", "control-plane").
		WithVariable(labelVar("instance", "Instance", `up{job="`+controlplane.CoreDNSJob+`"}`, "instance")).
		WithRow(row("Queries")).
		WithPanel(timeSeries("Queries by type", "Queries per second by record type.", "reqps",
			q(`sum by (type) (rate(coredns_dns_requests_total{`+j+`}[$__rate_interval]))`, "{{type}}"))).
		WithPanel(timeSeries("Answers by code", "Answers per second by response code (NOERROR, NXDOMAIN, SERVFAIL, …).", "reqps",
			q(`sum by (rcode) (rate(coredns_dns_responses_total{`+j+`}[$__rate_interval]))`, "{{rcode}}"))).
		WithPanel(timeSeries("Latency p99 by zone", "99th percentile time to answer, by zone; above 4 s alerts.", "s",
			q(`histogram_quantile(0.99, sum by (zone, le) (rate(coredns_dns_request_duration_seconds_bucket{`+j+`}[$__rate_interval])))`, "{{zone}}"))).
		WithPanel(timeSeries("Cache hit ratio", "Share of queries answered from the cache.", "percentunit",
			q(`sum(rate(coredns_cache_hits_total{`+j+`}[$__rate_interval])) / (sum(rate(coredns_cache_hits_total{`+j+`}[$__rate_interval])) + sum(rate(coredns_cache_misses_total{`+j+`}[$__rate_interval])))`, "hits")))
}
