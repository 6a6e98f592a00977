package fluentbit_test

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentbit"
	"github.com/vigil-stack/vigil/generate/fluentd"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := fluentbit.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Check(t, s)
			stacktest.Golden(t, name, fluentbit.Component, s)
			for _, r := range s.Resources() {
				if r.Layer != stack.Content {
					t.Errorf("%s %s in layer %s: the agent must start after the index templates exist", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), r.Layer)
				}
			}
			ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, e.Logging.Namespace, fluentbit.Name)
			pod := ds.Spec.Template.Spec
			if e.Logging.Agent.TolerateAllTaints != (len(pod.Tolerations) == 1 && pod.Tolerations[0].Operator == corev1.TolerationOpExists) {
				t.Errorf("tolerations %+v with tolerateAllTaints %v", pod.Tolerations, e.Logging.Agent.TolerateAllTaints)
			}
			if v := volume(t, ds, "state"); v.HostPath == nil || v.HostPath.Path != fluentbit.StateDir {
				t.Errorf("offsets and buffers must be on the host: %+v", v.VolumeSource)
			}
			sc := pod.Containers[0].SecurityContext
			if sc.Capabilities == nil || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) || len(sc.Capabilities.Add) > 0 || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("security context %+v", sc)
			}
			role := stacktest.FindNamed[*rbacv1.ClusterRole](t, s, "", fluentbit.Name)
			if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"pods", "namespaces"}) || !slices.Equal(role.Rules[0].Verbs, []string{"get", "list", "watch"}) {
				t.Errorf("cluster role %+v", role.Rules)
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Logging.Enabled = false
	if n := len(generate(t, e).Resources()); n != 0 {
		t.Errorf("logging off still generates %d objects", n)
	}
}

// Fluent Bit 5.1.1's properties (src/flb_config.c, flb_input.c,
// flb_filter.c, flb_output.c and each plugin's config_map), for the keys
// this package can emit and their neighbours. A key outside these tables
// is an error Fluent Bit reports at start-up; the tables stand in for
// fluent-bit --dry-run, which the tests cannot install.
var (
	serviceKeys = keys("flush", "grace", "daemon", "log_file", "log_level", "parsers_file", "plugins_file", "streams_file",
		"http_server", "http_listen", "http_port", "health_check", "hc_errors_count", "hc_retry_failure_count", "hc_period",
		"storage.path", "storage.sync", "storage.metrics", "storage.checksum", "storage.backlog.mem_limit",
		"storage.backlog.flush_on_shutdown", "storage.max_chunks_up", "storage.delete_irrecoverable_chunks", "storage.trim_files",
		"hot_reload", "scheduler.cap", "scheduler.base")
	inputKeys = keys("name", "tag", "log_level", "log_suppress_interval", "routable", "alias", "mem_buf_limit", "listen", "host", "port",
		"ipv6", "storage.type", "storage.pause_on_chunks_overlimit", "threaded")
	pluginInputKeys = map[string]map[string]bool{
		"tail": keys("path", "exclude_path", "key", "read_from_head", "read_newly_discovered_files_from_head", "refresh_interval",
			"watcher_interval", "progress_check_interval", "rotate_wait", "docker_mode", "docker_mode_flush", "docker_mode_parser",
			"path_key", "offset_key", "ignore_older", "ignore_active_older_files", "buffer_chunk_size", "buffer_max_size",
			"skip_long_lines", "exit_on_eof", "skip_empty_lines", "truncate_long_lines", "file_cache_advise", "inotify_watcher",
			"parser", "tag_regex", "db", "db.sync", "db.locking", "db.journal_mode", "db.compare_filename", "multiline",
			"multiline_flush", "parser_firstline", "multiline.parser", "unicode.encoding", "generic.encoding"),
		"systemd": keys("path", "max_fields", "max_entries", "systemd_filter_type", "systemd_filter", "read_from_tail", "lowercase",
			"strip_underscores", "db.sync", "db"),
		// plugins/in_kubernetes_events/kubernetes_events.c, config_map.
		"kubernetes_events": keys("kube_url", "interval_sec", "interval_nsec", "tls.debug", "tls.verify", "tls.vhost", "kube_ca_file",
			"kube_ca_path", "kube_token_file", "kube_token_ttl", "kube_request_limit", "kube_retention_time", "kube_namespace", "db",
			"db.sync"),
	}
	filterKeys       = keys("name", "match", "match_regex", "alias", "log_level", "log_suppress_interval")
	pluginFilterKeys = map[string]map[string]bool{
		"kubernetes": keys("buffer_size", "tls.debug", "tls.verify", "tls.vhost", "tls.verify_hostname", "merge_log", "merge_parser",
			"merge_log_key", "merge_log_trim", "keep_log", "kube_url", "kube_meta_preload_cache_dir", "kube_ca_file", "kube_ca_path",
			"kube_tag_prefix", "kube_namespace_file", "kube_token_file", "kube_token_command", "labels", "annotations",
			"owner_references", "namespace_labels", "namespace_annotations", "namespace_metadata_only", "k8s-logging.parser",
			"k8s-logging.exclude", "use_journal", "regex_parser", "dummy_meta", "dns_retries", "dns_wait_time", "cache_use_docker_id",
			"use_tag_for_meta", "use_kubelet", "kubelet_host", "kubelet_port", "kube_token_ttl", "kube_meta_cache_ttl",
			"kube_meta_namespace_cache_ttl", "set_platform"),
	}
	outputKeys = keys("name", "match", "match_regex", "alias", "host", "port", "ipv6", "log_level", "log_suppress_interval",
		"retry_limit", "storage.total_limit_size", "workers", "tls", "tls.verify", "tls.verify_hostname", "tls.debug", "tls.vhost",
		"tls.ca_path", "tls.ca_file", "tls.crt_file", "tls.key_file", "tls.key_passwd", "tls.min_version", "tls.max_version", "tls.ciphers")
	pluginOutputKeys = map[string]map[string]bool{
		"es": keys("index", "type", "suppress_type_name", "http_user", "http_passwd", "http_api_key", "compress", "cloud_id",
			"cloud_auth", "upstream", "logstash_format", "logstash_prefix", "logstash_prefix_separator", "logstash_prefix_key",
			"logstash_dateformat", "time_key", "time_key_format", "time_key_nanos", "include_tag_key", "tag_key", "buffer_size",
			"path", "pipeline", "generate_id", "write_operation", "id_key", "replace_dots", "current_time_index", "trace_output",
			"trace_error"),
		"forward": keys("time_as_integer", "retain_metadata_in_forward_mode", "shared_key", "self_hostname", "empty_shared_key",
			"send_options", "require_ack_response", "username", "password", "unix_path", "upstream", "tag", "compress", "fluentd_compat"),
	}
	parserKeys = keys("name", "format", "regex", "time_key", "time_format", "time_keep", "time_offset", "types", "skip_empty_values")
)

func keys(ks ...string) map[string]bool {
	m := map[string]bool{}
	for _, k := range ks {
		m[k] = true
	}
	return m
}

// parsed is the agent's configuration read back from its ConfigMap.
type parsed struct {
	Service  map[string]any   `json:"service"`
	Parsers  []map[string]any `json:"parsers"`
	Pipeline struct {
		Inputs  []map[string]any `json:"inputs"`
		Filters []map[string]any `json:"filters"`
		Outputs []map[string]any `json:"outputs"`
	} `json:"pipeline"`
}

func readConfig(t *testing.T, e *env.Environment, s *stack.Set) parsed {
	t.Helper()
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, e.Logging.Namespace, fluentbit.Name)
	text, ok := cm.Data["fluent-bit.yaml"]
	if !ok {
		t.Fatalf("ConfigMap keys %v", cm.Data)
	}
	var p parsed
	if err := yaml.UnmarshalStrict([]byte(text), &p); err != nil {
		t.Fatalf("the configuration is not Fluent Bit YAML of the expected shape: %v\n%s", err, text)
	}
	return p
}

func checkKeys(t *testing.T, what string, section map[string]any, generic map[string]bool, plugins map[string]map[string]bool) {
	t.Helper()
	name, _ := section["name"].(string)
	own, known := plugins[name]
	if plugins != nil && !known {
		t.Errorf("%s: plugin %q has no option table here; add Fluent Bit's", what, name)
	}
	for k, v := range section {
		if !generic[k] && !own[k] {
			t.Errorf("%s %s: Fluent Bit has no property %q", what, name, k)
		}
		switch v.(type) {
		case string, bool, float64:
		case []any:
			if k != "systemd_filter" {
				t.Errorf("%s %s: %s is a list, but only repeatable properties may be", what, name, k)
			}
		default:
			t.Errorf("%s %s: %s is a %T; plugin properties are scalars", what, name, k, v)
		}
	}
}

// glob reports whether a Fluent Bit match pattern matches a tag.
func glob(pattern, tag string) bool {
	re := "^" + strings.ReplaceAll(regexp.QuoteMeta(pattern), `\*`, ".*") + "$"
	return regexp.MustCompile(re).MatchString(tag)
}

// runtimeTag is the tag a record of an input gets: the input's tag with
// its "*" replaced by the file path, as tail does.
func runtimeTag(tag string) string {
	return strings.Replace(tag, "*", "var.log.containers.app-7d9_ns_app-0123.log", 1)
}

// TestConfigParsesBack reads each environment's configuration back from its
// ConfigMap, checks every property against Fluent Bit's tables and follows
// every record from its input to its output.
func TestConfigParsesBack(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := generate(t, e)
			c := readConfig(t, e, s)
			checkKeys(t, "service", c.Service, serviceKeys, nil)
			if c.Service["http_server"] != true || c.Service["http_port"] != float64(fluentbit.MetricsPort) {
				t.Errorf("metrics server %v", c.Service)
			}
			parsers := map[string]bool{}
			for _, p := range c.Parsers {
				checkKeys(t, "parser", p, parserKeys, nil)
				parsers[p["name"].(string)] = true
			}
			for _, in := range c.Pipeline.Inputs {
				checkKeys(t, "input", in, inputKeys, pluginInputKeys)
				if p, ok := in["parser"].(string); ok && !parsers[p] {
					t.Errorf("input %s uses parser %s, which is not defined", in["alias"], p)
				}
				if db, ok := in["db"].(string); ok && !strings.HasPrefix(db, fluentbit.StateDir+"/") {
					t.Errorf("input %s keeps offsets in %s, not on the host", in["alias"], db)
				}
				if in["storage.type"] != "filesystem" || in["mem_buf_limit"] != e.Logging.Agent.MemBufLimit {
					t.Errorf("input %s buffering %v %v", in["alias"], in["storage.type"], in["mem_buf_limit"])
				}
			}
			for _, f := range c.Pipeline.Filters {
				checkKeys(t, "filter", f, filterKeys, pluginFilterKeys)
			}
			for _, o := range c.Pipeline.Outputs {
				checkKeys(t, "output", o, outputKeys, pluginOutputKeys)
				if o["storage.total_limit_size"] != e.Logging.Agent.StorageLimit {
					t.Errorf("output %s: buffer limit %v, want %s", o["alias"], o["storage.total_limit_size"], e.Logging.Agent.StorageLimit)
				}
				if _, ok := o["retry_limit"]; !ok {
					t.Errorf("output %s retries forever", o["alias"])
				}
			}

			// Every input reaches exactly one output, and that output is
			// its stream's data stream.
			streams, err := elasticsearch.Streams(e)
			if err != nil {
				t.Fatal(err)
			}
			byKind := map[string]elasticsearch.Stream{}
			for _, st := range streams {
				byKind[st.Kind] = st
			}
			var kinds []string
			used := map[int]bool{}
			for _, in := range c.Pipeline.Inputs {
				kind := in["alias"].(string)
				kinds = append(kinds, kind)
				tag := runtimeTag(in["tag"].(string))
				var hits []int
				for i, o := range c.Pipeline.Outputs {
					if glob(o["match"].(string), tag) {
						hits = append(hits, i)
						used[i] = true
					}
				}
				if len(hits) != 1 {
					t.Errorf("input %s (tag %s) reaches %d outputs, want 1", kind, tag, len(hits))
					continue
				}
				o := c.Pipeline.Outputs[hits[0]]
				st, ok := byKind[kind]
				if !ok {
					t.Errorf("input %s has no stream", kind)
					continue
				}
				if o["index"] != st.DataStream || o["write_operation"] != "create" {
					t.Errorf("input %s goes to index %v (%v), want data stream %s with create", kind, o["index"], o["write_operation"], st.DataStream)
				}
				if o["host"] != elasticsearch.Host(e) || o["tls"] != true || o["tls.verify"] != true ||
					o["http_user"] != "elastic" || o["http_passwd"] != "${ES_PASSWORD}" || o["suppress_type_name"] != true || o["replace_dots"] != true {
					t.Errorf("output of %s: %v", kind, o)
				}
			}
			for i, o := range c.Pipeline.Outputs {
				if !used[i] {
					t.Errorf("output %s receives nothing", o["alias"])
				}
			}
			want := []string{"containers", "node"}
			if e.AuditEnabled() {
				want = append(want, "audit")
			}
			if !slices.Equal(kinds, want) {
				t.Errorf("inputs %v, want %v", kinds, want)
			}
			// The kubernetes filter sees container records, and only those.
			for _, f := range c.Pipeline.Filters {
				if f["name"] == "kubernetes" {
					if !glob(f["match"].(string), runtimeTag(fluentbit.ContainerTag)) || glob(f["match"].(string), runtimeTag(fluentbit.NodeTag)) {
						t.Errorf("kubernetes filter matches %v", f["match"])
					}
					if !strings.HasPrefix(runtimeTag(fluentbit.ContainerTag), f["kube_tag_prefix"].(string)) {
						t.Errorf("kube_tag_prefix %v does not prefix the container tags", f["kube_tag_prefix"])
					}
				}
			}
			checkMounts(t, e, s, c)
		})
	}
}

// checkMounts proves every path the configuration reads or writes is
// mounted: logs read-only, state writable.
func checkMounts(t *testing.T, e *env.Environment, s *stack.Set, c parsed) {
	t.Helper()
	ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, e.Logging.Namespace, fluentbit.Name)
	mounts := ds.Spec.Template.Spec.Containers[0].VolumeMounts
	mountOf := func(p string) *corev1.VolumeMount {
		var best *corev1.VolumeMount
		for i, m := range mounts {
			if (p == m.MountPath || strings.HasPrefix(p, strings.TrimSuffix(m.MountPath, "/")+"/")) && (best == nil || len(m.MountPath) > len(best.MountPath)) {
				best = &mounts[i]
			}
		}
		return best
	}
	var paths []string
	for _, in := range c.Pipeline.Inputs {
		if p, ok := in["path"].(string); ok {
			paths = append(paths, p)
		}
		if db, ok := in["db"].(string); ok {
			if m := mountOf(db); m == nil || m.ReadOnly {
				t.Errorf("database %s is not on a writable mount", db)
			}
		}
	}
	for _, p := range paths {
		if m := mountOf(p); m == nil {
			t.Errorf("%s is not mounted", p)
		}
	}
	if m := mountOf(c.Service["storage.path"].(string)); m == nil || m.ReadOnly {
		t.Errorf("storage.path %v is not on a writable mount", c.Service["storage.path"])
	}
	for _, o := range c.Pipeline.Outputs {
		if ca, ok := o["tls.ca_file"].(string); ok && mountOf(ca) == nil {
			t.Errorf("CA %s is not mounted", ca)
		}
	}
	if m := mountOf(fluentbit.ConfigFile); m == nil {
		t.Errorf("the configuration is not mounted")
	}
	var envs []string
	for _, v := range ds.Spec.Template.Spec.Containers[0].Env {
		envs = append(envs, v.Name)
		if v.Name == "ES_PASSWORD" && (v.ValueFrom == nil || v.ValueFrom.SecretKeyRef.Name != elasticsearch.ElasticUserSecret()) {
			t.Errorf("ES_PASSWORD must come from %s: %+v", elasticsearch.ElasticUserSecret(), v)
		}
	}
	sort.Strings(envs)
	direct := !e.FluentdEnabled()
	if slices.Contains(envs, "ES_PASSWORD") != direct {
		t.Errorf("env %v", envs)
	}
}

func TestFluentdAggregator(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Agent.Fluentd.Enabled = true
	s := generate(t, e)
	stacktest.Check(t, s)
	c := readConfig(t, e, s)
	if len(c.Pipeline.Outputs) != 1 {
		t.Fatalf("outputs %v", c.Pipeline.Outputs)
	}
	o := c.Pipeline.Outputs[0]
	checkKeys(t, "output", o, outputKeys, pluginOutputKeys)
	if o["name"] != "forward" || o["host"] != fluentd.Host(e) || o["port"] != float64(fluentd.ForwardPort) || o["require_ack_response"] != true {
		t.Errorf("forward output %v", o)
	}
	for _, in := range c.Pipeline.Inputs {
		if !glob(o["match"].(string), runtimeTag(in["tag"].(string))) {
			t.Errorf("input %v is not forwarded", in["alias"])
		}
	}
	checkMounts(t, e, s, c)
}

func TestAuditLogOutsideVarLog(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Audit.LogPath = "/srv/kubernetes/audit/audit.log"
	s := generate(t, e)
	c := readConfig(t, e, s)
	checkMounts(t, e, s, c)
	ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, e.Logging.Namespace, fluentbit.Name)
	if v := volume(t, ds, "audit"); v.HostPath == nil || v.HostPath.Path != "/srv/kubernetes/audit" {
		t.Errorf("audit volume %+v", v.VolumeSource)
	}
}

func TestAuditOff(t *testing.T) {
	e := stacktest.Example(t, "staging")
	e.Logging.Agent.TolerateAllTaints = false
	s := generate(t, e)
	c := readConfig(t, e, s)
	for _, in := range c.Pipeline.Inputs {
		if in["alias"] == "audit" {
			t.Error("audit is off but tailed")
		}
	}
	if len(c.Parsers) != 0 {
		t.Errorf("parsers %v", c.Parsers)
	}
	ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, e.Logging.Namespace, fluentbit.Name)
	if len(ds.Spec.Template.Spec.Tolerations) != 0 {
		t.Errorf("tolerations %v without tolerateAllTaints", ds.Spec.Template.Spec.Tolerations)
	}
}

func TestConfigHashRollsPods(t *testing.T) {
	hash := func(limit string) string {
		e := stacktest.Example(t, "dev")
		e.Logging.Agent.MemBufLimit = limit
		ds := stacktest.FindNamed[*appsv1.DaemonSet](t, generate(t, e), e.Logging.Namespace, fluentbit.Name)
		return ds.Spec.Template.Annotations["vigil.dev/config-hash"]
	}
	if hash("50MB") == hash("20MB") {
		t.Error("a configuration change does not change the pod template")
	}
}

func volume(t *testing.T, ds *appsv1.DaemonSet, name string) corev1.Volume {
	t.Helper()
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	t.Fatalf("no volume %s", name)
	return corev1.Volume{}
}
