package elasticsearch_test

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// snapshotParts collects what snapshots add to an environment's objects.
type snapshotParts struct {
	es       *elasticsearch.Elasticsearch
	cm       *corev1.ConfigMap
	job      *batchv1.Job
	exporter *appsv1.Deployment
	alerts   []string
}

func partsOf(t *testing.T, e *env.Environment, s *stack.Set) snapshotParts {
	t.Helper()
	ns := e.Logging.Namespace
	p := snapshotParts{
		es:       stacktest.FindNamed[*elasticsearch.Elasticsearch](t, s, ns, elasticsearch.Name),
		cm:       stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, elasticsearch.BootstrapName),
		job:      stacktest.FindNamed[*batchv1.Job](t, s, ns, elasticsearch.BootstrapName),
		exporter: stacktest.FindNamed[*appsv1.Deployment](t, s, ns, elasticsearch.ExporterName),
	}
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				p.alerts = append(p.alerts, r.Alert)
			}
		}
	}
	return p
}

var snapshotAlertNames = []string{"ElasticsearchSnapshotTooOld", "ElasticsearchNoSnapshot", "ElasticsearchSnapshotFailed", "ElasticsearchSnapshotRepositoryMissing"}

// TestSnapshots checks prod, which snapshots to the FlashBlade: the S3
// keys reach the keystore by Secret reference only, every node knows the
// endpoint, the Job registers the repository before the SLM policy that
// names it, and the exporter and alerts watch both.
func TestSnapshots(t *testing.T) {
	e := stacktest.Example(t, "prod")
	if !e.SnapshotsEnabled() {
		t.Fatal("prod snapshots its logs")
	}
	p := partsOf(t, e, generate(t, e))
	c := e.Logging.Elasticsearch.Snapshots.Credentials
	want := []elasticsearch.SecretSource{{SecretName: c.AccessKeyID.Secret, Entries: []elasticsearch.KeyToPath{
		{Key: c.AccessKeyID.Key, Path: "s3.client.vigil.access_key"},
		{Key: c.SecretAccessKey.Key, Path: "s3.client.vigil.secret_key"},
	}}}
	if !slices.EqualFunc(p.es.Spec.SecureSettings, want, func(a, b elasticsearch.SecretSource) bool {
		return a.SecretName == b.SecretName && slices.Equal(a.Entries, b.Entries)
	}) {
		t.Errorf("secure settings %+v, want %+v", p.es.Spec.SecureSettings, want)
	}
	for _, ns := range p.es.Spec.NodeSets {
		cfg := ns.Config
		if cfg.S3Endpoint != "10.20.2.20" || cfg.S3Protocol != "http" || cfg.S3PathStyle == nil || !*cfg.S3PathStyle || cfg.S3Region == "" {
			t.Errorf("node set %s: S3 client %+v", ns.Name, cfg)
		}
	}

	var repo elasticsearch.SnapshotRepositoryBody
	if err := json.Unmarshal([]byte(p.cm.Data["snapshot-repository.json"]), &repo); err != nil {
		t.Fatal(err)
	}
	sn := e.Logging.Elasticsearch.Snapshots
	if repo.Type != "s3" || repo.Settings.Bucket != sn.Bucket || repo.Settings.Client != "vigil" || repo.Settings.BasePath != "dc1-prod" {
		t.Errorf("repository %+v", repo)
	}
	var pol elasticsearch.SLMPolicyBody
	if err := json.Unmarshal([]byte(p.cm.Data["slm-policy.json"]), &pol); err != nil {
		t.Fatal(err)
	}
	if pol.Repository != elasticsearch.SnapshotRepository || pol.Schedule != sn.Schedule || pol.Retention.ExpireAfter != "30d" ||
		pol.Retention.MinCount != sn.MinCount || pol.Retention.MaxCount != sn.MaxCount || pol.Config.IncludeGlobalState {
		t.Errorf("SLM policy %+v", pol)
	}
	streams, _ := elasticsearch.Streams(e)
	for _, st := range streams {
		if !strings.HasPrefix(st.DataStream, strings.TrimSuffix(pol.Config.Indices[0], "*")) {
			t.Errorf("the snapshots miss data stream %s (indices %v)", st.DataStream, pol.Config.Indices)
		}
	}
	var order []string
	for _, c := range p.job.Spec.Template.Spec.InitContainers {
		order = append(order, c.Name)
	}
	ri, pi := slices.Index(order, "snapshot-repository"), slices.Index(order, "slm-policy")
	if ri < 0 || pi < ri {
		t.Errorf("the repository must exist before the policy names it: %v", order)
	}
	args := p.exporter.Spec.Template.Spec.Containers[0].Args
	if !slices.Contains(args, "--collector.snapshots") || !slices.Contains(args, "--collector.slm") {
		t.Errorf("exporter args %v", args)
	}
	for _, a := range snapshotAlertNames {
		if !slices.Contains(p.alerts, a) {
			t.Errorf("missing alert %s", a)
		}
	}
}

func TestSnapshotsOff(t *testing.T) {
	e := stacktest.Example(t, "dev")
	p := partsOf(t, e, generate(t, e))
	if len(p.es.Spec.SecureSettings) != 0 || p.cm.Data["slm-policy.json"] != "" || slices.Contains(p.exporter.Spec.Template.Spec.Containers[0].Args, "--collector.slm") {
		t.Error("snapshots off but configured")
	}
	for _, ns := range p.es.Spec.NodeSets {
		if ns.Config.S3Endpoint != "" {
			t.Errorf("snapshots off but node set %s has an S3 client", ns.Name)
		}
	}
	for _, a := range snapshotAlertNames {
		if slices.Contains(p.alerts, a) {
			t.Errorf("snapshots off but alert %s", a)
		}
	}
}

// TestSnapshotsNeedCredentialsAndEndpoint: generation refuses rather than
// rendering a repository Elasticsearch cannot use.
func TestSnapshotsNeedCredentialsAndEndpoint(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Elasticsearch.Snapshots.Credentials = nil
	var s stack.Set
	if err := elasticsearch.Generate(e, &s); err == nil || !strings.Contains(err.Error(), "credentials") {
		t.Errorf("no credentials: %v", err)
	}
	e = stacktest.Example(t, "dev")
	e.Logging.Elasticsearch.Snapshots.Enabled = true
	e.Logging.Elasticsearch.Snapshots.Credentials = &env.S3Credentials{
		AccessKeyID:     env.SecretRef{Secret: "a", Key: "id"},
		SecretAccessKey: env.SecretRef{Secret: "b", Key: "secret"},
	}
	if err := elasticsearch.Generate(e, &s); err == nil || !strings.Contains(err.Error(), "S3 endpoint") {
		t.Errorf("no S3 endpoint: %v", err)
	}
	// Two Secrets: one source each, in a fixed order.
	e.Logging.Elasticsearch.Snapshots.S3 = &env.S3Endpoint{Endpoint: "https://s3.eu-west-1.amazonaws.com", Region: "eu-west-1"}
	var s2 stack.Set
	if err := elasticsearch.Generate(e, &s2); err != nil {
		t.Fatal(err)
	}
	es := stacktest.FindNamed[*elasticsearch.Elasticsearch](t, &s2, e.Logging.Namespace, elasticsearch.Name)
	if len(es.Spec.SecureSettings) != 2 || es.Spec.SecureSettings[0].SecretName != "a" || es.Spec.SecureSettings[1].Entries[0].Path != "s3.client.vigil.secret_key" {
		t.Errorf("secure settings %+v", es.Spec.SecureSettings)
	}
	if c := es.Spec.NodeSets[0].Config; c.S3Endpoint != "s3.eu-west-1.amazonaws.com" || c.S3Protocol != "https" || *c.S3PathStyle {
		t.Errorf("S3 client %+v", c)
	}
}
