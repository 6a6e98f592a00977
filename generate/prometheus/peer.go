package prometheus

import (
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
)

// Peer selects the stack's Prometheus pods in the monitoring namespace: the
// "from" of every NetworkPolicy rule that lets Prometheus scrape.
func Peer(e *env.Environment) networkingv1.NetworkPolicyPeer {
	return networkingv1.NetworkPolicyPeer{
		NamespaceSelector: &metav1.LabelSelector{MatchLabels: map[string]string{corev1.LabelMetadataName: e.Monitoring.Namespace}},
		PodSelector:       &metav1.LabelSelector{MatchLabels: PodSelector()},
	}
}

// ScrapeOnlyPolicy is the NetworkPolicy of a workload (selected by selector)
// that only the stack's Prometheus reaches, on the given TCP ports. It
// restricts ingress alone; OpenEgress adds an explicit open egress.
func ScrapeOnlyPolicy(e *env.Environment, meta metav1.ObjectMeta, selector map[string]string, ports ...int32) *networkingv1.NetworkPolicy {
	return &networkingv1.NetworkPolicy{
		ObjectMeta: meta,
		Spec: networkingv1.NetworkPolicySpec{
			PodSelector: metav1.LabelSelector{MatchLabels: selector},
			PolicyTypes: []networkingv1.PolicyType{networkingv1.PolicyTypeIngress},
			Ingress:     []networkingv1.NetworkPolicyIngressRule{ScrapeRule(e, ports...)},
		},
	}
}

// OpenEgress makes np govern egress too, open to every destination: for
// workloads whose destinations (the API server, probe targets) have
// addresses only the cluster knows.
func OpenEgress(np *networkingv1.NetworkPolicy) *networkingv1.NetworkPolicy {
	np.Spec.PolicyTypes = append(np.Spec.PolicyTypes, networkingv1.PolicyTypeEgress)
	np.Spec.Egress = []networkingv1.NetworkPolicyEgressRule{{}}
	return np
}

// ScrapeRule admits the stack's Prometheus to the given TCP ports: the
// ingress rule of every exporter's NetworkPolicy.
func ScrapeRule(e *env.Environment, ports ...int32) networkingv1.NetworkPolicyIngressRule {
	r := networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{Peer(e)}}
	for _, p := range ports {
		r.Ports = append(r.Ports, tcp(p))
	}
	return r
}
