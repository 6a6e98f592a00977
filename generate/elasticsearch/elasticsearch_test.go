package elasticsearch_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	esv1 "github.com/elastic/cloud-on-k8s/v3/pkg/apis/elasticsearch/v1"
	kbv1 "github.com/elastic/cloud-on-k8s/v3/pkg/apis/kibana/v1"
	helmv2 "github.com/fluxcd/helm-controller/api/v2"
	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := elasticsearch.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Check(t, s)
			stacktest.Golden(t, name, elasticsearch.Component, s)

			ns := e.Logging.Namespace
			es := stacktest.FindNamed[*elasticsearch.Elasticsearch](t, s, ns, elasticsearch.Name)
			if es.Spec.Version != e.Logging.Elasticsearch.Version {
				t.Errorf("version %s, want %s", es.Spec.Version, e.Logging.Elasticsearch.Version)
			}
			if got, want := len(es.Spec.NodeSets), len(e.Logging.Elasticsearch.NodeSets); got != want {
				t.Fatalf("%d node sets, want %d", got, want)
			}
			for _, set := range es.Spec.NodeSets {
				want := e.Logging.Elasticsearch.NodeSets[set.Name]
				if int(set.Count) != want.Count || !slices.Equal(set.Config.Roles, want.Roles) {
					t.Errorf("node set %s: count %d roles %v, want %d %v", set.Name, set.Count, set.Config.Roles, want.Count, want.Roles)
				}
				c := set.PodTemplate.Spec.Containers[0]
				if c.Name != "elasticsearch" {
					t.Errorf("node set %s: container %q is not ECK's elasticsearch container", set.Name, c.Name)
				}
				if c.Resources.Limits.Memory().String() != want.Memory || c.Resources.Requests.Memory().String() != want.Memory {
					t.Errorf("node set %s: memory %v, want request = limit = %s", set.Name, c.Resources, want.Memory)
				}
				if !c.Resources.Limits.Cpu().IsZero() {
					t.Errorf("node set %s: a CPU limit throttles the JVM", set.Name)
				}
				vct := set.VolumeClaimTemplates[0]
				if vct.Name != elasticsearch.DataVolume || *vct.Spec.StorageClassName != env.StorageClassName(want.Storage.Role) ||
					vct.Spec.Resources.Requests.Storage().String() != want.Storage.Size {
					t.Errorf("node set %s: volume %+v", set.Name, vct)
				}
			}
			if e.Logging.Kibana.Enabled {
				kb := stacktest.FindNamed[*elasticsearch.Kibana](t, s, ns, elasticsearch.KibanaName)
				if kb.Spec.ElasticsearchRef.Name != elasticsearch.Name || int(kb.Spec.Count) != e.Logging.Kibana.Replicas {
					t.Errorf("kibana %+v", kb.Spec)
				}
			}
		})
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Enabled = false
	s := generate(t, e)
	if n := len(s.Resources()) + len(s.Upstreams()); n != 0 {
		t.Errorf("logging off still generates %d objects", n)
	}
}

func TestWithoutMonitoring(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.Enabled = false
	s := generate(t, e)
	stacktest.Check(t, s)
	if n := len(stacktest.Find[*monitoringv1.PrometheusRule](s)) + len(stacktest.Find[*monitoringv1.ServiceMonitor](s)) + len(stacktest.Find[*appsv1.Deployment](s)); n != 0 {
		t.Errorf("monitoring off still generates %d exporter objects or rules", n)
	}
}

// TestOperator checks the ECK references: CRDs from the release tag, the
// operator from the chart of the same version, without its CRDs.
func TestOperator(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	ups := s.Upstreams()
	if len(ups) != 1 {
		t.Fatalf("upstreams %+v", ups)
	}
	u := ups[0]
	if u.Layer != stack.CRDs || u.Tag != "v"+stack.ECKOperator.Version || u.URL != "https://github.com/elastic/cloud-on-k8s" || u.Path != "./config/crds/v1/patches" {
		t.Errorf("CRD upstream %+v", u)
	}
	hr := stacktest.FindNamed[*helmv2.HelmRelease](t, s, elasticsearch.OperatorNamespace, elasticsearch.ReleaseName)
	if hr.Spec.Chart.Spec.Version != stack.ECKOperator.Version || hr.Spec.Chart.Spec.Chart != "eck-operator" {
		t.Errorf("chart %+v", hr.Spec.Chart.Spec)
	}
	if hr.Spec.Install.CRDs != helmv2.Skip || hr.Spec.Upgrade.CRDs != helmv2.Skip {
		t.Errorf("the chart must not manage the CRDs: install %s upgrade %s", hr.Spec.Install.CRDs, hr.Spec.Upgrade.CRDs)
	}
	var values struct {
		InstallCRDs       bool     `json:"installCRDs"`
		ManagedNamespaces []string `json:"managedNamespaces"`
		Image             struct{ Repository, Tag string }
	}
	if err := json.Unmarshal(hr.Spec.Values.Raw, &values); err != nil {
		t.Fatal(err)
	}
	if values.InstallCRDs || values.Image.Repository+":"+values.Image.Tag != stack.ECKOperator.Ref() || !slices.Equal(values.ManagedNamespaces, []string{e.Logging.Namespace}) {
		t.Errorf("values %+v", values)
	}
	for _, r := range s.Resources() {
		if r.Component == elasticsearch.OperatorComponent && r.Layer != stack.Operators {
			t.Errorf("%s %s in layer %s", r.Object.GetObjectKind().GroupVersionKind().Kind, r.Object.GetName(), r.Layer)
		}
	}
}

// TestOperatorResources checks that the schema sizes the operator: its
// requests and memory limit reach the chart values, the chart's CPU limit is
// dropped by a post-renderer when the schema sets none, and kept (replaced by
// the schema's) when it sets one.
func TestOperatorResources(t *testing.T) {
	values := func(t *testing.T, hr *helmv2.HelmRelease) corev1.ResourceRequirements {
		t.Helper()
		var v struct {
			Resources corev1.ResourceRequirements `json:"resources"`
		}
		if err := json.Unmarshal(hr.Spec.Values.Raw, &v); err != nil {
			t.Fatal(err)
		}
		return v.Resources
	}
	e := stacktest.Example(t, "prod")
	want := e.Logging.Elasticsearch.Operator.Resources
	if want.Requests.Memory == "" || want.Limits.Memory == "" {
		t.Fatalf("schema defaults missing: %+v", want)
	}
	hr := stacktest.FindNamed[*helmv2.HelmRelease](t, generate(t, e), elasticsearch.OperatorNamespace, elasticsearch.ReleaseName)
	r := values(t, hr)
	if r.Requests.Memory().String() != want.Requests.Memory || r.Limits.Memory().String() != want.Limits.Memory || r.Requests.Cpu().String() != want.Requests.CPU {
		t.Errorf("operator resources %v, want the schema's %+v", r, want)
	}
	if len(hr.Spec.PostRenderers) != 1 || !strings.Contains(hr.Spec.PostRenderers[0].Kustomize.Patches[0].Patch, "cpu: null") {
		t.Errorf("without a CPU limit in the schema the chart's must be dropped: post-renderers %+v", hr.Spec.PostRenderers)
	}

	e.Logging.Elasticsearch.Operator.Resources.Limits.CPU = "2"
	hr = stacktest.FindNamed[*helmv2.HelmRelease](t, generate(t, e), elasticsearch.OperatorNamespace, elasticsearch.ReleaseName)
	if r := values(t, hr); r.Limits.Cpu().String() != "2" {
		t.Errorf("limits.cpu 2 in the schema: values %v", r)
	}
	if len(hr.Spec.PostRenderers) != 0 {
		t.Errorf("a CPU limit set in the schema must not be dropped: post-renderers %+v", hr.Spec.PostRenderers)
	}

	e.Logging.Elasticsearch.Operator.Resources.Requests.Memory = "lots"
	if err := elasticsearch.Generate(e, &stack.Set{}); err == nil || !strings.Contains(err.Error(), "operator.resources") {
		t.Errorf("a malformed quantity: want an error naming operator.resources, got %v", err)
	}
}

// TestECKTypes decodes every Elasticsearch and Kibana object strictly into
// ECK's own Go types: the package's minimal types must be a faithful
// subset, field names included.
func TestECKTypes(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		s := generate(t, stacktest.Example(t, name))
		for _, r := range s.Resources() {
			var into any
			switch r.Object.(type) {
			case *elasticsearch.Elasticsearch:
				into = &esv1.Elasticsearch{}
			case *elasticsearch.Kibana:
				into = &kbv1.Kibana{}
			default:
				continue
			}
			b, err := json.Marshal(r.Object)
			if err != nil {
				t.Fatal(err)
			}
			dec := json.NewDecoder(bytes.NewReader(b))
			dec.DisallowUnknownFields()
			if err := dec.Decode(into); err != nil {
				t.Errorf("%s: %s does not decode into ECK's type: %v", name, r.Object.GetName(), err)
				continue
			}
			// Everything Vigil set survives ECK's type unchanged (ECK
			// adds its empty structs).
			b2, err := json.Marshal(into)
			if err != nil {
				t.Fatal(err)
			}
			var want, got map[string]any
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b2, &got); err != nil {
				t.Fatal(err)
			}
			for _, p := range notIn(want, got, "") {
				t.Errorf("%s: %s: %s does not survive ECK's type", name, r.Object.GetName(), p)
			}
		}
	}
}

// notIn lists the paths of want whose values got lacks or differs at.
func notIn(want, got any, path string) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{path}
		}
		var out []string
		for k, v := range w {
			out = append(out, notIn(v, g[k], path+"."+k)...)
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{path}
		}
		var out []string
		for i := range w {
			out = append(out, notIn(w[i], g[i], fmt.Sprintf("%s[%d]", path, i))...)
		}
		return out
	default:
		if !cmp.Equal(want, got) {
			return []string{path}
		}
		return nil
	}
}

func TestMaxMapCount(t *testing.T) {
	for _, tc := range []struct {
		version string
		want    int
	}{{"9.4.3", 1048576}, {"8.16.0", 1048576}, {"8.15.5", 262144}, {"7.17.28", 262144}} {
		got, err := elasticsearch.MaxMapCount(tc.version)
		if err != nil || got != tc.want {
			t.Errorf("MaxMapCount(%s) = %d, %v; want %d", tc.version, got, err, tc.want)
		}
	}
	if _, err := elasticsearch.MaxMapCount("nine"); err == nil {
		t.Error("MaxMapCount accepts a non-version")
	}

	for _, strategy := range []string{"daemonset", "init-container", "host", "disable-mmap"} {
		t.Run(strategy, func(t *testing.T) {
			e := stacktest.Example(t, "staging")
			e.Logging.Elasticsearch.MaxMapCount = strategy
			e.Logging.Elasticsearch.Version = "8.15.3"
			s := generate(t, e)
			stacktest.Check(t, s)
			es := stacktest.FindNamed[*elasticsearch.Elasticsearch](t, s, e.Logging.Namespace, elasticsearch.Name)
			pod := es.Spec.NodeSets[0].PodTemplate.Spec
			allowMmap := es.Spec.NodeSets[0].Config.AllowMmap
			daemonSets := stacktest.Find[*appsv1.DaemonSet](s)

			if (strategy == "disable-mmap") != (allowMmap != nil && !*allowMmap) {
				t.Errorf("node.store.allow_mmap %v", allowMmap)
			}
			if (strategy == "daemonset") != (len(daemonSets) == 1) {
				t.Errorf("%d sysctl DaemonSets", len(daemonSets))
			}
			if (strategy == "init-container") != (len(pod.InitContainers) == 1) {
				t.Errorf("init containers %+v", pod.InitContainers)
			}
			var sysctl *corev1.Container
			if len(daemonSets) == 1 {
				sysctl = &daemonSets[0].Spec.Template.Spec.InitContainers[0]
				for _, r := range s.Resources() {
					if r.Object == daemonSets[0] && r.Layer != stack.Node {
						t.Errorf("sysctl DaemonSet in layer %s, want node", r.Layer)
					}
				}
			}
			if len(pod.InitContainers) == 1 {
				sysctl = &pod.InitContainers[0]
			}
			if sysctl != nil {
				if !slices.Equal(sysctl.Command, []string{"sysctl", "-w", "vm.max_map_count=262144"}) {
					t.Errorf("sysctl command %v", sysctl.Command)
				}
				if sysctl.SecurityContext.Privileged == nil || !*sysctl.SecurityContext.Privileged {
					t.Error("vm.max_map_count can only be written by a privileged container")
				}
			}
		})
	}
}

func TestTooOldVersion(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Logging.Elasticsearch.Version = "7.12.1"
	var s stack.Set
	if err := elasticsearch.Generate(e, &s); err == nil || !strings.Contains(err.Error(), "7.13") {
		t.Errorf("Generate = %v, want an error naming 7.13", err)
	}
}

func TestHeap(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	es := stacktest.FindNamed[*elasticsearch.Elasticsearch](t, s, e.Logging.Namespace, elasticsearch.Name)
	for _, set := range es.Spec.NodeSets {
		env := set.PodTemplate.Spec.Containers[0].Env
		switch set.Name {
		case "data":
			if len(env) != 1 || env[0].Name != "ES_JAVA_OPTS" || env[0].Value != "-Xms8g -Xmx8g" {
				t.Errorf("data: env %+v, want the heap override", env)
			}
		default:
			if len(env) != 0 {
				t.Errorf("%s: env %+v; without a heap override Elasticsearch sizes it from the limit", set.Name, env)
			}
		}
	}
}

func TestStreams(t *testing.T) {
	prod, err := elasticsearch.Streams(stacktest.Example(t, "prod"))
	if err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, st := range prod {
		kinds = append(kinds, st.Kind)
		if !strings.HasPrefix(st.DataStream, "logs-kubernetes.") || !strings.HasPrefix(st.Template, "vigil-") {
			t.Errorf("stream %+v", st)
		}
	}
	if !slices.Equal(kinds, []string{"containers", "node", "audit", "events"}) {
		t.Errorf("prod streams %v", kinds)
	}
	audit, _ := elasticsearch.StreamOf(stacktest.Example(t, "prod"), elasticsearch.StreamAudit)
	if audit.Retention != "90d" || audit.Policy != elasticsearch.AuditPolicy {
		t.Errorf("audit stream %+v", audit)
	}
	dev, err := elasticsearch.Streams(stacktest.Example(t, "dev"))
	if err != nil {
		t.Fatal(err)
	}
	if len(dev) != 3 || dev[2].Kind != elasticsearch.StreamEvents {
		t.Errorf("dev has no audit collection but events, streams %+v", dev)
	}
	events, _ := elasticsearch.StreamOf(stacktest.Example(t, "prod"), elasticsearch.StreamEvents)
	if events.Retention != "14d" || events.Policy != elasticsearch.EventsPolicy || events.DataStream != "logs-kubernetes.events-default" {
		t.Errorf("events stream %+v", events)
	}

	e := stacktest.Example(t, "dev")
	for in, want := range map[string]string{"30d": "30d", "2w": "14d", "1y": "365d", "12h": "12h"} {
		e.Logging.Elasticsearch.Retention = in
		st, _ := elasticsearch.StreamOf(e, elasticsearch.StreamContainers)
		if st.Retention != want {
			t.Errorf("retention %s became %s, want %s", in, st.Retention, want)
		}
	}
}

// TestBootstrap reads the bootstrap ConfigMap and Job back: every body is
// JSON of the intended shape, every stream has its template and policy,
// and every request of the Job names an existing body.
func TestBootstrap(t *testing.T) {
	for _, tc := range []struct {
		env      string
		replicas int
	}{{"dev", 0}, {"prod", 1}, {"cloud", 1}} {
		t.Run(tc.env, func(t *testing.T) {
			e := stacktest.Example(t, tc.env)
			s := generate(t, e)
			ns := e.Logging.Namespace
			cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, elasticsearch.BootstrapName)
			job := stacktest.FindNamed[*batchv1.Job](t, s, ns, elasticsearch.BootstrapName)
			streams, err := elasticsearch.Streams(e)
			if err != nil {
				t.Fatal(err)
			}
			for _, st := range streams {
				var tpl elasticsearch.IndexTemplate
				if err := json.Unmarshal([]byte(cm.Data["template-"+st.Template+".json"]), &tpl); err != nil {
					t.Fatalf("template of %s: %v", st.Kind, err)
				}
				if !slices.Equal(tpl.IndexPatterns, []string{st.DataStream + "*"}) || tpl.Template.Settings.LifecycleName != st.Policy ||
					tpl.Template.Settings.Replicas != tc.replicas || tpl.Priority <= 100 {
					t.Errorf("template of %s: %+v", st.Kind, tpl)
				}
				var pol elasticsearch.ILMPolicy
				if err := json.Unmarshal([]byte(cm.Data["policy-"+st.Policy+".json"]), &pol); err != nil {
					t.Fatalf("policy of %s: %v", st.Kind, err)
				}
				if pol.Policy.Phases.Delete.MinAge != st.Retention {
					t.Errorf("policy %s deletes after %s, want %s", st.Policy, pol.Policy.Phases.Delete.MinAge, st.Retention)
				}
			}
			used := map[string]bool{}
			pod := job.Spec.Template.Spec
			var paths []string
			for i, c := range append(append([]corev1.Container{}, pod.InitContainers...), pod.Containers...) {
				if c.Image != stack.Curl.Ref() || c.Command[0] != "curl" {
					t.Errorf("container %s: %s %v", c.Name, c.Image, c.Command)
				}
				url := c.Args[len(c.Args)-1]
				if !strings.HasPrefix(url, elasticsearch.URL(e)+"/") {
					t.Errorf("container %s calls %s", c.Name, url)
				}
				paths = append(paths, strings.TrimPrefix(url, elasticsearch.URL(e)))
				if i == 0 && !strings.Contains(url, "_cluster/health") {
					t.Errorf("the first request must wait for the cluster, not %s", url)
				}
				for j, a := range c.Args {
					if a == "--data-binary" {
						f := strings.TrimPrefix(c.Args[j+1], "@/etc/vigil/bootstrap/")
						if _, ok := cm.Data[f]; !ok {
							t.Errorf("container %s sends %s, which the ConfigMap lacks", c.Name, f)
						}
						used[f] = true
					}
					if strings.Contains(a, "ES_PASSWORD") && a != "%ES_PASSWORD" && a != "elastic:{{ES_PASSWORD}}" {
						t.Errorf("container %s: the password must only be expanded by curl: %q", c.Name, a)
					}
				}
				if len(c.Env) != 1 || c.Env[0].ValueFrom.SecretKeyRef.Name != elasticsearch.ElasticUserSecret() {
					t.Errorf("container %s env %+v", c.Name, c.Env)
				}
			}
			for f := range cm.Data {
				if !used[f] {
					t.Errorf("%s is never sent", f)
				}
			}
			// Policies before the templates that name them.
			firstTemplate := slices.IndexFunc(paths, func(p string) bool { return strings.HasPrefix(p, "/_index_template/vigil-kubernetes") })
			lastPolicy := -1
			for i, p := range paths {
				if strings.HasPrefix(p, "/_ilm/policy/") {
					lastPolicy = i
				}
			}
			if lastPolicy < 0 || firstTemplate < lastPolicy {
				t.Errorf("request order %v", paths)
			}
			if job.Annotations["kustomize.toolkit.fluxcd.io/force"] != "enabled" || job.Spec.Template.Annotations["vigil.dev/bootstrap-hash"] == "" {
				t.Errorf("the Job must be recreated when a body changes: %v %v", job.Annotations, job.Spec.Template.Annotations)
			}
		})
	}
}

func TestBootstrapHashFollowsBodies(t *testing.T) {
	hash := func(retention string) string {
		e := stacktest.Example(t, "dev")
		e.Logging.Elasticsearch.Retention = retention
		s := generate(t, e)
		return stacktest.FindNamed[*batchv1.Job](t, s, e.Logging.Namespace, elasticsearch.BootstrapName).Spec.Template.Annotations["vigil.dev/bootstrap-hash"]
	}
	if hash("30d") == hash("7d") {
		t.Error("changing the retention does not change the Job's pod template")
	}
}

func TestKibanaIngress(t *testing.T) {
	prod := stacktest.Example(t, "prod")
	s := generate(t, prod)
	ing := stacktest.FindNamed[*networkingv1.Ingress](t, s, prod.Logging.Namespace, "logging-kibana")
	rule := ing.Spec.Rules[0]
	if rule.Host != prod.Logging.Kibana.Ingress.Host || *ing.Spec.IngressClassName != prod.Cluster.IngressClassName {
		t.Errorf("ingress %+v", ing.Spec)
	}
	b := rule.HTTP.Paths[0].Backend.Service
	if b.Name != "logging-kb-http" || b.Port.Number != elasticsearch.KibanaPort {
		t.Errorf("backend %+v", b)
	}
	if ing.Annotations["nginx.ingress.kubernetes.io/backend-protocol"] != "HTTPS" {
		t.Error("Kibana serves HTTPS: the ingress must speak HTTPS to it")
	}

	dev := stacktest.Example(t, "dev")
	if n := len(stacktest.Find[*networkingv1.Ingress](generate(t, dev))); n != 0 {
		t.Errorf("dev sets no Kibana host but gets %d Ingresses", n)
	}
	dev.Logging.Kibana.Enabled = false
	if n := len(stacktest.Find[*elasticsearch.Kibana](generate(t, dev))); n != 0 {
		t.Errorf("Kibana off still generates %d Kibanas", n)
	}
}

func TestNetworkPolicy(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, e.Logging.Namespace, "logging-elasticsearch")
	var from []string
	for _, p := range np.Spec.Ingress[0].From {
		from = append(from, p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"])
	}
	for _, want := range []string{e.Logging.Namespace, elasticsearch.OperatorNamespace, e.Monitoring.Namespace} {
		if !slices.Contains(from, want) {
			t.Errorf("namespace %s cannot reach Elasticsearch: %v", want, from)
		}
	}
}

func TestRules(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	var alerts []string
	for _, pr := range stacktest.Find[*monitoringv1.PrometheusRule](s) {
		for _, g := range pr.Spec.Groups {
			for _, r := range g.Rules {
				alerts = append(alerts, r.Alert)
				if !strings.Contains(r.Expr.String(), `job="elasticsearch-exporter"`) {
					t.Errorf("%s does not select the exporter: %s", r.Alert, r.Expr.String())
				}
			}
		}
	}
	for _, want := range []string{"ElasticsearchClusterRed", "ElasticsearchClusterYellow", "ElasticsearchDiskHighWatermark", "ElasticsearchDiskLowWatermark"} {
		if !slices.Contains(alerts, want) {
			t.Errorf("missing alert %s in %v", want, alerts)
		}
	}
}
