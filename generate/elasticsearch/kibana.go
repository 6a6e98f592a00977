package elasticsearch

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// kibana adds the Kibana resource, the Job that imports Vigil's saved
// objects (kibanacontent.go) and, when a host is set, its Ingress.
func kibana(e *env.Environment, s *stack.Set) error {
	kb := e.Logging.Kibana
	res, err := kb.Resources.Requirements()
	if err != nil {
		return err
	}
	version := e.Logging.Elasticsearch.Version
	labels := stack.Labels("kibana", "log-ui", version)
	major, _, err := majorMinor(version)
	if err != nil {
		return err
	}
	sc := esSecurityContext(major)
	k := &Kibana{
		ObjectMeta: metav1.ObjectMeta{Name: KibanaName, Namespace: e.Logging.Namespace, Labels: labels},
		Spec: KibanaSpec{
			// Kibana runs the version of the cluster it fronts.
			Version:          version,
			Count:            int32(kb.Replicas),
			ElasticsearchRef: ObjectSelector{Name: Name},
			PodTemplate: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name:      "kibana",
					Resources: res,
					// ECK mounts writable data, logs and temp volumes, so the
					// root file system can be read-only (pkg/controller/kibana).
					SecurityContext: sc,
				}}},
			},
		},
	}
	s.Add(KibanaComponent, stack.Instances, k)
	if err := kibanaContent(e, s); err != nil {
		return fmt.Errorf("saved objects: %w", err)
	}
	if kb.Ingress.Host == "" {
		return nil
	}
	ing := &networkingv1.Ingress{
		ObjectMeta: metav1.ObjectMeta{
			Name: KibanaName + "-kibana", Namespace: e.Logging.Namespace, Labels: labels,
			// Kibana serves HTTPS only (ECK's self-signed certificate).
			Annotations: map[string]string{"nginx.ingress.kubernetes.io/backend-protocol": "HTTPS"},
		},
		Spec: networkingv1.IngressSpec{
			IngressClassName: ptr.To(e.Cluster.IngressClassName),
			Rules: []networkingv1.IngressRule{{
				Host: kb.Ingress.Host,
				IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
					Paths: []networkingv1.HTTPIngressPath{{
						Path:     "/",
						PathType: ptr.To(networkingv1.PathTypePrefix),
						Backend: networkingv1.IngressBackend{Service: &networkingv1.IngressServiceBackend{
							Name: KibanaService(), Port: networkingv1.ServiceBackendPort{Number: KibanaPort},
						}},
					}},
				}},
			}},
		},
	}
	if kb.Ingress.TLSSecret != "" {
		ing.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{kb.Ingress.Host}, SecretName: kb.Ingress.TLSSecret}}
	}
	s.Add(KibanaComponent, stack.Instances, ing)
	return nil
}
