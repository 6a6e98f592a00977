package thanos

import (
	"fmt"
	"net/url"
	"path"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
)

// The object storage configuration every Thanos component reads: the
// --objstore.config-file format of github.com/thanos-io/objstore (client
// BucketConfig and providers/s3 Config, at the version Thanos v0.42.4
// requires, v0.0.0-20250804093838-71d60dfee488). Only the fields Vigil sets
// are declared; objstore_test.go decodes the result strictly into a copy of
// the upstream schema.
type bucketConfig struct {
	Type   string   `json:"type"`
	Config s3Config `json:"config"`
	Prefix string   `json:"prefix,omitempty"`
}

type s3Config struct {
	Bucket   string `json:"bucket"`
	Endpoint string `json:"endpoint"`
	Region   string `json:"region,omitempty"`
	// Insecure is plain http.
	Insecure bool `json:"insecure,omitempty"`
	// BucketLookupType is "path" for path-style addressing (a FlashBlade),
	// "auto" otherwise.
	BucketLookupType string      `json:"bucket_lookup_type,omitempty"`
	HTTPConfig       *httpConfig `json:"http_config,omitempty"`
}

type httpConfig struct {
	TLSConfig tlsConfig `json:"tls_config"`
}

type tlsConfig struct {
	CAFile string `json:"ca_file"`
}

// Paths inside every Thanos container.
const (
	objstoreDir  = "/etc/thanos/objstore"
	objstoreFile = "objstore.yaml"
	caDir        = "/etc/thanos/s3-ca"
	caFile       = "ca.crt"
	// ObjstoreConfigFile is the --objstore.config-file of every component.
	ObjstoreConfigFile = objstoreDir + "/" + objstoreFile
)

// s3Endpoint is the bucket's endpoint: objectStorage.s3, or the FlashBlade
// of storage.roles.object.
func s3Endpoint(e *env.Environment) (*env.S3Endpoint, error) {
	s3, ok := e.S3(e.Monitoring.Thanos.ObjectStorage.S3)
	if !ok {
		return nil, fmt.Errorf("monitoring.thanos.objectStorage: no S3 endpoint: set objectStorage.s3 or map storage.roles.object to a FlashBlade with flashblade.s3")
	}
	return s3, nil
}

// ObjstoreConfig is the objstore YAML of the environment's bucket. It holds
// no credential: with access_key empty, objstore's S3 client reads
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the environment (minio's
// EnvAWS provider), which Vigil sets from Secret references.
func ObjstoreConfig(e *env.Environment) ([]byte, error) {
	o := e.Monitoring.Thanos.ObjectStorage
	s3, err := s3Endpoint(e)
	if err != nil {
		return nil, err
	}
	raw := strings.TrimSuffix(s3.Endpoint, "/")
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("monitoring.thanos.objectStorage: S3 endpoint %q is not a host or URL", s3.Endpoint)
	}
	c := s3Config{
		Bucket: o.Bucket,
		// objstore takes host[:port] and picks the scheme from insecure.
		Endpoint:         u.Host,
		Region:           s3.Region,
		Insecure:         u.Scheme == "http",
		BucketLookupType: "auto",
	}
	if s3.PathStyle {
		c.BucketLookupType = "path"
	}
	if u.Scheme == "https" && s3.CABundle != nil {
		c.HTTPConfig = &httpConfig{TLSConfig: tlsConfig{CAFile: path.Join(caDir, caFile)}}
	}
	b, err := yaml.Marshal(bucketConfig{Type: "S3", Config: c, Prefix: o.Prefix})
	if err != nil {
		return nil, fmt.Errorf("objstore config: %w", err)
	}
	return b, nil
}

// caBundle is the CA of an https endpoint with a private CA, or nil.
func caBundle(e *env.Environment) *env.SecretRef {
	s3, err := s3Endpoint(e)
	if err != nil || !strings.HasPrefix(s3.Endpoint, "https://") {
		return nil
	}
	return s3.CABundle
}

// bucketVolumes are the volumes every component that reads the bucket
// mounts: the objstore configuration and, for a private CA, the bundle.
func bucketVolumes(e *env.Environment) ([]corev1.Volume, []corev1.VolumeMount) {
	vols := []corev1.Volume{{Name: "objstore", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
		LocalObjectReference: corev1.LocalObjectReference{Name: ObjstoreConfigMap},
	}}}}
	mounts := []corev1.VolumeMount{{Name: "objstore", MountPath: objstoreDir, ReadOnly: true}}
	if ca := caBundle(e); ca != nil {
		vols = append(vols, corev1.Volume{Name: "s3-ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: ca.Secret,
			Items:      []corev1.KeyToPath{{Key: ca.Key, Path: caFile}},
		}}})
		mounts = append(mounts, corev1.VolumeMount{Name: "s3-ca", MountPath: caDir, ReadOnly: true})
	}
	return vols, mounts
}

// credentialsEnv sets the key pair objstore's S3 client reads; none
// without credentials (the pod's cloud identity then signs).
func credentialsEnv(e *env.Environment) []corev1.EnvVar {
	c := e.Monitoring.Thanos.ObjectStorage.Credentials
	if c == nil {
		return nil
	}
	ref := func(name string, r env.SecretRef) corev1.EnvVar {
		return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
			LocalObjectReference: corev1.LocalObjectReference{Name: r.Secret}, Key: r.Key,
		}}}
	}
	return []corev1.EnvVar{ref("AWS_ACCESS_KEY_ID", c.AccessKeyID), ref("AWS_SECRET_ACCESS_KEY", c.SecretAccessKey)}
}
