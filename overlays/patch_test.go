package overlays

import (
	"encoding/json"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/strategicpatch"
	"sigs.k8s.io/yaml"
)

// TestKyamlIgnoresSetElementOrder records why the compiler builds its own
// merge patches instead of using apimachinery's strategicpatch: kustomize's
// merge (kyaml) does not know the $setElementOrder directive. It keeps it
// as a literal field and puts a new list element first, so the patch for
// "append a sidecar" builds a different object.
func TestKyamlIgnoresSetElementOrder(t *testing.T) {
	base := deployment("ns", "web", 1)
	base.APIVersion, base.Kind = "apps/v1", "Deployment"
	env := base.DeepCopy()
	env.Spec.Template.Spec.Containers = append(env.Spec.Template.Spec.Containers, corev1.Container{Name: "proxy", Image: "proxy"})
	b, _ := json.Marshal(base)
	e, _ := json.Marshal(env)
	raw, err := strategicpatch.CreateTwoWayMergePatch(b, e, appsv1.Deployment{})
	if err != nil {
		t.Fatal(err)
	}
	var p map[string]any
	if err := json.Unmarshal(raw, &p); err != nil {
		t.Fatal(err)
	}
	p["apiVersion"], p["kind"] = "apps/v1", "Deployment"
	p["metadata"] = map[string]any{"name": "web", "namespace": "ns"}
	patchYAML, _ := yaml.Marshal(p)
	baseYAML, _ := yaml.JSONToYAML(b)
	got, err := newPatcher(nil).applyMerge(baseYAML, patchYAML)
	if err != nil {
		t.Fatal(err)
	}
	podSpec := got["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
	if _, kept := podSpec["$setElementOrder/containers"]; !kept {
		t.Error("kyaml now understands $setElementOrder; strategicpatch output may be usable")
	}
	if first := podSpec["containers"].([]any)[0].(map[string]any)["name"]; first != "proxy" {
		t.Errorf("first container %v; kyaml no longer prepends new elements", first)
	}
}
