package env

import (
	"sort"
	"strconv"
	"strings"
)

// Enabled reports whether each optional component is on, folding in the
// switches of the components it lives inside.
func (e *Environment) PrometheusEnabled() bool { return e.Monitoring.Enabled }
func (e *Environment) GrafanaEnabled() bool {
	return e.Monitoring.Enabled && e.Monitoring.Grafana.Enabled
}
func (e *Environment) SparkHistoryEnabled() bool {
	return e.Spark.Enabled && e.Spark.HistoryServer.Enabled
}
func (e *Environment) KibanaEnabled() bool { return e.Logging.Enabled && e.Logging.Kibana.Enabled }
func (e *Environment) AuditEnabled() bool  { return e.Logging.Enabled && e.Audit.Enabled }
func (e *Environment) PureExporterEnabled() bool {
	return e.Monitoring.Enabled && e.PureExporter.Enabled
}
func (e *Environment) FluentdEnabled() bool {
	return e.Logging.Enabled && e.Logging.Agent.Fluentd.Enabled
}

// RoleBackend returns the name and the backend serving a storage role, and
// false when the role is not mapped or names an undeclared backend.
func (s *Storage) RoleBackend(role string) (string, Backend, bool) {
	var name string
	switch role {
	case RoleBlock:
		name = s.Roles.Block
	case RoleFile:
		name = s.Roles.File
	case RoleObject:
		name = s.Roles.Object
	}
	b, ok := s.Backends[name]
	return name, b, ok && name != ""
}

// StorageClassName is the name of the StorageClass Vigil renders for a
// role ("vigil-block", "vigil-file").
func StorageClassName(role string) string { return "vigil-" + role }

// IsFileSystem reports whether volumes of the backend are network file
// systems, which Prometheus must never use and Elasticsearch should not.
func (b Backend) IsFileSystem() bool {
	switch b.Kind {
	case KindFlashBlade:
		return true
	case KindPortworx:
		return b.Portworx != nil && b.Portworx.SharedV4
	case KindCSI:
		if b.CSI == nil {
			return false
		}
		if b.CSI.FileSystem {
			return true
		}
		for _, o := range b.CSI.MountOptions {
			if strings.Contains(strings.ToLower(o), "nfs") {
				return true
			}
		}
		p := strings.ToLower(b.CSI.Provisioner)
		return strings.Contains(p, "nfs") || strings.Contains(p, "efs") || strings.Contains(p, "filestore") || strings.Contains(p, "file.csi")
	}
	return false
}

// S3 returns the S3 endpoint Spark and Tempo use: an explicit override, or
// the object role backend's.
func (e *Environment) S3(override *S3Endpoint) (*S3Endpoint, bool) {
	if override != nil {
		return override, true
	}
	if _, b, ok := e.Storage.RoleBackend(RoleObject); ok && b.FlashBlade != nil && b.FlashBlade.S3 != nil {
		return b.FlashBlade.S3, true
	}
	return nil, false
}

// KubernetesMinor is the minor number of cluster.kubernetesVersion.
func (e *Environment) KubernetesMinor() int {
	_, minor, _ := strings.Cut(e.Cluster.KubernetesVersion, ".")
	n, _ := strconv.Atoi(minor)
	return n
}

// SortedKeys returns a map's keys in order, for deterministic output.
func SortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
