package generate_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/controlplane"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/namespaces"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestCrossReferences proves, for every example, that the objects of
// different components fit together the way a cluster needs them to.
func TestCrossReferences(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, name)
			s, err := generate.Build(e)
			if err != nil {
				t.Fatal(err)
			}
			checkStorageClasses(t, s)
			checkMonitorsSelected(t, e, s)
			checkSecretKeys(t, e, s)
			checkServicesSelectPods(t, s)
		})
	}
}

// walk calls fn on every JSON object inside o.
func walk(t *testing.T, o stack.Object, fn func(m map[string]any)) {
	t.Helper()
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	var rec func(any)
	rec = func(v any) {
		switch x := v.(type) {
		case map[string]any:
			fn(x)
			for _, c := range x {
				rec(c)
			}
		case []any:
			for _, c := range x {
				rec(c)
			}
		}
	}
	rec(v)
}

func id(o stack.Object) string {
	return fmt.Sprintf("%s %s/%s", o.GetObjectKind().GroupVersionKind().Kind, o.GetNamespace(), o.GetName())
}

// checkStorageClasses: every claim, claim template and CR volume names a
// StorageClass the environment renders.
func checkStorageClasses(t *testing.T, s *stack.Set) {
	classes := map[string]bool{}
	for _, sc := range stacktest.Find[*storagev1.StorageClass](s) {
		classes[sc.Name] = true
	}
	claims := 0
	for _, r := range s.Resources() {
		walk(t, r.Object, func(m map[string]any) {
			name, ok := m["storageClassName"].(string)
			if !ok {
				return
			}
			claims++
			if !classes[name] {
				t.Errorf("%s: storage class %q is not rendered (have %v)", id(r.Object), name, slices.Sorted(maps.Keys(classes)))
			}
		})
	}
	if claims == 0 {
		t.Error("no volume names a storage class: the check proved nothing")
	}
}

// checkMonitorsSelected: every ServiceMonitor, PodMonitor and rule is
// selected by a Prometheus and lives in a namespace it may read.
func checkMonitorsSelected(t *testing.T, e *env.Environment, s *stack.Set) {
	proms := stacktest.Find[*monitoringv1.Prometheus](s)
	if e.Monitoring.Enabled != (len(proms) == 1) {
		t.Fatalf("%d Prometheus objects with monitoring.enabled %v", len(proms), e.Monitoring.Enabled)
	}
	if len(proms) == 0 {
		return
	}
	p := proms[0]
	readable := namespaces.Monitored(e)
	selects := func(sel, nsSel *metav1.LabelSelector, o stack.Object) bool {
		if sel == nil || nsSel == nil {
			return false
		}
		ls, err := metav1.LabelSelectorAsSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		nss, err := metav1.LabelSelectorAsSelector(nsSel)
		return err == nil && nss.Empty() && ls.Matches(labels.Set(o.GetLabels()))
	}
	check := func(o stack.Object, sel, nsSel *metav1.LabelSelector) {
		if !selects(sel, nsSel, o) {
			t.Errorf("%s: not selected by Prometheus %s", id(o), p.Name)
		}
		if !slices.Contains(readable, o.GetNamespace()) {
			t.Errorf("%s: Prometheus has no Role in namespace %s (it reads %v)", id(o), o.GetNamespace(), readable)
		}
	}
	for _, m := range stacktest.Find[*monitoringv1.ServiceMonitor](s) {
		check(m, p.Spec.ServiceMonitorSelector, p.Spec.ServiceMonitorNamespaceSelector)
	}
	for _, m := range stacktest.Find[*monitoringv1.PodMonitor](s) {
		check(m, p.Spec.PodMonitorSelector, p.Spec.PodMonitorNamespaceSelector)
	}
	for _, r := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		check(r, p.Spec.RuleSelector, p.Spec.RuleNamespaceSelector)
	}
}

// checkSecretKeys: wherever an object reads a Secret the environment
// references, it reads a key the environment names for that Secret.
func checkSecretKeys(t *testing.T, e *env.Environment, s *stack.Set) {
	declared := map[string][]string{}
	for _, u := range generate.SecretRefs(e) {
		declared[u.Ref.Secret] = append(declared[u.Ref.Secret], u.Ref.Key)
	}
	used := map[string]bool{}
	for _, r := range s.Resources() {
		walk(t, r.Object, func(m map[string]any) {
			// ECK's secureSettings: {secretName, entries: [{key, path}]}.
			if sn, ok := m["secretName"].(string); ok {
				if keys, known := declared[sn]; known {
					entries, _ := m["entries"].([]any)
					for _, x := range entries {
						entry, _ := x.(map[string]any)
						used[sn] = true
						if k, _ := entry["key"].(string); !slices.Contains(keys, k) {
							t.Errorf("%s: reads key %q of Secret %s; the environment names %v", id(r.Object), k, sn, keys)
						}
					}
				}
			}
			// secretKeyRef (env), SecretKeySelector (CRs): {name, key}.
			name, _ := m["name"].(string)
			key, hasKey := m["key"].(string)
			keys, known := declared[name]
			if !hasKey || !known || len(m) > 3 {
				return
			}
			used[name] = true
			if !slices.Contains(keys, key) {
				t.Errorf("%s: reads key %q of Secret %s; the environment names %v", id(r.Object), key, name, keys)
			}
		})
	}
	for name := range declared {
		if name == "px-pure-secret" {
			continue // read by PX-CSI itself, not by any rendered object
		}
		if !used[name] {
			t.Errorf("the environment references Secret %s but no object reads it", name)
		}
	}
}

// checkServicesSelectPods: every Service with a selector finds a pod
// template in its namespace, or pods an operator creates for a CR.
func checkServicesSelectPods(t *testing.T, s *stack.Set) {
	pods := map[string][]map[string]string{}
	add := func(ns string, l map[string]string) { pods[ns] = append(pods[ns], l) }
	for _, r := range s.Resources() {
		o := r.Object
		switch x := o.(type) {
		case *monitoringv1.Prometheus:
			add(x.Namespace, merge(x.Spec.PodMetadata, prometheusoperator.PrometheusPodSelector(x.Name)))
			continue
		case *monitoringv1.Alertmanager:
			add(x.Namespace, merge(x.Spec.PodMetadata, prometheusoperator.AlertmanagerPodSelector(x.Name)))
			continue
		}
		walk(t, o, func(m map[string]any) {
			tpl, ok := m["template"].(map[string]any)
			if !ok {
				return
			}
			md, _ := tpl["metadata"].(map[string]any)
			ls, _ := md["labels"].(map[string]any)
			l := map[string]string{}
			for k, v := range ls {
				l[k], _ = v.(string)
			}
			if len(l) > 0 {
				add(o.GetNamespace(), l)
			}
		})
	}
	for _, svc := range stacktest.Find[*corev1.Service](s) {
		if len(svc.Spec.Selector) == 0 || svc.Labels[stack.LabelComponent] == controlplane.Component {
			// The control plane's Services select pods the cluster runs
			// (kubeadm's static pods, CoreDNS), not Vigil.
			continue
		}
		sel := labels.SelectorFromSet(svc.Spec.Selector)
		found := false
		for _, l := range pods[svc.Namespace] {
			if sel.Matches(labels.Set(l)) {
				found = true
				break
			}
		}
		if !found {
			keys := slices.Sorted(maps.Keys(svc.Spec.Selector))
			sort.Strings(keys)
			t.Errorf("%s: selector %v matches no pod template in %s", id(svc), svc.Spec.Selector, svc.Namespace)
		}
	}
}

func merge(md *monitoringv1.EmbeddedObjectMetadata, l map[string]string) map[string]string {
	out := maps.Clone(l)
	if md != nil {
		maps.Copy(out, md.Labels)
		maps.Copy(out, l)
	}
	return out
}
