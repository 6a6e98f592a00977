package thanos_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/generate/thanos"
)

// build runs the generators a Thanos environment needs.
func build(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	s := &stack.Set{}
	for _, g := range []func(*env.Environment, *stack.Set) error{prometheus.Generate, thanos.Generate} {
		if err := g(e, s); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := &stack.Set{}
			if err := thanos.Generate(e, s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, s)
			stacktest.Golden(t, name, thanos.Component, s)
			// Thanos is off in dev by default and on in prod.
			if got, want := e.ThanosEnabled(), name == "prod"; got != want {
				t.Errorf("Thanos enabled = %v, want %v", got, want)
			}
		})
	}
}

func TestProdSidecar(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := build(t, e)
	p := stacktest.FindNamed[*monitoringv1.Prometheus](t, s, "monitoring", prometheus.Name)
	th := p.Spec.Thanos
	if th == nil {
		t.Fatal("prod's Prometheus has no Thanos sidecar")
	}
	if th.Image == nil || *th.Image != stack.Thanos.Ref() || th.ObjectStorageConfigFile == nil || *th.ObjectStorageConfigFile != thanos.ObjstoreConfigFile {
		t.Errorf("sidecar image %v, objectStorageConfigFile %v", th.Image, th.ObjectStorageConfigFile)
	}
	if r := p.Spec.ReplicaExternalLabelName; r == nil || *r != thanos.ReplicaLabel {
		t.Errorf("replicaExternalLabelName %v, want %q", r, thanos.ReplicaLabel)
	}
	if p.Spec.ExternalLabels[prometheus.ClusterLabel] != e.Cluster.Name {
		t.Errorf("external labels %v lack cluster=%s", p.Spec.ExternalLabels, e.Cluster.Name)
	}
	// The credentials reach the sidecar from the Secret, never in a file.
	var envNames []string
	for _, c := range p.Spec.Containers {
		if c.Name == thanos.SidecarContainer {
			for _, v := range c.Env {
				if v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil {
					t.Errorf("sidecar env %s is not from a Secret", v.Name)
				}
				envNames = append(envNames, v.Name)
			}
		}
	}
	if !slices.Equal(envNames, []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}) {
		t.Errorf("sidecar env %v", envNames)
	}
	q := stacktest.FindNamed[*appsv1.Deployment](t, s, "monitoring", thanos.QueryName)
	if !slices.Contains(q.Spec.Template.Spec.Containers[0].Args, "--query.replica-label="+thanos.ReplicaLabel) {
		t.Errorf("querier does not deduplicate on %s: %v", thanos.ReplicaLabel, q.Spec.Template.Spec.Containers[0].Args)
	}
	c := stacktest.FindNamed[*appsv1.StatefulSet](t, s, "monitoring", thanos.CompactName)
	if *c.Spec.Replicas != 1 {
		t.Errorf("compactor replicas %d; two compactors on one bucket corrupt it", *c.Spec.Replicas)
	}
	for _, want := range []string{"--wait", "--retention.resolution-raw=30d", "--retention.resolution-5m=180d", "--retention.resolution-1h=2y", "--deduplication.replica-label=replica"} {
		if !slices.Contains(c.Spec.Template.Spec.Containers[0].Args, want) {
			t.Errorf("compactor lacks %s: %v", want, c.Spec.Template.Spec.Containers[0].Args)
		}
	}
}

func TestGrafanaDatasourceIsTheQuerier(t *testing.T) {
	for name, want := range map[string]string{"prod": thanos.QueryURL(stacktest.Example(t, "prod")), "dev": prometheus.URL(stacktest.Example(t, "dev"))} {
		ds := grafana.PrometheusDatasource(stacktest.Example(t, name))
		if ds.URL != want || !ds.IsDefault || ds.UID != grafana.PrometheusDatasourceUID {
			t.Errorf("%s: default datasource %s %s (default %v), want %s", name, ds.UID, ds.URL, ds.IsDefault, want)
		}
	}
}

func TestDownsamplingOff(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Thanos.Downsampling = false
	c := stacktest.FindNamed[*appsv1.StatefulSet](t, build(t, e), "monitoring", thanos.CompactName)
	if !slices.Contains(c.Spec.Template.Spec.Containers[0].Args, "--downsampling.disable") {
		t.Errorf("downsampling off but no --downsampling.disable: %v", c.Spec.Template.Spec.Containers[0].Args)
	}
}

func TestNoS3Endpoint(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Storage.Roles.Object = ""
	err := thanos.Generate(e, &stack.Set{})
	if err == nil || !strings.Contains(err.Error(), "monitoring.thanos.objectStorage") {
		t.Errorf("no S3 endpoint: got %v", err)
	}
}

// thanosArgs lists the Thanos containers of a Set with their arguments.
func thanosArgs(s *stack.Set) map[string][]string {
	out := map[string][]string{}
	add := func(kind, name string, spec corev1.PodSpec) {
		for _, c := range spec.Containers {
			if strings.HasPrefix(c.Image, stack.Thanos.Image+":") {
				out[fmt.Sprintf("%s %s/%s", kind, name, c.Name)] = c.Args
			}
		}
	}
	for _, d := range stacktest.Find[*appsv1.Deployment](s) {
		add("Deployment", d.Name, d.Spec.Template.Spec)
	}
	for _, st := range stacktest.Find[*appsv1.StatefulSet](s) {
		add("StatefulSet", st.Name, st.Spec.Template.Spec)
	}
	return out
}

func TestFlagsExistInPinnedThanos(t *testing.T) {
	if stack.Thanos.Version != flagsVersion {
		t.Fatalf("stack.Thanos is %s but the flag table is of %s: read the new version's cmd/thanos and update thanosFlags", stack.Thanos.Version, flagsVersion)
	}
	e := stacktest.Example(t, "prod")
	e.Monitoring.Thanos.Downsampling = false // --downsampling.disable too
	args := thanosArgs(build(t, e))
	if len(args) != 3 {
		t.Fatalf("want the store gateway, compactor and querier, got %v", args)
	}
	for id, a := range args {
		if err := checkFlags(a); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
}

func TestCheckFlagsRejects(t *testing.T) {
	for _, args := range [][]string{
		{"query", "--store=dnssrv+_grpc._tcp.x"},    // removed in favour of --endpoint
		{"compact", "--grpc-address=0.0.0.0:10901"}, // the compactor serves no StoreAPI
		{"sidecar", "--tsdb.path=/prometheus"},      // a subcommand Vigil never runs itself
		{"store", "data-dir=/x"},
	} {
		if err := checkFlags(args); err == nil {
			t.Errorf("%v: accepted", args)
		}
	}
}

func TestObjstoreConfigDecodes(t *testing.T) {
	for name, change := range map[string]func(*env.Environment){
		"flashblade over http": func(*env.Environment) {},
		"https with a private CA": func(e *env.Environment) {
			e.Monitoring.Thanos.ObjectStorage.S3 = &env.S3Endpoint{Endpoint: "https://s3.fb.example.com:8443", Region: "us-east-1", PathStyle: true, PrivateCA: true,
				CABundle: &env.SecretRef{Secret: "fb-ca", Key: "ca.crt"}}
		},
		"aws": func(e *env.Environment) {
			e.Monitoring.Thanos.ObjectStorage.S3 = &env.S3Endpoint{Endpoint: "s3.eu-west-1.amazonaws.com", Region: "eu-west-1"}
			e.Monitoring.Thanos.ObjectStorage.Credentials = nil
		},
	} {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, "prod")
			change(e)
			b, err := thanos.ObjstoreConfig(e)
			if err != nil {
				t.Fatal(err)
			}
			if err := decodeObjstore(b); err != nil {
				t.Errorf("%v\n%s", err, b)
			}
		})
	}
}

func TestDecodeObjstoreRejects(t *testing.T) {
	for name, conf := range map[string]string{
		"unknown field":   "type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  bucket_name: b\n",
		"other provider":  "type: GCS\nconfig:\n  bucket: b\n",
		"no endpoint":     "type: S3\nconfig:\n  bucket: b\n",
		"a key in a file": "type: S3\nconfig:\n  bucket: b\n  endpoint: e\n  access_key: AKIA\n  secret_key: x\n",
	} {
		if err := decodeObjstore([]byte(conf)); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// endpointConfigV0424 is the querier's --endpoint.sd-config-file schema:
// thanos v0.42.4 cmd/thanos/endpointset.go EndpointConfig, clientConfig,
// endpointSettings and tlsConfig (their yaml tags).
type endpointConfigV0424 struct {
	DefaultClientConfig *clientConfigV0424 `json:"default_client_config,omitempty"`
	Endpoints           []struct {
		Strict        bool               `json:"strict"`
		Group         bool               `json:"group"`
		Address       string             `json:"address"`
		ServiceConfig string             `json:"service_config"`
		ClientConfig  *clientConfigV0424 `json:"client_config"`
	} `json:"endpoints"`
}

type clientConfigV0424 struct {
	TLSConfig struct {
		Enabled                  *bool   `json:"enabled"`
		InsecureSkipVerification *bool   `json:"insecure_skip_verify"`
		CertFile                 *string `json:"cert_file"`
		KeyFile                  *string `json:"key_file"`
		CAFile                   *string `json:"ca_file"`
		MinVersion               *string `json:"min_version"`
	} `json:"tls_config"`
	ServerName  string `json:"server_name"`
	Compression string `json:"compression"`
}

func TestQuerierEndpointsDecode(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Thanos.Observe = map[string]env.ThanosPeer{"b": {Address: "b.example.com:10901"}, "a": {Address: "a.example.com:10901"}}
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, build(t, e), "monitoring", thanos.EndpointsConfigMap)
	var c endpointConfigV0424
	if err := yaml.UnmarshalStrict([]byte(cm.Data["endpoints.yaml"]), &c); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, ep := range c.Endpoints {
		got = append(got, ep.Address)
	}
	want := []string{
		"dnssrv+_grpc._tcp.thanos-sidecar.monitoring.svc",
		"dnssrv+_grpc._tcp.thanos-store.monitoring.svc",
		"a.example.com:10901", "b.example.com:10901",
	}
	if !slices.Equal(got, want) {
		t.Errorf("endpoints %v, want %v", got, want)
	}
	if err := yaml.UnmarshalStrict([]byte("endpoints:\n- addr: x:1\n"), &c); err == nil {
		t.Error("strict decoding accepted an unknown field")
	}
}
