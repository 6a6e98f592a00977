package tracing

import (
	"crypto/sha256"
	"encoding/hex"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// checksumAnnotation on a pod template carries the hash of the
// configuration file, so that a configuration change rolls the pods (none
// of these programs reloads its file).
const checksumAnnotation = "vigil.dev/config-sha256"

// configFile marshals a configuration struct to YAML. sigs.k8s.io/yaml goes
// through JSON, so keys come out sorted and the file is stable.
func configFile(v any) (string, string, error) {
	b, err := yaml.Marshal(v)
	if err != nil {
		return "", "", err
	}
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:]), nil
}

func meta(name, namespace string, labels map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels}
}

// podSecurity runs a pod as uid, with group and fsGroup the same, so that
// a fresh volume is writable for it.
func podSecurity(uid int64) *corev1.PodSecurityContext {
	return &corev1.PodSecurityContext{
		RunAsNonRoot:        ptr(true),
		RunAsUser:           ptr(uid),
		RunAsGroup:          ptr(uid),
		FSGroup:             ptr(uid),
		FSGroupChangePolicy: ptr(corev1.FSGroupChangeOnRootMismatch),
		SeccompProfile:      &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func secretEnv(name string, ref env.SecretRef) corev1.EnvVar {
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
		LocalObjectReference: corev1.LocalObjectReference{Name: ref.Secret},
		Key:                  ref.Key,
	}}}
}

// secretFileVolume mounts one key of a Secret as a file.
func secretFileVolume(name string, ref env.SecretRef) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: ref.Secret,
		Items:      []corev1.KeyToPath{{Key: ref.Key, Path: ref.Key}},
	}}}
}

func configMapVolume(name, configMap string) corev1.Volume {
	return corev1.Volume{Name: name, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: configMap},
	}}}
}

// tmpVolume is a small memory-backed /tmp for programs with a read-only
// root file system.
func tmpVolume() corev1.Volume {
	return corev1.Volume{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{
		Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse("64Mi")),
	}}}
}

func labels(name, part, version string) map[string]string {
	return stack.Labels(name, part, version)
}

func ptr[T any](v T) *T { return &v }
