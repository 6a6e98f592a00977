package overlays

import (
	"context"
	"math/rand"
	"reflect"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	kustomizev1 "github.com/fluxcd/kustomize-controller/api/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

func graphFor(t *testing.T, s *stack.Set, prereqs ...Prerequisite) *depGraph {
	t.Helper()
	g, err := graphOf(Environment{Name: "e", Objects: s, Prerequisites: prereqs})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

func depsOf(t *testing.T, s *stack.Set, prereqs ...Prerequisite) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for _, n := range graphFor(t, s, prereqs...).nodes {
		out[n.name] = n.deps
	}
	return out
}

func pvc(ns, name, class string) *corev1.PersistentVolumeClaim {
	return &corev1.PersistentVolumeClaim{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{StorageClassName: &class}}
}

func withSecretEnv(d *metav1.ObjectMeta, c *corev1.Container, secret, key string) {
	c.Env = append(c.Env, corev1.EnvVar{Name: "TOKEN", ValueFrom: &corev1.EnvVarSource{
		SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}}})
}

// Each edge comes from a reference: the namespace an object lives in, the
// CRDs of its kind, the operator that runs it, the StorageClass its claim
// names, a Secret another component creates. Nothing else makes an edge:
// not the layer order, not a ServiceMonitor selecting another component's
// Service.
func TestDependencies(t *testing.T) {
	crds := stack.Upstream{Name: "mon-crds", Component: "op", Layer: stack.CRDs, URL: "https://example.org/crds", Tag: "v1", Path: ".",
		Groups: []string{"monitoring.coreos.com"}}
	tests := []struct {
		name  string
		build func(s *stack.Set)
		want  map[string][]string
	}{
		{
			name: "namespace and CRDs, not the workload a monitor selects",
			build: func(s *stack.Set) {
				s.Add("namespaces", stack.Namespaces, namespace("monitoring"))
				s.Add("app", stack.Instances, deployment("monitoring", "app", 1), service("monitoring", "app"))
				s.Add("app", stack.Content, serviceMonitor("monitoring", "app", "web"))
				s.AddUpstream(crds)
			},
			want: map[string][]string{
				"e-namespaces":    nil,
				"e-mon-crds":      nil,
				"e-app-instances": {"e-namespaces"},
				"e-app-content":   {"e-mon-crds", "e-namespaces"},
			},
		},
		{
			name: "claims wait for their StorageClass, operated kinds for their operator",
			build: func(s *stack.Set) {
				s.Add("namespaces", stack.Namespaces, namespace("a"))
				s.Add("storage", stack.Storage, storageClass("fast", "kubernetes.io/no-provisioner"))
				s.Add("op", stack.Operators, deployment("a", "op", 1))
				s.Add("db", stack.Instances, statefulSet("a", "db", 1, "1Gi"), pvc("a", "scratch", "fast"))
				s.Add("prom", stack.Instances, &monitoringv1.Prometheus{ObjectMeta: metav1.ObjectMeta{Name: "k8s", Namespace: "a"}})
				s.AddUpstream(crds)
			},
			want: map[string][]string{
				"e-namespaces":     nil,
				"e-mon-crds":       nil,
				"e-storage":        nil,
				"e-op-operators":   {"e-namespaces"},
				"e-db-instances":   {"e-namespaces", "e-storage"},
				"e-prom-instances": {"e-mon-crds", "e-op-operators"},
			},
		},
		{
			name: "a Secret another component creates; one of the same unit makes no edge",
			build: func(s *stack.Set) {
				s.Add("namespaces", stack.Namespaces, namespace("a"))
				s.Add("creds", stack.Instances, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "token", Namespace: "a"}})
				d := deployment("a", "user", 1)
				withSecretEnv(&d.ObjectMeta, &d.Spec.Template.Spec.Containers[0], "token", "t")
				s.Add("user", stack.Instances, d)
				own := deployment("a", "self", 1)
				withSecretEnv(&own.ObjectMeta, &own.Spec.Template.Spec.Containers[0], "own", "t")
				s.Add("self", stack.Instances, own, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "own", Namespace: "a"}})
			},
			want: map[string][]string{
				"e-namespaces":      nil,
				"e-creds-instances": {"e-namespaces"},
				"e-user-instances":  {"e-creds-instances"},
				"e-self-instances":  {"e-namespaces"},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &stack.Set{}
			tc.build(s)
			got := depsOf(t, s)
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got  %v\nwant %v", got, tc.want)
			}
		})
	}
}

// A Secret the environment references and nothing creates gets a gate in
// each namespace that reads it, with the keys read; only its readers wait.
func TestPrerequisiteGates(t *testing.T) {
	s := &stack.Set{}
	s.Add("namespaces", stack.Namespaces, namespace("a"), namespace("b"))
	for _, ns := range []string{"a", "b"} {
		d := deployment(ns, "reader", 1)
		withSecretEnv(&d.ObjectMeta, &d.Spec.Template.Spec.Containers[0], "s3", "key-"+ns)
		s.Add("reader-"+ns, stack.Instances, d)
	}
	s.Add("other", stack.Instances, deployment("a", "other", 1))
	s.Add("storage", stack.Storage, storageClass("fast", "csi.example.com"))
	g := graphFor(t, s,
		Prerequisite{Kind: "Secret", Name: "s3", Keys: []string{"declared"}, Source: "x.credentials"},
		Prerequisite{Kind: "Secret", Namespace: "vault", Name: "root", Keys: []string{"token"}, NeededBy: []string{"other", "absent"}, Source: "prerequisites.secrets.vault.root"})
	var got []string
	for _, gt := range g.gates {
		got = append(got, gt.Kustomization+": "+gt.String())
	}
	want := []string{
		"e-needs-csidriver-csi-example-com: CSIDriver csi.example.com",
		"e-needs-secret-a-s3: Secret a/s3 (keys declared, key-a)",
		"e-needs-secret-b-s3: Secret b/s3 (keys declared, key-b)",
		"e-needs-secret-vault-root: Secret vault/root (key token)",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("gates\n got  %q\n want %q", got, want)
	}
	deps := map[string][]string{}
	for _, n := range g.nodes {
		deps[n.name] = n.deps
	}
	for unit, want := range map[string][]string{
		"e-reader-a-instances": {"e-namespaces", "e-needs-secret-a-s3"},
		"e-reader-b-instances": {"e-namespaces", "e-needs-secret-b-s3"},
		"e-other-instances":    {"e-namespaces", "e-needs-secret-vault-root"},
		"e-storage":            {"e-needs-csidriver-csi-example-com"},
	} {
		if !reflect.DeepEqual(deps[unit], want) {
			t.Errorf("%s depends on %v, want %v", unit, deps[unit], want)
		}
	}
	if _, err := graphOf(Environment{Name: "e", Objects: s, Prerequisites: []Prerequisite{{Kind: "ConfigMap", Name: "x"}}}); err == nil ||
		!strings.Contains(err.Error(), "kind ConfigMap cannot be checked") {
		t.Errorf("a prerequisite of an uncheckable kind: %v", err)
	}
	if _, err := graphOf(Environment{Name: "e", Objects: s, Prerequisites: []Prerequisite{{Kind: "Secret", Namespace: "a", Name: "x", Keys: []string{"a b"}}}}); err == nil ||
		!strings.Contains(err.Error(), `key "a b" is not a valid Secret key`) {
		t.Errorf("a key CEL could not quote: %v", err)
	}
}

// A gate's Kustomization checks the object and, for a Secret, its keys.
func TestGateKustomization(t *testing.T) {
	s := smallStack()
	d := deployment("monitoring", "reader", 1)
	withSecretEnv(&d.ObjectMeta, &d.Spec.Template.Spec.Containers[0], "slack", "webhook")
	s.Add("reader", stack.Instances, d)
	tree, err := Compile(context.Background(), smallStack(), []Environment{{Name: "prod", Objects: s,
		Prerequisites: []Prerequisite{{Kind: "Secret", Name: "slack", Source: "monitoring.slack"}}}})
	if err != nil {
		t.Fatal(err)
	}
	var ks kustomizev1.Kustomization
	if err := yaml.UnmarshalStrict([]byte(mustFile(t, tree, "clusters/prod/kustomization-prod-needs-secret-monitoring-slack.yaml")), &ks); err != nil {
		t.Fatal(err)
	}
	if len(ks.Spec.HealthChecks) != 1 || ks.Spec.HealthChecks[0].Name != "slack" || ks.Spec.HealthChecks[0].Namespace != "monitoring" || ks.Spec.HealthChecks[0].Kind != "Secret" {
		t.Errorf("health checks %+v", ks.Spec.HealthChecks)
	}
	if len(ks.Spec.HealthCheckExprs) != 1 || ks.Spec.HealthCheckExprs[0].Current != "'webhook' in data" {
		t.Errorf("health check exprs %+v", ks.Spec.HealthCheckExprs)
	}
	if ks.Spec.Timeout.Duration != GateTimeout || ks.Annotations[PrerequisiteAnnotation] != "Secret monitoring/slack (key webhook)" {
		t.Errorf("timeout %v, annotations %v", ks.Spec.Timeout, ks.Annotations)
	}
	if !strings.HasSuffix(ks.Spec.Path, "envs/prod/_prerequisites/prod-needs-secret-monitoring-slack") {
		t.Errorf("path %s", ks.Spec.Path)
	}
	mustFile(t, tree, "envs/prod/_prerequisites/prod-needs-secret-monitoring-slack/kustomization.yaml")
	if got := mustFile(t, tree, "clusters/prod/kustomization-prod-reader-instances.yaml"); !strings.Contains(got, "- name: prod-needs-secret-monitoring-slack\n") {
		t.Errorf("the reader does not wait for the gate:\n%s", got)
	}
}

func TestUpstreamNameClash(t *testing.T) {
	s := &stack.Set{}
	s.Add("c", stack.CRDs, crd("example.org", "Widget"))
	s.AddUpstream(stack.Upstream{Name: "c-crds", Layer: stack.CRDs, URL: "u", Tag: "v1", Path: "."})
	_, err := Compile(context.Background(), &stack.Set{}, []Environment{{Name: "e", Objects: s}})
	if err == nil || !strings.Contains(err.Error(), `flux Kustomization name "e-c-crds" is used by both component c layer crds and upstream c-crds`) {
		t.Fatalf("got %v", err)
	}
}

// Units list what has readiness in healthChecks and never wait: true, which
// would wait for standalone claims to bind (a deadlock on a
// WaitForFirstConsumer class). Units with volume claim templates get a
// longer timeout.
func TestHealthChecksInsteadOfWait(t *testing.T) {
	s := smallStack()
	s.Add("grafana", stack.Instances, deployment("monitoring", "grafana", 1), pvc("monitoring", "grafana-data", "fast"))
	tree, err := Compile(context.Background(), smallStack(), []Environment{{Name: "prod", Objects: s}})
	if err != nil {
		t.Fatal(err)
	}
	read := func(name string) kustomizev1.Kustomization {
		var ks kustomizev1.Kustomization
		if err := yaml.UnmarshalStrict([]byte(mustFile(t, tree, "clusters/prod/kustomization-"+name+".yaml")), &ks); err != nil {
			t.Fatal(err)
		}
		return ks
	}
	ks := read("prod-grafana-instances")
	if ks.Spec.Wait {
		t.Error("wait is on for a unit with standalone claims")
	}
	var checks []string
	for _, c := range ks.Spec.HealthChecks {
		checks = append(checks, c.APIVersion+" "+c.Kind+" "+c.Namespace+"/"+c.Name)
	}
	if want := []string{"apps/v1 Deployment monitoring/grafana"}; !reflect.DeepEqual(checks, want) {
		t.Errorf("healthChecks %v, want %v", checks, want)
	}
	if ks.Spec.Timeout.Duration != DefaultTimeout {
		t.Errorf("grafana timeout %v", ks.Spec.Timeout.Duration)
	}
	if p := read("prod-prometheus-instances"); p.Spec.Timeout.Duration != DataTimeoutFactor*DefaultTimeout || p.Spec.Wait {
		t.Errorf("prometheus: timeout %v, wait %v", p.Spec.Timeout.Duration, p.Spec.Wait)
	}
}

// No Kustomization that applies CRDs may delete them: the upstream ones and
// any unit holding one keep them with the prune annotation.
func TestCRDsNeverPruned(t *testing.T) {
	env := Environment{Name: "prod", Objects: realisticStack("prod")}
	g, err := graphOf(env)
	if err != nil {
		t.Fatal(err)
	}
	seen := 0
	for _, o := range fluxObjects("prod", Flux{}.withDefaults(), g) {
		ks, ok := o.(*kustomizev1.Kustomization)
		if !ok {
			continue
		}
		n := g.byName()[ks.Name]
		if n.kind != upstreamNode && !holdsCRD(n.objects) {
			continue
		}
		seen++
		if ks.Spec.CommonMetadata == nil || ks.Spec.CommonMetadata.Annotations[PruneAnnotation] != PruneDisabled {
			t.Errorf("%s applies CRDs and may prune them: %+v", ks.Name, ks.Spec.CommonMetadata)
		}
	}
	if seen < 3 {
		t.Errorf("only %d CRD Kustomizations checked", seen)
	}
}

func TestGraphFormats(t *testing.T) {
	env := Environment{Name: "prod", Objects: realisticStack("prod")}
	m, err := Graph(env, "mermaid")
	if err != nil {
		t.Fatal(err)
	}
	d, err := Graph(env, "dot")
	if err != nil {
		t.Fatal(err)
	}
	x, err := Graph(env, "explain")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`(["prod-eck-crds (3.5.0)"])`, "flowchart LR\n"} {
		if !strings.Contains(m, want) {
			t.Errorf("mermaid lacks %q:\n%s", want, m)
		}
	}
	if !strings.Contains(d, `"prod-namespaces" -> "prod-prometheus-operator-operators";`) {
		t.Errorf("dot lacks namespaces -> prometheus-operator:\n%s", d)
	}
	if !strings.Contains(x, "prod-prometheus-operator-operators\n  after prod-namespaces:\n    ") {
		t.Errorf("explain lacks the operator's reasons:\n%s", x)
	}
	again, _ := Graph(Environment{Name: "prod", Objects: shuffled(rand.New(rand.NewSource(7)), realisticStack("prod"))}, "mermaid")
	if again != m {
		t.Error("graph depends on input order")
	}
	if _, err := Graph(env, "svg"); err == nil || !strings.Contains(err.Error(), `unknown graph format "svg"`) {
		t.Errorf("got %v", err)
	}
}
