package namespaces_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/namespaces"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			var s stack.Set
			if err := namespaces.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, &s)
			stacktest.Golden(t, name, namespaces.Component, &s)

			var got []string
			for _, r := range s.Resources() {
				if r.Layer != stack.Namespaces {
					t.Errorf("%s in layer %s, want namespaces", r.Object.GetName(), r.Layer)
				}
				ns := r.Object.(*corev1.Namespace)
				got = append(got, ns.Name)
				for k, v := range e.Cluster.Labels {
					if ns.Labels[k] != v {
						t.Errorf("namespace %s: label %s = %q, want %q from cluster.labels", ns.Name, k, ns.Labels[k], v)
					}
				}
			}
			if d := cmp.Diff(namespaces.Rendered(e), got); d != "" {
				t.Errorf("Generate and Rendered disagree (-Rendered +Generate):\n%s", d)
			}
		})
	}
}

func TestRenderedProd(t *testing.T) {
	e := stacktest.Example(t, "prod")
	want := []string{"elastic-system", "logging", "monitoring", "spark", "spark-etl", "spark-operator", "tracing"}
	if d := cmp.Diff(want, namespaces.Rendered(e)); d != "" {
		t.Errorf("Rendered(prod) (-want +got):\n%s", d)
	}
	// extraNamespaces: ["default"] adds nothing new; default and
	// kube-system are always there.
	wantMon := []string{"default", "elastic-system", "kube-system", "logging", "monitoring", "spark", "spark-etl", "spark-operator", "tracing"}
	if d := cmp.Diff(wantMon, namespaces.Monitored(e)); d != "" {
		t.Errorf("Monitored(prod) (-want +got):\n%s", d)
	}
}

func TestRenderedSkipsExistingAndBuiltin(t *testing.T) {
	e := stacktest.Example(t, "staging")
	e.Spark.Operator.JobNamespaces = []string{"spark", "team-etl", "default"}
	e.Cluster.ExistingNamespaces = []string{"team-etl"}
	e.Monitoring.Prometheus.ExtraNamespaces = []string{"team-etl", "ingress-nginx"}

	got := namespaces.Rendered(e)
	for _, ns := range []string{"team-etl", "default"} {
		for _, g := range got {
			if g == ns {
				t.Errorf("Rendered contains %q, which Vigil does not own", ns)
			}
		}
	}
	mon := namespaces.Monitored(e)
	for _, ns := range []string{"team-etl", "default", "kube-system", "ingress-nginx", "spark"} {
		found := false
		for _, m := range mon {
			found = found || m == ns
		}
		if !found {
			t.Errorf("Monitored lacks %q: %v", ns, mon)
		}
	}
	for i := 1; i < len(mon); i++ {
		if mon[i-1] >= mon[i] {
			t.Errorf("Monitored not sorted and unique: %v", mon)
		}
	}
}

func TestDisabledComponents(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	e.Logging.Enabled = false
	e.Spark.Enabled = false
	e.Tracing.Enabled = false
	var s stack.Set
	if err := namespaces.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Resources()); n != 0 {
		t.Errorf("%d namespaces with every component off, want none", n)
	}
	if d := cmp.Diff([]string{"default", "kube-system"}, namespaces.Monitored(e)[:2]); d != "" {
		t.Errorf("Monitored without components (-want +got):\n%s", d)
	}
}

func TestSharedNamespaceRenderedOnce(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Logging.Namespace = e.Monitoring.Namespace
	var s stack.Set
	if err := namespaces.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	count := 0
	for _, r := range s.Resources() {
		if r.Object.GetName() == e.Monitoring.Namespace {
			count++
		}
	}
	if count != 1 {
		t.Errorf("namespace %s rendered %d times, want once", e.Monitoring.Namespace, count)
	}
}

func TestClusterLabelsNeverReplaceRecommended(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Cluster.Labels = map[string]string{stack.LabelPartOf: "other", "team": "x"}
	var s stack.Set
	if err := namespaces.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	for _, ns := range stacktest.Find[*corev1.Namespace](&s) {
		if ns.Labels[stack.LabelPartOf] != "vigil" || ns.Labels["team"] != "x" {
			t.Errorf("namespace %s labels %v", ns.Name, ns.Labels)
		}
	}
}

func TestPodSecurityAdmitsNodeAgents(t *testing.T) {
	e := stacktest.Example(t, "prod")
	var s stack.Set
	if err := namespaces.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	for _, ns := range stacktest.Find[*corev1.Namespace](&s) {
		want := ""
		if ns.Name == e.Monitoring.Namespace || ns.Name == e.Logging.Namespace {
			want = "privileged"
		}
		if got := ns.Labels["pod-security.kubernetes.io/enforce"]; got != want {
			t.Errorf("%s: enforce %q, want %q", ns.Name, got, want)
		}
	}
}
