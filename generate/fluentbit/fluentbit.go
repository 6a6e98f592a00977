// Package fluentbit owns the node log agent: Fluent Bit as a DaemonSet on
// every node, control plane included, reading container logs, the kubelet's
// and containerd's journal and, with audit collection on, the API server's
// audit log, and shipping each kind to its own Elasticsearch data stream
// (see elasticsearch.Streams) or, with the Fluentd aggregator on, to
// Fluentd.
//
// The configuration is Fluent Bit's YAML format, marshalled from the Config
// types; a test parses it back and checks every property against the
// plugins' own option tables, since the fluent-bit binary (and its
// --dry-run) cannot be installed where the tests run.
//
// Everything is in the content layer: the agent must not write to
// Elasticsearch before the bootstrap Job of the instances layer has put the
// index templates, or Elasticsearch would create the data streams from its
// built-in template, whose lifecycle never deletes.
//
// Offsets (the tail and journal databases) and the filesystem buffer are
// on a host path, so a restarted or upgraded pod neither re-reads nor loses
// logs. The buffer of each output is bounded by logging.agent.storageLimit;
// an output retries a chunk for about four hours (RetryLimit) before
// dropping it, which the alert FluentBitOutputRetriesFailed reports.
package fluentbit

import (
	"fmt"
	"path"
	"strings"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentd"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	Component = "fluent-bit"
	// Name names the DaemonSet, its ServiceAccount, ClusterRole, Service
	// and ServiceMonitor; it is the job label of its series.
	Name = "fluent-bit"
	// MetricsPort serves /api/v2/metrics/prometheus.
	MetricsPort     = 2020
	metricsPortName = "http-metrics"
	// MetricsPath is the Prometheus endpoint.
	MetricsPath = "/api/v2/metrics/prometheus"
)

// Paths inside the container; the host paths are mounted at the same place.
const (
	// StateDir holds the offset databases and the filesystem buffer, on
	// the host.
	StateDir  = "/var/fluent-bit/state"
	configDir = "/fluent-bit/etc/vigil"
	// ConfigFile is the configuration file; the .yaml suffix selects
	// Fluent Bit's YAML format.
	ConfigFile = configDir + "/fluent-bit.yaml"
	caDir      = "/fluent-bit/etc/elasticsearch-ca"
	// imageParsers are the parsers shipped in the image.
	imageParsers = "/fluent-bit/etc/parsers.conf"
)

// Tags: container records carry the log file's path after this prefix,
// which the kubernetes filter reads the pod, namespace and container from.
const (
	ContainerTag  = "kube.*"
	kubeTagPrefix = "kube.var.log.containers."
	NodeTag       = "node.*"
	AuditTag      = "audit.*"
	auditParser   = "kube-audit"
)

// Fields of the container log documents, for views and links over them.
const (
	// MessageField holds the raw log line (the tail input's key).
	MessageField = "log"
	// MergedLogKey holds the fields of a JSON log line (an application's
	// trace id ends up below it).
	MergedLogKey = "log_processed"
	// TimeField is the document time (the es output's Time_Key).
	TimeField = "@timestamp"
)

// retryLimit is the number of retries of a chunk. With the scheduler's
// defaults (base 5s, cap 2000s) 15 retries span about four hours: an
// Elasticsearch outage of that length loses nothing.
const retryLimit = 15

// inputOf pairs every input with the stream it feeds and its tag.
type source struct {
	stream string
	tag    string
}

func sources(e *env.Environment) []source {
	out := []source{{elasticsearch.StreamContainers, ContainerTag}, {elasticsearch.StreamNode, NodeTag}}
	if e.AuditEnabled() {
		out = append(out, source{elasticsearch.StreamAudit, AuditTag})
	}
	return out
}

// BuildConfig builds the agent's configuration.
func BuildConfig(e *env.Environment) (*Config, error) {
	a := e.Logging.Agent
	c := &Config{
		Service: Service{
			Flush: 1, Grace: 5, LogLevel: "info",
			HTTPServer: true, HTTPListen: "0.0.0.0", HTTPPort: MetricsPort,
			ParsersFile:            imageParsers,
			StoragePath:            StateDir + "/flb-storage/",
			StorageSync:            "normal",
			StorageChecksum:        false,
			StorageBacklogMemLimit: "5M",
			StorageMetrics:         true,
		},
	}
	c.Pipeline.Inputs = []Input{
		{
			Name: "tail", Alias: elasticsearch.StreamContainers, Tag: ContainerTag,
			Path: "/var/log/containers/*.log",
			// Both runtimes' line formats, reassembling lines the runtime
			// split (partial lines).
			MultilineParser: "docker, cri",
			DB:              StateDir + "/flb_container.db", DBLocking: true,
			MemBufLimit: a.MemBufLimit, StorageType: "filesystem",
			SkipLongLines: true, RefreshInterval: 10,
		},
		{
			// No path: libsystemd opens the persistent (/var/log/journal)
			// and the volatile (/run/log/journal) journal, both mounted.
			Name: "systemd", Alias: elasticsearch.StreamNode, Tag: NodeTag,
			SystemdFilter: []string{"_SYSTEMD_UNIT=kubelet.service", "_SYSTEMD_UNIT=containerd.service"},
			DB:            StateDir + "/flb_systemd.db",
			ReadFromTail:  true, StripUnderscores: true,
			MemBufLimit: a.MemBufLimit, StorageType: "filesystem",
		},
	}
	if e.AuditEnabled() {
		c.Parsers = []Parser{{
			Name: auditParser, Format: "json",
			// The event's own time, not the time Fluent Bit read the line.
			TimeKey: "requestReceivedTimestamp", TimeFormat: "%Y-%m-%dT%H:%M:%S.%LZ", TimeKeep: true,
		}}
		c.Pipeline.Inputs = append(c.Pipeline.Inputs, Input{
			Name: "tail", Alias: elasticsearch.StreamAudit, Tag: AuditTag,
			Path:   e.Audit.LogPath,
			Parser: auditParser,
			DB:     StateDir + "/flb_audit.db", DBLocking: true,
			MemBufLimit: a.MemBufLimit, StorageType: "filesystem",
			// RequestResponse events can be large.
			SkipLongLines: true, BufferMaxSize: "1MB", RefreshInterval: 10,
		})
	}
	c.Pipeline.Filters = []Filter{{
		Name: "kubernetes", Alias: "kubernetes-metadata", Match: ContainerTag,
		KubeTagPrefix: kubeTagPrefix,
		// An application's JSON line becomes fields under MergedLogKey,
		// where they cannot collide with the metadata or @timestamp; the
		// raw line stays in MessageField, which log views display.
		MergeLog: true, MergeLogKey: MergedLogKey,
		Labels: ptr.To(true), Annotations: ptr.To(false),
		K8sLoggingParser: true, K8sLoggingExclude: true,
		BufferSize: "0",
	}}

	if e.FluentdEnabled() {
		c.Pipeline.Outputs = []Output{{
			Name: "forward", Alias: "fluentd", Match: "*",
			Host: fluentd.Host(e), Port: fluentd.ForwardPort,
			RequireAckResponse:    true,
			RetryLimit:            retryLimit,
			StorageTotalLimitSize: a.StorageLimit,
		}}
		return c, nil
	}
	streams, err := elasticsearch.Streams(e)
	if err != nil {
		return nil, err
	}
	tags := map[string]string{}
	for _, s := range sources(e) {
		tags[s.stream] = s.tag
	}
	for _, s := range streams {
		if s.Kind == elasticsearch.StreamEvents {
			// Shipped by the single events agent (events.go).
			continue
		}
		tag, ok := tags[s.Kind]
		if !ok {
			return nil, fmt.Errorf("no input feeds the %s stream", s.Kind)
		}
		c.Pipeline.Outputs = append(c.Pipeline.Outputs, esOutput(e, s, tag))
	}
	return c, nil
}

// esOutput writes the records matching tag to a stream's data stream.
func esOutput(e *env.Environment, s elasticsearch.Stream, tag string) Output {
	return Output{
		Name: "es", Alias: "es-" + s.Kind, Match: tag,
		Host: elasticsearch.Host(e), Port: elasticsearch.Port,
		TLS: true, TLSVerify: true, TLSVerifyHostname: true, TLSCAFile: caDir + "/" + elasticsearch.CAKey,
		HTTPUser: elasticsearch.User, HTTPPasswd: "${ES_PASSWORD}",
		Index: s.DataStream, WriteOperation: "create",
		SuppressTypeName: true, ReplaceDots: true, TraceError: true,
		RetryLimit:            retryLimit,
		StorageTotalLimitSize: e.Logging.Agent.StorageLimit,
	}
}

// Generate adds the agent when logging is on.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Logging.Enabled {
		return nil
	}
	cfg, err := BuildConfig(e)
	if err != nil {
		return fmt.Errorf("fluent-bit config: %w", err)
	}
	body, err := cfg.Marshal()
	if err != nil {
		return err
	}
	res, err := e.Logging.Agent.Resources.Requirements()
	if err != nil {
		return fmt.Errorf("logging.agent.resources: %w", err)
	}
	ns := e.Logging.Namespace
	version := stack.FluentBit.Version
	labels := stack.Labels(Name, "log-agent", version)
	selector := stack.SelectorLabels(Name, "log-agent")
	meta := func(name string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: labels}
	}
	clusterMeta := metav1.ObjectMeta{Name: Name, Labels: labels}

	sa := &corev1.ServiceAccount{ObjectMeta: meta(Name)}
	// The kubernetes filter reads pod and namespace metadata from the API
	// server (not from the kubelet, so nodes/proxy is not needed).
	role := &rbacv1.ClusterRole{
		ObjectMeta: clusterMeta,
		Rules: []rbacv1.PolicyRule{{
			APIGroups: []string{""}, Resources: []string{"pods", "namespaces"}, Verbs: []string{"get", "list", "watch"},
		}},
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: clusterMeta,
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: Name, Namespace: ns}},
	}
	cmMeta := meta(Name)
	// ${ES_PASSWORD} is Fluent Bit's to expand, never Flux's.
	cmMeta.Annotations = map[string]string{"kustomize.toolkit.fluxcd.io/substitute": "disabled"}
	cm := &corev1.ConfigMap{ObjectMeta: cmMeta, Data: map[string]string{path.Base(ConfigFile): string(body)}}

	ds := daemonSet(e, meta(Name), labels, selector, res, string(body))
	svc := &corev1.Service{
		ObjectMeta: meta(Name),
		Spec: corev1.ServiceSpec{
			Selector: selector,
			Ports:    []corev1.ServicePort{{Name: metricsPortName, Port: MetricsPort, TargetPort: intstr.FromString(metricsPortName), Protocol: corev1.ProtocolTCP}},
		},
	}
	// Only Prometheus reaches the agent; it sends wherever its outputs are.
	np := prometheus.ScrapeOnlyPolicy(e, meta(Name), selector, MetricsPort)
	s.Add(Component, stack.Content, sa, role, binding, cm, ds, svc, np)
	if e.EventsEnabled() {
		if err := eventsAgent(e, s); err != nil {
			return fmt.Errorf("kubernetes events agent: %w", err)
		}
	}
	if e.PrometheusEnabled() {
		sm := &monitoringv1.ServiceMonitor{
			ObjectMeta: meta(Name),
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector: metav1.LabelSelector{MatchLabels: selector},
				Endpoints: []monitoringv1.Endpoint{{
					Port: metricsPortName, Path: MetricsPath,
					Interval: monitoringv1.Duration(e.Monitoring.Prometheus.ScrapeInterval),
					// instance names the node, so alerts say where logs stall.
					RelabelConfigs: []monitoringv1.RelabelConfig{{
						Action: "replace", SourceLabels: []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"}, TargetLabel: "instance",
					}},
				}},
			},
		}
		s.Add(Component, stack.Content, sm, rules(e))
	}
	return nil
}

// daemonSet runs the agent on every node.
func daemonSet(e *env.Environment, meta metav1.ObjectMeta, labels, selector map[string]string, res corev1.ResourceRequirements, config string) *appsv1.DaemonSet {
	hostPath := func(name, p string, t corev1.HostPathType) corev1.Volume {
		return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: p, Type: ptr.To(t)}}}
	}
	volumes := []corev1.Volume{
		hostPath("varlog", "/var/log", corev1.HostPathDirectory),
		hostPath("journal", "/run/log/journal", corev1.HostPathDirectoryOrCreate),
		// libsystemd finds this machine's journal by its id.
		hostPath("machine-id", "/etc/machine-id", corev1.HostPathFile),
		hostPath("state", StateDir, corev1.HostPathDirectoryOrCreate),
		{Name: "config", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: Name}}}},
	}
	mounts := []corev1.VolumeMount{
		{Name: "varlog", MountPath: "/var/log", ReadOnly: true},
		{Name: "journal", MountPath: "/run/log/journal", ReadOnly: true},
		{Name: "machine-id", MountPath: "/etc/machine-id", ReadOnly: true},
		{Name: "state", MountPath: StateDir},
		{Name: "config", MountPath: configDir, ReadOnly: true},
	}
	if e.AuditEnabled() && !strings.HasPrefix(e.Audit.LogPath, "/var/log/") {
		dir := path.Dir(e.Audit.LogPath)
		volumes = append(volumes, hostPath("audit", dir, corev1.HostPathDirectoryOrCreate))
		mounts = append(mounts, corev1.VolumeMount{Name: "audit", MountPath: dir, ReadOnly: true})
	}
	var envs []corev1.EnvVar
	if !e.FluentdEnabled() {
		volumes = append(volumes, corev1.Volume{Name: "elasticsearch-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: elasticsearch.CASecret(), Items: []corev1.KeyToPath{{Key: elasticsearch.CAKey, Path: elasticsearch.CAKey}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "elasticsearch-ca", MountPath: caDir, ReadOnly: true})
		envs = []corev1.EnvVar{{Name: "ES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: elasticsearch.ElasticUserSecret()}, Key: elasticsearch.ElasticUserKey,
		}}}}
	}
	var tolerations []corev1.Toleration
	if e.Logging.Agent.TolerateAllTaints {
		// Every node ships its logs, control-plane nodes (and their audit
		// log) included.
		tolerations = []corev1.Toleration{{Operator: corev1.TolerationOpExists}}
	}
	httpGet := func(p string) corev1.ProbeHandler {
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: p, Port: intstr.FromString(metricsPortName)}}
	}
	return &appsv1.DaemonSet{
		ObjectMeta: meta,
		Spec: appsv1.DaemonSetSpec{
			Selector: &metav1.LabelSelector{MatchLabels: selector},
			UpdateStrategy: appsv1.DaemonSetUpdateStrategy{
				Type:          appsv1.RollingUpdateDaemonSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateDaemonSet{MaxUnavailable: ptr.To(intstr.FromString("10%"))},
			},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels: labels,
					// A new configuration rolls the pods.
					Annotations: map[string]string{"vigil.dev/config-hash": hash(config)},
				},
				Spec: corev1.PodSpec{
					ServiceAccountName: Name,
					// A node agent: evicting it under pressure loses the
					// logs that explain the pressure.
					PriorityClassName: "system-node-critical",
					NodeSelector:      map[string]string{"kubernetes.io/os": "linux"},
					Tolerations:       tolerations,
					// Outputs flush for Grace seconds on SIGTERM.
					TerminationGracePeriodSeconds: ptr.To[int64](30),
					SecurityContext: &corev1.PodSecurityContext{
						SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
					},
					Containers: []corev1.Container{{
						Name:    Name,
						Image:   stack.FluentBit.Ref(),
						Command: []string{"/fluent-bit/bin/fluent-bit"},
						Args:    []string{"--config=" + ConfigFile},
						Env:     envs,
						Ports:   []corev1.ContainerPort{{Name: metricsPortName, ContainerPort: MetricsPort, Protocol: corev1.ProtocolTCP}},
						// Both probes only ask whether the process serves, not
						// whether outputs succeed: an unreachable
						// Elasticsearch must neither restart the agents nor
						// stall a rollout of a new configuration.
						LivenessProbe:  &corev1.Probe{ProbeHandler: httpGet("/"), PeriodSeconds: 30},
						ReadinessProbe: &corev1.Probe{ProbeHandler: httpGet("/"), PeriodSeconds: 30},
						Resources:      res,
						// Root, but without any capability: the log files, the
						// journal and the audit log belong to root and are not
						// world-readable, and root reads them as their owner.
						// Nothing else is allowed.
						SecurityContext: &corev1.SecurityContext{
							RunAsUser:                ptr.To[int64](0),
							RunAsNonRoot:             ptr.To(false),
							ReadOnlyRootFilesystem:   ptr.To(true),
							AllowPrivilegeEscalation: ptr.To(false),
							Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
						VolumeMounts: mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
}
