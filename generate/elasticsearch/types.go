package elasticsearch

import (
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"

	"github.com/vigil-stack/vigil/generate/stack"
)

// The Go types of the two ECK custom resources Vigil writes. They are the
// subset of github.com/elastic/cloud-on-k8s/v3/pkg/apis/{elasticsearch,kibana}/v1
// that Vigil sets, with the same JSON names: importing ECK's own packages
// pulls client-go's informers, listers and controller-runtime's webhook
// package into the binary (354 → 790 packages, +16 MB, several minutes of
// cold build on two cores) for a dozen fields. A test decodes every object
// this package emits strictly into ECK's real types, so a field name that
// drifts from upstream fails there.

// ElasticsearchGroupVersion is elasticsearch.k8s.elastic.co/v1.
var ElasticsearchGroupVersion = schema.GroupVersion{Group: "elasticsearch.k8s.elastic.co", Version: "v1"}

// KibanaGroupVersion is kibana.k8s.elastic.co/v1.
var KibanaGroupVersion = schema.GroupVersion{Group: "kibana.k8s.elastic.co", Version: "v1"}

// Elasticsearch is an ECK Elasticsearch cluster.
type Elasticsearch struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              ElasticsearchSpec `json:"spec"`
}

// ElasticsearchSpec is the part of ECK's ElasticsearchSpec Vigil sets. HTTP
// is left to ECK's default: TLS with a self-signed CA, published in the
// Secret named by CASecret.
type ElasticsearchSpec struct {
	Version  string    `json:"version"`
	NodeSets []NodeSet `json:"nodeSets"`
	// SecureSettings are Secrets whose keys ECK loads into every node's
	// keystore (the S3 client credentials of the snapshot repository).
	SecureSettings []SecretSource `json:"secureSettings,omitempty"`
}

// SecretSource is one Secret for the keystore; each entry puts a key of
// it under a keystore setting name (path).
type SecretSource struct {
	SecretName string      `json:"secretName"`
	Entries    []KeyToPath `json:"entries,omitempty"`
}

// KeyToPath maps a Secret key to a keystore setting.
type KeyToPath struct {
	Key  string `json:"key"`
	Path string `json:"path,omitempty"`
}

// NodeSet is a group of Elasticsearch nodes sharing a configuration; ECK
// runs one StatefulSet per node set.
type NodeSet struct {
	Name                 string                         `json:"name"`
	Config               *NodeConfig                    `json:"config,omitempty"`
	Count                int32                          `json:"count"`
	PodTemplate          corev1.PodTemplateSpec         `json:"podTemplate,omitempty"`
	VolumeClaimTemplates []corev1.PersistentVolumeClaim `json:"volumeClaimTemplates,omitempty"`
}

// NodeConfig is the part of elasticsearch.yml Vigil sets for a node set.
// ECK accepts the flat, dotted keys of elasticsearch.yml.
type NodeConfig struct {
	// Roles is node.roles; an empty list makes a coordinating-only node.
	Roles []string `json:"node.roles"`
	// AllowMmap is node.store.allow_mmap; false when vm.max_map_count is
	// not raised (maxMapCount: disable-mmap).
	AllowMmap *bool `json:"node.store.allow_mmap,omitempty"`
	// The S3 client of the snapshot repository (snapshots.go): where the
	// object store is and how to address buckets on it.
	S3Endpoint  string `json:"s3.client.vigil.endpoint,omitempty"`
	S3Protocol  string `json:"s3.client.vigil.protocol,omitempty"`
	S3PathStyle *bool  `json:"s3.client.vigil.path_style_access,omitempty"`
	S3Region    string `json:"s3.client.vigil.region,omitempty"`
}

// Kibana is an ECK Kibana instance.
type Kibana struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`
	Spec              KibanaSpec `json:"spec"`
}

// KibanaSpec is the part of ECK's KibanaSpec Vigil sets. HTTP keeps ECK's
// default self-signed TLS.
type KibanaSpec struct {
	Version          string                 `json:"version"`
	Count            int32                  `json:"count,omitempty"`
	ElasticsearchRef ObjectSelector         `json:"elasticsearchRef,omitempty"`
	PodTemplate      corev1.PodTemplateSpec `json:"podTemplate,omitempty"`
}

// ObjectSelector names another ECK resource.
type ObjectSelector struct {
	Namespace string `json:"namespace,omitempty"`
	Name      string `json:"name,omitempty"`
}

// DeepCopyObject implements runtime.Object.
func (in *Elasticsearch) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &Elasticsearch{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.Version = in.Spec.Version
	if in.Spec.SecureSettings != nil {
		out.Spec.SecureSettings = make([]SecretSource, len(in.Spec.SecureSettings))
		for i, src := range in.Spec.SecureSettings {
			out.Spec.SecureSettings[i] = SecretSource{SecretName: src.SecretName, Entries: append([]KeyToPath(nil), src.Entries...)}
		}
	}
	if in.Spec.NodeSets != nil {
		out.Spec.NodeSets = make([]NodeSet, len(in.Spec.NodeSets))
		for i := range in.Spec.NodeSets {
			in.Spec.NodeSets[i].deepCopyInto(&out.Spec.NodeSets[i])
		}
	}
	return out
}

func (in *NodeSet) deepCopyInto(out *NodeSet) {
	out.Name, out.Count = in.Name, in.Count
	if in.Config != nil {
		c := &NodeConfig{}
		if in.Config.Roles != nil {
			c.Roles = append([]string{}, in.Config.Roles...)
		}
		if in.Config.AllowMmap != nil {
			v := *in.Config.AllowMmap
			c.AllowMmap = &v
		}
		c.S3Endpoint, c.S3Protocol, c.S3Region = in.Config.S3Endpoint, in.Config.S3Protocol, in.Config.S3Region
		if in.Config.S3PathStyle != nil {
			v := *in.Config.S3PathStyle
			c.S3PathStyle = &v
		}
		out.Config = c
	}
	in.PodTemplate.DeepCopyInto(&out.PodTemplate)
	if in.VolumeClaimTemplates != nil {
		out.VolumeClaimTemplates = make([]corev1.PersistentVolumeClaim, len(in.VolumeClaimTemplates))
		for i := range in.VolumeClaimTemplates {
			in.VolumeClaimTemplates[i].DeepCopyInto(&out.VolumeClaimTemplates[i])
		}
	}
}

// DeepCopyObject implements runtime.Object.
func (in *Kibana) DeepCopyObject() runtime.Object {
	if in == nil {
		return nil
	}
	out := &Kibana{TypeMeta: in.TypeMeta}
	in.ObjectMeta.DeepCopyInto(&out.ObjectMeta)
	out.Spec.Version, out.Spec.Count, out.Spec.ElasticsearchRef = in.Spec.Version, in.Spec.Count, in.Spec.ElasticsearchRef
	in.Spec.PodTemplate.DeepCopyInto(&out.Spec.PodTemplate)
	return out
}

// AddToScheme registers Elasticsearch and Kibana.
func AddToScheme(s *runtime.Scheme) error {
	s.AddKnownTypes(ElasticsearchGroupVersion, &Elasticsearch{})
	s.AddKnownTypes(KibanaGroupVersion, &Kibana{})
	return nil
}

func init() {
	stack.AddToScheme(AddToScheme)
	// The ECK operator is installed from its Helm chart (operator.go).
	stack.AddToScheme(helmv2.AddToScheme)
}
