package overlays

import (
	"context"
	"fmt"
	"math/rand"
	"path"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// trickyStrings are values YAML could misread if quoting went wrong.
var trickyStrings = []string{"yes", "no", "on", "true", "1.0", "0x1F", "012", "1e3", "~", "null", "", "-", "2024-01-01", "a: b", "#x", "multi\nline\n", " padded ", "*", "&a", "!tag", "[1]", "{}"}

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.Intn(len(xs))] }

func cronJob(ns, name string) *batchv1.CronJob {
	d := deployment(ns, name, 1, "--once")
	return &batchv1.CronJob{
		ObjectMeta: d.ObjectMeta,
		Spec: batchv1.CronJobSpec{
			Schedule: "*/5 * * * *",
			JobTemplate: batchv1.JobTemplateSpec{Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyOnFailure, Containers: d.Spec.Template.Spec.Containers},
			}}},
		},
	}
}

func widget(ns, name string, r *rand.Rand) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "example.org/v1alpha1", "kind": "Widget",
		"metadata": map[string]any{"name": name, "namespace": ns},
		"spec": map[string]any{
			"size":     int64(r.Intn(5) + 1),
			"ratio":    0.5,
			"enabled":  true,
			"tags":     []any{"a", "b", "c"},
			"nodeSets": []any{map[string]any{"name": "hot", "count": int64(3)}, map[string]any{"name": "warm", "count": int64(2)}},
			"config":   map[string]any{"x": "1", "nested": map[string]any{"y": pick(r, trickyStrings)}},
		},
	}}
}

// propertyBase is a random base of about 25 objects over all layers.
func propertyBase(r *rand.Rand) *stack.Set {
	s := &stack.Set{}
	s.Add("core", stack.Namespaces, namespace("apps"), namespace("monitoring"))
	s.Add("crds", stack.CRDs, crd("example.org", "Widget"))
	s.Add("storage", stack.Storage, storageClass("fast", "csi.example.org"))
	s.Add("node", stack.Node, daemonSet("kube-system", "sysctl"))
	s.Add("operator", stack.Operators, deployment("apps", "operator", 1, "--log-level=info"), service("apps", "operator"))
	for i := 0; i < 1+r.Intn(3); i++ {
		name := fmt.Sprintf("app-%d", i)
		var args []string
		for j := 0; j < r.Intn(4); j++ {
			args = append(args, fmt.Sprintf("--flag-%d=%s", j, pick(r, trickyStrings)))
		}
		s.Add(name, stack.Instances, deployment("apps", name, int32(1+r.Intn(3)), args...), service("apps", name),
			configMap("apps", name+"-config", map[string]string{"key": pick(r, trickyStrings), "other": "v"}))
	}
	s.Add("db", stack.Instances, statefulSet("apps", "db", 1, fmt.Sprintf("%dGi", 1+r.Intn(20))), widget("apps", "w", r))
	s.Add("batch", stack.Instances, cronJob("apps", "cleanup"))
	s.Add("monitoring", stack.Content, serviceMonitor("monitoring", "apps", "http", "metrics"), prometheusRule(r.Intn(10), false))
	s.AddUpstream(stack.Upstream{Name: "upstream-crds", Layer: stack.CRDs, URL: "https://example.org/crds", Tag: "v1.0.0", Path: "./crds"})
	return s
}

// perturb returns an environment derived from base: objects changed,
// dropped, added and moved between components, whole components dropped.
func perturb(r *rand.Rand, base *stack.Set) *stack.Set {
	out := &stack.Set{}
	dropComponent := ""
	if r.Intn(4) == 0 {
		dropComponent = pick(r, base.Resources()).Component
	}
	for _, res := range base.Resources() {
		if res.Component == dropComponent || r.Intn(15) == 0 {
			continue
		}
		o := res.Object.DeepCopyObject().(stack.Object)
		if r.Intn(2) == 0 {
			mutate(r, o)
		}
		comp := res.Component
		if r.Intn(25) == 0 {
			comp = "moved"
		}
		out.Add(comp, res.Layer, o)
	}
	for i := 0; i < r.Intn(3); i++ {
		layer := pick(r, stack.AllLayers()[1:])
		comp := pick(r, []string{"extra", "operator", "monitoring", "db"})
		switch r.Intn(3) {
		case 0:
			out.Add(comp, layer, configMap("apps", fmt.Sprintf("extra-%d", i), map[string]string{"v": pick(r, trickyStrings)}))
		case 1:
			out.Add(comp, layer, service("apps", fmt.Sprintf("extra-svc-%d", i)))
		default:
			out.Add(comp, layer, cronJob("apps", fmt.Sprintf("extra-job-%d", i)))
		}
	}
	for _, u := range base.Upstreams() {
		if r.Intn(5) != 0 {
			u.Tag = pick(r, []string{u.Tag, "v1.1.0"})
			out.AddUpstream(u)
		}
	}
	return out
}

func mutateContainer(r *rand.Rand, c *corev1.Container) {
	switch r.Intn(8) {
	case 0:
		c.Args = append(c.Args, "--new="+pick(r, trickyStrings))
	case 1:
		if len(c.Args) > 0 {
			i := r.Intn(len(c.Args))
			c.Args = append(c.Args[:i:i], c.Args[i+1:]...)
		}
	case 2:
		if len(c.Args) > 0 {
			c.Args[r.Intn(len(c.Args))] = "--changed=" + pick(r, trickyStrings)
		}
	case 3:
		r.Shuffle(len(c.Args), func(i, j int) { c.Args[i], c.Args[j] = c.Args[j], c.Args[i] })
	case 4:
		c.Env = append(c.Env, corev1.EnvVar{Name: fmt.Sprintf("NEW_%d", r.Intn(3)), Value: pick(r, trickyStrings)})
	case 5:
		if len(c.Env) > 0 {
			i := r.Intn(len(c.Env))
			c.Env = append(c.Env[:i:i], c.Env[i+1:]...)
		}
	case 6:
		c.Image += "-patched"
	default:
		c.Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse(fmt.Sprintf("%dMi", 64*(1+r.Intn(8))))}
	}
}

func mutatePod(r *rand.Rand, p *corev1.PodTemplateSpec) {
	switch r.Intn(5) {
	case 0:
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "sidecar", Image: "example.org/sidecar:" + pick(r, []string{"v1", "v2"})})
	case 1:
		if len(p.Spec.Containers) > 1 {
			p.Spec.Containers = p.Spec.Containers[:1]
		}
	case 2:
		p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "dedicated", Operator: corev1.TolerationOpExists})
	case 3:
		if p.Labels == nil {
			p.Labels = map[string]string{}
		}
		p.Labels["tier"] = pick(r, []string{"a", "b"})
	default:
		for i := range p.Spec.Containers {
			mutateContainer(r, &p.Spec.Containers[i])
		}
	}
}

func mutate(r *rand.Rand, o stack.Object) {
	for n := 1 + r.Intn(3); n > 0; n-- {
		switch r.Intn(4) {
		case 0:
			l := o.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			if r.Intn(2) == 0 {
				l["team"] = pick(r, trickyStrings)
			} else {
				delete(l, stack.LabelPartOf)
			}
			o.SetLabels(l)
			continue
		case 1:
			o.SetAnnotations(map[string]string{"vigil.dev/note": pick(r, trickyStrings)})
			continue
		}
		switch o := o.(type) {
		case *appsv1.Deployment:
			if r.Intn(3) == 0 {
				o.Spec.Replicas = ptr(int32(r.Intn(5)))
			} else {
				mutatePod(r, &o.Spec.Template)
			}
		case *appsv1.StatefulSet:
			switch r.Intn(3) {
			case 0:
				o.Spec.Replicas = ptr(int32(1 + r.Intn(5)))
			case 1:
				o.Spec.VolumeClaimTemplates[0].Spec.Resources.Requests[corev1.ResourceStorage] = resource.MustParse(fmt.Sprintf("%dGi", 1+r.Intn(100)))
			default:
				mutatePod(r, &o.Spec.Template)
			}
		case *appsv1.DaemonSet:
			mutatePod(r, &o.Spec.Template)
		case *batchv1.CronJob:
			if r.Intn(2) == 0 {
				o.Spec.Schedule = pick(r, []string{"0 * * * *", "@daily"})
				o.Spec.Suspend = ptr(r.Intn(2) == 0)
			} else {
				mutatePod(r, &o.Spec.JobTemplate.Spec.Template)
			}
		case *corev1.ConfigMap:
			switch r.Intn(3) {
			case 0:
				if o.Data == nil {
					o.Data = map[string]string{}
				}
				o.Data[fmt.Sprintf("k%d", r.Intn(3))] = pick(r, trickyStrings)
			case 1:
				delete(o.Data, "other")
			default:
				o.Data = nil
			}
		case *corev1.Service:
			if r.Intn(2) == 0 {
				o.Spec.Ports = append(o.Spec.Ports, corev1.ServicePort{Name: "metrics", Port: 9090, TargetPort: intstr.FromInt32(9090)})
			} else {
				o.Spec.Type = corev1.ServiceTypeNodePort
			}
		case *monitoringv1.ServiceMonitor:
			switch {
			case len(o.Spec.Endpoints) > 0 && r.Intn(2) == 0:
				o.Spec.Endpoints = o.Spec.Endpoints[1:]
			case len(o.Spec.Endpoints) > 0 && r.Intn(2) == 0:
				o.Spec.Endpoints[0].Interval = "5s"
			default:
				o.Spec.Endpoints = append(o.Spec.Endpoints, monitoringv1.Endpoint{Port: "extra"})
			}
		case *monitoringv1.PrometheusRule:
			o.Spec.Groups[0].Rules = o.Spec.Groups[0].Rules[:1+r.Intn(len(o.Spec.Groups[0].Rules))]
			o.Spec.Groups[0].Rules[0].Labels["severity"] = pick(r, []string{"critical", "info"})
		case *unstructured.Unstructured:
			spec := o.Object["spec"].(map[string]any)
			switch r.Intn(6) {
			case 0:
				spec["size"] = int64(r.Intn(100))
			case 1:
				delete(spec, "config")
			case 2:
				tags, _ := spec["tags"].([]any)
				spec["tags"] = append(tags, pick(r, trickyStrings))
			case 3:
				if ns := spec["nodeSets"].([]any); len(ns) > 0 {
					spec["nodeSets"] = ns[1:]
				}
			case 4:
				spec["ratio"] = 0.25 + float64(r.Intn(4))
			default:
				spec["config"] = map[string]any{"nested": map[string]any{"z": []any{int64(1), "two", false}}}
			}
		case *storagev1.StorageClass:
			o.Parameters["backend"] = pick(r, []string{"block", "file"})
		}
	}
}

// TestPropertyRandomEnvironments compiles hundreds of random environments
// against random bases. Compile verifies each overlay by building it, so a
// wrong patch anywhere fails the case; on top, no patch may exist for an
// object the environment left unchanged, and bases never depend on the
// environments.
func TestPropertyRandomEnvironments(t *testing.T) {
	cases := 200
	if testing.Short() {
		cases = 30
	}
	for seed := int64(1); seed <= int64(cases); seed++ {
		r := rand.New(rand.NewSource(seed))
		base := propertyBase(r)
		var envs []Environment
		for i := 0; i < 1+r.Intn(2); i++ {
			envs = append(envs, Environment{Name: fmt.Sprintf("env%d", i), Objects: perturb(r, base)})
		}
		tree, err := Compile(context.Background(), base, envs)
		if err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		checkNoNeedlessPatches(t, seed, tree, base, envs)
		alone, err := render(base, nil)
		if err != nil {
			t.Fatalf("seed %d, bases alone: %v", seed, err)
		}
		for _, p := range alone.tree.Paths() {
			a, _ := alone.tree.File(p)
			b, ok := tree.File(p)
			if strings.HasPrefix(p, "base/") && (!ok || string(a) != string(b)) {
				t.Fatalf("seed %d: base file %s depends on the environments", seed, p)
			}
		}
	}
}

// checkNoNeedlessPatches: an object the environment keeps unchanged has no
// patch file (patch files are named like the base file they patch).
func checkNoNeedlessPatches(t *testing.T, seed int64, tree *Tree, base *stack.Set, envs []Environment) {
	t.Helper()
	baseObjs, err := collect(base, "base")
	if err != nil {
		t.Fatal(err)
	}
	groups := map[string][]objKey{}
	for _, b := range baseObjs {
		dir := b.component + "/" + b.layer.String()
		groups[dir] = append(groups[dir], b.key)
	}
	names := map[string]map[objKey]string{}
	for dir, keys := range groups {
		names[dir] = fileNames(keys)
	}
	for _, e := range envs {
		envObjs, err := collect(e.Objects, e.Name)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range baseObjs {
			unchanged := false
			for _, o := range envObjs {
				if o.layer == b.layer && o.key == b.key && equalJSON(o.m, b.m) {
					unchanged = true
				}
			}
			if !unchanged {
				continue
			}
			p := path.Join("envs", e.Name, b.layer.String(), "patches", b.component, names[b.component+"/"+b.layer.String()][b.key])
			if body, ok := tree.File(p); ok {
				t.Fatalf("seed %d: %s patches %s, which %s does not change:\n%s", seed, p, b.key, e.Name, body)
			}
		}
	}
}
