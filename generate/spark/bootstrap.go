package spark

import (
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// curlUID and curlGID are curl_user and curl_group of the curlimages/curl
// image, which names its user.
const (
	curlUID = 100
	curlGID = 101
)

// bootstrapScript makes sure the placeholder object exists: a HEAD request,
// and a PUT of an empty object only if it is missing, so reruns change
// nothing. Requests are signed with AWS Signature V4 for service s3 in the
// endpoint's region; curl then also sends the x-amz-content-sha256 header
// S3 requires. The key pair is imported from the environment into curl
// variables, so it never appears on a command line.
func bootstrapScript(caFile string) string {
	curl := `curl -q -sS --retry 5 --aws-sigv4 "aws:amz:$S3_REGION:s3" --variable %AWS_ACCESS_KEY_ID --variable %AWS_SECRET_ACCESS_KEY --expand-user '{{AWS_ACCESS_KEY_ID}}:{{AWS_SECRET_ACCESS_KEY}}'`
	if caFile != "" {
		curl += ` --cacert ` + caFile
	}
	return strings.Join([]string{
		`set -eu`,
		`code=$(` + curl + ` -o /dev/null -w '%{http_code}' --head "$OBJECT_URL")`,
		`if [ "$code" = 200 ]; then echo "$OBJECT_URL exists"; exit 0; fi`,
		`echo "HEAD $OBJECT_URL: $code; creating it"`,
		curl + ` --fail-with-body -o /dev/null -X PUT -H 'Content-Type: application/octet-stream' --data-binary '' "$OBJECT_URL"`,
		`echo "created $OBJECT_URL"`,
	}, "\n") + "\n"
}

// bootstrap adds the one-shot Job that creates <prefix>/.keep in the event
// log bucket (layer Instances). Without it an empty prefix does not exist
// for S3A and the History Server and the first job fail (stack.md §4).
func (g *generator) bootstrap(s *stack.Set) error {
	hs := g.e.Spark.HistoryServer
	if !g.history || !hs.BootstrapPrefix {
		return nil
	}
	key, err := placeholderKey(hs.EventLog.Prefix)
	if err != nil {
		return err
	}
	env := []corev1.EnvVar{
		{Name: "OBJECT_URL", Value: g.s3.ObjectURL(hs.EventLog.Bucket, key)},
		{Name: "S3_REGION", Value: g.s3.Region},
	}
	env = append(env, g.credentialsEnv()...)
	var mounts []corev1.VolumeMount
	var volumes []corev1.Volume
	caFile := ""
	if ca := g.s3.CABundle; ca != nil {
		caFile = caDir + "/ca.crt"
		volumes = append(volumes, caVolume(ca))
		mounts = append(mounts, corev1.VolumeMount{Name: "s3-ca", MountPath: caDir, ReadOnly: true})
	}
	l := stack.Labels(HistoryServerName, "bootstrap", stack.Curl.Version)
	job := &batchv1.Job{
		ObjectMeta: meta(BootstrapJobName, g.ns, l),
		Spec: batchv1.JobSpec{
			BackoffLimit:          ptr.To[int32](6),
			ActiveDeadlineSeconds: ptr.To[int64](900),
			// A finished Job goes after a day; Flux then creates it again
			// and it checks the placeholder once more, which is harmless.
			TTLSecondsAfterFinished: ptr.To[int32](86400),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: l},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyNever,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              podSecurity(curlUID, curlGID),
					Containers: []corev1.Container{{
						Name:            "create-placeholder",
						Image:           stack.Curl.Ref(),
						Command:         []string{"/bin/sh", "-c", bootstrapScript(caFile)},
						Env:             env,
						Resources:       smallResources("50m", "32Mi", "64Mi"),
						SecurityContext: restricted(),
						VolumeMounts:    mounts,
					}},
					Volumes: volumes,
				},
			},
		},
	}
	// The pod template of a Job cannot change; Flux replaces the Job when
	// the endpoint or bucket changes instead of failing to apply it.
	job.Annotations = map[string]string{"kustomize.toolkit.fluxcd.io/force": "enabled"}
	s.Add(Component, stack.Instances, job)
	return nil
}
