package nodeexporter_test

import (
	"regexp"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/nodeexporter"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			var s stack.Set
			if err := nodeexporter.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, &s)
			stacktest.Golden(t, name, nodeexporter.Component, &s)

			ns := e.Monitoring.Namespace
			ds := stacktest.FindNamed[*appsv1.DaemonSet](t, &s, ns, nodeexporter.Name)
			pod := ds.Spec.Template.Spec
			if !pod.HostNetwork || !pod.HostPID {
				t.Errorf("hostNetwork %v hostPID %v: the exporter measures the node", pod.HostNetwork, pod.HostPID)
			}
			if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists || pod.Tolerations[0].Key != "" {
				t.Errorf("tolerations %+v, want one that tolerates every taint", pod.Tolerations)
			}
			c := pod.Containers[0]
			wantMounts := map[string]struct {
				host        string
				propagation bool
			}{
				"/host/proc": {"/proc", false},
				"/host/sys":  {"/sys", true},
				"/host/root": {"/", true},
			}
			for _, m := range c.VolumeMounts {
				w, ok := wantMounts[m.MountPath]
				if !ok {
					t.Errorf("unexpected mount %s", m.MountPath)
					continue
				}
				delete(wantMounts, m.MountPath)
				if !m.ReadOnly {
					t.Errorf("%s is writable", m.MountPath)
				}
				hasProp := m.MountPropagation != nil && *m.MountPropagation == corev1.MountPropagationHostToContainer
				if hasProp != w.propagation {
					t.Errorf("%s: HostToContainer %v, want %v", m.MountPath, hasProp, w.propagation)
				}
				if v := volume(ds, m.Name); v.HostPath == nil || v.HostPath.Path != w.host {
					t.Errorf("%s is not the host's %s: %+v", m.MountPath, w.host, v.VolumeSource)
				}
			}
			for p := range wantMounts {
				t.Errorf("%s not mounted", p)
			}
			for _, a := range []string{"--path.procfs=/host/proc", "--path.sysfs=/host/sys", "--path.rootfs=/host/root", "--web.listen-address=[$(HOST_IP)]:9100"} {
				if !slices.Contains(c.Args, a) {
					t.Errorf("args lack %s: %v", a, c.Args)
				}
			}
			if sc := c.SecurityContext; sc.Privileged != nil && *sc.Privileged || sc.Capabilities == nil || len(sc.Capabilities.Add) > 0 {
				t.Errorf("the exporter needs no privilege: %+v", sc)
			}
			if len(c.Ports) != 1 || c.Ports[0].ContainerPort != nodeexporter.Port {
				t.Errorf("ports %+v", c.Ports)
			}

			// No kube-rbac-proxy, so no RBAC at all.
			if n := len(stacktest.Find[*rbacv1.ClusterRole](&s)) + len(stacktest.Find[*rbacv1.ClusterRoleBinding](&s)); n != 0 {
				t.Errorf("%d RBAC objects; without kube-rbac-proxy the exporter needs none", n)
			}
			for _, c := range pod.Containers {
				if strings.Contains(c.Image, "kube-rbac-proxy") {
					t.Errorf("kube-rbac-proxy sidecar")
				}
			}

			svc := stacktest.FindNamed[*corev1.Service](t, &s, ns, nodeexporter.Name)
			if svc.Spec.ClusterIP != corev1.ClusterIPNone || svc.Spec.Ports[0].Port != nodeexporter.Port {
				t.Errorf("service clusterIP %q ports %+v, want headless on %d", svc.Spec.ClusterIP, svc.Spec.Ports, nodeexporter.Port)
			}

			sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, &s, ns, nodeexporter.Name)
			ep := sm.Spec.Endpoints[0]
			if ep.Port != nodeexporter.PortName {
				t.Errorf("ServiceMonitor port %q", ep.Port)
			}
			if len(ep.RelabelConfigs) != 1 || ep.RelabelConfigs[0].TargetLabel != "instance" ||
				!slices.Equal(ep.RelabelConfigs[0].SourceLabels, []monitoringv1.LabelName{"__meta_kubernetes_pod_node_name"}) {
				t.Errorf("instance is not relabelled to the node name: %+v", ep.RelabelConfigs)
			}

			np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, &s, ns, nodeexporter.Name)
			if r := np.Spec.Ingress; len(r) != 1 || len(r[0].From) != 1 || r[0].From[0].PodSelector.MatchLabels[stack.LabelName] != "prometheus" ||
				r[0].Ports[0].Port.IntValue() != nodeexporter.Port {
				t.Errorf("NetworkPolicy ingress %+v, want %d from Prometheus only", r, nodeexporter.Port)
			}
		})
	}
}

func TestLayers(t *testing.T) {
	var s stack.Set
	if err := nodeexporter.Generate(stacktest.Example(t, "prod"), &s); err != nil {
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

func TestRules(t *testing.T) {
	var s stack.Set
	if err := nodeexporter.Generate(stacktest.Example(t, "dev"), &s); err != nil {
		t.Fatal(err)
	}
	prs := stacktest.Find[*monitoringv1.PrometheusRule](&s)
	if len(prs) != 1 {
		t.Fatalf("%d PrometheusRules", len(prs))
	}
	bySeverity := map[string][]string{}
	for _, g := range prs[0].Spec.Groups {
		for _, r := range g.Rules {
			bySeverity[r.Alert] = append(bySeverity[r.Alert], r.Labels["severity"])
			if !strings.Contains(r.Expr.String(), `job="node-exporter"`) {
				t.Errorf("%s does not select the exporter's job: %s", r.Alert, r.Expr.String())
			}
			if strings.Contains(r.Expr.String(), "{{") {
				t.Errorf("%s: placeholder left in %s", r.Alert, r.Expr.String())
			}
		}
	}
	for _, name := range []string{
		"NodeFilesystemSpaceFillingUp", "NodeFilesystemAlmostOutOfSpace", "NodeHighNumberConntrackEntriesUsed",
		"NodeClockNotSynchronising", "NodeMemoryMajorPagesFaults", "NodeExporterDown",
	} {
		if len(bySeverity[name]) == 0 {
			t.Errorf("no alert %s", name)
		}
	}
	for _, name := range []string{"NodeFilesystemSpaceFillingUp", "NodeFilesystemAlmostOutOfSpace"} {
		if got := bySeverity[name]; !slices.Equal(got, []string{"warning", "critical"}) {
			t.Errorf("%s severities %v, want a warning and a critical", name, got)
		}
	}
}

func TestMountPointsExclude(t *testing.T) {
	re := regexp.MustCompile(nodeexporter.MountPointsExclude())
	for path, excluded := range map[string]bool{
		"/":                                   false,
		"/var":                                false,
		"/var/lib/kubelet":                    false,
		"/boot/efi":                           false,
		"/dev":                                true,
		"/dev/shm":                            true,
		"/proc":                               true,
		"/sys/fs/cgroup":                      true,
		"/devices":                            false,
		"/var/lib/kubelet/pods/abc/volumes/x": true,
		"/run/containerd/io.containerd.runtime.v2.task/k8s.io/abc/rootfs": true,
		"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs":      true,
	} {
		if got := re.MatchString(path); got != excluded {
			t.Errorf("%s excluded: %v, want %v", path, got, excluded)
		}
	}
}

func TestDisabled(t *testing.T) {
	for name, off := range map[string]func(e *env.Environment){
		"exporter":   func(e *env.Environment) { e.Monitoring.NodeExporter.Enabled = false },
		"monitoring": func(e *env.Environment) { e.Monitoring.Enabled = false },
	} {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, "prod")
			off(e)
			var s stack.Set
			if err := nodeexporter.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			if n := len(s.Resources()); n != 0 {
				t.Errorf("disabled exporter rendered %d objects", n)
			}
		})
	}
}

func TestBadResources(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.NodeExporter.Resources.Requests.Memory = "lots"
	var s stack.Set
	if err := nodeexporter.Generate(e, &s); err == nil || !strings.Contains(err.Error(), "requests.memory") {
		t.Errorf("error %v, want one naming requests.memory", err)
	}
}

func volume(ds *appsv1.DaemonSet, name string) corev1.Volume {
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	return corev1.Volume{}
}
