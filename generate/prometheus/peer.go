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

// ScrapeRule admits the stack's Prometheus to the given TCP ports: the
// ingress rule of every exporter's NetworkPolicy.
func ScrapeRule(e *env.Environment, ports ...int32) networkingv1.NetworkPolicyIngressRule {
	r := networkingv1.NetworkPolicyIngressRule{From: []networkingv1.NetworkPolicyPeer{Peer(e)}}
	for _, p := range ports {
		r.Ports = append(r.Ports, tcp(p))
	}
	return r
}
