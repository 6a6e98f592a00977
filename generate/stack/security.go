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

// Nobody is the uid and gid of pods that need no identity of their own.
const Nobody int64 = 65534

// NobodyPod is the pod securityContext of such pods: non-root as nobody,
// with the runtime's default seccomp profile (Pod Security "restricted").
func NobodyPod() *corev1.PodSecurityContext {
	uid, yes := Nobody, true
	gid := Nobody
	return &corev1.PodSecurityContext{
		RunAsUser:      &uid,
		RunAsGroup:     &gid,
		RunAsNonRoot:   &yes,
		SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}
