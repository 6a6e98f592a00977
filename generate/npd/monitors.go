package npd

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/vigil-stack/vigil/generate/env"
)

// The monitor configuration files, in NPD's JSON format
// (pkg/systemlogmonitor/config.go, pkg/custompluginmonitor/types/config.go).

// Condition is a node condition a monitor owns, in its healthy state: NPD
// sets it on the Node at start and flips it when a permanent rule matches.
type Condition struct {
	Type    string `json:"type"`
	Reason  string `json:"reason"`
	Message string `json:"message"`
}

// Rule types.
const (
	// Temporary rules emit an Event and count problem_counter.
	Temporary = "temporary"
	// Permanent rules set their Condition to true.
	Permanent = "permanent"
)

// LogRule matches kernel log lines. NPD appends \z to Pattern and matches
// it against the last lines of its buffer, so a pattern matches the end of
// a line and may span BufferSize lines.
type LogRule struct {
	Type      string `json:"type"`
	Condition string `json:"condition,omitempty"`
	Reason    string `json:"reason"`
	Pattern   string `json:"pattern"`
}

// SystemLogMonitor is a system-log-monitor file.
type SystemLogMonitor struct {
	Plugin           string      `json:"plugin"`
	LogPath          string      `json:"logPath,omitempty"`
	Lookback         string      `json:"lookback,omitempty"`
	BufferSize       int         `json:"bufferSize"`
	Source           string      `json:"source"`
	MetricsReporting bool        `json:"metricsReporting"`
	Conditions       []Condition `json:"conditions"`
	Rules            []LogRule   `json:"rules"`
}

// PluginConfig is a custom plugin monitor's global settings.
type PluginConfig struct {
	InvokeInterval  string `json:"invoke_interval"`
	Timeout         string `json:"timeout"`
	MaxOutputLength int    `json:"max_output_length"`
	Concurrency     int    `json:"concurrency"`
}

// PluginRule runs a program: exit 0 is healthy, 1 is a problem.
type PluginRule struct {
	Type      string   `json:"type"`
	Condition string   `json:"condition,omitempty"`
	Reason    string   `json:"reason"`
	Path      string   `json:"path"`
	Args      []string `json:"args"`
	Timeout   string   `json:"timeout"`
}

// CustomPluginMonitor is a custom-plugin-monitor file.
type CustomPluginMonitor struct {
	Plugin           string       `json:"plugin"`
	PluginConfig     PluginConfig `json:"pluginConfig"`
	Source           string       `json:"source"`
	MetricsReporting bool         `json:"metricsReporting"`
	Conditions       []Condition  `json:"conditions"`
	Rules            []PluginRule `json:"rules"`
}

// Daemon kinds: the NPD flag a monitor file is passed to.
const (
	SystemLogMonitorDaemon    = "system-log-monitor"
	CustomPluginMonitorDaemon = "custom-plugin-monitor"
)

// Monitor is one enabled monitor file.
type Monitor struct {
	// File is its name in the ConfigMap and under ConfigDir.
	File string
	// Daemon is SystemLogMonitorDaemon or CustomPluginMonitorDaemon.
	Daemon string
	// Config is a *SystemLogMonitor or a *CustomPluginMonitor.
	Config any
	// AlertingEvents are the reasons of temporary rules worth an alert.
	AlertingEvents []string
}

// Conditions are the node conditions the monitor owns.
func (m Monitor) Conditions() []Condition {
	switch c := m.Config.(type) {
	case *SystemLogMonitor:
		return c.Conditions
	case *CustomPluginMonitor:
		return c.Conditions
	}
	return nil
}

// JSON is the file's content.
func (m Monitor) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(m.Config, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("%s: %w", m.File, err)
	}
	return append(b, '\n'), nil
}

// healthChecker is NPD's health checker, shipped in its image.
const healthChecker = "/home/kubernetes/bin/health-checker"

// Where the containerd health check finds crictl and the runtime socket.
const (
	// HostCrictl is where nodes keep crictl (the cri-tools package); the
	// NPD image has none, so the containerd monitor mounts the node's.
	HostCrictl      = "/usr/bin/crictl"
	crictlPath      = "/usr/local/bin/crictl"
	containerdDir   = "/run/containerd"
	containerdSock  = "unix:///run/containerd/containerd.sock"
	pluginTimeout   = "2m"
	pluginInterval  = "30s"
	healthTimeout   = "60s"
	kmsgLookback    = "5m"
	kmsgBufferLines = 10
)

// Monitors are the monitor files enabled in the environment, in a fixed
// order.
func Monitors(m env.NPDMonitors) []Monitor {
	var out []Monitor
	if m.Kernel {
		out = append(out, kernelMonitor())
	}
	if m.Readonly {
		out = append(out, readonlyMonitor())
	}
	if m.Kubelet {
		out = append(out, healthCheckMonitor("health-checker-kubelet.json",
			Condition{"KubeletUnhealthy", "KubeletIsHealthy", "kubelet on the node is functioning properly"},
			"KubeletUnhealthy",
			// Repair would kill the kubelet through systemd: NPD only reports
			// here, remediation is another tool's decision (stack.md).
			"--component=kubelet", "--enable-repair=false", "--health-check-timeout="+healthTimeout))
	}
	if m.Containerd {
		out = append(out, healthCheckMonitor("health-checker-containerd.json",
			Condition{"ContainerRuntimeUnhealthy", "ContainerRuntimeIsHealthy", "Container runtime on the node is functioning properly"},
			"ContainerdUnhealthy",
			"--component=cri", "--enable-repair=false", "--health-check-timeout="+healthTimeout,
			"--crictl-path="+crictlPath, "--cri-socket-path="+containerdSock, "--cri-timeout=10s"))
	}
	return out
}

func kmsgMonitor(source string, conditions []Condition, rules []LogRule) *SystemLogMonitor {
	return &SystemLogMonitor{
		Plugin:           "kmsg",
		LogPath:          "/dev/kmsg",
		Lookback:         kmsgLookback,
		BufferSize:       kmsgBufferLines,
		Source:           source,
		MetricsReporting: true,
		Conditions:       conditions,
		Rules:            rules,
	}
}

// kernelMonitor watches the kernel log for hung tasks, oopses, file system
// and I/O errors (events) and for a hung runtime or a shut down XFS
// (conditions). Patterns are RE2, matched at the end of a kmsg line.
func kernelMonitor() Monitor {
	const blocked = `:\d+ blocked for more than \d+ seconds\.`
	return Monitor{
		File:   "kernel-monitor.json",
		Daemon: SystemLogMonitorDaemon,
		Config: kmsgMonitor("kernel-monitor",
			[]Condition{
				{"KernelDeadlock", "KernelHasNoDeadlock", "kernel has no deadlock"},
				{"XfsShutdown", "XfsHasNotShutDown", "XFS has not shut down"},
			},
			[]LogRule{
				// The kernel and cgroup OOM killers both log "Killed process".
				{Type: Temporary, Reason: "OOMKilling", Pattern: `Killed process \d+ \(.+\) total-vm:\d+kB, anon-rss:\d+kB, file-rss:\d+kB.*`},
				// comm may hold spaces and colons (kworker/0:1).
				{Type: Temporary, Reason: "TaskHung", Pattern: `task [\S ]+` + blocked},
				{Type: Temporary, Reason: "KernelOops", Pattern: `BUG: (unable to handle kernel NULL pointer dereference at|kernel NULL pointer dereference, address:) .*`},
				{Type: Temporary, Reason: "KernelOops", Pattern: `divide error: 0000 \[#\d+\].*`},
				{Type: Temporary, Reason: "UnregisterNetDevice", Pattern: `unregister_netdevice: waiting for \S+ to become free\. Usage count = \d+`},
				{Type: Temporary, Reason: "Ext4Error", Pattern: `EXT4-fs error .*`},
				{Type: Temporary, Reason: "Ext4Warning", Pattern: `EXT4-fs warning .*`},
				// Buffer and block layer I/O errors: a failing disk or a lost
				// path to an array LUN.
				{Type: Temporary, Reason: "IOError", Pattern: `Buffer I/O error .*`},
				{Type: Temporary, Reason: "IOError", Pattern: `I/O error, dev \S+, sector \d+.*`},
				{Type: Permanent, Condition: "XfsShutdown", Reason: "XfsHasShutdown", Pattern: `XFS \(\S+\): .*(Shutting down filesystem|Filesystem has been shut down).*`},
				// A container runtime stuck in the kernel leaves the node
				// unable to start or stop pods.
				{Type: Permanent, Condition: "KernelDeadlock", Reason: "ContainerRuntimeHung", Pattern: `task (containerd[\w-]*|dockerd?)` + blocked},
			}),
		AlertingEvents: []string{"TaskHung", "KernelOops", "UnregisterNetDevice", "Ext4Error", "IOError"},
	}
}

func readonlyMonitor() Monitor {
	return Monitor{
		File:   "readonly-monitor.json",
		Daemon: SystemLogMonitorDaemon,
		Config: kmsgMonitor("readonly-monitor",
			[]Condition{{"ReadonlyFilesystem", "FilesystemIsNotReadOnly", "Filesystem is not read-only"}},
			[]LogRule{
				// ext4 with errors=remount-ro after an error.
				{Type: Permanent, Condition: "ReadonlyFilesystem", Reason: "FilesystemIsReadOnly", Pattern: `Remounting filesystem read-only`},
			}),
	}
}

func healthCheckMonitor(file string, cond Condition, reason string, args ...string) Monitor {
	return Monitor{
		File:   file,
		Daemon: CustomPluginMonitorDaemon,
		Config: &CustomPluginMonitor{
			Plugin: "custom",
			PluginConfig: PluginConfig{
				InvokeInterval:  pluginInterval,
				Timeout:         pluginTimeout,
				MaxOutputLength: 80,
				Concurrency:     1,
			},
			Source:           "health-checker",
			MetricsReporting: true,
			Conditions:       []Condition{cond},
			Rules: []PluginRule{{
				Type:      Permanent,
				Condition: cond.Type,
				Reason:    reason,
				Path:      healthChecker,
				Args:      args,
				Timeout:   pluginTimeout,
			}},
		},
	}
}

// flags are NPD's monitor flags for the enabled monitors.
func flags(monitors []Monitor) []string {
	files := map[string][]string{}
	for _, m := range monitors {
		files[m.Daemon] = append(files[m.Daemon], ConfigDir+"/"+m.File)
	}
	var out []string
	for _, d := range []string{SystemLogMonitorDaemon, CustomPluginMonitorDaemon} {
		if len(files[d]) > 0 {
			out = append(out, "--config."+d+"="+strings.Join(files[d], ","))
		}
	}
	return out
}
