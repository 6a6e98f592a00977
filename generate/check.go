package generate

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/spark"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/storage"
)

// A rule is one of the cross-field checks that CUE cannot state clearly. The
// numbers in the comments are those of stack.md's validation rules.
type rule func(e *env.Environment) []env.Issue

var checks = []rule{
	checkBackends,         // 3, 4, 5
	checkRoles,            // unknown backends, roles that do not suit their use
	checkPrometheusVolume, // 1
	checkElasticsearch,    // 2, 12, 13
	checkAlerting,         // 7, 13
	checkNamespaces,       // 8, 9
	checkSparkS3,          // 10, 11
	checkSpark,            // what the Spark generator relies on
	checkReplicas,         // 13
	checkCoupling,         // 14
	checkAudit,            // 15
	checkPureExporter,     // 15
	checkNodeProblemDetector,
	checkControlPlane,
	checkLongTerm,
	checkSources,       // extension_mirror.go
	checkLoggingExtras, // check_logging.go
	checkSecrets,       // 6
	// Grammars of the programs that read the values (input.go).
	checkRuleGroups,
	checkDurations,
	checkSizes,
	checkLabels,
	checkHosts,
	checkResources,
	checkNamespaceNames,
	checkRenderLimits,
	checkText,
}

// Check runs every Go rule on a decoded environment. Load calls it; it is
// exported for tools that build an env.Environment in Go.
func Check(e *env.Environment) []env.Issue {
	var out []env.Issue
	for _, r := range checks {
		out = append(out, r(e)...)
	}
	// Alertmanager's own loader is the backstop: run only when the Go
	// checks, whose positions are finer, found nothing in its section, so
	// that one mistake is not reported twice.
	if !slices.ContainsFunc(out, func(is env.Issue) bool {
		return !is.Warning && len(is.Path) >= 2 && is.Path[0] == "monitoring" && is.Path[1] == "alertmanager"
	}) {
		out = append(out, checkAlertmanagerLoads(e)...)
	}
	return out
}

var p = env.P

func checkBackends(e *env.Environment) []env.Issue {
	var out []env.Issue
	usesPure := false
	for _, name := range env.SortedKeys(e.Storage.Backends) {
		b := e.Storage.Backends[name]
		at := func(f ...string) []string { return append(p("storage", "backends", name), f...) }
		switch b.Kind {
		case env.KindPSO:
			out = append(out, env.Errorf(at("kind"), `Pure Service Orchestrator (PSO) reached end of life on 2022-07-31; `+
				`use kind "pure-flasharray" (pure_block) or "pure-flashblade" (pure_file) through PX-CSI, or "portworx"`))
		case env.KindFlashArray:
			usesPure = true
			if b.FlashArray == nil || len(b.FlashArray.Arrays) == 0 {
				out = append(out, env.Errorf(at("kind"), "a pure-flasharray backend needs at least one array in flasharray.arrays (it goes into px-pure-secret's FlashArrays); without one, provisioning fails at runtime"))
			}
		case env.KindFlashBlade:
			usesPure = true
			if b.FlashBlade == nil || len(b.FlashBlade.Arrays) == 0 {
				out = append(out, env.Errorf(at("kind"), "a pure-flashblade backend needs at least one blade in flashblade.arrays"))
			}
		case env.KindPortworx:
			if b.Portworx == nil {
				out = append(out, env.Errorf(at("kind"), "a portworx backend needs a portworx block with at least storageNodes"))
			} else if b.Portworx.Repl > b.Portworx.StorageNodes {
				out = append(out, env.Errorf(at("portworx", "repl"), fmt.Sprintf("repl %d exceeds the %d storage nodes; Portworx cannot place that many replicas: lower repl or add nodes", b.Portworx.Repl, b.Portworx.StorageNodes)))
			}
		case env.KindCSI:
			if b.CSI == nil {
				out = append(out, env.Errorf(at("kind"), "a csi backend needs a csi block with its provisioner"))
			}
		}
		for kind, set := range map[string]bool{
			env.KindFlashArray: b.FlashArray != nil, env.KindFlashBlade: b.FlashBlade != nil,
			env.KindPortworx: b.Portworx != nil, env.KindCSI: b.CSI != nil,
		} {
			if set && kind != b.Kind {
				field := map[string]string{env.KindFlashArray: "flasharray", env.KindFlashBlade: "flashblade", env.KindPortworx: "portworx", env.KindCSI: "csi"}[kind]
				out = append(out, env.Errorf(at(field), fmt.Sprintf("settings for a %s backend on a backend of kind %q; remove them or change the kind", kind, b.Kind)))
			}
		}
	}
	if usesPure && e.Storage.PureSecret == nil {
		out = append(out, env.Errorf(p("storage"), "Pure backends need the array credentials: set storage.pureSecret to the Secret px-pure-secret (key pure.json), by reference"))
	}
	if ps := e.Storage.PureSecret; ps != nil && (ps.Secret != storage.PureSecretName || ps.Key != storage.PureSecretKey) {
		out = append(out, env.Errorf(p("storage", "pureSecret"), fmt.Sprintf("PX-CSI reads the array credentials only from Secret %s, key %s: name it so", storage.PureSecretName, storage.PureSecretKey)))
	}
	return out
}

// roleUse lists which component volumes draw from which role.
func volumeUses(e *env.Environment) map[string][]string {
	uses := map[string][]string{}
	add := func(on bool, v env.Volume, path ...string) {
		if on {
			uses[v.Role] = append(uses[v.Role], env.PathString(path))
		}
	}
	m := e.Monitoring
	add(m.Enabled, m.Prometheus.Storage, "monitoring", "prometheus", "storage")
	add(m.Enabled, m.Alertmanager.Storage, "monitoring", "alertmanager", "storage")
	add(e.GrafanaEnabled(), m.Grafana.Storage, "monitoring", "grafana", "storage")
	for _, n := range env.SortedKeys(e.Logging.Elasticsearch.NodeSets) {
		add(e.Logging.Enabled, e.Logging.Elasticsearch.NodeSets[n].Storage, "logging", "elasticsearch", "nodeSets", n, "storage")
	}
	add(e.Tracing.Enabled && e.Tracing.Backend == env.BackendTempo, e.Tracing.Tempo.Storage, "tracing", "tempo", "storage")
	return uses
}

func checkRoles(e *env.Environment) []env.Issue {
	var out []env.Issue
	s := &e.Storage
	declared := strings.Join(env.SortedKeys(s.Backends), ", ")
	for _, role := range []string{env.RoleBlock, env.RoleFile, env.RoleObject} {
		name, b, ok := s.RoleBackend(role)
		if name == "" {
			continue
		}
		at := p("storage", "roles", role)
		if !ok {
			out = append(out, env.Errorf(at, fmt.Sprintf("backend %q is not declared in storage.backends; declare it or use one of: %s", name, declared)))
			continue
		}
		switch role {
		case env.RoleBlock:
			if b.IsFileSystem() {
				out = append(out, env.Errorf(at, fmt.Sprintf("backend %q is a network file system (kind %s); the block role needs ReadWriteOnce block volumes (FlashArray, Portworx without sharedv4, a disk CSI class)", name, b.Kind)))
			}
		case env.RoleFile:
			if !b.IsFileSystem() {
				out = append(out, env.Errorf(at, fmt.Sprintf("backend %q (kind %s) serves no file system; the file role needs a FlashBlade, Portworx sharedv4 or a CSI class with fileSystem: true", name, b.Kind)))
			} else if b.Kind == env.KindFlashBlade && b.FlashBlade != nil {
				for _, an := range env.SortedKeys(b.FlashBlade.Arrays) {
					if b.FlashBlade.Arrays[an].NFSEndpoint == "" {
						out = append(out, env.Errorf(p("storage", "backends", name, "flashblade", "arrays", an), "the file role provisions NFS (pure_file) from this blade: set its nfsEndpoint, which px-pure-secret's FlashBlades entry needs"))
					}
				}
			}
		case env.RoleObject:
			if b.Kind != env.KindFlashBlade || b.FlashBlade == nil || b.FlashBlade.S3 == nil {
				out = append(out, env.Errorf(at, fmt.Sprintf("backend %q has no S3 endpoint; the object role needs a pure-flashblade backend with flashblade.s3", name)))
			}
		}
	}
	uses := volumeUses(e)
	for _, role := range env.SortedKeys(uses) {
		if roleName(s, role) == "" {
			for _, u := range uses[role] {
				out = append(out, env.Errorf(append(strings.Split(u, "."), "role"), fmt.Sprintf("uses the %s role, which storage.roles does not map; set storage.roles.%s to a backend", role, role)))
			}
		}
	}
	if s.DefaultClass != "none" && roleName(s, s.DefaultClass) == "" {
		out = append(out, env.Errorf(p("storage", "defaultClass"), fmt.Sprintf("the %s role is not mapped, so it cannot give the default StorageClass; map it or set defaultClass: \"none\"", s.DefaultClass)))
	}
	return out
}

// roleName is the backend a role is mapped to, declared or not.
func roleName(s *env.Storage, role string) string {
	switch role {
	case env.RoleBlock:
		return s.Roles.Block
	case env.RoleFile:
		return s.Roles.File
	case env.RoleObject:
		return s.Roles.Object
	}
	return ""
}

func checkPrometheusVolume(e *env.Environment) []env.Issue {
	if !e.Monitoring.Enabled {
		return nil
	}
	if e.Monitoring.Prometheus.Storage.Role != env.RoleBlock {
		return []env.Issue{env.Errorf(p("monitoring", "prometheus", "storage", "role"),
			"the Prometheus TSDB must be on block storage: Prometheus does not support NFS or other non-POSIX file systems and can corrupt its TSDB there; use role \"block\"")}
	}
	return nil
}

func checkElasticsearch(e *env.Environment) []env.Issue {
	if !e.Logging.Enabled {
		return nil
	}
	var out []env.Issue
	es := e.Logging.Elasticsearch
	if len(es.NodeSets) == 0 {
		out = append(out, env.Errorf(p("logging", "elasticsearch", "nodeSets"), "Elasticsearch needs at least one node set; declare one (for example nodeSets: default: {count: 3})"))
	}
	if es.Version != stack.Elasticsearch.Version {
		out = append(out, env.Warnf(p("logging", "elasticsearch", "version"), fmt.Sprintf("Vigil pins and tests Elasticsearch %s with ECK %s; %s runs an image outside its release table", stack.Elasticsearch.Version, stack.ECKOperator.Version, es.Version)))
	}
	masters := 0
	for _, n := range env.SortedKeys(es.NodeSets) {
		ns := es.NodeSets[n]
		at := func(f ...string) []string { return append(p("logging", "elasticsearch", "nodeSets", n), f...) }
		if slices.Contains(ns.Roles, "master") {
			masters += ns.Count
		}
		if ns.Storage.Role == env.RoleFile {
			out = append(out, env.Warnf(at("storage", "role"), "Elasticsearch data on NFS is unsupported by Elastic and Red Hat (Lucene needs local file system semantics) and performs badly; prefer role \"block\""))
			if _, b, ok := e.Storage.RoleBackend(env.RoleFile); ok && b.FlashBlade != nil && !strings.Contains(b.FlashBlade.ExportRules, "no_root_squash") {
				out = append(out, env.Errorf(p("storage", "backends", e.Storage.Roles.File, "flashblade", "exportRules"), "Elasticsearch pods change volume ownership through fsGroup, which a root-squashed FlashBlade export refuses; add no_root_squash, e.g. \"*(rw,no_root_squash)\""))
			}
		}
		limit, err := resource.ParseQuantity(ns.Memory)
		if err != nil {
			out = append(out, env.Errorf(at("memory"), "not a quantity: "+err.Error()))
			continue
		}
		if ns.Heap != "" {
			heap, ok := heapBytes(ns.Heap)
			if !ok || heap >= limit.Value() {
				out = append(out, env.Errorf(at("heap"), fmt.Sprintf("heap %s does not fit in the memory limit %s; the JVM would be killed at start: lower heap or raise memory", ns.Heap, ns.Memory)))
			} else if heap > limit.Value()/2 {
				out = append(out, env.Errorf(at("heap"), fmt.Sprintf("heap %s is more than half the memory limit %s; Elasticsearch needs the rest for the file system cache and off-heap memory: lower heap or raise memory", ns.Heap, ns.Memory)))
			}
		}
	}
	if masters > 0 && masters%2 == 0 {
		msg := fmt.Sprintf("%d master-eligible nodes: an even count gives no better fault tolerance than one fewer and risks split votes; use an odd count", masters)
		if e.Tier == env.TierProd {
			out = append(out, env.Errorf(p("logging", "elasticsearch", "nodeSets"), msg))
		} else {
			out = append(out, env.Warnf(p("logging", "elasticsearch", "nodeSets"), msg))
		}
	}
	if e.Tier == env.TierProd && masters < 3 && len(es.NodeSets) > 0 {
		out = append(out, env.Errorf(p("logging", "elasticsearch", "nodeSets"), fmt.Sprintf("prod needs at least 3 master-eligible Elasticsearch nodes to survive losing one; it has %d", masters)))
	}
	return out
}

// heapBytes parses a JVM heap size ("512m", "2g"); false when it does not
// fit an int64 (the schema's pattern allows any number of digits).
func heapBytes(h string) (int64, bool) {
	shift := 20
	if strings.HasSuffix(h, "g") {
		shift = 30
	}
	n, err := strconv.ParseInt(h[:len(h)-1], 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64>>shift {
		return 0, false
	}
	return n << shift, true
}

func checkAlerting(e *env.Environment) []env.Issue {
	if !e.Monitoring.Enabled {
		return nil
	}
	var out []env.Issue
	am := e.Monitoring.Alertmanager
	receivers := env.SortedKeys(am.Slack.Receivers)
	known := func(name string) bool { _, ok := am.Slack.Receivers[name]; return ok }
	if len(receivers) > 0 && am.Slack.DefaultReceiver == "" {
		out = append(out, env.Errorf(p("monitoring", "alertmanager", "slack"), "set defaultReceiver: the receiver of alerts no route matches (one of: "+strings.Join(receivers, ", ")+")"))
	}
	if r := am.Slack.DefaultReceiver; r != "" && !known(r) {
		out = append(out, env.Errorf(p("monitoring", "alertmanager", "slack", "defaultReceiver"), fmt.Sprintf("receiver %q is not declared in slack.receivers; declare it or use one of: %s", r, strings.Join(receivers, ", "))))
	}
	for _, name := range env.SortedKeys(am.Routes) {
		if r := am.Routes[name].Receiver; !known(r) {
			out = append(out, env.Errorf(p("monitoring", "alertmanager", "routes", name, "receiver"), fmt.Sprintf("receiver %q is not declared in slack.receivers; declare it or use one of: %s", r, strings.Join(receivers, ", "))))
		}
	}
	out = append(out, checkSparkRoutes(e)...)
	if e.Tier == env.TierProd && len(receivers) == 0 {
		out = append(out, env.Errorf(p("monitoring", "alertmanager", "slack", "receivers"), "prod must send its alerts somewhere: declare a Slack receiver with a channel and a webhook secret reference"))
	}
	return out
}

// checkSparkRoutes rejects a route that lists some of the namespaces Spark
// runs its jobs in but not all: alerts from the others, such as a job
// namespace added later, would silently reach another receiver.
func checkSparkRoutes(e *env.Environment) []env.Issue {
	if !e.Spark.Enabled {
		return nil
	}
	var out []env.Issue
	for _, name := range env.SortedKeys(e.Monitoring.Alertmanager.Routes) {
		r := e.Monitoring.Alertmanager.Routes[name]
		if r.SparkNamespaces {
			continue
		}
		var listed, missing []string
		for _, ns := range e.Spark.Operator.JobNamespaces {
			if slices.Contains(r.Namespaces, ns) {
				listed = append(listed, ns)
			} else {
				missing = append(missing, ns)
			}
		}
		if len(listed) > 0 && len(missing) > 0 {
			out = append(out, env.Errorf(p("monitoring", "alertmanager", "routes", name, "namespaces"), fmt.Sprintf(
				"the route matches Spark job namespace %s but not %s (spark.operator.jobNamespaces), whose alerts would reach another receiver; "+
					"set sparkNamespaces: true to match every namespace Spark runs in, or list them all", strings.Join(listed, ", "), strings.Join(missing, ", "))))
		}
	}
	return out
}

// renderedNamespaces are the namespaces Vigil creates for the environment.
func renderedNamespaces(e *env.Environment) map[string]string {
	ns := map[string]string{}
	if e.Monitoring.Enabled {
		ns[e.Monitoring.Namespace] = "monitoring.namespace"
	}
	if e.Logging.Enabled {
		ns[e.Logging.Namespace] = "logging.namespace"
	}
	if e.Spark.Enabled {
		ns[e.Spark.Operator.Namespace] = "spark.operator.namespace"
	}
	if e.Tracing.Enabled {
		ns[e.Tracing.Namespace] = "tracing.namespace"
	}
	return ns
}

func checkNamespaces(e *env.Environment) []env.Issue {
	var out []env.Issue
	stack := renderedNamespaces(e)
	if e.Spark.Enabled {
		for i, ns := range e.Spark.Operator.JobNamespaces {
			if owner, ok := stack[ns]; ok {
				out = append(out, env.Errorf(p("spark", "operator", "jobNamespaces", strconv.Itoa(i)), fmt.Sprintf("job namespace %q is also %s; run Spark jobs in a namespace of their own so their Role and quotas stay separate", ns, owner)))
			}
			if slices.Contains(e.Spark.Operator.JobNamespaces[:i], ns) {
				out = append(out, env.Errorf(p("spark", "operator", "jobNamespaces", strconv.Itoa(i)), fmt.Sprintf("job namespace %q is listed twice", ns)))
			}
		}
	}
	if e.Monitoring.Enabled {
		known := func(ns string) bool {
			_, ok := stack[ns]
			return ok || slices.Contains(e.Cluster.ExistingNamespaces, ns) || (e.Spark.Enabled && slices.Contains(e.Spark.Operator.JobNamespaces, ns)) ||
				ns == "default" || ns == "kube-system"
		}
		for i, ns := range e.Monitoring.Prometheus.ExtraNamespaces {
			if !known(ns) {
				out = append(out, env.Errorf(p("monitoring", "prometheus", "extraNamespaces", strconv.Itoa(i)), fmt.Sprintf("namespace %q is neither rendered by Vigil nor listed in cluster.existingNamespaces; Prometheus's Role there would fail to apply: add it to cluster.existingNamespaces", ns)))
			}
		}
	}
	return out
}

func checkSparkS3(e *env.Environment) []env.Issue {
	if !e.SparkHistoryEnabled() {
		return nil
	}
	var out []env.Issue
	hs := e.Spark.HistoryServer
	s3, ok := e.S3(hs.S3)
	if !ok {
		out = append(out, env.Errorf(p("spark", "historyServer"), "the History Server reads event logs from S3: map storage.roles.object to a FlashBlade with flashblade.s3, or set spark.historyServer.s3"))
	} else {
		at := p("spark", "historyServer", "s3")
		if hs.S3 == nil {
			at = p("storage", "backends", e.Storage.Roles.Object, "flashblade", "s3")
		}
		if !strings.Contains(s3.Endpoint, "amazonaws.com") && !s3.PathStyle {
			out = append(out, env.Errorf(append(at, "pathStyle"), "a FlashBlade or other non-AWS endpoint needs path-style access unless virtual-host DNS is set up for every bucket: set pathStyle: true"))
		}
		if strings.HasPrefix(s3.Endpoint, "https://") && s3.PrivateCA && s3.CABundle == nil {
			out = append(out, env.Errorf(append(at, "caBundle"), "an https endpoint with a private CA needs its CA bundle: set caBundle to a Secret reference"))
		}
	}
	if !hs.BootstrapPrefix {
		out = append(out, env.Errorf(p("spark", "historyServer", "bootstrapPrefix"), "an empty S3 prefix does not exist for S3A, and both the History Server and Spark's event log writer fail with FileNotFoundException; keep bootstrapPrefix: true"))
	}
	if s3a, known := spark.S3AFor(e.Spark.Version); known && hs.HadoopAWSVersion != "" && hs.HadoopAWSVersion != s3a.Hadoop {
		out = append(out, env.Errorf(p("spark", "historyServer", "hadoopAwsVersion"), fmt.Sprintf("Spark %s bundles Hadoop %s, and hadoop-aws must match it exactly (mixed versions fail on the classpath): use %s or leave it unset", e.Spark.Version, s3a.Hadoop, s3a.Hadoop)))
	}
	if slices.Contains(strings.Split(hs.EventLog.Prefix, "/"), "..") || slices.Contains(strings.Split(hs.EventLog.Prefix, "/"), ".") {
		out = append(out, env.Errorf(p("spark", "historyServer", "eventLog", "prefix"), "an S3 key prefix has no . or .. segments; S3A would read and write a different place than the History Server"))
	}
	return out
}

// checkSpark covers what the Spark generator needs beyond S3.
func checkSpark(e *env.Environment) []env.Issue {
	if !e.Spark.Enabled {
		return nil
	}
	var out []env.Issue
	if _, known := spark.S3AFor(e.Spark.Version); !known {
		out = append(out, env.Errorf(p("spark", "version"), fmt.Sprintf("Vigil knows the bundled Hadoop of Spark %s, not %s; use one of those", strings.Join(spark.KnownLines(), ", "), spark.Line(e.Spark.Version))))
	} else if _, pinned := stack.SparkRelease(e.Spark.Version); !pinned {
		out = append(out, env.Errorf(p("spark", "version"), fmt.Sprintf("Spark %s has no pinned apache/spark image in Vigil's release table; use a published release (the History Server must run the jobs' exact version)", e.Spark.Version)))
	}
	if e.Spark.UI.IngressURLFormat != "" && !e.Spark.UI.Service {
		out = append(out, env.Errorf(p("spark", "ui", "ingressUrlFormat"), "the operator builds each application's Ingress on its UI Service: set ui.service: true or drop ingressUrlFormat"))
	}
	if len(e.Spark.Operator.JobNamespaces) == 0 {
		out = append(out, env.Errorf(p("spark", "operator", "jobNamespaces"), "list at least one namespace for Spark jobs; the operator watches only those"))
	}
	return out
}

func checkReplicas(e *env.Environment) []env.Issue {
	if !e.Monitoring.Enabled {
		return nil
	}
	var out []env.Issue
	m := e.Monitoring
	if e.Tier == env.TierProd {
		if m.Prometheus.Replicas < 2 {
			out = append(out, env.Errorf(p("monitoring", "prometheus", "replicas"), "prod needs at least 2 Prometheus replicas so monitoring survives a node drain"))
		}
		if m.Alertmanager.Replicas < 2 {
			out = append(out, env.Errorf(p("monitoring", "alertmanager", "replicas"), "prod needs at least 2 Alertmanager replicas so alerts survive a node drain"))
		}
	}
	if rs := m.Prometheus.RetentionSize; rs != "" {
		size, err := resource.ParseQuantity(m.Prometheus.Storage.Size)
		if n, ok := retentionBytes(rs); err == nil && ok && n >= size.Value() {
			out = append(out, env.Errorf(p("monitoring", "prometheus", "retentionSize"), fmt.Sprintf("retentionSize %s does not fit the %s volume; Prometheus stops ingesting when the disk fills: keep it below the volume size (about 85%%)", rs, m.Prometheus.Storage.Size)))
		}
	}
	return out
}

func checkCoupling(e *env.Environment) []env.Issue {
	var out []env.Issue
	if e.PureExporter.Enabled && !e.Monitoring.Enabled {
		out = append(out, env.Errorf(p("pureExporter", "enabled"), "the Pure exporter is scraped by Prometheus: enable monitoring or disable pureExporter"))
	}
	if e.Tracing.Enabled {
		switch e.Tracing.Backend {
		case env.BackendJaeger:
			if !e.Logging.Enabled {
				out = append(out, env.Errorf(p("tracing", "backend"), "Jaeger stores traces in the logging Elasticsearch: enable logging or use backend \"tempo\""))
			}
		case env.BackendTempo:
			if e.Storage.Roles.Object == "" {
				out = append(out, env.Errorf(p("tracing", "backend"), "Tempo stores traces in S3: map storage.roles.object to a FlashBlade with S3, or use backend \"jaeger\""))
			}
			if e.Tracing.Tempo.Credentials == nil {
				out = append(out, env.Errorf(p("tracing", "tempo"), "Tempo needs S3 credentials: set tempo.credentials.accessKeyId and secretAccessKey as Secret references"))
			}
		}
	}
	if e.Audit.Enabled && !e.Logging.Enabled {
		out = append(out, env.Errorf(p("audit", "enabled"), "audit logs are shipped by the log agent: enable logging or disable audit"))
	}
	return out
}

func checkAudit(e *env.Environment) []env.Issue {
	if !e.Audit.Enabled {
		return nil
	}
	var out []env.Issue
	if e.Cluster.ControlPlane == env.ControlPlaneManaged {
		out = append(out, env.Errorf(p("audit", "enabled"), "a managed control plane keeps no audit log files on nodes (the provider's logging service receives them); disable audit or use the provider's audit export"))
	}
	if !e.Logging.Agent.TolerateAllTaints {
		out = append(out, env.Errorf(p("logging", "agent", "tolerateAllTaints"), "audit logs live on control-plane nodes, which are tainted: the log agent must tolerate their taints (tolerateAllTaints: true)"))
	}
	return out
}

func checkPureExporter(e *env.Environment) []env.Issue {
	var out []env.Issue
	for _, name := range env.SortedKeys(e.PureExporter.FlashArrays) {
		fa := e.PureExporter.FlashArrays[name]
		if fa.LegacyExporter && versionAtLeast(fa.PurityVersion, 6, 6, 11) {
			out = append(out, env.Errorf(p("pureExporter", "flasharrays", name, "legacyExporter"), fmt.Sprintf("pure-fa-openmetrics-exporter reached end of life on 2024-09-30, and Purity//FA %s serves the same metrics natively: set legacyExporter: false to scrape the array's own endpoint", fa.PurityVersion)))
		}
	}
	return out
}

func checkNodeProblemDetector(e *env.Environment) []env.Issue {
	npd := e.NodeProblemDetector
	m := npd.Monitors
	if npd.Enabled && !m.Kernel && !m.Readonly && !m.Kubelet && !m.Containerd {
		return []env.Issue{env.Errorf(p("nodeProblemDetector", "monitors"), "Node Problem Detector does not start without a monitor: enable one, or set nodeProblemDetector.enabled: false")}
	}
	return nil
}

func versionAtLeast(v string, want ...int) bool {
	parts := strings.Split(v, ".")
	for i, w := range want {
		if i >= len(parts) {
			return false
		}
		n, _ := strconv.Atoi(parts[i])
		if n != w {
			return n > w
		}
	}
	return true
}

// checkSecrets guards the one secret the schema cannot force: a SOPS file
// must stay inside the environment directory.
func checkSecrets(e *env.Environment) []env.Issue {
	var out []env.Issue
	for _, r := range SecretRefs(e) {
		if s := r.Ref.SOPS; s != "" && (strings.HasPrefix(s, "/") || slices.Contains(strings.Split(s, "/"), "..")) {
			out = append(out, env.Errorf(append(r.Path, "sops"), "a SOPS file path is relative to the environment directory and stays inside it"))
		}
	}
	return out
}

// SecretRefUse is one place an environment references a secret.
type SecretRefUse struct {
	Path []string
	Ref  *env.SecretRef
}

// SecretRefs lists every secret reference of an environment in a fixed order.
func SecretRefs(e *env.Environment) []SecretRefUse {
	var out []SecretRefUse
	add := func(r *env.SecretRef, path ...string) {
		if r != nil {
			out = append(out, SecretRefUse{Path: path, Ref: r})
		}
	}
	add(e.Storage.PureSecret, "storage", "pureSecret")
	for _, n := range env.SortedKeys(e.Storage.Backends) {
		if fb := e.Storage.Backends[n].FlashBlade; fb != nil && fb.S3 != nil {
			add(fb.S3.CABundle, "storage", "backends", n, "flashblade", "s3", "caBundle")
		}
	}
	for _, n := range env.SortedKeys(e.Monitoring.Alertmanager.Slack.Receivers) {
		r := e.Monitoring.Alertmanager.Slack.Receivers[n]
		add(&r.Webhook, "monitoring", "alertmanager", "slack", "receivers", n, "webhook")
	}
	add(e.Monitoring.Grafana.Admin.Password, "monitoring", "grafana", "admin", "password")
	hs := e.Spark.HistoryServer
	if e.SparkHistoryEnabled() {
		add(&hs.Credentials.AccessKeyID, "spark", "historyServer", "credentials", "accessKeyId")
		add(&hs.Credentials.SecretAccessKey, "spark", "historyServer", "credentials", "secretAccessKey")
	}
	if hs.S3 != nil {
		add(hs.S3.CABundle, "spark", "historyServer", "s3", "caBundle")
	}
	for _, n := range env.SortedKeys(e.PureExporter.FlashBlades) {
		r := e.PureExporter.FlashBlades[n]
		add(&r.Token, "pureExporter", "flashblades", n, "token")
	}
	for _, n := range env.SortedKeys(e.PureExporter.FlashArrays) {
		r := e.PureExporter.FlashArrays[n]
		add(&r.Token, "pureExporter", "flasharrays", n, "token")
	}
	if c := e.Logging.Elasticsearch.Snapshots.Credentials; c != nil {
		add(&c.AccessKeyID, "logging", "elasticsearch", "snapshots", "credentials", "accessKeyId")
		add(&c.SecretAccessKey, "logging", "elasticsearch", "snapshots", "credentials", "secretAccessKey")
	}
	if s3 := e.Logging.Elasticsearch.Snapshots.S3; s3 != nil {
		add(s3.CABundle, "logging", "elasticsearch", "snapshots", "s3", "caBundle")
	}
	if c := e.Tracing.Tempo.Credentials; c != nil {
		add(&c.AccessKeyID, "tracing", "tempo", "credentials", "accessKeyId")
		add(&c.SecretAccessKey, "tracing", "tempo", "credentials", "secretAccessKey")
	}
	out = append(out, longTermSecretRefs(e)...)
	return out
}
