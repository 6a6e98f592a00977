package kubestatemetrics_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/kubestatemetrics"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			var s stack.Set
			if err := kubestatemetrics.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, &s)
			stacktest.Golden(t, name, kubestatemetrics.Component, &s)

			ns := e.Monitoring.Namespace
			d := stacktest.FindNamed[*appsv1.Deployment](t, &s, ns, kubestatemetrics.Name)
			if *d.Spec.Replicas != 1 {
				t.Errorf("%d replicas; more would duplicate every series", *d.Spec.Replicas)
			}
			if len(d.Spec.Template.Spec.Containers) != 1 {
				t.Errorf("%d containers; no kube-rbac-proxy sidecars", len(d.Spec.Template.Spec.Containers))
			}

			svc := stacktest.FindNamed[*corev1.Service](t, &s, ns, kubestatemetrics.Name)
			ports := map[string]int32{}
			for _, p := range svc.Spec.Ports {
				ports[p.Name] = p.Port
			}
			if d := cmp.Diff(map[string]int32{"http-metrics": 8080, "telemetry": 8081}, ports); d != "" {
				t.Errorf("service ports (-want +got):\n%s", d)
			}

			sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, &s, ns, kubestatemetrics.Name)
			if len(sm.Spec.Endpoints) != 2 {
				t.Fatalf("%d endpoints, want metrics and telemetry", len(sm.Spec.Endpoints))
			}
			if ep := sm.Spec.Endpoints[0]; ep.Port != kubestatemetrics.MetricsPortName || !ep.HonorLabels {
				t.Errorf("metrics endpoint %s honorLabels %v; the series' own namespace and pod must win", ep.Port, ep.HonorLabels)
			}
			if ep := sm.Spec.Endpoints[0]; len(ep.MetricRelabelConfigs) != 0 {
				t.Errorf("metric relabelings %+v could drop kube_node_status_condition", ep.MetricRelabelConfigs)
			}

			// The ClusterRole grants exactly the --resources list.
			cr := stacktest.FindNamed[*rbacv1.ClusterRole](t, &s, "", kubestatemetrics.Name)
			var granted []string
			for _, r := range cr.Rules {
				if !slices.Equal(r.Verbs, []string{"list", "watch"}) {
					t.Errorf("rule %+v: verbs beyond list and watch", r)
				}
				for _, res := range r.Resources {
					granted = append(granted, r.APIGroups[0]+"/"+res)
				}
			}
			var flag string
			for _, a := range d.Spec.Template.Spec.Containers[0].Args {
				if v, ok := strings.CutPrefix(a, "--resources="); ok {
					flag = v
				}
			}
			enabled := strings.Split(flag, ",")
			var grantedNames []string
			for _, g := range granted {
				_, n, _ := strings.Cut(g, "/")
				grantedNames = append(grantedNames, n)
			}
			slices.Sort(enabled)
			slices.Sort(grantedNames)
			if d := cmp.Diff(enabled, grantedNames); d != "" {
				t.Errorf("--resources and the ClusterRole differ (-flag +role):\n%s", d)
			}
			if !slices.Contains(granted, "/nodes") || !slices.Contains(enabled, "nodes") {
				t.Errorf("nodes are not exported; NPD's conditions need kube_node_status_condition")
			}

			crb := stacktest.FindNamed[*rbacv1.ClusterRoleBinding](t, &s, "", kubestatemetrics.Name)
			if crb.RoleRef.Name != cr.Name || crb.Subjects[0].Name != kubestatemetrics.Name || crb.Subjects[0].Namespace != ns {
				t.Errorf("binding %+v", crb)
			}
		})
	}
}

func TestKnownGroups(t *testing.T) {
	// A typo in a group would grant nothing and leave the exporter failing
	// to list: every group must be one Kubernetes serves these kinds from.
	groups := map[string]bool{
		"": true, "apps": true, "batch": true, "autoscaling": true, "policy": true,
		"certificates.k8s.io": true, "discovery.k8s.io": true, "storage.k8s.io": true,
		"admissionregistration.k8s.io": true, "networking.k8s.io": true, "coordination.k8s.io": true,
	}
	seen := map[string]bool{}
	for _, r := range kubestatemetrics.Resources {
		if !groups[r.Group] {
			t.Errorf("%s: unknown group %q", r.Name, r.Group)
		}
		if seen[r.Name] {
			t.Errorf("%s listed twice", r.Name)
		}
		seen[r.Name] = true
	}
}

func TestLayers(t *testing.T) {
	var s stack.Set
	if err := kubestatemetrics.Generate(stacktest.Example(t, "prod"), &s); err != nil {
		t.Fatal(err)
	}
	for _, r := range s.Resources() {
		kind := r.Object.GetObjectKind().GroupVersionKind().Kind
		want := stack.Instances
		if kind == "ServiceMonitor" || kind == "PrometheusRule" {
			want = stack.Content
		}
		if r.Layer != want {
			t.Errorf("%s in layer %s, want %s", kind, r.Layer, want)
		}
	}
}

func TestDisabled(t *testing.T) {
	for name, off := range map[string]func(e *env.Environment){
		"exporter":   func(e *env.Environment) { e.Monitoring.KubeStateMetrics.Enabled = false },
		"monitoring": func(e *env.Environment) { e.Monitoring.Enabled = false },
	} {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, "prod")
			off(e)
			var s stack.Set
			if err := kubestatemetrics.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			if n := len(s.Resources()); n != 0 {
				t.Errorf("disabled kube-state-metrics rendered %d objects", n)
			}
		})
	}
}

func TestResourcesFromEnvironment(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.KubeStateMetrics.Resources = env.Resources{
		Requests: env.ResourceList{CPU: "50m", Memory: "300Mi"},
		Limits:   env.ResourceList{CPU: "1", Memory: "600Mi"},
	}
	var s stack.Set
	if err := kubestatemetrics.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	c := stacktest.FindNamed[*appsv1.Deployment](t, &s, e.Monitoring.Namespace, kubestatemetrics.Name).Spec.Template.Spec.Containers[0]
	got := []string{c.Resources.Requests.Cpu().String(), c.Resources.Requests.Memory().String(), c.Resources.Limits.Cpu().String(), c.Resources.Limits.Memory().String()}
	if d := cmp.Diff([]string{"50m", "300Mi", "1", "600Mi"}, got); d != "" {
		t.Errorf("resources (-want +got):\n%s", d)
	}

	e.Monitoring.KubeStateMetrics.Resources.Limits.CPU = "one"
	if err := kubestatemetrics.Generate(e, &stack.Set{}); err == nil || !strings.Contains(err.Error(), "limits.cpu") {
		t.Errorf("error %v, want one naming limits.cpu", err)
	}
}
