// Package audit owns the Kubernetes audit policy: the audit.k8s.io/v1
// Policy kube-apiserver applies, and the instructions to install it on the
// control-plane nodes. Collection is the log agent's (package fluentbit
// tails audit.logPath into its own data stream and lifecycle).
//
// kube-apiserver reads its policy from a file on each control-plane node,
// not from the cluster, so Vigil cannot apply it: the policy is published
// as a ConfigMap in kube-system (audit-policy, with the policy and a README
// of the flags and mounts) and returned as bytes by PolicyFile, for the CLI
// or the node provisioning to write to audit.policyPath. Audit collection
// is only valid on a self-managed control plane; the environment check
// refuses it on a managed one, whose provider keeps the audit log.
//
// The policy: the RequestReceived stage is omitted (every request would be
// logged twice) and so are managed fields; Secrets, ConfigMaps, token
// requests and token and access reviews are logged at Metadata only, so
// their contents never reach the log; health, version, metrics and OpenAPI
// endpoints, leases, events and the system components' own polling are not
// logged at all; everything else at audit.level.
package audit

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Names.
const (
	Component = "audit"
	// ConfigMapName is the ConfigMap in kube-system holding the policy.
	ConfigMapName = "audit-policy"
	// Namespace is where the ConfigMap lives, next to kube-apiserver.
	Namespace = "kube-system"
	// PolicyKey and ReadmeKey are the ConfigMap's keys.
	PolicyKey = "audit-policy.yaml"
	ReadmeKey = "README.md"
)

// Local rotation of the audit log on each control-plane node. The log
// agent ships it within seconds, and Elasticsearch keeps it for
// audit.retention, so the node keeps only enough to ride out an agent
// outage: ten files of 100 MB, at most a week old.
const (
	maxAgeDays = 7
	maxBackups = 10
	maxSizeMB  = 100
)

// Policy builds the audit policy of an environment.
func Policy(e *env.Environment) (*auditv1.Policy, error) {
	level := auditv1.Level(e.Audit.Level)
	switch level {
	case auditv1.LevelNone, auditv1.LevelMetadata, auditv1.LevelRequest, auditv1.LevelRequestResponse:
	default:
		return nil, fmt.Errorf("audit.level: unknown level %q", e.Audit.Level)
	}
	core := func(resources ...string) auditv1.GroupResources {
		return auditv1.GroupResources{Group: "", Resources: resources}
	}
	return &auditv1.Policy{
		TypeMeta:          metav1.TypeMeta{APIVersion: auditv1.SchemeGroupVersion.String(), Kind: "Policy"},
		OmitStages:        []auditv1.Stage{auditv1.StageRequestReceived},
		OmitManagedFields: true,
		Rules: []auditv1.PolicyRule{
			// Probes, discovery and scrapes: high volume, no security value.
			{Level: auditv1.LevelNone, NonResourceURLs: []string{"/healthz*", "/livez*", "/readyz*", "/version", "/metrics", "/openapi*", "/swagger*"}},
			// Node heartbeats and leader elections renew leases every few
			// seconds; events are a log of their own.
			{Level: auditv1.LevelNone, Resources: []auditv1.GroupResources{{Group: "coordination.k8s.io", Resources: []string{"leases"}}}},
			{Level: auditv1.LevelNone, Resources: []auditv1.GroupResources{core("events"), {Group: "events.k8s.io", Resources: []string{"events"}}}},
			// The system components' constant polling.
			{Level: auditv1.LevelNone, Users: []string{"system:kube-proxy"}, Verbs: []string{"watch"},
				Resources: []auditv1.GroupResources{core("endpoints", "services", "services/status"), {Group: "discovery.k8s.io", Resources: []string{"endpointslices"}}}},
			{Level: auditv1.LevelNone, UserGroups: []string{"system:nodes"}, Verbs: []string{"get"}, Resources: []auditv1.GroupResources{core("nodes", "nodes/status")}},
			{Level: auditv1.LevelNone, Users: []string{"system:kube-controller-manager", "system:kube-scheduler"}, Verbs: []string{"get", "update"},
				Namespaces: []string{"kube-system"}, Resources: []auditv1.GroupResources{core("endpoints", "configmaps")}},
			// Never the contents of secrets or credentials: who touched
			// them, when and how is enough.
			{Level: auditv1.LevelMetadata, Resources: []auditv1.GroupResources{
				core("secrets", "configmaps", "serviceaccounts/token"),
				{Group: "authentication.k8s.io", Resources: []string{"tokenreviews"}},
				{Group: "authorization.k8s.io", Resources: []string{"subjectaccessreviews", "selfsubjectaccessreviews", "localsubjectaccessreviews"}},
			}},
			{Level: level},
		},
	}, nil
}

// filePath is schema #FilePath, less the . and .. segments check, which
// changes nothing for a comment.
var filePath = regexp.MustCompile(`^(/[-_.a-zA-Z0-9]+){2,}$`)

// PolicyFile is the policy as the file kube-apiserver reads from
// audit.policyPath, with a header saying where it comes from.
func PolicyFile(e *env.Environment) ([]byte, error) {
	p, err := Policy(e)
	if err != nil {
		return nil, err
	}
	b, err := yaml.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("audit policy: %w", err)
	}
	// The header is the only text around the encoded policy: a path
	// outside the schema's grammar (a newline, say) would start a second
	// YAML document, and kube-apiserver reads the first. The schema and
	// the loader refuse such a path; this guards callers that build an
	// environment in Go.
	for _, p := range []string{e.Audit.PolicyPath, e.Audit.LogPath} {
		if !filePath.MatchString(p) {
			return nil, fmt.Errorf("audit: path %q is not an absolute file path of letters, digits, '-', '_' and '.'", p)
		}
	}
	header := fmt.Sprintf("# Kubernetes audit policy of environment %s, generated by Vigil.\n# Install it on every control-plane node at %s.\n", e.Name, e.Audit.PolicyPath)
	return append([]byte(header), b...), nil
}

// APIServerFlags are the kube-apiserver flags that enable the policy and
// the log file.
func APIServerFlags(e *env.Environment) []string {
	return []string{
		"--audit-policy-file=" + e.Audit.PolicyPath,
		"--audit-log-path=" + e.Audit.LogPath,
		fmt.Sprintf("--audit-log-maxage=%d", maxAgeDays),
		fmt.Sprintf("--audit-log-maxbackup=%d", maxBackups),
		fmt.Sprintf("--audit-log-maxsize=%d", maxSizeMB),
	}
}

// Readme explains how to install the policy on the control-plane nodes,
// for kubeadm clusters in particular, where kube-apiserver is a static pod
// that needs the policy file and the log directory mounted.
func Readme(e *env.Environment) string {
	var b strings.Builder
	fmt.Fprintf(&b, "# Kubernetes audit logging for %s\n\n", e.Name)
	fmt.Fprintf(&b, "kube-apiserver reads its audit policy from a file on each control-plane node.\n")
	fmt.Fprintf(&b, "Vigil cannot apply it through the cluster; on every control-plane node:\n\n")
	fmt.Fprintf(&b, "1. Write `%s` (key `%s` of ConfigMap `%s/%s`) to `%s`.\n", PolicyKey, PolicyKey, Namespace, ConfigMapName, e.Audit.PolicyPath)
	fmt.Fprintf(&b, "2. Start kube-apiserver with:\n\n")
	for _, f := range APIServerFlags(e) {
		fmt.Fprintf(&b, "       %s\n", f)
	}
	logDir := e.Audit.LogPath[:strings.LastIndex(e.Audit.LogPath, "/")]
	fmt.Fprintf(&b, "\n3. On kubeadm clusters, mount both paths into the static pod: in ClusterConfiguration,\n")
	fmt.Fprintf(&b, "   `apiServer.extraArgs` takes the flags above (without the leading dashes) and\n")
	fmt.Fprintf(&b, "   `apiServer.extraVolumes` two hostPath volumes:\n\n")
	fmt.Fprintf(&b, "       - name: audit-policy, hostPath: %s, mountPath: %s, readOnly: true, pathType: File\n", e.Audit.PolicyPath, e.Audit.PolicyPath)
	fmt.Fprintf(&b, "       - name: audit-log, hostPath: %s, mountPath: %s, readOnly: false, pathType: DirectoryOrCreate\n", logDir, logDir)
	fmt.Fprintf(&b, "\nFluent Bit tails %s on the control-plane nodes (it tolerates their taints) into the\n", e.Audit.LogPath)
	fmt.Fprintf(&b, "data stream logs-kubernetes.audit-default, kept %s.\n", e.Audit.Retention)
	return b.String()
}

// Generate adds the policy ConfigMap when audit collection is on.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.AuditEnabled() {
		return nil
	}
	policy, err := PolicyFile(e)
	if err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{
			Name: ConfigMapName, Namespace: Namespace,
			Labels: stack.Labels("audit-policy", "audit", ""),
		},
		Data: map[string]string{PolicyKey: string(policy), ReadmeKey: Readme(e)},
	}
	s.Add(Component, stack.Content, cm)
	return nil
}
