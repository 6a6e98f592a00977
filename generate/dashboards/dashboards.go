// Package dashboards owns Vigil's Grafana dashboards, written as code with
// the Grafana Foundation SDK's builders: cluster health, node problems,
// Spark applications, storage and the logging pipeline.
//
// Every dashboard selects its Prometheus through the ${datasource}
// variable and filters by namespace, and by application where one exists
// (the Spark application); its queries use the metric names of the
// components Vigil deploys, its labels the table of package correlation.
// Each dashboard is one ConfigMap in the monitoring namespace (label
// grafana_dashboard: "1"), in the Content layer; List names them with
// their folder for grafana.Options.Dashboards.
package dashboards

import (
	"encoding/json"
	"fmt"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the base of the dashboard ConfigMaps.
const Component = "dashboards"

// Tag is on every Vigil dashboard; each dashboard links to the others by it.
const Tag = "vigil"

// DashboardLabel marks a ConfigMap as holding dashboards, the convention
// of Grafana's dashboard sidecars and of kube-prometheus.
const DashboardLabel = "grafana_dashboard"

// Grafana folders.
const (
	FolderKubernetes = "Kubernetes"
	FolderSpark      = "Spark"
	FolderStorage    = "Storage"
	FolderLogging    = "Logging"
	FolderMonitoring = "Monitoring"
)

// Board is one dashboard: where it is and when it exists.
type Board struct {
	UID    string
	Title  string
	Folder string
	// ConfigMap is the name of the ConfigMap that holds it, under the key
	// UID + ".json".
	ConfigMap string

	enabled func(*env.Environment) bool
	build   func(*env.Environment) *dashboard.DashboardBuilder
}

// boards is every dashboard, in a fixed order.
var boards = []Board{
	{UID: "vigil-cluster-health", Title: "Cluster health", Folder: FolderKubernetes,
		enabled: func(*env.Environment) bool { return true }, build: clusterHealth},
	{UID: "vigil-node-problems", Title: "Node problems", Folder: FolderKubernetes,
		enabled: func(e *env.Environment) bool { return e.NodeProblemDetector.Enabled }, build: nodeProblems},
	{UID: "vigil-spark", Title: "Spark applications", Folder: FolderSpark,
		enabled: func(e *env.Environment) bool { return e.Spark.Enabled }, build: sparkApplications},
	{UID: "vigil-storage", Title: "Storage", Folder: FolderStorage,
		enabled: func(*env.Environment) bool { return true }, build: storage},
	{UID: "vigil-logging", Title: "Logging pipeline", Folder: FolderLogging,
		enabled: func(e *env.Environment) bool { return e.Logging.Enabled }, build: loggingPipeline},
	{UID: UIDCluster, Title: "Compute resources / Cluster", Folder: FolderKubernetes, enabled: computeEnabled, build: computeCluster},
	{UID: UIDNamespace, Title: "Compute resources / Namespace", Folder: FolderKubernetes, enabled: computeEnabled, build: computeNamespace},
	{UID: UIDWorkload, Title: "Compute resources / Workload", Folder: FolderKubernetes, enabled: computeEnabled, build: computeWorkload},
	{UID: UIDPod, Title: "Compute resources / Pod", Folder: FolderKubernetes, enabled: computeEnabled, build: computePod},
	{UID: UIDNodes, Title: "Nodes (USE)", Folder: FolderKubernetes,
		enabled: func(e *env.Environment) bool { return e.Monitoring.NodeExporter.Enabled }, build: nodesUSE},
	{UID: "vigil-kubelet", Title: "Kubelet", Folder: FolderKubernetes,
		enabled: func(*env.Environment) bool { return true }, build: kubelet},
	{UID: "vigil-persistent-volumes", Title: "Persistent volumes", Folder: FolderStorage,
		enabled: func(*env.Environment) bool { return true }, build: persistentVolumes},
	{UID: "vigil-prometheus", Title: "Prometheus", Folder: FolderMonitoring,
		enabled: func(*env.Environment) bool { return true }, build: prometheusBoard},
	{UID: "vigil-alertmanager", Title: "Alertmanager", Folder: FolderMonitoring,
		enabled: func(*env.Environment) bool { return true }, build: alertmanagerBoard},
	{UID: "vigil-probes", Title: "Ingress probes", Folder: FolderKubernetes, enabled: probesEnabled, build: probes},
	apiServerBoard, etcdBoard, schedulerBoard, coreDNSBoard,
}

func init() {
	for i := range boards {
		boards[i].ConfigMap = "dashboard-" + boards[i].UID[len("vigil-"):]
	}
}

// Boards returns the dashboards of an environment: none without Grafana.
func Boards(e *env.Environment) []Board {
	if !e.GrafanaEnabled() {
		return nil
	}
	var out []Board
	for _, b := range boards {
		if b.enabled(e) {
			out = append(out, b)
		}
	}
	return out
}

// List returns the dashboard ConfigMaps of an environment with their
// folders, for grafana.Options.Dashboards.
func List(e *env.Environment) []grafana.DashboardConfigMap {
	var out []grafana.DashboardConfigMap
	for _, b := range Boards(e) {
		out = append(out, grafana.DashboardConfigMap{Name: b.ConfigMap, Folder: b.Folder})
	}
	return out
}

// JSON builds one dashboard and marshals it. The output is deterministic:
// struct fields in declaration order, map keys sorted, panel ids in
// layout order.
func (b Board) JSON(e *env.Environment) ([]byte, error) {
	d, err := b.build(e).Title(b.Title).Build()
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.UID, err)
	}
	numberPanels(&d)
	out, err := json.MarshalIndent(d, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", b.UID, err)
	}
	return append(out, '\n'), nil
}

// numberPanels gives every panel and row a unique id, top to bottom.
func numberPanels(d *dashboard.Dashboard) {
	var id uint32
	for _, p := range d.Panels {
		id++
		switch {
		case p.Panel != nil:
			p.Panel.Id = ptr(id)
		case p.RowPanel != nil:
			p.RowPanel.Id = id
			for i := range p.RowPanel.Panels {
				id++
				p.RowPanel.Panels[i].Id = ptr(id)
			}
		}
	}
}

// Generate adds one ConfigMap per dashboard of the environment to the
// Content layer, when Grafana is enabled.
func Generate(e *env.Environment, s *stack.Set) error {
	for _, b := range Boards(e) {
		body, err := b.JSON(e)
		if err != nil {
			return err
		}
		l := stack.Labels(Component, "dashboard", "")
		l[DashboardLabel] = "1"
		s.Add(Component, stack.Content, &corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{
				Name:      b.ConfigMap,
				Namespace: e.Monitoring.Namespace,
				Labels:    l,
				Annotations: map[string]string{
					// The folder, for dashboard sidecars that read it.
					"grafana_folder": b.Folder,
					// ${datasource} and friends are Grafana's variables:
					// Flux's post-build substitution must not touch them.
					"kustomize.toolkit.fluxcd.io/substitute": "disabled",
				},
			},
			Data: map[string]string{b.UID + ".json": string(body)},
		})
	}
	return nil
}
