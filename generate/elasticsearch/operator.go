package elasticsearch

import (
	"encoding/json"
	"fmt"
	"time"

	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/fluxcd/pkg/apis/kustomize"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Where the operator and its CRDs come from.
const (
	// OperatorNamespace is where the ECK operator runs (rendered by package
	// namespaces whenever logging is on).
	OperatorNamespace = "elastic-system"
	// CRDUpstreamName names the Flux source and Kustomization of the CRDs.
	CRDUpstreamName = "eck-crds"
	// Repository is ECK's source repository.
	Repository = "https://github.com/elastic/cloud-on-k8s"
	// CRDPath is the kustomization that builds the released all-crds.yaml:
	// the controller-gen output under ../resources with ECK's patches.
	CRDPath = "./config/crds/v1/patches"
	// ChartRepository is Elastic's Helm repository, which publishes the
	// operator chart deploy/eck-operator of the same release.
	ChartRepository = "https://helm.elastic.co"
	// Chart is the operator's chart.
	Chart = "eck-operator"
	// ReleaseName is the Helm release; the chart names its objects after
	// it (StatefulSet elastic-operator, webhook elastic-webhook-server).
	ReleaseName = "elastic-operator"
	// operatorContainer is the chart's name for the operator's container.
	operatorContainer = "manager"
	// helmRepositoryName names the HelmRepository.
	helmRepositoryName = "elastic"
)

// OperatorVersion is the ECK release of the CRDs, the chart and the image.
var OperatorVersion = stack.ECKOperator.Version

// operatorValues are the chart values Vigil sets (deploy/eck-operator/values.yaml
// at v3.5.0: resources, podSecurityContext and securityContext are the keys
// its statefulset.yaml template reads).
type operatorValues struct {
	// InstallCRDs is off: the CRDs are applied in the crds layer, before
	// any operator, and must not be owned by a Helm release.
	InstallCRDs bool `json:"installCRDs"`
	// ManagedNamespaces makes the operator watch and reconcile the logging
	// namespace only. Its RBAC stays a ClusterRole: the chart grants
	// namespaced Roles only with createClusterScopedResources off, which
	// Vigil keeps on so that the chart installs its ClusterRoles itself.
	ManagedNamespaces []string                    `json:"managedNamespaces"`
	Image             operatorImage               `json:"image"`
	Resources         corev1.ResourceRequirements `json:"resources"`
	// The chart's contexts lack a seccompProfile, so its pod violates
	// PodSecurity "restricted". These are supersets of the chart's, so Helm's
	// key-by-key merge yields exactly them.
	PodSecurityContext *corev1.PodSecurityContext `json:"podSecurityContext"`
	SecurityContext    *corev1.SecurityContext    `json:"securityContext"`
	// Telemetry off: ECK would otherwise report usage through Kibana.
	Telemetry struct {
		Disabled bool `json:"disabled"`
	} `json:"telemetry"`
}

type operatorImage struct {
	Repository string `json:"repository"`
	Tag        string `json:"tag"`
}

// operator references ECK's CRDs and installs the operator's chart.
func operator(e *env.Environment, s *stack.Set) error {
	s.AddUpstream(stack.Upstream{
		Name:      CRDUpstreamName,
		Component: OperatorComponent,
		Layer:     stack.CRDs,
		URL:       Repository,
		Tag:       "v" + OperatorVersion,
		Path:      CRDPath,
		Groups:    []string{ElasticsearchGroupVersion.Group, KibanaGroupVersion.Group},
	})
	interval, err := time.ParseDuration(e.Flux.Interval)
	if err != nil {
		return fmt.Errorf("flux.interval: %w", err)
	}
	opRes := e.Logging.Elasticsearch.Operator.Resources
	resources, err := opRes.Requirements()
	if err != nil {
		return fmt.Errorf("logging.elasticsearch.operator.resources: %w", err)
	}
	v := operatorValues{
		ManagedNamespaces: []string{e.Logging.Namespace},
		Image:             operatorImage{Repository: stack.ECKOperator.Image, Tag: stack.ECKOperator.Version},
		// Sized by the schema. Helm merges values into the chart's
		// defaults, so the chart's CPU limit survives unless the schema
		// sets one (then it replaces it) or dropCPULimit removes it.
		Resources: resources,
		PodSecurityContext: &corev1.PodSecurityContext{
			RunAsNonRoot:   new(true),
			SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
		},
		SecurityContext: stack.RestrictedContainer(),
	}
	v.Telemetry.Disabled = true
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("chart values: %w", err)
	}
	var postRenderers []helmv2.PostRenderer
	if opRes.Limits.CPU == "" {
		dropCPU, err := dropCPULimit()
		if err != nil {
			return err
		}
		postRenderers = []helmv2.PostRenderer{{Kustomize: &helmv2.Kustomize{Patches: []kustomize.Patch{{
			Patch:  dropCPU,
			Target: &kustomize.Selector{Group: "apps", Version: "v1", Kind: "StatefulSet", Name: ReleaseName},
		}}}}}
	}
	labels := stack.Labels(OperatorComponent, "operator", OperatorVersion)
	repo := &sourcev1.HelmRepository{
		ObjectMeta: metav1.ObjectMeta{Name: helmRepositoryName, Namespace: OperatorNamespace, Labels: labels},
		Spec:       sourcev1.HelmRepositorySpec{URL: ChartRepository, Interval: metav1.Duration{Duration: interval}},
	}
	release := &helmv2.HelmRelease{
		ObjectMeta: metav1.ObjectMeta{Name: ReleaseName, Namespace: OperatorNamespace, Labels: labels},
		Spec: helmv2.HelmReleaseSpec{
			Interval:    metav1.Duration{Duration: interval},
			ReleaseName: ReleaseName,
			Chart: &helmv2.HelmChartTemplate{Spec: helmv2.HelmChartTemplateSpec{
				Chart:     Chart,
				Version:   OperatorVersion,
				SourceRef: helmv2.CrossNamespaceObjectReference{Kind: sourcev1.HelmRepositoryKind, Name: helmRepositoryName},
			}},
			Install:       &helmv2.Install{CRDs: helmv2.Skip, Remediation: &helmv2.InstallRemediation{Retries: 3}},
			Upgrade:       &helmv2.Upgrade{CRDs: helmv2.Skip, Remediation: &helmv2.UpgradeRemediation{Retries: 3}},
			Values:        &apiextensionsv1.JSON{Raw: raw},
			PostRenderers: postRenderers,
		},
	}
	s.Add(OperatorComponent, stack.Operators, repo, release)
	return nil
}

// dropCPULimit is a strategic merge patch deleting the operator container's
// CPU limit. Helm merges values into the chart's defaults key by key, so
// values can only remove the chart's "limits.cpu: 1" with a null, and Vigil
// drops nulls from everything it writes. No CPU limit: throttling a
// controller slows every reconcile, and the request already sizes it.
func dropCPULimit() (string, error) {
	patch := map[string]any{
		"apiVersion": "apps/v1",
		"kind":       "StatefulSet",
		"metadata":   map[string]any{"name": ReleaseName},
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"containers": []any{map[string]any{
				"name":      operatorContainer,
				"resources": map[string]any{"limits": map[string]any{"cpu": nil}},
			}},
		}}},
	}
	out, err := yaml.Marshal(patch)
	if err != nil {
		return "", fmt.Errorf("operator post-render patch: %w", err)
	}
	return string(out), nil
}
