package elasticsearch

// Snapshots of the log data streams to S3 (logging.elasticsearch.snapshots).
//
// The repository is an s3 repository on the environment's object store: a
// FlashBlade's S3 endpoint (the object role) or the endpoint set in
// snapshots.s3. Elasticsearch reads the S3 client's endpoint from
// elasticsearch.yml (s3.client.vigil.*, set on every node set) and its keys
// from the keystore, which ECK fills from the referenced Secrets
// (spec.secureSettings), so the keys never enter a manifest. The bootstrap
// Job then registers the repository (PUT _snapshot/vigil) and the snapshot
// lifecycle policy (PUT _slm/policy/vigil-snapshots): a snapshot of the
// logs-kubernetes.* data streams on the schedule, deleted after
// expireAfter while keeping between minCount and maxCount. Both PUTs are
// idempotent.
//
// The exporter runs its snapshots and slm collectors, and alerts say when
// the last successful snapshot is older than maxAge, when there has never
// been one, when SLM reports failed snapshots and when the repository is
// missing.

import (
	"fmt"
	"strings"

	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
)

const (
	// SnapshotRepository is the repository's name.
	SnapshotRepository = "vigil"
	// SLMPolicy is the snapshot lifecycle policy's id.
	SLMPolicy = "vigil-snapshots"
	// s3Client is the name of the S3 client in elasticsearch.yml and the
	// keystore.
	s3Client = "vigil"
)

// SnapshotRepositoryBody is the body of PUT _snapshot/<name>.
type SnapshotRepositoryBody struct {
	Type     string             `json:"type"`
	Settings SnapshotS3Settings `json:"settings"`
}

// SnapshotS3Settings are the s3 repository's settings.
type SnapshotS3Settings struct {
	Bucket   string `json:"bucket"`
	Client   string `json:"client"`
	BasePath string `json:"base_path,omitempty"`
}

// SLMPolicyBody is the body of PUT _slm/policy/<id>.
type SLMPolicyBody struct {
	Schedule   string       `json:"schedule"`
	Name       string       `json:"name"`
	Repository string       `json:"repository"`
	Config     SLMConfig    `json:"config"`
	Retention  SLMRetention `json:"retention"`
}

// SLMConfig says what a snapshot holds.
type SLMConfig struct {
	Indices            []string `json:"indices"`
	IncludeGlobalState bool     `json:"include_global_state"`
}

// SLMRetention says which snapshots SLM deletes.
type SLMRetention struct {
	ExpireAfter string `json:"expire_after"`
	MinCount    int    `json:"min_count"`
	MaxCount    int    `json:"max_count"`
}

// SnapshotS3 is the S3 endpoint of the snapshot repository.
func SnapshotS3(e *env.Environment) (*env.S3Endpoint, bool) {
	return e.S3(e.Logging.Elasticsearch.Snapshots.S3)
}

// SnapshotRepositoryOf builds the repository body.
func SnapshotRepositoryOf(e *env.Environment) SnapshotRepositoryBody {
	sn := e.Logging.Elasticsearch.Snapshots
	return SnapshotRepositoryBody{Type: "s3", Settings: SnapshotS3Settings{Bucket: sn.Bucket, Client: s3Client, BasePath: sn.BasePath}}
}

// SnapshotPolicy builds the SLM policy: every Vigil data stream, without
// the cluster state (which ECK and the bootstrap Job recreate).
func SnapshotPolicy(e *env.Environment) (SLMPolicyBody, error) {
	sn := e.Logging.Elasticsearch.Snapshots
	expire, err := esDuration(sn.ExpireAfter)
	if err != nil {
		return SLMPolicyBody{}, fmt.Errorf("snapshots.expireAfter: %w", err)
	}
	if sn.MinCount > sn.MaxCount {
		return SLMPolicyBody{}, fmt.Errorf("snapshots.minCount %d is above maxCount %d", sn.MinCount, sn.MaxCount)
	}
	return SLMPolicyBody{
		Schedule: sn.Schedule,
		// SLM appends a unique suffix to each name.
		Name:       "<vigil-{now/d}>",
		Repository: SnapshotRepository,
		Config:     SLMConfig{Indices: []string{"logs-kubernetes.*"}, IncludeGlobalState: false},
		Retention:  SLMRetention{ExpireAfter: expire, MinCount: sn.MinCount, MaxCount: sn.MaxCount},
	}, nil
}

// s3ClientConfig sets the S3 client of every node: endpoint without its
// scheme, the scheme as protocol, path-style addressing and the signing
// region.
func s3ClientConfig(e *env.Environment, c *NodeConfig) error {
	s3, ok := SnapshotS3(e)
	if !ok {
		return fmt.Errorf("snapshots: no S3 endpoint: map storage.roles.object to a FlashBlade with flashblade.s3, or set logging.elasticsearch.snapshots.s3")
	}
	protocol, host := "https", strings.TrimSuffix(s3.Endpoint, "/")
	if scheme, rest, found := strings.Cut(host, "://"); found {
		protocol, host = scheme, rest
	}
	c.S3Endpoint, c.S3Protocol, c.S3Region = host, protocol, s3.Region
	c.S3PathStyle = ptr.To(s3.PathStyle)
	return nil
}

// secureSettings loads the S3 keys into the keystore, one source per
// Secret, in a fixed order.
func secureSettings(e *env.Environment) ([]SecretSource, error) {
	c := e.Logging.Elasticsearch.Snapshots.Credentials
	if c == nil {
		return nil, fmt.Errorf("snapshots: credentials are required: set logging.elasticsearch.snapshots.credentials to the Secret keys of the S3 access key id and secret key")
	}
	var out []SecretSource
	for _, r := range []struct {
		ref     env.SecretRef
		setting string
	}{
		{c.AccessKeyID, "s3.client." + s3Client + ".access_key"},
		{c.SecretAccessKey, "s3.client." + s3Client + ".secret_key"},
	} {
		entry := KeyToPath{Key: r.ref.Key, Path: r.setting}
		if n := len(out); n > 0 && out[n-1].SecretName == r.ref.Secret {
			out[n-1].Entries = append(out[n-1].Entries, entry)
			continue
		}
		out = append(out, SecretSource{SecretName: r.ref.Secret, Entries: []KeyToPath{entry}})
	}
	return out, nil
}
