//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/overlays"
)

// gatesOf lists an environment's prerequisites with their gates, through the
// same Go API `gen prereqs` prints them with.
func gatesOf(t *testing.T, ctx context.Context, envDir string) []overlays.Gate {
	t.Helper()
	r, err := generate.Render(ctx, []generate.Source{{Dir: envDir}})
	if err != nil {
		t.Fatal(err)
	}
	e := r.Environments[0]
	gates, err := overlays.Gates(overlays.Environment{Name: e.Spec.Name, Objects: r.Objects[e.Spec.Name], Prerequisites: generate.Prerequisites(e.Spec)})
	if err != nil {
		t.Fatal(err)
	}
	if len(gates) == 0 {
		t.Fatalf("%s: no prerequisite listed; every example references at least one Secret", envDir)
	}
	return gates
}

// provisioner stands in for whoever provides an environment's prerequisites
// out of band (an operator, External Secrets, the storage vendor's install):
// it keeps every listed Secret (with each key, dummy values), CSIDriver and
// IngressClass present. A Secret in a namespace the tree creates is created
// as soon as the tree made it; one in a namespace the tree does not render
// (PX-CSI's portworx) gets its namespace too, as the vendor's install would.
// It never writes an object Vigil renders.
type provisioner struct {
	c    *cluster
	stop context.CancelFunc
	done chan struct{}
	mu   sync.Mutex
	want []overlays.Gate
	// rendered are the namespaces the tree creates.
	rendered map[string]bool
	errs     []string
}

func (c *cluster) startProvisioner(ctx context.Context, gates []overlays.Gate, rendered []*unstructured.Unstructured) *provisioner {
	ctx, cancel := context.WithCancel(ctx)
	p := &provisioner{c: c, stop: cancel, done: make(chan struct{})}
	p.set(gates, rendered)
	go func() {
		defer close(p.done)
		for ctx.Err() == nil {
			p.pass(ctx)
			select {
			case <-ctx.Done():
			case <-time.After(prerequisiteInterval):
			}
		}
	}()
	c.t.Cleanup(func() { p.stop(); <-p.done })
	return p
}

// set replaces what the provisioner provides from now on (the day-2 steps
// change the environment, and with it its prerequisites).
func (p *provisioner) set(gates []overlays.Gate, rendered []*unstructured.Unstructured) {
	ns := map[string]bool{}
	for _, o := range rendered {
		if o.GetKind() == "Namespace" && o.GroupVersionKind().Group == "" {
			ns[o.GetName()] = true
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.want, p.rendered = gates, ns
}

func (p *provisioner) errors() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.errs...)
}

var (
	gvrSecret       = schema.GroupVersionResource{Version: "v1", Resource: "secrets"}
	gvrCSIDriver    = schema.GroupVersionResource{Group: "storage.k8s.io", Version: "v1", Resource: "csidrivers"}
	gvrIngressClass = schema.GroupVersionResource{Group: "networking.k8s.io", Version: "v1", Resource: "ingressclasses"}
)

func (p *provisioner) pass(ctx context.Context) {
	p.mu.Lock()
	want, rendered := p.want, p.rendered
	p.mu.Unlock()
	for _, g := range want {
		obj, gvr, err := prerequisiteObject(g.Prerequisite)
		if err != nil {
			p.record(ctx, err)
			continue
		}
		ri := p.c.status.Resource(gvr)
		var rc interface {
			Get(context.Context, string, metav1.GetOptions, ...string) (*unstructured.Unstructured, error)
			Create(context.Context, *unstructured.Unstructured, metav1.CreateOptions, ...string) (*unstructured.Unstructured, error)
		} = ri
		if g.Namespace != "" {
			ns, err := p.c.status.Resource(gvrNamespace).Get(ctx, g.Namespace, metav1.GetOptions{})
			if apierrors.IsNotFound(err) && !rendered[g.Namespace] {
				nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": g.Namespace}}}
				ns, err = p.c.status.Resource(gvrNamespace).Create(ctx, nsObj, metav1.CreateOptions{FieldManager: "vigil-e2e-provisioner"})
			}
			if apierrors.IsNotFound(err) || (err == nil && ns.GetDeletionTimestamp() != nil) {
				continue // not created by the tree yet
			}
			if err != nil {
				p.record(ctx, err)
				continue
			}
			rc = ri.Namespace(g.Namespace)
		}
		if _, err := rc.Get(ctx, g.Name, metav1.GetOptions{}); err == nil {
			continue
		} else if !apierrors.IsNotFound(err) {
			p.record(ctx, err)
			continue
		}
		if _, err := rc.Create(ctx, obj, metav1.CreateOptions{FieldManager: "vigil-e2e-provisioner"}); err != nil && !apierrors.IsAlreadyExists(err) {
			p.record(ctx, fmt.Errorf("creating %s: %w", g.Prerequisite, err))
		}
	}
}

func (p *provisioner) record(ctx context.Context, err error) {
	if ctx.Err() != nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, e := range p.errs {
		if e == err.Error() {
			return
		}
	}
	p.errs = append(p.errs, err.Error())
}

// prerequisiteObject is the object that satisfies a prerequisite: a Secret
// with every key the environment reads (dummy values), a CSIDriver, an
// IngressClass (of ingress-nginx, the controller the examples assume).
func prerequisiteObject(pr overlays.Prerequisite) (*unstructured.Unstructured, schema.GroupVersionResource, error) {
	meta := map[string]any{"name": pr.Name}
	if pr.Namespace != "" {
		meta["namespace"] = pr.Namespace
	}
	o := &unstructured.Unstructured{Object: map[string]any{"apiVersion": pr.APIVersion, "kind": pr.Kind, "metadata": meta}}
	switch pr.Kind {
	case "Secret":
		if pr.Namespace == "" {
			return nil, schema.GroupVersionResource{}, fmt.Errorf("%s: a Secret gate without a namespace", pr)
		}
		data := map[string]any{}
		for _, k := range pr.Keys {
			data[k] = "vigil-e2e-dummy"
		}
		o.Object["stringData"] = data
		return o, gvrSecret, nil
	case "CSIDriver":
		o.Object["spec"] = map[string]any{}
		return o, gvrCSIDriver, nil
	case "IngressClass":
		o.Object["spec"] = map[string]any{"controller": "k8s.io/ingress-nginx"}
		return o, gvrIngressClass, nil
	}
	return nil, schema.GroupVersionResource{}, fmt.Errorf("%s: the harness cannot provide kind %s", pr, pr.Kind)
}

// without returns the gates minus the one whose Kustomization is named.
func without(gates []overlays.Gate, kustomization string) []overlays.Gate {
	var out []overlays.Gate
	for _, g := range gates {
		if g.Kustomization != kustomization {
			out = append(out, g)
		}
	}
	return out
}

func gateNames(gates []overlays.Gate) string {
	var names []string
	for _, g := range gates {
		names = append(names, g.Prerequisite.String())
	}
	sort.Strings(names)
	return strings.Join(names, "; ")
}
