package elasticsearch

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names other components use.
const (
	// Component is the stack component of the cluster and everything that
	// serves it; OperatorComponent and KibanaComponent are the others.
	Component         = "elasticsearch"
	OperatorComponent = "eck-operator"
	KibanaComponent   = "kibana"

	// Name is the Elasticsearch resource, and so the prefix of everything
	// ECK creates for it.
	Name = "logging"
	// KibanaName is the Kibana resource.
	KibanaName = "logging"

	// Port is the HTTPS port of the cluster's Service.
	Port = 9200
	// TransportPort is the node-to-node port.
	TransportPort = 9300
	// KibanaPort is the HTTPS port of Kibana's Service.
	KibanaPort = 5601

	// User is the user the log agents, the bootstrap Job and the exporter
	// authenticate as: the superuser ECK creates.
	User = "elastic"
	// ElasticUserKey is the key of the elastic user's password in
	// ElasticUserSecret.
	ElasticUserKey = "elastic"
	// CAKey is the key of the CA certificate in CASecret.
	CAKey = "ca.crt"

	// DataVolume is the claim template ECK mounts at the data path.
	DataVolume = "elasticsearch-data"
	// container is the name of ECK's Elasticsearch container.
	container = "elasticsearch"
)

// HTTPService is the Service ECK creates for the cluster's HTTP API.
func HTTPService() string { return Name + "-es-http" }

// ElasticUserSecret is the Secret ECK creates with the elastic user's
// password (key ElasticUserKey), in logging.namespace.
func ElasticUserSecret() string { return Name + "-es-elastic-user" }

// CASecret is the Secret ECK publishes the HTTP CA in (key CAKey), in
// logging.namespace.
func CASecret() string { return Name + "-es-http-certs-public" }

// Host is the cluster's in-cluster DNS name; it is among the names of the
// HTTP certificate ECK issues.
func Host(e *env.Environment) string { return HTTPService() + "." + e.Logging.Namespace + ".svc" }

// URL is the base URL of the cluster's API.
func URL(e *env.Environment) string { return "https://" + Host(e) + ":" + strconv.Itoa(Port) }

// KibanaService is the Service ECK creates for Kibana.
func KibanaService() string { return KibanaName + "-kb-http" }

// PodSelector selects the Elasticsearch pods; ECK labels them so.
func PodSelector() map[string]string {
	return map[string]string{"elasticsearch.k8s.elastic.co/cluster-name": Name}
}

// MaxMapCount is the vm.max_map_count an Elasticsearch version needs:
// 1048576 from 8.16 on, 262144 before.
func MaxMapCount(version string) (int, error) {
	major, minor, err := majorMinor(version)
	if err != nil {
		return 0, err
	}
	if major > 8 || (major == 8 && minor >= 16) {
		return 1048576, nil
	}
	return 262144, nil
}

func majorMinor(version string) (int, int, error) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("version %q is not major.minor.patch", version)
	}
	major, err1 := strconv.Atoi(parts[0])
	minor, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("version %q is not major.minor.patch", version)
	}
	return major, minor, nil
}

// dataRoles are the roles that hold shards.
var dataRoles = []string{"data", "data_content", "data_hot", "data_warm", "data_cold"}

// DataNodes counts the nodes that hold shards: an index can have a replica
// only when there are at least two.
func DataNodes(e *env.Environment) int {
	n := 0
	for _, ns := range e.Logging.Elasticsearch.NodeSets {
		for _, r := range ns.Roles {
			if slices.Contains(dataRoles, r) {
				n += ns.Count
				break
			}
		}
	}
	return n
}

// Generate adds ECK, the cluster, Kibana, the index lifecycle bootstrap,
// the exporter and the alert rules. It adds nothing when logging is off.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.Logging.Enabled {
		return nil
	}
	if err := operator(e, s); err != nil {
		return fmt.Errorf("eck operator: %w", err)
	}
	es, err := cluster(e)
	if err != nil {
		return fmt.Errorf("logging.elasticsearch: %w", err)
	}
	s.Add(Component, stack.Instances, es, networkPolicy(e))
	if e.Logging.Elasticsearch.MaxMapCount == "daemonset" {
		ds, err := sysctlDaemonSet(e)
		if err != nil {
			return err
		}
		s.Add(Component, stack.Node, ds)
	}
	if err := bootstrap(e, s); err != nil {
		return fmt.Errorf("index lifecycle bootstrap: %w", err)
	}
	if e.KibanaEnabled() {
		if err := kibana(e, s); err != nil {
			return fmt.Errorf("logging.kibana: %w", err)
		}
	}
	// The exporter and the rules serve Prometheus only.
	if e.PrometheusEnabled() {
		if err := exporter(e, s); err != nil {
			return fmt.Errorf("elasticsearch exporter: %w", err)
		}
		s.Add(Component, stack.Content, rules(e))
	}
	return nil
}

// cluster builds the Elasticsearch resource.
func cluster(e *env.Environment) (*Elasticsearch, error) {
	es := e.Logging.Elasticsearch
	major, minor, err := majorMinor(es.Version)
	if err != nil {
		return nil, err
	}
	if major < 7 || (major == 7 && minor < 13) {
		// Data streams, composable templates and max_primary_shard_size.
		return nil, fmt.Errorf("version %s: Vigil's data streams and lifecycle policies need Elasticsearch 7.13 or later", es.Version)
	}
	mapCount, err := MaxMapCount(es.Version)
	if err != nil {
		return nil, err
	}
	out := &Elasticsearch{
		ObjectMeta: metav1.ObjectMeta{Name: Name, Namespace: e.Logging.Namespace, Labels: stack.Labels("elasticsearch", "log-store", es.Version)},
		Spec:       ElasticsearchSpec{Version: es.Version},
	}
	for _, name := range env.SortedKeys(es.NodeSets) {
		ns := es.NodeSets[name]
		set, err := nodeSet(e, name, ns, major, mapCount)
		if err != nil {
			return nil, fmt.Errorf("nodeSets.%s: %w", name, err)
		}
		out.Spec.NodeSets = append(out.Spec.NodeSets, set)
	}
	if e.SnapshotsEnabled() {
		if out.Spec.SecureSettings, err = secureSettings(e); err != nil {
			return nil, err
		}
		// Every node talks to the repository (each writes its own shards).
		for i := range out.Spec.NodeSets {
			if err := s3ClientConfig(e, out.Spec.NodeSets[i].Config); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

func nodeSet(e *env.Environment, name string, ns env.NodeSet, major, mapCount int) (NodeSet, error) {
	es := e.Logging.Elasticsearch
	memory, err := resource.ParseQuantity(ns.Memory)
	if err != nil {
		return NodeSet{}, fmt.Errorf("memory: %w", err)
	}
	cpu, err := resource.ParseQuantity(ns.CPU)
	if err != nil {
		return NodeSet{}, fmt.Errorf("cpu: %w", err)
	}
	size, err := resource.ParseQuantity(ns.Storage.Size)
	if err != nil {
		return NodeSet{}, fmt.Errorf("storage.size: %w", err)
	}
	c := corev1.Container{
		Name: container,
		// Requests equal the memory limit: Elasticsearch sizes its heap
		// from the limit (half of it), and a node that is short of memory
		// must not be chosen for it. No CPU limit: throttling a JVM stalls
		// garbage collection.
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: cpu, corev1.ResourceMemory: memory},
			Limits:   corev1.ResourceList{corev1.ResourceMemory: memory},
		},
		SecurityContext: esSecurityContext(major),
	}
	if ns.Heap != "" {
		// An explicit heap overrides the automatic sizing; the check of the
		// environment keeps it at most half of the limit.
		c.Env = []corev1.EnvVar{{Name: "ES_JAVA_OPTS", Value: "-Xms" + ns.Heap + " -Xmx" + ns.Heap}}
	}
	spec := corev1.PodSpec{Containers: []corev1.Container{c}}
	config := &NodeConfig{Roles: append([]string{}, ns.Roles...)}
	switch es.MaxMapCount {
	case "disable-mmap":
		config.AllowMmap = ptr.To(false)
	case "init-container":
		spec.InitContainers = []corev1.Container{sysctlContainer(mapCount)}
	}
	labels := stack.Labels("elasticsearch", "log-store", es.Version)
	return NodeSet{
		Name:        name,
		Count:       int32(ns.Count),
		Config:      config,
		PodTemplate: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
			ObjectMeta: metav1.ObjectMeta{Name: DataVolume},
			Spec: corev1.PersistentVolumeClaimSpec{
				AccessModes:      []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				StorageClassName: ptr.To(env.StorageClassName(ns.Storage.Role)),
				Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
			},
		}},
	}, nil
}

// esSecurityContext is the context ECK itself gives the Elasticsearch
// container (pkg/controller/elasticsearch/securitycontext), written out so
// that it is visible and reviewed. Images before 8.0 may start as root and
// need their capabilities to fix file ownership, so they keep them.
func esSecurityContext(major int) *corev1.SecurityContext {
	sc := &corev1.SecurityContext{
		Privileged:               ptr.To(false),
		AllowPrivilegeEscalation: ptr.To(false),
	}
	if major < 8 {
		return sc
	}
	// The data path is the elasticsearch-data volume, so the root file
	// system can be read-only (ECK enables it in exactly that case).
	sc.ReadOnlyRootFilesystem = ptr.To(true)
	sc.RunAsNonRoot = ptr.To(true)
	sc.Capabilities = &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}
	sc.SeccompProfile = &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}
	return sc
}

// networkPolicy admits to the Elasticsearch pods only what uses them: the
// logging namespace (log agents, Kibana, the bootstrap Job, the exporter),
// the ECK operator, Grafana's Elasticsearch data source in the monitoring
// namespace, Jaeger in the tracing namespace, and the nodes among
// themselves on the transport port.
func networkPolicy(e *env.Environment) *networkingv1.NetworkPolicy {
	nsPeer := func(ns string) networkingv1.NetworkPolicyPeer {
		return networkingv1.NetworkPolicyPeer{NamespaceSelector: &metav1.LabelSelector{
			MatchLabels: map[string]string{"kubernetes.io/metadata.name": ns},
		}}
	}
	clients := []networkingv1.NetworkPolicyPeer{nsPeer(e.Logging.Namespace), nsPeer(OperatorNamespace)}
	if e.Monitoring.Enabled && e.Monitoring.Namespace != e.Logging.Namespace {
		clients = append(clients, nsPeer(e.Monitoring.Namespace))
	}
	if e.Tracing.Enabled && e.Tracing.Backend == env.BackendJaeger && e.Tracing.Namespace != e.Logging.Namespace {
		clients = append(clients, nsPeer(e.Tracing.Namespace))
	}
	tcp := func(p int32) networkingv1.NetworkPolicyPort {
		return networkingv1.NetworkPolicyPort{Protocol: ptr.To(corev1.ProtocolTCP), Port: ptr.To(intstr.FromInt32(p))}
	}
	return &networkingv1.NetworkPolicy{
		ObjectMeta: metav1.ObjectMeta{Name: Name + "-elasticsearch", Namespace: e.Logging.Namespace, Labels: stack.Labels("elasticsearch", "log-store", "")},
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: PodSelector()},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress: []networkingv1.NetworkPolicyIngressRule{
				{From: clients, Ports: []networkingv1.NetworkPolicyPort{tcp(Port)}},
				{
					From:  []networkingv1.NetworkPolicyPeer{{PodSelector: &metav1.LabelSelector{MatchLabels: PodSelector()}}},
					Ports: []networkingv1.NetworkPolicyPort{tcp(TransportPort)},
				},
			},
		},
	}
}

// small is the footprint of one-shot helper containers (sysctl, curl).
func small() corev1.ResourceRequirements {
	return corev1.ResourceRequirements{
		Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("10m"), corev1.ResourceMemory: resource.MustParse("16Mi")},
		Limits:   corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("32Mi")},
	}
}
