package overlays

import (
	"context"
	"errors"
	"sort"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/stack"
)

func compileProd(t *testing.T, base, env *stack.Set) *Tree {
	t.Helper()
	tree, err := Compile(context.Background(), base, []Environment{{Name: "prod", Objects: env}})
	if err != nil {
		t.Fatalf("Compile: %v", err)
	}
	return tree
}

func mustFile(t *testing.T, tree *Tree, p string) string {
	t.Helper()
	b, ok := tree.File(p)
	if !ok {
		t.Fatalf("no file %s; tree has:\n%s", p, strings.Join(tree.Paths(), "\n"))
	}
	return string(b)
}

// filesUnder lists the tree's files below dir, relative to it.
func filesUnder(tree *Tree, dir string) []string {
	var out []string
	for _, p := range tree.Paths() {
		if rest, ok := strings.CutPrefix(p, dir+"/"); ok {
			out = append(out, rest)
		}
	}
	return out
}

// stackWith builds smallStack with the objects of one (component, layer)
// replaced or extended; each table case states its difference this way.
func stackWith(mod func(objs map[string]stack.Object) map[string]stack.Object) *stack.Set {
	base := smallStack()
	objs := map[string]stack.Object{}
	type place struct {
		component string
		layer     stack.Layer
	}
	where := map[string]place{}
	for _, r := range base.Resources() {
		k := strings.ToLower(r.Object.GetObjectKind().GroupVersionKind().Kind) + "/" + r.Object.GetName()
		objs[k] = r.Object
		where[k] = place{r.Component, r.Layer}
	}
	objs = mod(objs)
	s := &stack.Set{}
	keys := make([]string, 0, len(objs))
	for k := range objs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		pl, ok := where[k]
		if !ok {
			pl = place{"extras", stack.Instances}
		}
		s.Add(pl.component, pl.layer, objs[k])
	}
	for _, u := range base.Upstreams() {
		s.AddUpstream(u)
	}
	return s
}

func TestCompilePatches(t *testing.T) {
	const inst = "envs/prod/prometheus/instances"
	const am = "envs/prod/alertmanager/instances"
	const ops = "envs/prod/prometheus-operator/operators"
	tests := []struct {
		name string
		mod  func(map[string]stack.Object) map[string]stack.Object
		// files are the exact contents expected, by tree path.
		files map[string]string
		// patches are the patch and resource files expected in each
		// overlay directory (all others must be absent).
		patches map[string][]string
	}{
		{
			name:    "unchanged",
			mod:     func(o map[string]stack.Object) map[string]stack.Object { return o },
			patches: map[string][]string{inst: {"kustomization.yaml"}, am: {"kustomization.yaml"}, ops: {"kustomization.yaml"}, "envs/prod/prometheus/content": {"kustomization.yaml"}, "envs/prod/monitoring/namespaces": {"kustomization.yaml"}},
			files: map[string]string{
				inst + "/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
labels:
- fields:
  - create: true
    group: apps
    kind: StatefulSet
    path: spec/template/metadata/labels
  pairs:
    vigil.dev/environment: prod
resources:
- ../../../../base/prometheus/instances
`,
			},
		},
		{
			name: "replicas",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				o["statefulset/prometheus"].(*appsv1.StatefulSet).Spec.Replicas = ptr(int32(3))
				return o
			},
			patches: map[string][]string{inst: {"kustomization.yaml", "patches/prometheus/statefulset-prometheus.yaml"}},
			files: map[string]string{inst + "/patches/prometheus/statefulset-prometheus.yaml": `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: prometheus
  namespace: monitoring
spec:
  replicas: 3
`},
		},
		{
			name: "storage size",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				o["statefulset/prometheus"].(*appsv1.StatefulSet).Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse("50Gi")
				return o
			},
			// volumeClaimTemplates has no merge key: a merge patch would
			// restate the whole template, so the change is a JSON patch
			// that names the template it edits.
			files: map[string]string{inst + "/patches/prometheus/statefulset-prometheus.yaml": `- op: test
  path: /spec/volumeClaimTemplates/0/metadata/name
  value: data
- op: replace
  path: /spec/volumeClaimTemplates/0/spec/resources/requests/storage
  value: 50Gi
`},
		},
		{
			name: "slack channel",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				o["configmap/alertmanager-routes"].(*corev1.ConfigMap).Data["slack-channel"] = "#alerts-prod"
				return o
			},
			patches: map[string][]string{am: {"kustomization.yaml", "patches/alertmanager/configmap-alertmanager-routes.yaml"}},
			files: map[string]string{am + "/patches/alertmanager/configmap-alertmanager-routes.yaml": `apiVersion: v1
data:
  slack-channel: '#alerts-prod'
kind: ConfigMap
metadata:
  name: alertmanager-routes
  namespace: monitoring
`},
		},
		{
			name: "argument appended",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				c := &o["deployment/prometheus-operator"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
				c.Args = append(c.Args, "--enable-config-reloader-probes")
				return o
			},
			// containers merge by name; args has no merge key and is
			// restated, which shows the addition.
			files: map[string]string{ops + "/patches/prometheus-operator/deployment-prometheus-operator.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus-operator
  namespace: monitoring
spec:
  template:
    spec:
      containers:
      - args:
        - --log-level=info
        - --kubelet-service=kube-system/kubelet
        - --enable-config-reloader-probes
        name: prometheus-operator
`},
		},
		{
			name: "argument removed",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				c := &o["deployment/prometheus-operator"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
				c.Args = c.Args[1:]
				return o
			},
			files: map[string]string{ops + "/patches/prometheus-operator/deployment-prometheus-operator.yaml": `- op: test
  path: /spec/template/spec/containers/0/name
  value: prometheus-operator
- op: test
  path: /spec/template/spec/containers/0/args/0
  value: --log-level=info
- op: remove
  path: /spec/template/spec/containers/0/args/0
`},
		},
		{
			name: "env var removed and changed",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				c := &o["deployment/prometheus-operator"].(*appsv1.Deployment).Spec.Template.Spec.Containers[0]
				c.Env = []corev1.EnvVar{{Name: "GOMAXPROCS", Value: "4"}}
				return o
			},
			// env merges by name: the removal is a $patch: delete.
			files: map[string]string{ops + "/patches/prometheus-operator/deployment-prometheus-operator.yaml": `apiVersion: apps/v1
kind: Deployment
metadata:
  name: prometheus-operator
  namespace: monitoring
spec:
  template:
    spec:
      containers:
      - env:
        - name: GOMAXPROCS
          value: "4"
        - $patch: delete
          name: POD_NAME
        name: prometheus-operator
`},
		},
		{
			name: "sidecar appended",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				d := o["deployment/prometheus-operator"].(*appsv1.Deployment)
				d.Spec.Template.Spec.Containers = append(d.Spec.Template.Spec.Containers, corev1.Container{Name: "proxy", Image: "example.org/proxy:v1"})
				return o
			},
			// kustomize puts new elements of a merging list first; the
			// sidecar goes last, so only a JSON patch is exact.
			files: map[string]string{ops + "/patches/prometheus-operator/deployment-prometheus-operator.yaml": `- op: add
  path: /spec/template/spec/containers/1
  value:
    image: example.org/proxy:v1
    name: proxy
    resources: {}
`},
		},
		{
			name: "endpoint removed from custom resource",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				sm := o["servicemonitor/prometheus"].(*monitoringv1.ServiceMonitor)
				sm.Spec.Endpoints = sm.Spec.Endpoints[:1]
				return o
			},
			files: map[string]string{"envs/prod/prometheus/content/patches/prometheus/servicemonitor-prometheus.yaml": `- op: remove
  path: /spec/endpoints/1
`},
		},
		{
			name: "endpoint interval changed in custom resource",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				sm := o["servicemonitor/prometheus"].(*monitoringv1.ServiceMonitor)
				sm.Spec.Endpoints[1].Interval = "10s"
				return o
			},
			// endpoints is a list of a custom resource, which kustomize
			// replaces whole; the JSON patch names the endpoint.
			files: map[string]string{"envs/prod/prometheus/content/patches/prometheus/servicemonitor-prometheus.yaml": `- op: test
  path: /spec/endpoints/1/port
  value: reloader
- op: replace
  path: /spec/endpoints/1/interval
  value: 10s
`},
		},
		{
			name: "label added and annotation set",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				cm := o["configmap/prometheus-config"].(*corev1.ConfigMap)
				cm.Labels["team"] = "sre"
				delete(cm.Labels, stack.LabelComponent)
				cm.Annotations = map[string]string{"vigil.dev/reason": "prod retention"}
				return o
			},
			files: map[string]string{inst + "/patches/prometheus/configmap-prometheus-config.yaml": `apiVersion: v1
kind: ConfigMap
metadata:
  annotations:
    vigil.dev/reason: prod retention
  labels:
    app.kubernetes.io/component: null
    team: sre
  name: prometheus-config
  namespace: monitoring
`},
		},
		{
			name: "object only in the environment",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				o["configmap/prometheus-extra"] = configMap("monitoring", "prometheus-extra", map[string]string{"a": "b"})
				return o
			},
			// A component of its own: its own unit, only resources.
			patches: map[string][]string{"envs/prod/extras/instances": {"kustomization.yaml", "resources/extras/configmap-prometheus-extra.yaml"}},
			files: map[string]string{"envs/prod/extras/instances/kustomization.yaml": `apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
labels:
- pairs:
    vigil.dev/environment: prod
resources:
- resources/extras/configmap-prometheus-extra.yaml
`},
		},
		{
			name: "object only in the base",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				delete(o, "service/prometheus-operator")
				return o
			},
			patches: map[string][]string{ops: {"kustomization.yaml", "patches/prometheus-operator/service-prometheus-operator.yaml"}},
			files: map[string]string{ops + "/patches/prometheus-operator/service-prometheus-operator.yaml": `$patch: delete
apiVersion: v1
kind: Service
metadata:
  name: prometheus-operator
  namespace: monitoring
`},
		},
		{
			name: "component left out",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				delete(o, "configmap/alertmanager-routes")
				return o
			},
			// The base is not included rather than included and
			// deleted: the component has no unit at all.
			patches: map[string][]string{am: nil},
		},
		{
			name: "layer left out",
			mod: func(o map[string]stack.Object) map[string]stack.Object {
				delete(o, "servicemonitor/prometheus")
				return o
			},
			patches: map[string][]string{"envs/prod/prometheus/content": nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tree := compileProd(t, smallStack(), stackWith(tc.mod))
			for p, want := range tc.files {
				if got := mustFile(t, tree, p); got != want {
					t.Errorf("%s:\n%s\nwant:\n%s", p, got, want)
				}
			}
			for dir, want := range tc.patches {
				got := filesUnder(tree, dir)
				if strings.Join(got, "\n") != strings.Join(want, "\n") {
					t.Errorf("files under %s: got %q, want %q", dir, got, want)
				}
			}
			// Bases never depend on the environment.
			ref := compileProd(t, smallStack(), smallStack())
			for _, p := range ref.Paths() {
				if strings.HasPrefix(p, "base/") && mustFile(t, tree, p) != mustFile(t, ref, p) {
					t.Errorf("base file %s differs between environments", p)
				}
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestVerificationCatchesWrongPatch(t *testing.T) {
	env := stackWith(func(o map[string]stack.Object) map[string]stack.Object {
		o["statefulset/prometheus"].(*appsv1.StatefulSet).Spec.Replicas = ptr(int32(3))
		return o
	})
	r, err := render(smallStack(), []Environment{{Name: "prod", Objects: env}})
	if err != nil {
		t.Fatal(err)
	}
	const p = "envs/prod/prometheus/instances/patches/prometheus/statefulset-prometheus.yaml"
	r.tree.files[p] = []byte(strings.Replace(string(r.tree.files[p]), "replicas: 3", "replicas: 2", 1))
	err = r.verify(context.Background())
	var verr *VerificationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a VerificationError, got %v", err)
	}
	msg := err.Error()
	for _, want := range []string{"envs/prod/prometheus/instances", "environment prod prometheus/instances", "StatefulSet.apps monitoring/prometheus", "component prometheus", "(-want +got)", `"replicas"`, `s"3"`, `s"2"`} {
		if !strings.Contains(msg, want) {
			t.Errorf("error does not mention %q:\n%s", want, msg)
		}
	}
	if len(verr.Problems) != 1 {
		t.Errorf("want one problem, got %d:\n%s", len(verr.Problems), msg)
	}
}

func TestVerificationCatchesMissingAndExtraObjects(t *testing.T) {
	r, err := render(smallStack(), []Environment{{Name: "prod", Objects: smallStack()}})
	if err != nil {
		t.Fatal(err)
	}
	const k = "base/prometheus/instances/kustomization.yaml"
	r.tree.files[k] = []byte(strings.Replace(string(r.tree.files[k]), "- service-prometheus.yaml\n", "", 1))
	err = r.verify(context.Background())
	if err == nil {
		t.Fatal("verification passed with a resource dropped from a base")
	}
	for _, want := range []string{
		"base/prometheus/instances (base prometheus layer instances): Service monitoring/prometheus (component prometheus) is missing from the build",
		"envs/prod/prometheus/instances (environment prod prometheus/instances): Service monitoring/prometheus (component prometheus) is missing from the build",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
}

func TestCompileErrors(t *testing.T) {
	dup := smallStack()
	dup.Add("other", stack.Instances, configMap("monitoring", "prometheus-config", nil))
	labelled := smallStack()
	cm := configMap("monitoring", "x", nil)
	cm.Labels[stack.LabelEnvironment] = "prod"
	labelled.Add("x", stack.Instances, cm)
	cyclic := smallStack()
	// Each of two components reads the Secret the other creates.
	for _, c := range [][2]string{{"a", "b"}, {"b", "a"}} {
		d := deployment("monitoring", "reader-"+c[0], 1)
		withSecretEnv(&d.ObjectMeta, &d.Spec.Template.Spec.Containers[0], "secret-"+c[1], "k")
		cyclic.Add(c[0], stack.Instances, d, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "secret-" + c[0], Namespace: "monitoring"}})
	}
	noTag := smallStack()
	noTag.AddUpstream(stack.Upstream{Name: "x", Layer: stack.CRDs, URL: "https://example.org/x", Path: "."})
	badComponent := &stack.Set{}
	badComponent.Add("Bad_Name", stack.Instances, configMap("a", "b", nil))

	tests := []struct {
		name string
		base *stack.Set
		envs []Environment
		want string
	}{
		{"nil base", nil, nil, "no base object set"},
		{"bad env name", smallStack(), []Environment{{Name: "Prod", Objects: smallStack()}}, `environment name "Prod" must be a DNS label`},
		{"env twice", smallStack(), []Environment{{Name: "a", Objects: smallStack()}, {Name: "a", Objects: smallStack()}}, "environment a given twice"},
		{"no objects", smallStack(), []Environment{{Name: "a"}}, "environment a: no object set"},
		{"duplicate object", dup, nil, "base: ConfigMap monitoring/prometheus-config is generated twice, by component other (layer instances) and component prometheus (layer instances)"},
		{"label set by generator", labelled, nil, "component x sets label vigil.dev/environment on ConfigMap monitoring/x"},
		{"cycle", smallStack(), []Environment{{Name: "prod", Objects: cyclic}}, "dependency cycle between Flux Kustomizations: prod-a-instances -> prod-b-instances -> prod-a-instances (Deployment.apps monitoring/reader-a spec.template.spec.containers[reader-a].env[TOKEN].valueFrom.secretKeyRef -> Secret monitoring/secret-b key k; Deployment.apps monitoring/reader-b"},
		{"untagged upstream", smallStack(), []Environment{{Name: "prod", Objects: noTag}}, "upstream x: no tag"},
		{"bad component", badComponent, nil, `component name "Bad_Name" must be a DNS label`},
		{"bad flux path", smallStack(), []Environment{{Name: "prod", Objects: smallStack(), Flux: Flux{Path: "../x"}}}, `flux path "../x" leaves the source root`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile(context.Background(), tc.base, tc.envs)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

func TestCompileCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Compile(ctx, smallStack(), []Environment{{Name: "prod", Objects: prodStack()}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v, want context.Canceled", err)
	}
}

func TestFileNames(t *testing.T) {
	keys := []objKey{
		{Version: "v1", Kind: "ConfigMap", Namespace: "a", Name: "x"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "b", Name: "x"},
		{Version: "v1", Kind: "ConfigMap", Namespace: "a", Name: "y"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Kind: "ClusterRole", Name: "system:metrics"},
		{Group: "example.org", Version: "v1", Kind: "Widget", Namespace: "a", Name: "w"},
		{Group: "example.com", Version: "v1", Kind: "Widget", Namespace: "a", Name: "w"},
	}
	got := fileNames(keys)
	want := map[objKey]string{
		keys[0]: "configmap-a-x.yaml",
		keys[1]: "configmap-b-x.yaml",
		keys[2]: "configmap-y.yaml",
		keys[3]: "clusterrole-system_metrics.yaml",
		keys[4]: "widget.example.org-v1-a-w.yaml",
		keys[5]: "widget.example.com-v1-a-w.yaml",
	}
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: got %s, want %s", k, got[k], w)
		}
	}
	// Order of the input does not matter.
	rev := append([]objKey(nil), keys...)
	for i, j := 0, len(rev)-1; i < j; i, j = i+1, j-1 {
		rev[i], rev[j] = rev[j], rev[i]
	}
	for k, v := range fileNames(rev) {
		if got[k] != v {
			t.Errorf("order changed the name of %s: %s vs %s", k, v, got[k])
		}
	}
}

// An environment with nothing in it still gets a cluster directory that
// builds, so that Flux prunes what an earlier version deployed.
func TestCompileEmptyEnvironment(t *testing.T) {
	tree, err := Compile(context.Background(), &stack.Set{}, []Environment{{Name: "e", Objects: &stack.Set{}}})
	if err != nil {
		t.Fatal(err)
	}
	if got := tree.Paths(); len(got) != 1 || got[0] != "clusters/e/kustomization.yaml" {
		t.Errorf("tree: %v", got)
	}
}
