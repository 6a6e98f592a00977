package elasticsearch

// Kibana content as code: data views over Vigil's data streams, saved
// searches and a dashboard, imported by a Job through Kibana's
// saved-objects import API (POST /api/saved_objects/_import?overwrite=true).
// Every object has a fixed id, so a second import replaces the objects
// instead of adding copies: the Job is idempotent and re-runs whenever the
// objects change. An operator's own edits of these objects are overwritten;
// copies saved under another name are not touched.
//
// The objects are Go structs marshalled to NDJSON, one object per line, the
// import API's format. Kibana migrates objects that carry no migration
// version from the oldest known shape, which these attributes are.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// SavedObject is one line of an import file.
type SavedObject struct {
	Type       string      `json:"type"`
	ID         string      `json:"id"`
	Attributes any         `json:"attributes"`
	References []Reference `json:"references"`
}

// Reference links a saved object to another by id; name is how the
// referring attributes point at it.
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// DataView is the attributes of an index-pattern object (a data view).
type DataView struct {
	// Title is the index pattern.
	Title         string `json:"title"`
	Name          string `json:"name"`
	TimeFieldName string `json:"timeFieldName"`
}

// SavedSearch is the attributes of a search object (Discover session).
type SavedSearch struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	Columns     []string   `json:"columns"`
	Sort        [][]string `json:"sort"`
	Meta        SourceMeta `json:"kibanaSavedObjectMeta"`
}

// SourceMeta holds a search source serialised as JSON, as Kibana stores it.
type SourceMeta struct {
	SearchSourceJSON string `json:"searchSourceJSON"`
}

// SearchSource is the query of a search or dashboard.
type SearchSource struct {
	Query  Query `json:"query"`
	Filter []any `json:"filter"`
	// IndexRefName names the reference that holds the data view.
	IndexRefName string `json:"indexRefName,omitempty"`
}

// Query is a KQL query.
type Query struct {
	Query    string `json:"query"`
	Language string `json:"language"`
}

// Dashboard is the attributes of a dashboard object.
type Dashboard struct {
	Title       string     `json:"title"`
	Description string     `json:"description"`
	PanelsJSON  string     `json:"panelsJSON"`
	OptionsJSON string     `json:"optionsJSON"`
	TimeRestore bool       `json:"timeRestore"`
	Meta        SourceMeta `json:"kibanaSavedObjectMeta"`
}

// Panel is one entry of a dashboard's panelsJSON.
type Panel struct {
	Type             string   `json:"type"`
	PanelIndex       string   `json:"panelIndex"`
	GridData         GridData `json:"gridData"`
	PanelRefName     string   `json:"panelRefName"`
	EmbeddableConfig struct{} `json:"embeddableConfig"`
}

// GridData places a panel on the dashboard's 48-column grid.
type GridData struct {
	X int    `json:"x"`
	Y int    `json:"y"`
	W int    `json:"w"`
	H int    `json:"h"`
	I string `json:"i"`
}

// Saved object types.
const (
	TypeDataView  = "index-pattern"
	TypeSearch    = "search"
	TypeDashboard = "dashboard"
)

// searchIndexRef is the reference name a search's data view goes by.
const searchIndexRef = "kibanaSavedObjectMeta.searchSourceJSON.index"

// View is a data view over one stream.
type View struct {
	ID, Name, Stream string
}

// Search is a saved search over one view.
type Search struct {
	ID, Title, Description, View, Query string
	Columns                             []string
}

// Views are the data views of an environment, one per stream it writes.
// The pattern of each is the stream's data stream with its namespace part
// replaced by a wildcard, so that a future namespace ("-prod") is seen too.
func Views(e *env.Environment) ([]View, error) {
	streams, err := Streams(e)
	if err != nil {
		return nil, err
	}
	names := map[string]View{
		StreamContainers: {ID: "vigil-logs-application", Name: "Application logs (containers)"},
		StreamNode:       {ID: "vigil-logs-system", Name: "System logs (kubelet, containerd)"},
		StreamAudit:      {ID: "vigil-logs-audit", Name: "Kubernetes audit log"},
		StreamEvents:     {ID: "vigil-logs-events", Name: "Kubernetes events"},
	}
	var out []View
	for _, s := range streams {
		v, ok := names[s.Kind]
		if !ok {
			return nil, fmt.Errorf("stream %s has no data view", s.Kind)
		}
		v.Stream = s.Kind
		out = append(out, v)
	}
	return out, nil
}

// Pattern is the index pattern of a view over a data stream.
func Pattern(dataStream string) string {
	i := strings.LastIndex(dataStream, "-")
	return dataStream[:i+1] + "*"
}

// Searches are the saved searches of an environment, each over a view it
// has: errors by namespace, Spark driver logs by application, changes in
// the audit log by user and verb, warning events.
func Searches(e *env.Environment, views []View) []Search {
	has := map[string]bool{}
	for _, v := range views {
		has[v.Stream] = true
	}
	var out []Search
	if has[StreamContainers] {
		out = append(out, Search{
			ID: "vigil-search-errors", Title: "Errors by namespace", View: "vigil-logs-application",
			Description: "Container lines written to stderr or naming an error, with their namespace, pod and container.",
			Query:       `stream : "stderr" or log : (error or exception or fatal or panic)`,
			Columns:     []string{"kubernetes.namespace_name", "kubernetes.pod_name", "kubernetes.container_name", "log"},
		})
		if e.Spark.Enabled {
			out = append(out, Search{
				ID: "vigil-search-spark-drivers", Title: "Spark driver logs by application", View: "vigil-logs-application",
				Description: "Logs of Spark driver pods, with the SparkApplication and run they belong to.",
				Query:       `kubernetes.labels.spark-role : "driver"`,
				Columns:     []string{"kubernetes.labels.sparkoperator_k8s_io/app-name", "kubernetes.labels.spark-app-selector", "kubernetes.namespace_name", "log"},
			})
		}
	}
	if has[StreamAudit] {
		out = append(out, Search{
			ID: "vigil-search-audit-changes", Title: "Audit: changes by user and verb", View: "vigil-logs-audit",
			Description: "Every request that is not a read, with who made it, the verb, the object and the answer.",
			Query:       `not verb : ("get" or "list" or "watch")`,
			Columns:     []string{"user.username", "verb", "objectRef.resource", "objectRef.namespace", "objectRef.name", "responseStatus.code"},
		})
	}
	if has[StreamEvents] {
		out = append(out, Search{
			ID: "vigil-search-warning-events", Title: "Kubernetes warning events", View: "vigil-logs-events",
			Description: "Warning events with the object they are about and their reason.",
			Query:       `type : "Warning"`,
			Columns:     []string{"metadata.namespace", "involvedObject.kind", "involvedObject.name", "reason", "message"},
		})
	}
	return out
}

// DashboardID is the id of the overview dashboard.
const DashboardID = "vigil-logs-overview"

// SavedObjects builds every object in import order: data views, the
// searches that reference them, the dashboard that shows the searches.
func SavedObjects(e *env.Environment) ([]SavedObject, error) {
	views, err := Views(e)
	if err != nil {
		return nil, err
	}
	var out []SavedObject
	for _, v := range views {
		st, _ := StreamOf(e, v.Stream)
		out = append(out, SavedObject{
			Type: TypeDataView, ID: v.ID, References: []Reference{},
			Attributes: DataView{Title: Pattern(st.DataStream), Name: v.Name, TimeFieldName: TimeField},
		})
	}
	searches := Searches(e, views)
	for _, s := range searches {
		src, err := json.Marshal(SearchSource{Query: Query{Query: s.Query, Language: "kuery"}, Filter: []any{}, IndexRefName: searchIndexRef})
		if err != nil {
			return nil, err
		}
		out = append(out, SavedObject{
			Type: TypeSearch, ID: s.ID,
			Attributes: SavedSearch{
				Title: s.Title, Description: s.Description, Columns: s.Columns,
				Sort: [][]string{{TimeField, "desc"}},
				Meta: SourceMeta{SearchSourceJSON: string(src)},
			},
			References: []Reference{{Name: searchIndexRef, Type: TypeDataView, ID: s.View}},
		})
	}
	// The dashboard: each search a full-width panel, one below the other.
	var panels []Panel
	refs := []Reference{}
	for i, s := range searches {
		idx := fmt.Sprint(i + 1)
		panels = append(panels, Panel{
			Type: TypeSearch, PanelIndex: idx, PanelRefName: "panel_" + idx,
			GridData: GridData{X: 0, Y: i * 15, W: 48, H: 15, I: idx},
		})
		refs = append(refs, Reference{Name: idx + ":panel_" + idx, Type: TypeSearch, ID: s.ID})
	}
	if len(panels) > 0 {
		pj, err := json.Marshal(panels)
		if err != nil {
			return nil, err
		}
		src, err := json.Marshal(SearchSource{Query: Query{Language: "kuery"}, Filter: []any{}})
		if err != nil {
			return nil, err
		}
		out = append(out, SavedObject{
			Type: TypeDashboard, ID: DashboardID,
			Attributes: Dashboard{
				Title: "Vigil: logs overview", Description: "Vigil's saved searches over the logs of " + e.Cluster.Name + ".",
				PanelsJSON: string(pj), OptionsJSON: `{"useMargins":true,"hidePanelTitles":false}`,
				Meta: SourceMeta{SearchSourceJSON: string(src)},
			},
			References: refs,
		})
	}
	return out, nil
}

// NDJSON renders saved objects one per line.
func NDJSON(objs []SavedObject) (string, error) {
	var b bytes.Buffer
	for _, o := range objs {
		line, err := json.Marshal(o)
		if err != nil {
			return "", fmt.Errorf("saved object %s %s: %w", o.Type, o.ID, err)
		}
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String(), nil
}

// KibanaBootstrapName names the Job that imports the saved objects and its
// ConfigMap.
const KibanaBootstrapName = "kibana-bootstrap"

// KibanaCASecret is the Secret ECK publishes Kibana's HTTP CA in (key
// CAKey).
func KibanaCASecret() string { return KibanaName + "-kb-http-certs-public" }

// KibanaURL is the base URL of Kibana's API inside the cluster.
func KibanaURL(e *env.Environment) string {
	return fmt.Sprintf("https://%s.%s.svc:%d", KibanaService(), e.Logging.Namespace, KibanaPort)
}

const (
	kibanaObjectsDir  = "/etc/vigil/kibana"
	kibanaObjectsFile = "saved-objects.ndjson"
	kibanaCADir       = "/etc/kibana/ca"
)

// importScript runs curl with the Job's arguments and fails unless Kibana
// reports success: the import API answers 200 even when some objects were
// rejected, with "success":false and the errors in the body.
const importScript = `out=$(curl "$@") || { echo "$out"; exit 1; }
echo "$out"
case "$out" in *'"success":true'*) exit 0 ;; esac
echo "Kibana did not import every saved object" >&2
exit 1`

// kibanaContent adds the saved objects' ConfigMap and the Job that imports
// them, in the instances layer beside Kibana.
func kibanaContent(e *env.Environment, s *stack.Set) error {
	objs, err := SavedObjects(e)
	if err != nil {
		return err
	}
	body, err := NDJSON(objs)
	if err != nil {
		return err
	}
	files := map[string]string{kibanaObjectsFile: body}
	labels := stack.Labels(KibanaBootstrapName, "bootstrap", "")
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: KibanaBootstrapName, Namespace: e.Logging.Namespace, Labels: labels},
		Data:       files,
	}
	common := []string{
		"--silent", "--show-error", "--fail-with-body",
		"--retry-delay", "10", "--retry-all-errors", "--max-time", "60",
		"--cacert", kibanaCADir + "/" + CAKey,
		"--variable", "%ES_PASSWORD",
		"--expand-user", User + ":{{ES_PASSWORD}}",
	}
	c := func(name string, cmd, args []string) corev1.Container {
		return corev1.Container{
			Name: name, Image: stack.Curl.Ref(), Command: cmd, Args: args,
			Env: []corev1.EnvVar{{Name: "ES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: ElasticUserSecret()}, Key: ElasticUserKey,
			}}}},
			Resources:       small(),
			SecurityContext: stack.RestrictedContainer(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "objects", MountPath: kibanaObjectsDir, ReadOnly: true},
				{Name: "ca", MountPath: kibanaCADir, ReadOnly: true},
			},
		}
	}
	// Kibana answers 503 until it is up and migrated: up to about fifteen
	// minutes.
	wait := append(append([]string{}, common...), "--retry", "90", KibanaURL(e)+"/api/status")
	imp := append(append([]string{}, common...), "--retry", "6",
		"--request", "POST",
		// Kibana refuses API writes without this header (CSRF guard).
		"--header", "kbn-xsrf: true",
		"--form", "file=@"+kibanaObjectsDir+"/"+kibanaObjectsFile,
		KibanaURL(e)+"/api/saved_objects/_import?overwrite=true")
	job := bootstrapJob(e, KibanaBootstrapName, labels, files,
		[]corev1.Container{c("wait-for-kibana", []string{"curl"}, wait)},
		[]corev1.Container{c("import-saved-objects", []string{"sh", "-c", importScript, "import"}, imp)},
		corev1.Volume{Name: "objects", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: KibanaBootstrapName},
		}}}, KibanaCASecret())
	s.Add(KibanaComponent, stack.Instances, cm, job)
	return nil
}
