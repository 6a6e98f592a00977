package grafana

import (
	"fmt"
	"path"
	"regexp"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/thanos"
)

// PrometheusDatasourceUID is the UID of the stack's Prometheus datasource;
// dashboards and data links refer to it.
const PrometheusDatasourceUID = "prometheus"

// Datasource is one Grafana datasource to provision.
type Datasource struct {
	// Name is shown in Grafana; unique.
	Name string
	// UID is the stable id dashboards and links refer to; unique, at most
	// 40 characters of letters, digits, '-' and '_'.
	UID string
	// Type is the plugin id: "prometheus", "elasticsearch", "tempo", "jaeger".
	Type string
	URL  string
	// Access is "proxy" (the default when empty) or "direct".
	Access    string
	IsDefault bool
	// BasicAuth with BasicAuthUser; the password goes in SecureJSONData
	// under "basicAuthPassword".
	BasicAuth     bool
	BasicAuthUser string
	// JSONData is the plugin's settings, written as given. Grafana expands
	// $NAME in provisioning files, so a literal '$' (a data link's
	// ${__value.raw}) is written '$$' ($${__value.raw}).
	JSONData map[string]any
	// SecureJSONData maps secure setting keys ("basicAuthPassword",
	// "httpHeaderValue1", "tlsCACert") to Secret keys in the monitoring
	// namespace. The file holds only $VARIABLES: each secret reaches
	// Grafana as an environment variable from a secretKeyRef.
	SecureJSONData map[string]env.SecretRef
}

// DashboardConfigMap is a ConfigMap of dashboard JSON files.
type DashboardConfigMap struct {
	// Name of the ConfigMap in the monitoring namespace.
	Name string
	// Folder is the Grafana folder its dashboards appear in; empty is the
	// General folder.
	Folder string
}

// PrometheusDatasource is the stack's Prometheus, the default datasource.
// The correlation generator extends its JSONData with
// exemplarTraceIdDestinations.
//
// With Thanos on, it is the Thanos querier under the same UID, so that every
// dashboard reads the deduplicated replicas and the bucket's history.
func PrometheusDatasource(e *env.Environment) Datasource {
	if e.ThanosEnabled() {
		return Datasource{
			Name:      "Thanos",
			UID:       PrometheusDatasourceUID,
			Type:      "prometheus",
			URL:       thanos.QueryURL(e),
			Access:    "proxy",
			IsDefault: true,
			JSONData: map[string]any{
				"timeInterval":   e.Monitoring.Prometheus.ScrapeInterval,
				"httpMethod":     "POST",
				"prometheusType": "Thanos",
			},
		}
	}
	return Datasource{
		Name:      "Prometheus",
		UID:       PrometheusDatasourceUID,
		Type:      "prometheus",
		URL:       prometheus.URL(e),
		Access:    "proxy",
		IsDefault: true,
		JSONData: map[string]any{
			// $__rate_interval needs the scrape interval.
			"timeInterval": e.Monitoring.Prometheus.ScrapeInterval,
			"httpMethod":   "POST",
		},
	}
}

// The provisioning file formats (Grafana docs, "Provision Grafana").
type datasourcesFileV1 struct {
	APIVersion int `json:"apiVersion"`
	// Prune deletes provisioned datasources that left the file.
	Prune       bool              `json:"prune"`
	Datasources []datasourceEntry `json:"datasources"`
}

type datasourceEntry struct {
	Name           string            `json:"name"`
	UID            string            `json:"uid"`
	Type           string            `json:"type"`
	Access         string            `json:"access"`
	URL            string            `json:"url,omitempty"`
	OrgID          int               `json:"orgId"`
	IsDefault      bool              `json:"isDefault"`
	Editable       bool              `json:"editable"`
	BasicAuth      bool              `json:"basicAuth,omitempty"`
	BasicAuthUser  string            `json:"basicAuthUser,omitempty"`
	JSONData       map[string]any    `json:"jsonData,omitempty"`
	SecureJSONData map[string]string `json:"secureJsonData,omitempty"`
}

type providersFileV1 struct {
	APIVersion int             `json:"apiVersion"`
	Providers  []providerEntry `json:"providers"`
}

type providerEntry struct {
	Name                  string          `json:"name"`
	OrgID                 int             `json:"orgId"`
	Folder                string          `json:"folder"`
	Type                  string          `json:"type"`
	DisableDeletion       bool            `json:"disableDeletion"`
	AllowUIUpdates        bool            `json:"allowUiUpdates"`
	UpdateIntervalSeconds int             `json:"updateIntervalSeconds"`
	Options               providerOptions `json:"options"`
}

type providerOptions struct {
	Path string `json:"path"`
}

var (
	uidPattern = regexp.MustCompile(`^[A-Za-z0-9_-]{1,40}$`)
	notEnvChar = regexp.MustCompile(`[^A-Z0-9]+`)
)

// datasourcesFile renders the datasource provisioning file and the
// environment variables that carry its secure fields.
func datasourcesFile(ds []Datasource) ([]byte, []corev1.EnvVar, error) {
	file := datasourcesFileV1{APIVersion: 1, Prune: true, Datasources: []datasourceEntry{}}
	var vars []corev1.EnvVar
	names, uids, envNames := map[string]bool{}, map[string]bool{}, map[string]string{}
	defaults := 0
	for i, d := range ds {
		switch {
		case d.Name == "":
			return nil, nil, fmt.Errorf("datasource %d: no name", i)
		case d.Type == "":
			return nil, nil, fmt.Errorf("datasource %q: no type", d.Name)
		case !uidPattern.MatchString(d.UID):
			return nil, nil, fmt.Errorf("datasource %q: uid %q must be 1 to 40 letters, digits, '-' or '_'", d.Name, d.UID)
		case names[d.Name]:
			return nil, nil, fmt.Errorf("datasource name %q used twice", d.Name)
		case uids[d.UID]:
			return nil, nil, fmt.Errorf("datasource uid %q used twice", d.UID)
		}
		names[d.Name], uids[d.UID] = true, true
		if d.IsDefault {
			defaults++
		}
		access := d.Access
		if access == "" {
			access = "proxy"
		}
		entry := datasourceEntry{
			Name: d.Name, UID: d.UID, Type: d.Type, Access: access, URL: d.URL, OrgID: 1,
			IsDefault: d.IsDefault, BasicAuth: d.BasicAuth, BasicAuthUser: d.BasicAuthUser, JSONData: d.JSONData,
		}
		for _, key := range env.SortedKeys(d.SecureJSONData) {
			ref := d.SecureJSONData[key]
			if ref.Secret == "" || ref.Key == "" {
				return nil, nil, fmt.Errorf("datasource %q: secureJsonData %s: the secret reference needs a secret and a key", d.Name, key)
			}
			name := secureEnvName(d.UID, key)
			if other, ok := envNames[name]; ok {
				return nil, nil, fmt.Errorf("datasource %q: secureJsonData %s and %s both map to the variable %s; change a uid", d.Name, key, other, name)
			}
			envNames[name] = d.UID + "." + key
			if entry.SecureJSONData == nil {
				entry.SecureJSONData = map[string]string{}
			}
			// $NAME, not ${NAME}: Grafana expands a value once this way
			// (a '$' in the secret survives), and Flux never touches it.
			entry.SecureJSONData[key] = "$" + name
			vars = append(vars, secretEnv(name, ref))
		}
		file.Datasources = append(file.Datasources, entry)
	}
	if defaults > 1 {
		return nil, nil, fmt.Errorf("%d datasources are marked default; Grafana allows one", defaults)
	}
	b, err := yaml.Marshal(file)
	if err != nil {
		return nil, nil, err
	}
	return b, vars, nil
}

// secureEnvName is the variable of one secure field: VIGIL_DS_<UID>_<KEY>.
// The prefix is not GF_, which Grafana would read as configuration.
func secureEnvName(uid, key string) string {
	clean := func(s string) string { return strings.Trim(notEnvChar.ReplaceAllString(strings.ToUpper(s), "_"), "_") }
	return "VIGIL_DS_" + clean(uid) + "_" + clean(key)
}

// dashboardMount is one dashboard ConfigMap in the pod.
type dashboardMount struct {
	configMap, folder, volume, mountPath string
}

type dashboardMounts []dashboardMount

var (
	notSlugChar  = regexp.MustCompile(`[^a-z0-9]+`)
	volumeName   = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]*[a-z0-9])?$`)
	maxVolumeLen = 63
)

// folderDir is the directory of a folder below DashboardsRoot.
func folderDir(folder string) string {
	slug := strings.Trim(notSlugChar.ReplaceAllString(strings.ToLower(folder), "-"), "-")
	if slug == "" {
		slug = "general"
	}
	return slug
}

// mountDashboards sorts the dashboard ConfigMaps by folder and name and
// gives each a volume and a directory: DashboardsRoot/<folder>/<configmap>.
func mountDashboards(list []DashboardConfigMap) (dashboardMounts, error) {
	sorted := append([]DashboardConfigMap(nil), list...)
	sort.Slice(sorted, func(i, j int) bool {
		if sorted[i].Folder != sorted[j].Folder {
			return sorted[i].Folder < sorted[j].Folder
		}
		return sorted[i].Name < sorted[j].Name
	})
	var out dashboardMounts
	seen := map[string]bool{}
	dirs := map[string]string{}
	for _, d := range sorted {
		if seen[d.Name] {
			return nil, fmt.Errorf("ConfigMap %q listed twice", d.Name)
		}
		seen[d.Name] = true
		vol := "dashboards-" + strings.ReplaceAll(d.Name, ".", "-")
		if len(vol) > maxVolumeLen || !volumeName.MatchString(vol) {
			return nil, fmt.Errorf("ConfigMap %q: its volume name %q is not a DNS label of at most %d characters; use a shorter name", d.Name, vol, maxVolumeLen)
		}
		dir := folderDir(d.Folder)
		if other, ok := dirs[dir]; ok && other != d.Folder {
			return nil, fmt.Errorf("folders %q and %q share the directory %q; rename one", other, d.Folder, dir)
		}
		dirs[dir] = d.Folder
		out = append(out, dashboardMount{
			configMap: d.Name,
			folder:    d.Folder,
			volume:    vol,
			mountPath: path.Join(DashboardsRoot, dir, d.Name),
		})
	}
	return out, nil
}

// providersFile renders one file provider per folder.
func (ms dashboardMounts) providersFile() ([]byte, error) {
	file := providersFileV1{APIVersion: 1, Providers: []providerEntry{}}
	done := map[string]bool{}
	for _, m := range ms {
		if done[m.folder] {
			continue
		}
		done[m.folder] = true
		dir := folderDir(m.folder)
		file.Providers = append(file.Providers, providerEntry{
			Name:   dir,
			OrgID:  1,
			Folder: m.folder,
			Type:   "file",
			// Dashboards are code: edits in the UI would be lost on the
			// next scan, so they are refused, and a dashboard removed
			// from its ConfigMap is removed from Grafana.
			AllowUIUpdates:        false,
			DisableDeletion:       false,
			UpdateIntervalSeconds: 30,
			Options:               providerOptions{Path: path.Join(DashboardsRoot, dir)},
		})
	}
	return yaml.Marshal(file)
}
