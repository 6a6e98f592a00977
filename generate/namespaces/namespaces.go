// Package namespaces owns the Namespace objects of an environment: one for
// each enabled part of the stack (monitoring, logging and the ECK operator,
// the Spark Operator and its job namespaces, tracing), labelled with
// cluster.labels and the recommended labels.
//
// It also answers two questions other generators ask: which namespaces Vigil
// renders (Rendered), and in which namespaces Prometheus must be allowed to
// discover monitors, rules and targets (Monitored, stack.md rule 8).
//
// A namespace listed in cluster.existingNamespaces, or one of Kubernetes' own
// (default, kube-system, kube-public, kube-node-lease), is never rendered:
// Flux prunes what it applied, and a Namespace it does not own must never be
// deleted with everything in it when the environment changes.
package namespaces

import (
	"slices"
	"sort"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the name of this generator's base.
const Component = "namespaces"

// ECKOperator is the namespace of the Elastic Cloud on Kubernetes operator,
// rendered whenever logging is on (stack.md §5: the operator and its
// validating webhook live in elastic-system).
const ECKOperator = "elastic-system"

// builtin are the namespaces every cluster has; Vigil never renders them.
var builtin = []string{"default", "kube-system", "kube-public", "kube-node-lease"}

// AlwaysMonitored are the namespaces Prometheus discovers targets in on every
// cluster (the kubelet Service lives in kube-system), as kube-prometheus does.
var AlwaysMonitored = []string{"default", "kube-system"}

// purpose is one namespace with what it is for (it names the
// app.kubernetes.io/name label of the Namespace).
type purpose struct{ name, app string }

// wanted lists every namespace the enabled components need, in a fixed
// order, before existing ones are removed. Duplicates are possible (two
// components configured into one namespace) and removed by the callers.
func wanted(e *env.Environment) []purpose {
	var out []purpose
	if e.Monitoring.Enabled {
		out = append(out, purpose{e.Monitoring.Namespace, "monitoring"})
	}
	if e.Logging.Enabled {
		out = append(out, purpose{e.Logging.Namespace, "logging"}, purpose{ECKOperator, "eck-operator"})
	}
	if e.Spark.Enabled {
		out = append(out, purpose{e.Spark.Operator.Namespace, "spark-operator"})
		for _, ns := range e.Spark.Operator.JobNamespaces {
			out = append(out, purpose{ns, "spark-jobs"})
		}
	}
	if e.Tracing.Enabled {
		out = append(out, purpose{e.Tracing.Namespace, "tracing"})
	}
	return out
}

// owned reports whether Vigil may render (and so prune) namespace ns.
func owned(e *env.Environment, ns string) bool {
	return !slices.Contains(builtin, ns) && !slices.Contains(e.Cluster.ExistingNamespaces, ns)
}

// Rendered returns the names of the Namespaces Vigil renders for e, sorted
// and without duplicates. Every other generator may rely on these existing
// from the Namespaces layer on.
func Rendered(e *env.Environment) []string {
	var out []string
	for _, p := range wanted(e) {
		if owned(e, p.name) {
			out = append(out, p.name)
		}
	}
	return sortedUnique(out)
}

// Monitored returns every namespace Prometheus must be allowed to discover
// ServiceMonitors, PodMonitors, rules and targets in: the rendered ones, the
// Spark job namespaces even when another team created them, default,
// kube-system and monitoring.prometheus.extraNamespaces; sorted, without
// duplicates. The Prometheus generator gives its ServiceAccount a Role in
// each of them (stack.md rule 8: kube-prometheus grants only default,
// kube-system and monitoring, so Spark and logging targets stay invisible).
func Monitored(e *env.Environment) []string {
	out := append(Rendered(e), AlwaysMonitored...)
	if e.Spark.Enabled {
		out = append(out, e.Spark.Operator.JobNamespaces...)
	}
	out = append(out, e.Monitoring.Prometheus.ExtraNamespaces...)
	return sortedUnique(out)
}

// Generate adds a Namespace for every name of Rendered, in the Namespaces
// layer.
func Generate(e *env.Environment, s *stack.Set) error {
	seen := map[string]bool{}
	for _, p := range wanted(e) {
		if seen[p.name] || !owned(e, p.name) {
			continue
		}
		seen[p.name] = true
		ns := namespace(e, p)
		for k, v := range podSecurity(e, p.name) {
			ns.Labels[k] = v
		}
		s.Add(Component, stack.Namespaces, ns)
	}
	return nil
}

// podSecurity returns the Pod Security admission labels of a namespace.
// Where a node agent runs (node-exporter needs the host's network, PIDs and
// file systems; Fluent Bit and the vm.max_map_count DaemonSet use the host)
// the namespace must admit privileged pods, or a cluster that enforces Pod
// Security by default would refuse them. Elsewhere Vigil only warns and
// audits at "restricted": enforcing it would also bind the users' own Spark
// jobs and upstream operators, which Vigil does not control.
func podSecurity(e *env.Environment, ns string) map[string]string {
	l := map[string]string{
		"pod-security.kubernetes.io/warn":  "restricted",
		"pod-security.kubernetes.io/audit": "restricted",
	}
	if (e.Monitoring.Enabled && e.Monitoring.NodeExporter.Enabled && ns == e.Monitoring.Namespace) ||
		(e.Logging.Enabled && ns == e.Logging.Namespace) {
		l["pod-security.kubernetes.io/enforce"] = "privileged"
		delete(l, "pod-security.kubernetes.io/warn")
		delete(l, "pod-security.kubernetes.io/audit")
	}
	return l
}

func namespace(e *env.Environment, p purpose) *corev1.Namespace {
	// cluster.labels first, so that a fleet-wide label can never replace a
	// recommended label that selectors or tools rely on.
	labels := map[string]string{}
	for k, v := range e.Cluster.Labels {
		labels[k] = v
	}
	for k, v := range stack.Labels(p.app, "namespace", "") {
		labels[k] = v
	}
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: p.name, Labels: labels}}
}

func sortedUnique(in []string) []string {
	out := slices.Clone(in)
	sort.Strings(out)
	return slices.Compact(out)
}
