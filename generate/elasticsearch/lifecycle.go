package elasticsearch

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// The kinds of log, each shipped to a data stream of its own.
const (
	StreamContainers = "containers"
	StreamNode       = "node"
	StreamAudit      = "audit"
	// StreamEvents holds Kubernetes events (core/v1 Event objects).
	StreamEvents = "events"
)

// Stream is one kind of log and where it is kept.
type Stream struct {
	// Kind is StreamContainers, StreamNode, StreamAudit or StreamEvents.
	Kind string
	// DataStream is the data stream the agent writes to (with the bulk
	// "create" operation, the only one a data stream accepts).
	DataStream string
	// Template is the index template that makes DataStream a data stream
	// and names its lifecycle policy.
	Template string
	// Policy is the ILM policy that deletes old backing indices.
	Policy string
	// Retention is how long documents are kept, in Elasticsearch's units.
	Retention string
}

// ILM policy names.
const (
	LogsPolicy   = "vigil-logs"
	AuditPolicy  = "vigil-audit"
	EventsPolicy = "vigil-events"
)

// templatePriority ranks Vigil's templates above Elasticsearch's built-in
// logs-*-* template (priority 100).
const templatePriority = 250

// Streams lists the log streams of an environment: container and node logs
// always, audit logs when audit collection is on, Kubernetes events when
// logging.events is on. Data stream names follow
// Elastic's logs-<dataset>-<namespace> scheme, so Kibana's Logs views find
// them.
func Streams(e *env.Environment) ([]Stream, error) {
	logs, err := esDuration(e.Logging.Elasticsearch.Retention)
	if err != nil {
		return nil, fmt.Errorf("logging.elasticsearch.retention: %w", err)
	}
	out := []Stream{
		{Kind: StreamContainers, DataStream: "logs-kubernetes.container-default", Template: "vigil-kubernetes-container", Policy: LogsPolicy, Retention: logs},
		{Kind: StreamNode, DataStream: "logs-kubernetes.node-default", Template: "vigil-kubernetes-node", Policy: LogsPolicy, Retention: logs},
	}
	if e.AuditEnabled() {
		audit, err := esDuration(e.Audit.Retention)
		if err != nil {
			return nil, fmt.Errorf("audit.retention: %w", err)
		}
		out = append(out, Stream{Kind: StreamAudit, DataStream: "logs-kubernetes.audit-default", Template: "vigil-kubernetes-audit", Policy: AuditPolicy, Retention: audit})
	}
	if e.EventsEnabled() {
		events, err := esDuration(e.Logging.Events.Retention)
		if err != nil {
			return nil, fmt.Errorf("logging.events.retention: %w", err)
		}
		out = append(out, Stream{Kind: StreamEvents, DataStream: "logs-kubernetes.events-default", Template: "vigil-kubernetes-events", Policy: EventsPolicy, Retention: events})
	}
	return out, nil
}

// StreamOf returns the stream of one kind.
func StreamOf(e *env.Environment, kind string) (Stream, bool) {
	streams, err := Streams(e)
	if err != nil {
		return Stream{}, false
	}
	for _, s := range streams {
		if s.Kind == kind {
			return s, true
		}
	}
	return Stream{}, false
}

// esDuration turns an environment duration ("30d", "1w", "1y") into
// Elasticsearch's time units, which have no weeks or years.
func esDuration(d string) (string, error) {
	i := strings.IndexFunc(d, func(r rune) bool { return r < '0' || r > '9' })
	if i <= 0 {
		return "", fmt.Errorf("%q is not a duration", d)
	}
	n, err := strconv.Atoi(d[:i])
	if err != nil {
		return "", fmt.Errorf("%q is not a duration: %w", d, err)
	}
	switch unit := d[i:]; unit {
	case "ms", "s", "m", "h", "d":
		return d, nil
	case "w":
		return strconv.Itoa(n*7) + "d", nil
	case "y":
		return strconv.Itoa(n*365) + "d", nil
	default:
		return "", fmt.Errorf("%q has an unknown unit %q", d, unit)
	}
}

// ILMPolicy is the body of PUT _ilm/policy/<name>.
type ILMPolicy struct {
	Policy struct {
		Meta   map[string]string `json:"_meta"`
		Phases ILMPhases         `json:"phases"`
	} `json:"policy"`
}

// ILMPhases are the phases of a Vigil policy.
type ILMPhases struct {
	Hot struct {
		Actions struct {
			Rollover struct {
				MaxAge              string `json:"max_age"`
				MaxPrimaryShardSize string `json:"max_primary_shard_size"`
			} `json:"rollover"`
		} `json:"actions"`
	} `json:"hot"`
	Delete struct {
		MinAge  string `json:"min_age"`
		Actions struct {
			Delete struct{} `json:"delete"`
		} `json:"actions"`
	} `json:"delete"`
}

// IndexTemplate is the body of PUT _index_template/<name>.
type IndexTemplate struct {
	IndexPatterns []string          `json:"index_patterns"`
	DataStream    struct{}          `json:"data_stream"`
	Priority      int               `json:"priority"`
	Template      TemplateBody      `json:"template"`
	Meta          map[string]string `json:"_meta"`
}

// TemplateBody holds the settings and mappings of the backing indices.
type TemplateBody struct {
	Settings IndexSettings `json:"settings"`
	Mappings *Mappings     `json:"mappings,omitempty"`
}

// Mappings maps the fields Vigil's Kibana content relies on; every other
// field keeps Elasticsearch's dynamic mapping. Elasticsearch expands the
// dotted names into object fields.
type Mappings struct {
	Properties map[string]FieldMapping `json:"properties"`
}

// FieldMapping is the type of one field.
type FieldMapping struct {
	Type string `json:"type"`
}

// IndexSettings are the index settings Vigil sets.
type IndexSettings struct {
	LifecycleName string `json:"index.lifecycle.name"`
	// Replicas is 1 with at least two data nodes and 0 otherwise: a
	// replica that can never be allocated keeps the cluster yellow.
	Replicas int `json:"index.number_of_replicas"`
}

var managedBy = map[string]string{"managed_by": "vigil"}

// Policy builds the ILM policy of a stream: roll the write index over
// daily or at 50 GB per primary shard, delete a backing index once it is
// Retention past its rollover.
func Policy(s Stream) ILMPolicy {
	var p ILMPolicy
	p.Policy.Meta = managedBy
	p.Policy.Phases.Hot.Actions.Rollover.MaxAge = "1d"
	p.Policy.Phases.Hot.Actions.Rollover.MaxPrimaryShardSize = "50gb"
	p.Policy.Phases.Delete.MinAge = s.Retention
	return p
}

// Template builds the index template of a stream.
func Template(e *env.Environment, s Stream) IndexTemplate {
	replicas := 0
	if DataNodes(e) >= 2 {
		replicas = 1
	}
	body := TemplateBody{Settings: IndexSettings{LifecycleName: s.Policy, Replicas: replicas}}
	if fields := Fields(s.Kind); len(fields) > 0 {
		body.Mappings = &Mappings{Properties: map[string]FieldMapping{}}
		for _, f := range fields {
			body.Mappings.Properties[f.Name] = FieldMapping{Type: f.Type}
		}
	}
	return IndexTemplate{
		IndexPatterns: []string{s.DataStream + "*"},
		Priority:      templatePriority,
		Template:      body,
		Meta:          managedBy,
	}
}

// BootstrapName names the bootstrap Job and its ConfigMap.
const BootstrapName = "elasticsearch-bootstrap"

// Where the bootstrap Job mounts its inputs.
const (
	bootstrapBodies = "/etc/vigil/bootstrap"
	bootstrapCA     = "/etc/elasticsearch/ca"
)

// request is one call of the bootstrap Job.
type request struct {
	name, method, path, body string
}

// bootstrapRequests are the Job's calls in order, with the files their
// bodies are in: policies before the templates that name them.
func bootstrapRequests(e *env.Environment) ([]request, map[string]string, error) {
	streams, err := Streams(e)
	if err != nil {
		return nil, nil, err
	}
	files := map[string]string{}
	var reqs []request
	seen := map[string]bool{}
	for _, s := range streams {
		if seen[s.Policy] {
			continue
		}
		seen[s.Policy] = true
		b, err := json.MarshalIndent(Policy(s), "", "  ")
		if err != nil {
			return nil, nil, err
		}
		f := "policy-" + s.Policy + ".json"
		files[f] = string(b) + "\n"
		reqs = append(reqs, request{"policy-" + s.Policy, "PUT", "/_ilm/policy/" + s.Policy, f})
	}
	for _, s := range streams {
		b, err := json.MarshalIndent(Template(e, s), "", "  ")
		if err != nil {
			return nil, nil, err
		}
		f := "template-" + s.Template + ".json"
		files[f] = string(b) + "\n"
		reqs = append(reqs, request{"template-" + s.Template, "PUT", "/_index_template/" + s.Template, f})
	}
	if e.SnapshotsEnabled() {
		// The repository before the policy that names it.
		pol, err := SnapshotPolicy(e)
		if err != nil {
			return nil, nil, err
		}
		for _, r := range []struct {
			name, path string
			body       any
		}{
			{"snapshot-repository", "/_snapshot/" + SnapshotRepository, SnapshotRepositoryOf(e)},
			{"slm-policy", "/_slm/policy/" + SLMPolicy, pol},
		} {
			b, err := json.MarshalIndent(r.body, "", "  ")
			if err != nil {
				return nil, nil, err
			}
			f := r.name + ".json"
			files[f] = string(b) + "\n"
			reqs = append(reqs, request{r.name, "PUT", r.path, f})
		}
	}
	return reqs, files, nil
}

// curl is the command line of one request: it retries every failure,
// Elasticsearch not yet running included, and reads the password from the
// environment into the request (curl's --variable), so that it never
// appears on a command line.
func curl(e *env.Environment, r request, retries int) []string {
	args := []string{
		"--silent", "--show-error", "--fail-with-body",
		"--retry", strconv.Itoa(retries), "--retry-delay", "10", "--retry-all-errors",
		"--max-time", "60",
		"--cacert", bootstrapCA + "/" + CAKey,
		"--variable", "%ES_PASSWORD",
		"--expand-user", User + ":{{ES_PASSWORD}}",
		"--request", r.method,
	}
	if r.body != "" {
		args = append(args, "--header", "Content-Type: application/json", "--data-binary", "@"+bootstrapBodies+"/"+r.body)
	}
	return append(args, URL(e)+r.path)
}

// bootstrap adds the ConfigMap of request bodies and the Job that puts
// them. Each request is a container of its own, in order, so a failure
// names the request that failed. The Job is recreated by Flux whenever a
// body changes (the pod template carries their hash, and a Job's template
// is immutable, hence the force annotation).
func bootstrap(e *env.Environment, s *stack.Set) error {
	reqs, files, err := bootstrapRequests(e)
	if err != nil {
		return err
	}
	labels := stack.Labels(BootstrapName, "bootstrap", "")
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: BootstrapName, Namespace: e.Logging.Namespace, Labels: labels},
		Data:       files,
	}
	c := func(name string, args []string) corev1.Container {
		return corev1.Container{
			Name:    name,
			Image:   stack.Curl.Ref(),
			Command: []string{"curl"},
			Args:    args,
			Env: []corev1.EnvVar{{Name: "ES_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
				LocalObjectReference: corev1.LocalObjectReference{Name: ElasticUserSecret()}, Key: ElasticUserKey,
			}}}},
			Resources:       small(),
			SecurityContext: stack.RestrictedContainer(),
			VolumeMounts: []corev1.VolumeMount{
				{Name: "bodies", MountPath: bootstrapBodies, ReadOnly: true},
				{Name: "ca", MountPath: bootstrapCA, ReadOnly: true},
			},
		}
	}
	// Up to about fifteen minutes for a new cluster to come up.
	inits := []corev1.Container{c("wait-for-elasticsearch", curl(e, request{method: "GET", path: "/_cluster/health?wait_for_status=yellow&timeout=50s"}, 90))}
	for _, r := range reqs {
		inits = append(inits, c(r.name, curl(e, r, 6)))
	}
	done := c("show-templates", curl(e, request{method: "GET", path: "/_index_template/vigil-*?filter_path=index_templates.name"}, 6))

	job := bootstrapJob(e, BootstrapName, labels, files, inits, []corev1.Container{done}, corev1.Volume{
		Name: "bodies", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: BootstrapName},
		}},
	}, CASecret())
	s.Add(Component, stack.Instances, cm, job)
	return nil
}

// hashFiles is a short, stable digest of a ConfigMap's data.
// bootstrapJob is a Job that talks to Elasticsearch or Kibana over HTTPS
// with curl: non-root, no service account token, the request bodies from a
// ConfigMap volume and the cluster's CA from caSecret (volume "ca"). Flux
// replaces it (force) when its bodies change, which the hash annotation on
// its pod template makes a template change.
func bootstrapJob(e *env.Environment, name string, labels, files map[string]string, inits, containers []corev1.Container, bodies corev1.Volume, caSecret string) *batchv1.Job {
	return &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			Name: name, Namespace: e.Logging.Namespace, Labels: labels,
			Annotations: map[string]string{"kustomize.toolkit.fluxcd.io/force": "enabled"},
		},
		Spec: batchv1.JobSpec{
			BackoffLimit: ptr.To[int32](6),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{
					Labels:      labels,
					Annotations: map[string]string{"vigil.dev/bootstrap-hash": hashFiles(files)},
				},
				Spec: corev1.PodSpec{
					RestartPolicy:                corev1.RestartPolicyOnFailure,
					AutomountServiceAccountToken: ptr.To(false),
					SecurityContext:              stack.NobodyPod(),
					InitContainers:               inits,
					Containers:                   containers,
					Volumes: []corev1.Volume{bodies,
						{Name: "ca", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
							SecretName: caSecret, Items: []corev1.KeyToPath{{Key: CAKey, Path: CAKey}},
						}}},
					},
				},
			},
		},
	}
}

func hashFiles(files map[string]string) string {
	h := sha256.New()
	for _, k := range env.SortedKeys(files) {
		fmt.Fprintf(h, "%s\x00%s\x00", k, files[k])
	}
	return hex.EncodeToString(h.Sum(nil))[:16]
}
