package thanos_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"

	vgen "github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/generate/thanos"
)

// The cross-cluster example: an observer and the two members its querier
// asks (fleet.ThanosMembers).
var fleetView = []string{"observer", "member-a", "member-b"}

// TestFleetViewRenders loads, validates, generates, compiles and verifies
// the three environments together, as `gen render` does.
func TestFleetViewRenders(t *testing.T) {
	var sources []vgen.Source
	for _, name := range fleetView {
		sources = append(sources, vgen.Source{Dir: filepath.Join(stacktest.RepoRoot(), "environments", name)})
	}
	r, err := vgen.Render(context.Background(), sources)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range fleetView {
		s := r.Objects[name]
		stacktest.Check(t, s)
		stacktest.FindNamed[*appsv1.Deployment](t, s, "monitoring", thanos.QueryName)
		exposed := false
		for _, svc := range stacktest.Find[*corev1.Service](s) {
			exposed = exposed || (svc.Name == thanos.QueryGRPCName && svc.Spec.Type == corev1.ServiceTypeLoadBalancer)
		}
		if want := name != "observer"; exposed != want {
			t.Errorf("%s: querier's gRPC exposed = %v, want %v", name, exposed, want)
		}
	}
}

// TestObserverAsksEveryMember checks the observer's store list against the
// environments of the fleet: every environment directory whose querier
// serves the fleet (querier.exposeGrpc) is observed under its own name, and
// nothing else is.
func TestObserverAsksEveryMember(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(stacktest.RepoRoot(), "environments")
	dirs, err := os.ReadDir(root)
	if err != nil {
		t.Fatal(err)
	}
	var members []string
	var observer []string
	var observerFound bool
	for _, d := range dirs {
		if !d.IsDir() || d.Name() == "fleet" {
			continue
		}
		e, err := vgen.Load(ctx, filepath.Join(root, d.Name()))
		if err != nil {
			t.Fatalf("%s: %v", d.Name(), err)
		}
		th := e.Spec.Monitoring.Thanos
		if th.Querier.ExposeGRPC {
			members = append(members, e.Spec.Name)
		}
		if len(th.Observe) > 0 {
			if observerFound {
				t.Errorf("%s: a second observer", d.Name())
			}
			observerFound = true
			for name := range th.Observe {
				observer = append(observer, name)
			}
			// The querier asks the local StoreAPIs, then each member.
			eps := thanos.Endpoints(e.Spec)
			if len(eps) != 2+len(th.Observe) {
				t.Errorf("observer endpoints %v", eps)
			}
			for _, name := range env.SortedKeys(th.Observe) {
				if !slices.Contains(eps, th.Observe[name].Address) {
					t.Errorf("observer's querier does not ask %s (%s): %v", name, th.Observe[name].Address, eps)
				}
			}
		}
	}
	sort.Strings(members)
	sort.Strings(observer)
	if !observerFound || len(members) == 0 {
		t.Fatalf("no observer (%v) or no member (%v) among the examples", observerFound, members)
	}
	if !slices.Equal(observer, members) {
		t.Errorf("the observer asks %v, the fleet's members are %v", observer, members)
	}
}
