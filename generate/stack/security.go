package stack

import corev1 "k8s.io/api/core/v1"

// RestrictedContainer is the securityContext of a container that meets the
// Pod Security "restricted" level and writes nothing outside its volumes.
// Components that need more say why next to their own securityContext.
func RestrictedContainer() *corev1.SecurityContext {
	yes, no := true, false
	return &corev1.SecurityContext{
		RunAsNonRoot:             &yes,
		ReadOnlyRootFilesystem:   &yes,
		AllowPrivilegeEscalation: &no,
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
