package generate_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stack"
)

// A platform program adds a component of its own (here a ConfigMap that
// takes its value from the environment's extensions) and a transform that
// labels every workload; both go through Vigil's overlays, Flux units and
// verification.
func ExampleWithComponent() {
	type teamSettings struct {
		Team string `json:"team"`
	}
	motd := func(e *generate.Environment, s *stack.Set) error {
		cfg := teamSettings{Team: "platform"} // the default environment has no extensions
		if _, err := e.Extension("acme", &cfg); err != nil {
			return err
		}
		s.Add("acme-motd", stack.Content, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: "motd", Namespace: "monitoring"},
			Data:       map[string]string{"owner": cfg.Team},
		})
		return nil
	}
	team := func(e *generate.Environment, r stack.Resource) error {
		switch r.Object.GetObjectKind().GroupVersionKind().Kind {
		case "Deployment", "StatefulSet", "DaemonSet":
			l := r.Object.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			l["acme.example/owner"] = "platform"
			r.Object.SetLabels(l)
		}
		return nil
	}
	r, err := generate.Render(context.Background(),
		[]generate.Source{{Dir: "environments/dev", FS: vigil.Examples}},
		generate.WithComponent("acme-motd", motd),
		generate.WithTransform("owner-label", team),
	)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, p := range r.Tree.Paths() {
		if strings.Contains(p, "acme-motd") {
			fmt.Println(p)
		}
	}
	grafana, _ := r.Tree.File("base/grafana/instances/deployment-grafana.yaml")
	fmt.Println(strings.Contains(string(grafana), "acme.example/owner: platform"))
	// Output:
	// base/acme-motd/content/configmap-motd.yaml
	// base/acme-motd/content/kustomization.yaml
	// clusters/dev/kustomization-dev-acme-motd-content.yaml
	// envs/dev/acme-motd/content/kustomization.yaml
	// true
}

// The extensions key reaches the component, is decoded strictly, and a
// component that adds objects under another name or a name Vigil uses is
// refused.
func TestExtensionErrors(t *testing.T) {
	fsys := withFile(t, "environments/dev/ext.cue", "package dev\nextensions: acme: {team: \"obs\", typo: 1}\n")
	var seen []string
	strict := func(e *generate.Environment, s *stack.Set) error {
		var cfg struct {
			Team string `json:"team"`
		}
		ok, err := e.Extension("acme", &cfg)
		if ok || err != nil {
			seen = append(seen, fmt.Sprint(ok, err != nil))
		}
		return err
	}
	_, err := generate.Render(context.Background(), []generate.Source{{Dir: "environments/dev", FS: fsys}}, generate.WithComponent("acme", strict))
	if err == nil || !strings.Contains(err.Error(), `unknown field "typo"`) || !strings.Contains(err.Error(), "extensions.acme") {
		t.Errorf("a field the extension does not know: got %v", err)
	}
	if len(seen) == 0 || seen[0] != "true true" {
		t.Errorf("Extension did not see the key: %v", seen)
	}
	wrongName := func(e *generate.Environment, s *stack.Set) error {
		s.Add("grafana", stack.Content, &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: "x", Namespace: "monitoring"}})
		return nil
	}
	_, err = generate.Render(context.Background(), []generate.Source{{Dir: "environments/dev", FS: vigil.Examples}}, generate.WithComponent("acme", wrongName))
	if err == nil || !strings.Contains(err.Error(), `under component "grafana"`) {
		t.Errorf("objects under another component's name: got %v", err)
	}
	_, err = generate.Render(context.Background(), []generate.Source{{Dir: "environments/dev", FS: vigil.Examples}}, generate.WithComponent("grafana", wrongName))
	if err == nil || !strings.Contains(err.Error(), "Vigil has a component of that name") {
		t.Errorf("a Vigil component's name: got %v", err)
	}
	// The transform sees every object, and an error names the object.
	fail := func(e *generate.Environment, r stack.Resource) error {
		if r.Object.GetName() == "grafana" && r.Object.GetObjectKind().GroupVersionKind().Kind == "Deployment" {
			return fmt.Errorf("policy says no")
		}
		return nil
	}
	_, err = generate.Render(context.Background(), []generate.Source{{Dir: "environments/dev", FS: vigil.Examples}}, generate.WithTransform("policy", fail))
	if err == nil || !strings.Contains(err.Error(), "transform policy: Deployment monitoring/grafana: policy says no") {
		t.Errorf("a failing transform: got %v", err)
	}
}
