package overlays

import (
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"
	"github.com/fluxcd/pkg/apis/kustomize"
	"github.com/fluxcd/pkg/apis/meta"
	sourcev1 "github.com/fluxcd/source-controller/api/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Defaults for the zero fields of Flux.
const (
	DefaultFluxNamespace = "flux-system"
	DefaultSourceKind    = sourcev1.GitRepositoryKind
	DefaultSourceName    = "flux-system"
	DefaultFluxPath      = "./"
	// DefaultInterval is how often Flux re-applies a layer to undo drift.
	DefaultInterval = 10 * time.Minute
	// DefaultTimeout bounds apply plus wait; generous because an
	// Elasticsearch or Prometheus StatefulSet rolls one pod at a time.
	DefaultTimeout = 10 * time.Minute
	// DefaultRetryInterval is how soon a failed layer is retried.
	DefaultRetryInterval = 2 * time.Minute
)

// Flux says where the Flux objects live and how they reconcile.
type Flux struct {
	// Namespace holds the Flux objects; default "flux-system".
	Namespace string
	// SourceRef is the source holding the rendered tree; an empty kind or
	// name defaults to the GitRepository "flux-system" that flux bootstrap
	// creates.
	SourceRef kustomizev1.CrossNamespaceSourceReference
	// Path is where the rendered tree sits inside that source, e.g.
	// "./deploy"; default the source's root.
	Path string
	// Interval, Timeout and RetryInterval go to every Kustomization;
	// zero means the package default.
	Interval, Timeout, RetryInterval metav1.Duration
}

func (f Flux) withDefaults() Flux {
	if f.Namespace == "" {
		f.Namespace = DefaultFluxNamespace
	}
	if f.SourceRef.Kind == "" {
		f.SourceRef.Kind = DefaultSourceKind
	}
	if f.SourceRef.Name == "" {
		f.SourceRef.Name = DefaultSourceName
	}
	if f.Path == "" {
		f.Path = DefaultFluxPath
	}
	if f.Interval.Duration == 0 {
		f.Interval.Duration = DefaultInterval
	}
	if f.Timeout.Duration == 0 {
		f.Timeout.Duration = DefaultTimeout
	}
	if f.RetryInterval.Duration == 0 {
		f.RetryInterval.Duration = DefaultRetryInterval
	}
	return f
}

func (f Flux) validate() error {
	if err := validName("flux namespace", f.Namespace); err != nil {
		return err
	}
	switch f.SourceRef.Kind {
	case sourcev1.GitRepositoryKind, sourcev1.OCIRepositoryKind, sourcev1.BucketKind, "ExternalArtifact":
	default:
		return fmt.Errorf("flux sourceRef kind %q is not a Flux source kind", f.SourceRef.Kind)
	}
	if strings.HasPrefix(f.Path, "/") {
		return fmt.Errorf("flux path %q must be relative to the source root", f.Path)
	}
	for _, part := range strings.Split(path.Clean(f.Path), "/") {
		if part == ".." {
			return fmt.Errorf("flux path %q leaves the source root", f.Path)
		}
	}
	for _, d := range []struct {
		name string
		d    metav1.Duration
	}{{"interval", f.Interval}, {"timeout", f.Timeout}, {"retryInterval", f.RetryInterval}} {
		if d.d.Duration < 0 {
			return fmt.Errorf("flux %s %s is negative", d.name, d.d.Duration)
		}
	}
	return nil
}

// sourcePath joins the tree's location in the source with a tree path, in
// the "./dir" form Flux documents.
func (f Flux) sourcePath(rel string) string {
	return "./" + path.Join(path.Clean(f.Path), rel)
}

// Timeouts besides Flux.Timeout.
const (
	// GateTimeout bounds a gate's check of one object: short, so that a
	// missing prerequisite is reported soon after every retry.
	GateTimeout = time.Minute
	// DataTimeoutFactor multiplies Flux.Timeout for units holding
	// data-bearing workloads (volume claim templates: Elasticsearch,
	// Prometheus, Tempo), which roll one pod at a time, each waiting for
	// its volume.
	DataTimeoutFactor = 3
)

// PruneAnnotation with the value PruneDisabled on an object makes Flux keep
// it when it leaves its Kustomization or the Kustomization is deleted.
const (
	PruneAnnotation = "kustomize.toolkit.fluxcd.io/prune"
	PruneDisabled   = "disabled"
	// PrerequisiteAnnotation on a gate says what it waits for.
	PrerequisiteAnnotation = "vigil.dev/prerequisite"
)

// gateDir holds what a gate applies: only a ConfigMap saying what it waits
// for (see renderGate). The underscore keeps it apart from component names.
func gateDir(env, gate string) string { return path.Join("envs", env, "_prerequisites", gate) }

// unitDir is the overlay of one unit.
func unitDir(env, component string, l stack.Layer) string {
	return path.Join("envs", env, component, l.String())
}

// fluxObjects builds the Flux objects of one environment: a Kustomization
// per graph node and a GitRepository per upstream.
func fluxObjects(env string, f Flux, g *depGraph) []stack.Object {
	var out []stack.Object
	byName := make(map[string]*fluxNode, len(g.nodes))
	for _, n := range g.nodes {
		byName[n.name] = n
	}
	for _, n := range g.nodes {
		ks := &kustomizev1.Kustomization{
			TypeMeta:   metav1.TypeMeta{APIVersion: kustomizev1.GroupVersion.String(), Kind: kustomizev1.KustomizationKind},
			ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: f.Namespace},
			Spec: kustomizev1.KustomizationSpec{
				Interval:      f.Interval,
				RetryInterval: &metav1.Duration{Duration: f.RetryInterval.Duration},
				Timeout:       &metav1.Duration{Duration: f.Timeout.Duration},
				Prune:         true,
			},
		}
		for _, d := range n.deps {
			ref := kustomizev1.DependencyReference{Name: d}
			if dep := byName[d]; dep != nil && dep.kind == upstreamNode && dep.upstream.Tag != "" {
				ref.ReadyExpr = upstreamAppliedExpr(dep.upstream.Tag)
			}
			ks.Spec.DependsOn = append(ks.Spec.DependsOn, ref)
		}
		switch n.kind {
		case upstreamNode:
			u := n.upstream
			ks.Spec.Path = u.Path
			ks.Spec.SourceRef = kustomizev1.CrossNamespaceSourceReference{Kind: sourcev1.GitRepositoryKind, Name: n.name}
			// Dependents need the CRDs Established, and kstatus knows
			// what that means: wait for everything applied.
			ks.Spec.Wait = true
			ks.Spec.CommonMetadata = &kustomizev1.CommonMetadata{
				// Upstream manifests cannot carry the environment label
				// through an overlay; Flux adds it at apply time.
				Labels: map[string]string{stack.LabelEnvironment: env},
				// Deleting a CRD deletes every custom resource of its
				// kind, data-bearing StatefulSets included: a changed
				// path or tag, or a removed Kustomization, must never
				// do that. README says how to remove one for real.
				Annotations: map[string]string{PruneAnnotation: PruneDisabled},
			}
			out = append(out, &sourcev1.GitRepository{
				TypeMeta:   metav1.TypeMeta{APIVersion: sourcev1.GroupVersion.String(), Kind: sourcev1.GitRepositoryKind},
				ObjectMeta: metav1.ObjectMeta{Name: n.name, Namespace: f.Namespace},
				Spec: sourcev1.GitRepositorySpec{
					URL:       u.URL,
					Reference: &sourcev1.GitRepositoryRef{Tag: u.Tag},
					Interval:  f.Interval,
				},
			})
		case gateNode:
			gt := n.gate
			ks.Annotations = map[string]string{PrerequisiteAnnotation: gt.String()}
			ks.Spec.Path = f.sourcePath(gateDir(env, n.name))
			ks.Spec.SourceRef = f.SourceRef
			ks.Spec.Timeout = &metav1.Duration{Duration: GateTimeout}
			ks.Spec.HealthChecks = []meta.NamespacedObjectKindReference{{
				APIVersion: gt.APIVersion, Kind: gt.Kind, Name: gt.Name, Namespace: gt.Namespace,
			}}
			if gt.Kind == "Secret" && len(gt.Keys) > 0 {
				ks.Spec.HealthCheckExprs = []kustomize.CustomHealthCheck{{
					APIVersion: gt.APIVersion, Kind: gt.Kind,
					HealthCheckExpressions: kustomize.HealthCheckExpressions{Current: secretKeysExpr(gt.Keys)},
				}}
			}
		case secretsNode:
			// The Secrets have no readiness to check: applied is ready.
			ks.Spec.Path = f.sourcePath(secretsDir(env))
			ks.Spec.SourceRef = f.SourceRef
			ks.Spec.Decryption = &kustomizev1.Decryption{Provider: "sops", SecretRef: &meta.LocalObjectReference{Name: n.keySecret}}
		default:
			ks.Spec.Path = f.sourcePath(unitDir(env, n.component, n.layer))
			ks.Spec.SourceRef = f.SourceRef
			ks.Spec.HealthChecks = healthChecks(n.objects)
			if holdsData(n.objects) {
				ks.Spec.Timeout = &metav1.Duration{Duration: DataTimeoutFactor * f.Timeout.Duration}
			}
			if holdsCRD(n.objects) {
				// As for upstream CRDs: never deleted by a prune.
				ks.Spec.CommonMetadata = &kustomizev1.CommonMetadata{Annotations: map[string]string{PruneAnnotation: PruneDisabled}}
			}
		}
		out = append(out, ks)
	}
	return out
}

// secretKeysExpr is the CEL health check of a Secret that must hold keys.
// kustomize-controller evaluates healthCheckExprs with the object's fields
// as variables for any kind it health-checks, core kinds included. Keys
// match ^[-._a-zA-Z0-9]+$, so single quotes need no escaping. A Secret
// without data fails to evaluate, which fails the check as well.
func secretKeysExpr(keys []string) string {
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = "'" + k + "' in data"
	}
	return strings.Join(parts, " && ")
}

// upstreamAppliedExpr is the readyExpr of a dependency on upstream CRDs:
// they were applied and became Established at the pinned tag (Flux sets
// lastAppliedRevision, "<tag>@sha1:<commit>", only after the apply and its
// health checks succeed) by the current spec. It replaces Flux's default
// check, which also wants the dependency Ready right now, because
// kustomize-controller v1.9 enqueues every dependency of every
// Kustomization whose source moved (dependency.Sort returns the
// dependencies too): each commit to the fleet repository re-applies the
// CRDs, and under the default check everything needing them waited for
// that no-op (15 to 25 s per commit for prometheus-operator's on a 2-core
// machine). CRDs are never pruned, so once applied at this tag they stay.
func upstreamAppliedExpr(tag string) string {
	return fmt.Sprintf("has(dep.status) && has(dep.status.lastAppliedRevision) && dep.status.lastAppliedRevision.startsWith(%s) && "+
		"has(dep.status.observedGeneration) && dep.status.observedGeneration == dep.metadata.generation", strconv.Quote(tag+"@"))
}

func holdsCRD(objs []*object) bool {
	for _, o := range objs {
		if o.key.Group == "apiextensions.k8s.io" && o.key.Kind == "CustomResourceDefinition" {
			return true
		}
	}
	return false
}

// holdsData reports a unit with volume claim templates: its pods start one
// by one, each after its volume is provisioned and attached.
func holdsData(objs []*object) bool {
	found := false
	for _, o := range objs {
		walk(o.m, "", "", func(_, _ string, m map[string]any) {
			if _, ok := m["volumeClaimTemplates"]; ok {
				found = true
			}
			if _, ok := m["volumeClaimTemplate"]; ok {
				found = true
			}
		})
	}
	return found
}

// healthChecks lists a unit's objects whose readiness means something, for
// spec.healthChecks; nil when there are none. Units never set wait: true:
// it makes Flux wait for every applied object to be Current in kstatus
// terms, and kstatus calls a PersistentVolumeClaim Current only once it is
// Bound. A claim on a WaitForFirstConsumer StorageClass binds when a pod uses
// it, and that pod may be in a unit that waits for this one: a deadlock. So
// claims are never checked, and neither are objects without readiness.
func healthChecks(objs []*object) []meta.NamespacedObjectKindReference {
	var checks []meta.NamespacedObjectKindReference
	for _, o := range objs {
		if !hasReadiness(o.key) {
			continue
		}
		checks = append(checks, meta.NamespacedObjectKindReference{
			APIVersion: o.key.apiVersion(), Kind: o.key.Kind, Name: o.key.Name, Namespace: o.key.Namespace,
		})
	}
	sort.Slice(checks, func(i, j int) bool {
		a, b := checks[i], checks[j]
		if a.APIVersion != b.APIVersion {
			return a.APIVersion < b.APIVersion
		}
		if a.Kind != b.Kind {
			return a.Kind < b.Kind
		}
		if a.Namespace != b.Namespace {
			return a.Namespace < b.Namespace
		}
		return a.Name < b.Name
	})
	return checks
}

// hasReadiness reports kinds whose kstatus status says more than "exists":
// workloads, CRDs (Established) and custom resources (their conditions).
func hasReadiness(k objKey) bool {
	switch k.Group + "/" + k.Kind {
	case "apps/Deployment", "apps/StatefulSet", "apps/DaemonSet", "apps/ReplicaSet",
		"batch/Job", "/Pod", "/ReplicationController", "policy/PodDisruptionBudget",
		"apiextensions.k8s.io/CustomResourceDefinition":
		return true
	}
	return isCustomResource(k)
}
