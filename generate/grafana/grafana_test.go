package grafana_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment, opts grafana.Options) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := grafana.GenerateWith(e, &s, opts); err != nil {
		t.Fatalf("GenerateWith: %v", err)
	}
	return &s
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			var s stack.Set
			if err := grafana.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, &s)
			stacktest.Golden(t, name, grafana.Component, &s)

			ns := e.Monitoring.Namespace
			d := stacktest.FindNamed[*appsv1.Deployment](t, &s, ns, grafana.Name)
			if d.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("strategy %q: a ReadWriteOnce volume needs Recreate", d.Spec.Strategy.Type)
			}
			pvc := stacktest.FindNamed[*corev1.PersistentVolumeClaim](t, &s, ns, grafana.StorageClaim)
			if got, want := *pvc.Spec.StorageClassName, env.StorageClassName(e.Monitoring.Grafana.Storage.Role); got != want {
				t.Errorf("storage class %q, want %q", got, want)
			}
			if got := pvc.Spec.Resources.Requests.Storage().String(); got != e.Monitoring.Grafana.Storage.Size {
				t.Errorf("claim size %s, want %s", got, e.Monitoring.Grafana.Storage.Size)
			}
			c := d.Spec.Template.Spec.Containers[0]
			if m := mountAt(c, "/var/lib/grafana"); m == nil || volume(d, m.Name).PersistentVolumeClaim == nil ||
				volume(d, m.Name).PersistentVolumeClaim.ClaimName != grafana.StorageClaim {
				t.Errorf("/var/lib/grafana is not the claim %s", grafana.StorageClaim)
			}
			pw := envVar(c, "GF_SECURITY_ADMIN_PASSWORD")
			ref := e.Monitoring.Grafana.Admin.Password
			if pw == nil || pw.ValueFrom == nil || pw.ValueFrom.SecretKeyRef == nil {
				t.Fatalf("admin password not from a secretKeyRef: %+v", pw)
			}
			if sk := pw.ValueFrom.SecretKeyRef; sk.Name != ref.Secret || sk.Key != ref.Key {
				t.Errorf("admin password from %s/%s, want %s/%s", sk.Name, sk.Key, ref.Secret, ref.Key)
			}
			if u := envVar(c, "GF_SECURITY_ADMIN_USER"); u == nil || u.Value != e.Monitoring.Grafana.Admin.User {
				t.Errorf("admin user %+v, want %q", u, e.Monitoring.Grafana.Admin.User)
			}

			// The default datasource list is Prometheus alone.
			file := datasources(t, &s, ns)
			if len(file.Datasources) != 1 || file.Datasources[0].UID != grafana.PrometheusDatasourceUID || !file.Datasources[0].IsDefault {
				t.Errorf("default datasources: %+v", file.Datasources)
			}
			// With Thanos on, the querier answers under the same UID.
			wantHost := "http://prometheus-k8s." + ns + ".svc:"
			if e.ThanosEnabled() {
				wantHost = "http://thanos-query." + ns + ".svc:"
			}
			if !strings.HasPrefix(file.Datasources[0].URL, wantHost) {
				t.Errorf("Prometheus URL %q", file.Datasources[0].URL)
			}

			hasIngress := len(stacktest.Find[*networkingv1.Ingress](&s)) > 0
			if want := e.Monitoring.Grafana.Ingress.Host != ""; hasIngress != want {
				t.Errorf("Ingress rendered: %v, want %v", hasIngress, want)
			}
			if n := len(stacktest.Find[*monitoringv1.ServiceMonitor](&s)); n != 1 {
				t.Errorf("%d ServiceMonitors, want 1", n)
			}
		})
	}
}

func TestLayers(t *testing.T) {
	s := generate(t, stacktest.Example(t, "prod"), grafana.Options{})
	for _, r := range s.Resources() {
		kind := r.Object.GetObjectKind().GroupVersionKind().Kind
		want := stack.Instances
		if kind == "ServiceMonitor" || kind == "PrometheusRule" {
			want = stack.Content
		}
		if r.Layer != want {
			t.Errorf("%s %s in layer %s, want %s", kind, r.Object.GetName(), r.Layer, want)
		}
		if r.Component != grafana.Component {
			t.Errorf("%s %s in component %q", kind, r.Object.GetName(), r.Component)
		}
	}
}

func TestDisabled(t *testing.T) {
	for name, off := range map[string]func(e *env.Environment){
		"grafana":    func(e *env.Environment) { e.Monitoring.Grafana.Enabled = false },
		"monitoring": func(e *env.Environment) { e.Monitoring.Enabled = false },
	} {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, "prod")
			off(e)
			if s := generate(t, e, grafana.Options{}); len(s.Resources()) != 0 {
				t.Errorf("disabled Grafana rendered %d objects", len(s.Resources()))
			}
		})
	}
}

func TestIngressAndNetworkPolicy(t *testing.T) {
	cases := []struct {
		name       string
		host, tls  string
		class      string
		peers      int
		rootURL    string
		controller string
	}{
		{name: "no ingress", peers: 1, class: "nginx"},
		{name: "nginx without tls", host: "grafana.example.com", class: "nginx", peers: 2, rootURL: "http://grafana.example.com/", controller: "ingress-nginx"},
		{name: "traefik with tls", host: "grafana.example.com", tls: "grafana-tls", class: "traefik", peers: 2, rootURL: "https://grafana.example.com/", controller: "traefik"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := stacktest.Example(t, "dev")
			e.Monitoring.Grafana.Ingress = env.Ingress{Host: tc.host, TLSSecret: tc.tls}
			e.Cluster.IngressClassName = tc.class
			s := generate(t, e, grafana.Options{})
			stacktest.Check(t, s)
			ns := e.Monitoring.Namespace

			np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, ns, grafana.Name)
			if len(np.Spec.Ingress) != 1 {
				t.Fatalf("%d ingress rules", len(np.Spec.Ingress))
			}
			rule := np.Spec.Ingress[0]
			if len(rule.From) != tc.peers {
				t.Errorf("%d peers may reach Grafana, want %d", len(rule.From), tc.peers)
			}
			if p := rule.From[0]; p.PodSelector.MatchLabels[stack.LabelName] != "prometheus" ||
				p.NamespaceSelector.MatchLabels["kubernetes.io/metadata.name"] != ns {
				t.Errorf("first peer is not the Prometheus pods: %+v", p)
			}
			if tc.controller != "" && rule.From[1].PodSelector.MatchLabels[stack.LabelName] != tc.controller {
				t.Errorf("controller peer %+v, want pods named %s", rule.From[1], tc.controller)
			}
			if len(rule.Ports) != 1 || rule.Ports[0].Port.IntValue() != grafana.Port {
				t.Errorf("ports %+v, want only %d", rule.Ports, grafana.Port)
			}

			d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, grafana.Name)
			root := envVar(d.Spec.Template.Spec.Containers[0], "GF_SERVER_ROOT_URL")
			switch {
			case tc.rootURL == "" && root != nil:
				t.Errorf("root URL %q without an ingress", root.Value)
			case tc.rootURL != "" && (root == nil || root.Value != tc.rootURL):
				t.Errorf("root URL %+v, want %s", root, tc.rootURL)
			}

			ings := stacktest.Find[*networkingv1.Ingress](s)
			if tc.host == "" {
				if len(ings) != 0 {
					t.Errorf("an Ingress without a host")
				}
				return
			}
			if len(ings) != 1 {
				t.Fatalf("%d Ingresses", len(ings))
			}
			ing := ings[0]
			if *ing.Spec.IngressClassName != tc.class || ing.Spec.Rules[0].Host != tc.host {
				t.Errorf("Ingress class %s host %s", *ing.Spec.IngressClassName, ing.Spec.Rules[0].Host)
			}
			if b := ing.Spec.Rules[0].HTTP.Paths[0].Backend.Service; b.Name != grafana.Name || b.Port.Name != grafana.PortName {
				t.Errorf("backend %+v", b)
			}
			if got := len(ing.Spec.TLS); (tc.tls != "") != (got == 1) {
				t.Errorf("%d TLS entries with tlsSecret %q", got, tc.tls)
			} else if got == 1 && (ing.Spec.TLS[0].SecretName != tc.tls || ing.Spec.TLS[0].Hosts[0] != tc.host) {
				t.Errorf("TLS %+v", ing.Spec.TLS[0])
			}
		})
	}
}

func TestNoAdminPassword(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.Grafana.Admin.Password = nil
	s := generate(t, e, grafana.Options{})
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, e.Monitoring.Namespace, grafana.Name)
	if v := envVar(d.Spec.Template.Spec.Containers[0], "GF_SECURITY_ADMIN_PASSWORD"); v != nil {
		t.Errorf("admin password set without a reference: %+v", v)
	}
}

func TestDatasources(t *testing.T) {
	e := stacktest.Example(t, "prod")
	prom := grafana.PrometheusDatasource(e)
	prom.JSONData["exemplarTraceIdDestinations"] = []map[string]any{{"name": "trace_id", "datasourceUid": "tempo"}}
	es := grafana.Datasource{
		Name: "Elasticsearch", UID: "elasticsearch", Type: "elasticsearch",
		URL:       "https://logs-es-http.logging.svc:9200",
		BasicAuth: true, BasicAuthUser: "elastic",
		JSONData: map[string]any{
			"index":             "logs-*",
			"dataLinks":         []map[string]any{{"field": "trace_id", "url": "$${__value.raw}", "datasourceUid": "tempo"}},
			"tlsAuthWithCACert": true,
		},
		SecureJSONData: map[string]env.SecretRef{
			"basicAuthPassword": {Secret: "grafana-elasticsearch", Key: "password"},
			"tlsCACert":         {Secret: "grafana-elasticsearch", Key: "ca.crt"},
		},
	}
	tempo := grafana.Datasource{Name: "Tempo", UID: "tempo", Type: "tempo", URL: "http://tempo.tracing.svc:3200"}
	s := generate(t, e, grafana.Options{Datasources: []grafana.Datasource{prom, es, tempo}})
	stacktest.Check(t, s)
	ns := e.Monitoring.Namespace

	file := datasources(t, s, ns)
	if !file.Prune || file.APIVersion != 1 {
		t.Errorf("apiVersion %d prune %v", file.APIVersion, file.Prune)
	}
	var names []string
	for _, d := range file.Datasources {
		names = append(names, d.UID)
		if d.Editable || d.Access != "proxy" || d.OrgID != 1 {
			t.Errorf("%s: editable %v access %q org %d", d.UID, d.Editable, d.Access, d.OrgID)
		}
	}
	if d := cmp.Diff([]string{"prometheus", "elasticsearch", "tempo"}, names); d != "" {
		t.Errorf("datasources in the file (-want +got):\n%s", d)
	}
	got := file.Datasources[1]
	want := map[string]string{
		"basicAuthPassword": "$VIGIL_DS_ELASTICSEARCH_BASICAUTHPASSWORD",
		"tlsCACert":         "$VIGIL_DS_ELASTICSEARCH_TLSCACERT",
	}
	if d := cmp.Diff(want, got.SecureJSONData); d != "" {
		t.Errorf("secureJsonData (-want +got):\n%s", d)
	}
	if got.JSONData["dataLinks"].([]any)[0].(map[string]any)["url"] != "$${__value.raw}" {
		t.Errorf("jsonData not written as given: %v", got.JSONData["dataLinks"])
	}
	if _, ok := file.Datasources[0].JSONData["exemplarTraceIdDestinations"]; !ok {
		t.Errorf("the extended Prometheus datasource lost its exemplar destinations")
	}

	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, grafana.DatasourcesConfigMap)
	if cm.Annotations["kustomize.toolkit.fluxcd.io/substitute"] != "disabled" {
		t.Errorf("Flux would substitute ${...} in the datasources")
	}
	for _, v := range cm.Data {
		for _, secret := range []string{"grafana-elasticsearch", "password"} {
			if strings.Contains(v, secret) {
				t.Errorf("the datasources file names the secret reference %q; it must hold only variables", secret)
			}
		}
	}

	d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, grafana.Name)
	c := d.Spec.Template.Spec.Containers[0]
	for name, key := range map[string]string{"VIGIL_DS_ELASTICSEARCH_BASICAUTHPASSWORD": "password", "VIGIL_DS_ELASTICSEARCH_TLSCACERT": "ca.crt"} {
		v := envVar(c, name)
		if v == nil || v.ValueFrom == nil || v.ValueFrom.SecretKeyRef == nil ||
			v.ValueFrom.SecretKeyRef.Name != "grafana-elasticsearch" || v.ValueFrom.SecretKeyRef.Key != key {
			t.Errorf("env %s: %+v, want secretKeyRef grafana-elasticsearch/%s", name, v, key)
		}
	}

	// The pod rolls when the datasources change, since Grafana reads them
	// only at start.
	plain := generate(t, e, grafana.Options{})
	d0 := stacktest.FindNamed[*appsv1.Deployment](t, plain, ns, grafana.Name)
	k := "checksum/grafana-datasources"
	if d0.Spec.Template.Annotations[k] == "" || d0.Spec.Template.Annotations[k] == d.Spec.Template.Annotations[k] {
		t.Errorf("datasources checksum does not follow the file: %q vs %q", d0.Spec.Template.Annotations[k], d.Spec.Template.Annotations[k])
	}
}

func TestDatasourceErrors(t *testing.T) {
	e := stacktest.Example(t, "dev")
	prom := grafana.PrometheusDatasource(e)
	ds := func(mod func(*grafana.Datasource)) grafana.Datasource {
		d := grafana.Datasource{Name: "Tempo", UID: "tempo", Type: "tempo", URL: "http://tempo:3200"}
		mod(&d)
		return d
	}
	cases := map[string]struct {
		list []grafana.Datasource
		want string
	}{
		"no name":      {[]grafana.Datasource{ds(func(d *grafana.Datasource) { d.Name = "" })}, "no name"},
		"no type":      {[]grafana.Datasource{ds(func(d *grafana.Datasource) { d.Type = "" })}, "no type"},
		"bad uid":      {[]grafana.Datasource{ds(func(d *grafana.Datasource) { d.UID = "has space" })}, "uid"},
		"long uid":     {[]grafana.Datasource{ds(func(d *grafana.Datasource) { d.UID = strings.Repeat("a", 41) })}, "uid"},
		"same name":    {[]grafana.Datasource{prom, ds(func(d *grafana.Datasource) { d.Name = prom.Name })}, "used twice"},
		"same uid":     {[]grafana.Datasource{prom, ds(func(d *grafana.Datasource) { d.UID = prom.UID })}, "used twice"},
		"two defaults": {[]grafana.Datasource{prom, ds(func(d *grafana.Datasource) { d.IsDefault = true })}, "default"},
		"empty secret": {[]grafana.Datasource{ds(func(d *grafana.Datasource) { d.SecureJSONData = map[string]env.SecretRef{"x": {Key: "k"}} })}, "secret reference"},
		"env collision": {[]grafana.Datasource{ds(func(d *grafana.Datasource) {
			d.SecureJSONData = map[string]env.SecretRef{"a-b": {Secret: "s", Key: "k"}, "a_b": {Secret: "s", Key: "k"}}
		})}, "both map"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var s stack.Set
			err := grafana.GenerateWith(e, &s, grafana.Options{Datasources: tc.list})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one mentioning %q", err, tc.want)
			}
			if len(s.Resources()) != 0 {
				t.Errorf("objects added despite the error")
			}
		})
	}
}

func TestDashboards(t *testing.T) {
	e := stacktest.Example(t, "dev")
	s := generate(t, e, grafana.Options{Dashboards: []grafana.DashboardConfigMap{
		{Name: "grafana-dashboard-spark-jobs", Folder: "Spark"},
		{Name: "grafana-dashboard-nodes", Folder: "Kubernetes"},
		{Name: "grafana-dashboard-apiserver", Folder: "Kubernetes"},
		{Name: "grafana-dashboard-home"},
	}})
	stacktest.Check(t, s)
	ns := e.Monitoring.Namespace
	d := stacktest.FindNamed[*appsv1.Deployment](t, s, ns, grafana.Name)
	c := d.Spec.Template.Spec.Containers[0]
	for cm, dir := range map[string]string{
		"grafana-dashboard-spark-jobs": "/grafana-dashboard-definitions/spark/grafana-dashboard-spark-jobs",
		"grafana-dashboard-nodes":      "/grafana-dashboard-definitions/kubernetes/grafana-dashboard-nodes",
		"grafana-dashboard-apiserver":  "/grafana-dashboard-definitions/kubernetes/grafana-dashboard-apiserver",
		"grafana-dashboard-home":       "/grafana-dashboard-definitions/general/grafana-dashboard-home",
	} {
		m := mountAt(c, dir)
		if m == nil {
			t.Errorf("%s not mounted at %s", cm, dir)
			continue
		}
		v := volume(d, m.Name)
		if v.ConfigMap == nil || v.ConfigMap.Name != cm || v.ConfigMap.Optional == nil || !*v.ConfigMap.Optional {
			t.Errorf("volume %s: %+v, want optional ConfigMap %s (it may arrive in a later layer)", m.Name, v.VolumeSource, cm)
		}
	}

	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, grafana.DashboardProvidersConfigMap)
	var providers struct {
		APIVersion int `json:"apiVersion"`
		Providers  []struct {
			Name                  string `json:"name"`
			OrgID                 int    `json:"orgId"`
			Folder                string `json:"folder"`
			Type                  string `json:"type"`
			AllowUIUpdates        bool   `json:"allowUiUpdates"`
			DisableDeletion       bool   `json:"disableDeletion"`
			UpdateIntervalSeconds int    `json:"updateIntervalSeconds"`
			Options               struct {
				Path string `json:"path"`
			} `json:"options"`
		} `json:"providers"`
	}
	if err := yaml.UnmarshalStrict([]byte(cm.Data["dashboards.yaml"]), &providers); err != nil {
		t.Fatalf("providers file: %v", err)
	}
	got := map[string]string{}
	for _, p := range providers.Providers {
		got[p.Folder] = p.Options.Path
		if p.Type != "file" || p.AllowUIUpdates {
			t.Errorf("provider %s: type %s allowUiUpdates %v", p.Name, p.Type, p.AllowUIUpdates)
		}
	}
	want := map[string]string{
		"":           "/grafana-dashboard-definitions/general",
		"Kubernetes": "/grafana-dashboard-definitions/kubernetes",
		"Spark":      "/grafana-dashboard-definitions/spark",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("providers by folder (-want +got):\n%s", d)
	}

	// The order of the list does not matter.
	again := generate(t, e, grafana.Options{Dashboards: []grafana.DashboardConfigMap{
		{Name: "grafana-dashboard-home"},
		{Name: "grafana-dashboard-apiserver", Folder: "Kubernetes"},
		{Name: "grafana-dashboard-nodes", Folder: "Kubernetes"},
		{Name: "grafana-dashboard-spark-jobs", Folder: "Spark"},
	}})
	if d := cmp.Diff(string(stacktest.Render(t, s)), string(stacktest.Render(t, again))); d != "" {
		t.Errorf("output depends on the order of Dashboards:\n%s", d)
	}
}

func TestDashboardErrors(t *testing.T) {
	e := stacktest.Example(t, "dev")
	for name, list := range map[string][]grafana.DashboardConfigMap{
		"twice":          {{Name: "a", Folder: "X"}, {Name: "a", Folder: "Y"}},
		"long name":      {{Name: strings.Repeat("a", 60)}},
		"folder clash":   {{Name: "a", Folder: "Spark Jobs"}, {Name: "b", Folder: "spark-jobs"}},
		"not a dns name": {{Name: "Dashboards_A"}},
	} {
		t.Run(name, func(t *testing.T) {
			var s stack.Set
			if err := grafana.GenerateWith(e, &s, grafana.Options{Dashboards: list}); err == nil {
				t.Errorf("no error for %+v", list)
			}
		})
	}
}

type datasourceFile struct {
	APIVersion  int  `json:"apiVersion"`
	Prune       bool `json:"prune"`
	Datasources []struct {
		Name           string            `json:"name"`
		UID            string            `json:"uid"`
		Type           string            `json:"type"`
		Access         string            `json:"access"`
		URL            string            `json:"url"`
		OrgID          int               `json:"orgId"`
		IsDefault      bool              `json:"isDefault"`
		Editable       bool              `json:"editable"`
		BasicAuth      bool              `json:"basicAuth"`
		BasicAuthUser  string            `json:"basicAuthUser"`
		JSONData       map[string]any    `json:"jsonData"`
		SecureJSONData map[string]string `json:"secureJsonData"`
	} `json:"datasources"`
}

func datasources(t *testing.T, s *stack.Set, ns string) datasourceFile {
	t.Helper()
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, ns, grafana.DatasourcesConfigMap)
	var f datasourceFile
	if err := yaml.UnmarshalStrict([]byte(cm.Data["datasources.yaml"]), &f); err != nil {
		t.Fatalf("datasources file: %v", err)
	}
	return f
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

func volume(d *appsv1.Deployment, name string) corev1.Volume {
	for _, v := range d.Spec.Template.Spec.Volumes {
		if v.Name == name {
			return v
		}
	}
	return corev1.Volume{}
}
