package npd_test

import (
	"bytes"
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/npd"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// The monitor file formats as NPD v1.35 reads them
// (pkg/systemlogmonitor/config.go, logwatchers/types, systemlogmonitor/types,
// pkg/custompluginmonitor/types): decoding with unknown fields disallowed
// proves the files use NPD's field names.
type condition struct {
	Type    string `json:"type"`
	Status  string `json:"status"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

type systemLogMonitor struct {
	Plugin       string            `json:"plugin"`
	PluginConfig map[string]string `json:"pluginConfig"`
	SkipList     []string          `json:"skipList"`
	LogPath      string            `json:"logPath"`
	Lookback     string            `json:"lookback"`
	Delay        string            `json:"delay"`
	BufferSize   int               `json:"bufferSize"`
	Source       string            `json:"source"`
	Conditions   []condition       `json:"conditions"`
	Rules        []struct {
		Type                          string `json:"type"`
		Condition                     string `json:"condition"`
		Reason                        string `json:"reason"`
		Pattern                       string `json:"pattern"`
		PatternGeneratedMessageSuffix string `json:"patternGeneratedMessageSuffix"`
	} `json:"rules"`
	MetricsReporting *bool `json:"metricsReporting"`
}

type customPluginMonitor struct {
	Plugin       string `json:"plugin"`
	PluginConfig struct {
		InvokeInterval                          *string `json:"invoke_interval"`
		Timeout                                 *string `json:"timeout"`
		MaxOutputLength                         *int    `json:"max_output_length"`
		Concurrency                             *int    `json:"concurrency"`
		EnableMessageChangeBasedConditionUpdate *bool   `json:"enable_message_change_based_condition_update"`
		SkipInitialStatus                       *bool   `json:"skip_initial_status"`
	} `json:"pluginConfig"`
	Source     string      `json:"source"`
	Conditions []condition `json:"conditions"`
	Rules      []struct {
		Type      string   `json:"type"`
		Condition string   `json:"condition"`
		Reason    string   `json:"reason"`
		Path      string   `json:"path"`
		Args      []string `json:"args"`
		Timeout   *string  `json:"timeout"`
	} `json:"rules"`
	MetricsReporting *bool `json:"metricsReporting"`
}

func decodeStrict(t *testing.T, file, data string, into any) {
	t.Helper()
	d := json.NewDecoder(strings.NewReader(data))
	d.DisallowUnknownFields()
	if err := d.Decode(into); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
}

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := npd.Generate(e, &s); err != nil {
		t.Fatalf("Generate: %v", err)
	}
	return &s
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Check(t, s)
			stacktest.Golden(t, name, npd.Component, s)

			ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, npd.Namespace, npd.Name)
			pod := ds.Spec.Template.Spec
			c := pod.Containers[0]
			if c.Image != npd.Image(e) || !strings.HasSuffix(c.Image, ":"+stack.NodeProblemDetector(e.KubernetesMinor()).Version) {
				t.Errorf("image %s for Kubernetes 1.%d", c.Image, e.KubernetesMinor())
			}
			if !slices.Contains(c.Args, "--prometheus-address=0.0.0.0") || !slices.Contains(c.Args, "--prometheus-port=20257") {
				t.Errorf("the exporter would stay on 127.0.0.1: %v", c.Args)
			}
			if !slices.Equal(c.Command, []string{"/node-problem-detector"}) {
				t.Errorf("command %v: the image's entrypoint adds its own monitors", c.Command)
			}
			if c.SecurityContext.Privileged == nil || !*c.SecurityContext.Privileged {
				t.Errorf("not privileged: /dev/kmsg is unreadable")
			}
			if nn := envVar(c, "NODE_NAME"); nn == nil || nn.ValueFrom.FieldRef.FieldPath != "spec.nodeName" {
				t.Errorf("NODE_NAME %+v", nn)
			}
			for path, host := range map[string]string{"/var/log": "/var/log", "/dev/kmsg": "/dev/kmsg", "/etc/localtime": "/etc/localtime"} {
				m := mountAt(c, path)
				if m == nil || !m.ReadOnly {
					t.Errorf("%s not mounted read-only: %+v", path, m)
					continue
				}
				if v := volume(ds, m.Name); v.HostPath == nil || v.HostPath.Path != host {
					t.Errorf("%s is not the host's %s", path, host)
				}
			}
			if len(pod.Tolerations) != 1 || pod.Tolerations[0].Operator != corev1.TolerationOpExists {
				t.Errorf("tolerations %+v, want every taint tolerated", pod.Tolerations)
			}

			crb := stacktest.FindNamed[*rbacv1.ClusterRoleBinding](t, s, "", npd.Name)
			if crb.RoleRef.Name != "system:node-problem-detector" || crb.Subjects[0].Namespace != npd.Namespace || crb.Subjects[0].Name != npd.Name {
				t.Errorf("binding %+v", crb)
			}
			if n := len(stacktest.Find[*rbacv1.ClusterRole](s)); n != 0 {
				t.Errorf("%d ClusterRoles; the built-in one is enough", n)
			}

			pms := stacktest.Find[*monitoringv1.PodMonitor](s)
			if len(pms) != 1 || *pms[0].Spec.PodMetricsEndpoints[0].Port != npd.MetricsPortName ||
				!slices.Equal(pms[0].Spec.NamespaceSelector.MatchNames, []string{npd.Namespace}) {
				t.Errorf("PodMonitor %+v", pms)
			}
			checkConfig(t, e, s)
		})
	}
}

// checkConfig parses every monitor file back and checks it against the
// enabled monitors, and the flags against the files.
func checkConfig(t *testing.T, e *env.Environment, s *stack.Set) {
	t.Helper()
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, npd.Namespace, npd.ConfigMap)
	ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, npd.Namespace, npd.Name)
	args := ds.Spec.Template.Spec.Containers[0].Args
	flag := func(name string) []string {
		for _, a := range args {
			if v, ok := strings.CutPrefix(a, "--config."+name+"="); ok {
				return strings.Split(v, ",")
			}
		}
		return nil
	}

	m := e.NodeProblemDetector.Monitors
	type want struct {
		on         bool
		daemon     string
		conditions []string
		permanent  map[string]string // reason → condition
		temporary  []string
	}
	wants := map[string]want{
		"kernel-monitor.json": {m.Kernel, "system-log-monitor", []string{"KernelDeadlock", "XfsShutdown"},
			map[string]string{"XfsHasShutdown": "XfsShutdown", "ContainerRuntimeHung": "KernelDeadlock"},
			[]string{"OOMKilling", "TaskHung", "KernelOops", "Ext4Error", "IOError"}},
		"readonly-monitor.json": {m.Readonly, "system-log-monitor", []string{"ReadonlyFilesystem"},
			map[string]string{"FilesystemIsReadOnly": "ReadonlyFilesystem"}, nil},
		"health-checker-kubelet.json": {m.Kubelet, "custom-plugin-monitor", []string{"KubeletUnhealthy"},
			map[string]string{"KubeletUnhealthy": "KubeletUnhealthy"}, nil},
		"health-checker-containerd.json": {m.Containerd, "custom-plugin-monitor", []string{"ContainerRuntimeUnhealthy"},
			map[string]string{"ContainerdUnhealthy": "ContainerRuntimeUnhealthy"}, nil},
	}
	for file, w := range wants {
		data, present := cm.Data[file]
		inFlag := slices.Contains(flag(w.daemon), npd.ConfigDir+"/"+file)
		if present != w.on || inFlag != w.on {
			t.Errorf("%s: in ConfigMap %v, in --config.%s %v; monitor enabled %v", file, present, w.daemon, inFlag, w.on)
		}
		if !present {
			continue
		}
		var conds []condition
		permanent := map[string]string{}
		var temporary []string
		var metrics *bool
		switch w.daemon {
		case "system-log-monitor":
			var f systemLogMonitor
			decodeStrict(t, file, data, &f)
			if f.Plugin != "kmsg" || f.LogPath != "/dev/kmsg" || f.BufferSize < 1 {
				t.Errorf("%s: plugin %q logPath %q bufferSize %d", file, f.Plugin, f.LogPath, f.BufferSize)
			}
			conds, metrics = f.Conditions, f.MetricsReporting
			for _, r := range f.Rules {
				if _, err := regexp.Compile(r.Pattern + `\z`); err != nil {
					t.Errorf("%s: rule %s: %v", file, r.Reason, err)
				}
				switch r.Type {
				case "permanent":
					permanent[r.Reason] = r.Condition
				case "temporary":
					if r.Condition != "" {
						t.Errorf("%s: temporary rule %s names condition %s", file, r.Reason, r.Condition)
					}
					temporary = append(temporary, r.Reason)
				default:
					t.Errorf("%s: rule type %q", file, r.Type)
				}
			}
		case "custom-plugin-monitor":
			var f customPluginMonitor
			decodeStrict(t, file, data, &f)
			if f.Plugin != "custom" || f.PluginConfig.InvokeInterval == nil || f.PluginConfig.Timeout == nil {
				t.Errorf("%s: plugin %q config %+v", file, f.Plugin, f.PluginConfig)
			}
			conds, metrics = f.Conditions, f.MetricsReporting
			for _, r := range f.Rules {
				if r.Type != "permanent" {
					t.Errorf("%s: rule type %q", file, r.Type)
				}
				permanent[r.Reason] = r.Condition
				if r.Path != "/home/kubernetes/bin/health-checker" {
					t.Errorf("%s: runs %s, not the image's health checker", file, r.Path)
				}
				if !slices.Contains(r.Args, "--enable-repair=false") {
					t.Errorf("%s: args %v; NPD must not restart node services", file, r.Args)
				}
			}
		}
		if metrics == nil || !*metrics {
			t.Errorf("%s: metricsReporting off; problem_counter and problem_gauge would stay empty", file)
		}
		var types []string
		for _, c := range conds {
			types = append(types, c.Type)
			if c.Reason == "" || c.Message == "" {
				t.Errorf("%s: condition %s without its healthy reason and message", file, c.Type)
			}
		}
		if d := cmp.Diff(w.conditions, types); d != "" {
			t.Errorf("%s: conditions (-want +got):\n%s", file, d)
		}
		for reason, cond := range permanent {
			if !slices.Contains(types, cond) {
				t.Errorf("%s: rule %s sets %s, which the file does not declare", file, reason, cond)
			}
		}
		if d := cmp.Diff(w.permanent, permanent); d != "" {
			t.Errorf("%s: permanent rules (-want +got):\n%s", file, d)
		}
		for _, r := range w.temporary {
			if !slices.Contains(temporary, r) {
				t.Errorf("%s: no temporary rule %s", file, r)
			}
		}
	}
	if n := len(cm.Data); n != len(npd.Monitors(m)) {
		t.Errorf("%d files in the ConfigMap for %d monitors", n, len(npd.Monitors(m)))
	}
}

// TestKernelPatterns matches the kernel rules against kernel messages the
// way NPD does: pattern + `\z` against the end of the log buffer.
func TestKernelPatterns(t *testing.T) {
	rules := map[string][]string{}
	for _, m := range npd.Monitors(env.NPDMonitors{Kernel: true, Readonly: true}) {
		for _, r := range m.Config.(*npd.SystemLogMonitor).Rules {
			rules[r.Reason] = append(rules[r.Reason], r.Pattern)
		}
	}
	matches := func(reason, line string) bool {
		for _, p := range rules[reason] {
			if regexp.MustCompile(p + `\z`).MatchString(line) {
				return true
			}
		}
		return false
	}
	cases := []struct {
		reason, line string
		want         bool
	}{
		{"OOMKilling", "Out of memory: Killed process 4211 (java) total-vm:8123456kB, anon-rss:4012345kB, file-rss:0kB, shmem-rss:0kB, UID:185 pgtables:9000kB oom_score_adj:936", true},
		{"OOMKilling", "Memory cgroup out of memory: Killed process 981 (python3) total-vm:51234kB, anon-rss:40960kB, file-rss:1024kB, shmem-rss:0kB, UID:0 pgtables:160kB oom_score_adj:999", true},
		{"OOMKilling", "oom_reaper: reaped process 4211 (java), now anon-rss:0kB, file-rss:0kB, shmem-rss:0kB", false},
		{"TaskHung", "INFO: task kworker/0:1:123 blocked for more than 120 seconds.", true},
		{"TaskHung", "INFO: task jbd2/sda1-8:312 blocked for more than 241 seconds.", true},
		{"TaskHung", "\"echo 0 > /proc/sys/kernel/hung_task_timeout_secs\" disables this message.", false},
		{"ContainerRuntimeHung", "INFO: task containerd:1021 blocked for more than 120 seconds.", true},
		{"ContainerRuntimeHung", "INFO: task containerd-shim:5121 blocked for more than 122 seconds.", true},
		{"ContainerRuntimeHung", "INFO: task kworker/0:1:123 blocked for more than 120 seconds.", false},
		{"KernelOops", "BUG: unable to handle kernel NULL pointer dereference at 0000000000000008", true},
		{"KernelOops", "BUG: kernel NULL pointer dereference, address: 0000000000000000", true},
		{"KernelOops", "divide error: 0000 [#1] SMP PTI", true},
		{"KernelOops", "Oops: divide error: 0000 [#1] PREEMPT SMP NOPTI", true},
		{"UnregisterNetDevice", "unregister_netdevice: waiting for eth0 to become free. Usage count = 1", true},
		{"Ext4Error", "EXT4-fs error (device sdb1): ext4_find_entry:1455: inode #2: comm ls: reading directory lblock 0", true},
		{"Ext4Error", "EXT4-fs (sdb1): mounted filesystem with ordered data mode. Quota mode: none.", false},
		{"IOError", "Buffer I/O error on dev sdb, logical block 0, async page read", true},
		{"IOError", "blk_update_request: I/O error, dev sdc, sector 2048 op 0x1:(WRITE) flags 0x800 phys_seg 1 prio class 0", true},
		{"IOError", "I/O error, dev dm-3, sector 81920 op 0x0:(READ) flags 0x80700 phys_seg 1 prio class 2", true},
		{"XfsHasShutdown", "XFS (dm-0): Log I/O Error Detected. Shutting down filesystem", true},
		{"XfsHasShutdown", "XFS (sdb): Corruption of in-memory data (0x8) detected at xfs_trans_cancel+0x12e/0x150 (fs/xfs/xfs_trans.c:1097).  Shutting down filesystem.", true},
		{"XfsHasShutdown", "XFS (nvme1n1): Filesystem has been shut down due to log error (0x2).", true},
		{"XfsHasShutdown", "XFS (sdb): Mounting V5 Filesystem", false},
		{"FilesystemIsReadOnly", "EXT4-fs (sda1): Remounting filesystem read-only", true},
		{"FilesystemIsReadOnly", "EXT4-fs (sda1): re-mounted. Quota mode: none.", false},
	}
	for _, tc := range cases {
		if len(rules[tc.reason]) == 0 {
			t.Errorf("no rule %s", tc.reason)
			continue
		}
		if got := matches(tc.reason, tc.line); got != tc.want {
			t.Errorf("%s on %q: %v, want %v", tc.reason, tc.line, got, tc.want)
		}
	}
}

func TestMonitorSelection(t *testing.T) {
	cases := map[string]struct {
		monitors    env.NPDMonitors
		hostNetwork bool
		crictl      bool
	}{
		"kernel only":    {env.NPDMonitors{Kernel: true}, false, false},
		"readonly only":  {env.NPDMonitors{Readonly: true}, false, false},
		"kubelet only":   {env.NPDMonitors{Kubelet: true}, true, false},
		"containerd":     {env.NPDMonitors{Kernel: true, Containerd: true}, false, true},
		"all":            {env.NPDMonitors{Kernel: true, Readonly: true, Kubelet: true, Containerd: true}, true, true},
		"no log monitor": {env.NPDMonitors{Kubelet: true, Containerd: true}, true, true},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, "staging")
			e.NodeProblemDetector.Monitors = tc.monitors
			s := generate(t, e)
			stacktest.Check(t, s)
			checkConfig(t, e, s)

			ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, npd.Namespace, npd.Name)
			pod := ds.Spec.Template.Spec
			if pod.HostNetwork != tc.hostNetwork {
				t.Errorf("hostNetwork %v, want %v (the kubelet check needs the node's loopback)", pod.HostNetwork, tc.hostNetwork)
			}
			c := pod.Containers[0]
			crictl := mountAt(c, "/usr/local/bin/crictl")
			if (crictl != nil) != tc.crictl {
				t.Errorf("crictl mounted %v, want %v", crictl != nil, tc.crictl)
			}
			if crictl != nil {
				if v := volume(ds, crictl.Name); v.HostPath == nil || v.HostPath.Path != npd.HostCrictl || *v.HostPath.Type != corev1.HostPathFile {
					t.Errorf("crictl volume %+v", v.VolumeSource)
				}
			}

			// The alert names exactly the enabled monitors' conditions.
			pr := stacktest.Find[*monitoringv1.PrometheusRule](s)[0]
			expr := alertExpr(t, pr, "NodeProblemConditionActive")
			for _, cond := range []struct {
				name string
				on   bool
			}{
				{"KernelDeadlock", tc.monitors.Kernel}, {"XfsShutdown", tc.monitors.Kernel},
				{"ReadonlyFilesystem", tc.monitors.Readonly}, {"KubeletUnhealthy", tc.monitors.Kubelet},
				{"ContainerRuntimeUnhealthy", tc.monitors.Containerd},
			} {
				if strings.Contains(expr, cond.name) != cond.on {
					t.Errorf("condition %s in %q: want %v", cond.name, expr, cond.on)
				}
			}
			hasKernelAlert := false
			for _, r := range pr.Spec.Groups[0].Rules {
				hasKernelAlert = hasKernelAlert || r.Alert == "NodeKernelProblem"
			}
			if hasKernelAlert != tc.monitors.Kernel {
				t.Errorf("NodeKernelProblem present %v with the kernel monitor %v", hasKernelAlert, tc.monitors.Kernel)
			}
		})
	}
}

func TestConditionAlertSource(t *testing.T) {
	for _, ksm := range []bool{true, false} {
		e := stacktest.Example(t, "prod")
		e.Monitoring.KubeStateMetrics.Enabled = ksm
		s := generate(t, e)
		stacktest.Check(t, s)
		expr := alertExpr(t, stacktest.Find[*monitoringv1.PrometheusRule](s)[0], "NodeProblemConditionActive")
		want := `kube_node_status_condition{job="kube-state-metrics", condition=~"KernelDeadlock|XfsShutdown|ReadonlyFilesystem|KubeletUnhealthy|ContainerRuntimeUnhealthy", status="true"} == 1`
		if !ksm {
			want = `max by (node, condition) (label_replace(problem_gauge{job="node-problem-detector", type=~"KernelDeadlock|XfsShutdown|ReadonlyFilesystem|KubeletUnhealthy|ContainerRuntimeUnhealthy"}, "condition", "$1", "type", "(.*)")) == 1`
		}
		if expr != want {
			t.Errorf("kube-state-metrics %v: expr\n%s\nwant\n%s", ksm, expr, want)
		}
		// With both sources, the gauge only catches what never reached
		// the Node, so no problem is alerted twice.
		var notPublished string
		for _, r := range stacktest.Find[*monitoringv1.PrometheusRule](s)[0].Spec.Groups[0].Rules {
			if r.Alert == "NodeProblemNotPublished" {
				notPublished = r.Expr.String()
			}
		}
		if ksm != (notPublished != "") {
			t.Errorf("kube-state-metrics %v: NodeProblemNotPublished %q", ksm, notPublished)
		}
		if ksm && (!strings.Contains(notPublished, "problem_gauge") || !strings.Contains(notPublished, "unless on (node, condition) (kube_node_status_condition")) {
			t.Errorf("NodeProblemNotPublished %q", notPublished)
		}
	}
}

func TestMonitoringDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	s := generate(t, e)
	stacktest.Check(t, s)
	for _, r := range s.Resources() {
		if r.Layer != stack.Node {
			t.Errorf("%s %s in layer %s without monitoring", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), r.Layer)
		}
	}
	if n := len(stacktest.Find[*monitoringv1.PodMonitor](s)) + len(stacktest.Find[*monitoringv1.PrometheusRule](s)); n != 0 {
		t.Errorf("%d monitoring objects without the monitoring CRDs", n)
	}
	np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, npd.Namespace, npd.Name)
	if len(np.Spec.Ingress) != 0 {
		t.Errorf("ingress allowed without Prometheus: %+v", np.Spec.Ingress)
	}
}

func TestLayers(t *testing.T) {
	s := generate(t, stacktest.Example(t, "prod"))
	for _, r := range s.Resources() {
		kind := r.Object.GetObjectKind().GroupVersionKind().Kind
		want := stack.Node
		if kind == "PodMonitor" || kind == "PrometheusRule" {
			want = stack.Content
		}
		if r.Layer != want {
			t.Errorf("%s in layer %s, want %s", kind, r.Layer, want)
		}
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.NodeProblemDetector.Enabled = false
	if s := generate(t, e); len(s.Resources()) != 0 {
		t.Errorf("disabled NPD rendered %d objects", len(s.Resources()))
	}
}

func TestNoMonitor(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.NodeProblemDetector.Monitors = env.NPDMonitors{}
	var s stack.Set
	if err := npd.Generate(e, &s); err == nil || !strings.Contains(err.Error(), "monitor") {
		t.Errorf("error %v, want one saying no monitor is enabled", err)
	}
}

func TestImage(t *testing.T) {
	cases := []struct {
		k8s, tag, want string
	}{
		{"1.34", "", "registry.k8s.io/node-problem-detector/node-problem-detector:v1.34.4"},
		{"1.35", "", "registry.k8s.io/node-problem-detector/node-problem-detector:v1.35.3"},
		{"1.36", "", "registry.k8s.io/node-problem-detector/node-problem-detector:v1.36.0"},
		{"1.35", "v1.34.4", "registry.k8s.io/node-problem-detector/node-problem-detector:v1.34.4"},
	}
	for _, tc := range cases {
		e := stacktest.Example(t, "dev")
		e.Cluster.KubernetesVersion = tc.k8s
		e.NodeProblemDetector.ImageTag = tc.tag
		if got := npd.Image(e); got != tc.want {
			t.Errorf("Kubernetes %s tag %q: %s, want %s", tc.k8s, tc.tag, got, tc.want)
		}
		s := generate(t, e)
		stacktest.Check(t, s)
		ds := stacktest.FindNamed[*appsv1.DaemonSet](t, s, npd.Namespace, npd.Name)
		if got := ds.Spec.Template.Spec.Containers[0].Image; got != tc.want {
			t.Errorf("DaemonSet image %s, want %s", got, tc.want)
		}
	}
}

func TestConfigChecksum(t *testing.T) {
	e := stacktest.Example(t, "prod")
	a := stacktest.FindNamed[*appsv1.DaemonSet](t, generate(t, e), npd.Namespace, npd.Name)
	e.NodeProblemDetector.Monitors.Readonly = false
	b := stacktest.FindNamed[*appsv1.DaemonSet](t, generate(t, e), npd.Namespace, npd.Name)
	k := "checksum/config"
	if a.Spec.Template.Annotations[k] == "" || a.Spec.Template.Annotations[k] == b.Spec.Template.Annotations[k] {
		t.Errorf("the pod does not roll when the monitor files change")
	}
}

func TestMonitorJSONIsStable(t *testing.T) {
	for _, m := range npd.Monitors(env.NPDMonitors{Kernel: true, Readonly: true, Kubelet: true, Containerd: true}) {
		a, err := m.JSON()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := m.JSON()
		if !bytes.Equal(a, b) || !json.Valid(a) {
			t.Errorf("%s: not stable valid JSON", m.File)
		}
	}
}

func alertExpr(t *testing.T, pr *monitoringv1.PrometheusRule, alert string) string {
	t.Helper()
	for _, g := range pr.Spec.Groups {
		for _, r := range g.Rules {
			if r.Alert == alert {
				return r.Expr.String()
			}
		}
	}
	t.Fatalf("no alert %s", alert)
	return ""
}

func envVar(c corev1.Container, name string) *corev1.EnvVar {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return &c.Env[i]
		}
	}
	return nil
}

func mountAt(c corev1.Container, path string) *corev1.VolumeMount {
	for i := range c.VolumeMounts {
		if c.VolumeMounts[i].MountPath == path {
			return &c.VolumeMounts[i]
		}
	}
	return nil
}

func volume(ds *appsv1.DaemonSet, name string) corev1.Volume {
	for _, v := range ds.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	return corev1.Volume{}
}
