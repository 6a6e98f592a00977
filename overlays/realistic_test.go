package overlays

import (
	"fmt"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// stack.Scheme does not know CRDs yet; a generator emitting them registers
// the type the same way.
func init() { stack.AddToScheme(apiextensionsv1.AddToScheme) }

// realisticStack is a stand-in for Vigil's full stack, shaped like it: about
// 300 objects over all seven layers, workloads with RBAC, operators,
// custom resources (typed and unstructured), rules, monitors and dashboards.
// variant "base" is the default environment; "dev", "staging" and "prod"
// change it the way environments do.
func realisticStack(variant string) *stack.Set {
	s := &stack.Set{}
	prod := variant == "prod"
	dev := variant == "dev"
	replicas := int32(1)
	size := "20Gi"
	switch variant {
	case "prod":
		replicas, size = 3, "200Gi"
	case "staging":
		replicas, size = 2, "50Gi"
	}

	namespaces := []string{"monitoring", "logging", "tracing", "spark", "elastic-system", "storage-system"}
	for _, n := range namespaces {
		s.Add("namespaces", stack.Namespaces, namespace(n))
	}

	for _, kind := range []string{"SparkApplication", "ScheduledSparkApplication", "SparkConnect"} {
		s.Add("spark-operator", stack.CRDs, crd("sparkoperator.k8s.io", kind))
	}
	s.AddUpstream(stack.Upstream{Name: "prometheus-operator-crds", Component: "prometheus-operator", Layer: stack.CRDs,
		URL: "https://github.com/prometheus-operator/prometheus-operator", Tag: stack.PrometheusOperator.Version, Path: "./example/prometheus-operator-crd",
		Groups: []string{"monitoring.coreos.com"}})
	s.AddUpstream(stack.Upstream{Name: "eck-crds", Component: "eck-operator", Layer: stack.CRDs,
		URL: "https://github.com/elastic/cloud-on-k8s", Tag: stack.ECKOperator.Version, Path: "./config/crds/v1/all-crds",
		Groups: []string{"elasticsearch.k8s.elastic.co", "kibana.k8s.elastic.co"}})

	s.Add("storage", stack.Storage, storageClass("fast", "pure-csi"), storageClass("bulk", "pure-csi"),
		configMap("storage-system", "pure-csi-config", map[string]string{"backend": "flashblade"}))

	workloadRBAC(s, "node-problem-detector", stack.Node, "kube-system")
	s.Add("node-problem-detector", stack.Node, daemonSet("kube-system", "node-problem-detector"),
		configMap("kube-system", "node-problem-detector-config", map[string]string{"kernel-monitor.json": `{"plugin":"kmsg"}`}))
	s.Add("sysctl", stack.Node, daemonSet("kube-system", "max-map-count"))

	for _, op := range []struct{ name, ns string }{
		{"prometheus-operator", "monitoring"}, {"eck-operator", "elastic-system"},
		{"spark-operator", "spark"}, {"spark-operator-webhook", "spark"}, {"fluent-operator", "logging"},
	} {
		workloadRBAC(s, op.name, stack.Operators, op.ns)
		s.Add(op.name, stack.Operators, deployment(op.ns, op.name, 1, "--log-level=info", "--namespace="+op.ns), service(op.ns, op.name))
	}

	// Instances.
	p := &monitoringv1.Prometheus{
		ObjectMeta: metav1.ObjectMeta{Name: "k8s", Namespace: "monitoring", Labels: stack.Labels("prometheus", "server", stack.Prometheus.Version)},
		Spec: monitoringv1.PrometheusSpec{CommonPrometheusFields: monitoringv1.CommonPrometheusFields{
			Replicas:           &replicas,
			Version:            stack.Prometheus.Version,
			ServiceAccountName: "prometheus-k8s",
			Storage: &monitoringv1.StorageSpec{VolumeClaimTemplate: monitoringv1.EmbeddedPersistentVolumeClaim{
				Spec: corev1.PersistentVolumeClaimSpec{
					StorageClassName: ptr("fast"),
					Resources:        corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
				},
			}},
		}},
	}
	workloadRBAC(s, "prometheus-k8s", stack.Instances, "monitoring")
	s.Add("prometheus", stack.Instances, p, service("monitoring", "prometheus-k8s"))
	if !dev {
		am := &monitoringv1.Alertmanager{
			ObjectMeta: metav1.ObjectMeta{Name: "main", Namespace: "monitoring", Labels: stack.Labels("alertmanager", "server", stack.Alertmanager.Version)},
			Spec:       monitoringv1.AlertmanagerSpec{Replicas: &replicas, Version: stack.Alertmanager.Version},
		}
		channel := "#alerts"
		if prod {
			channel = "#alerts-prod"
		}
		s.Add("alertmanager", stack.Instances, am, service("monitoring", "alertmanager-main"),
			configMap("monitoring", "alertmanager-routes", map[string]string{"slack-channel": channel, "repeat-interval": "4h"}))
	}
	for _, w := range []struct {
		component, ns string
		pvc           bool
	}{
		{"grafana", "monitoring", true}, {"kube-state-metrics", "monitoring", false}, {"otel-collector", "tracing", false},
		{"jaeger", "tracing", false}, {"spark-history-server", "spark", false}, {"pure-exporter", "storage-system", false},
	} {
		if dev && w.component == "jaeger" {
			continue
		}
		workloadRBAC(s, w.component, stack.Instances, w.ns)
		d := deployment(w.ns, w.component, replicas, "--config=/etc/"+w.component+"/config.yaml")
		if prod && w.component == "grafana" {
			d.Spec.Template.Spec.Containers[0].Env = append(d.Spec.Template.Spec.Containers[0].Env, corev1.EnvVar{Name: "GF_SERVER_ROOT_URL", Value: "https://grafana.prod.example.org"})
		}
		s.Add(w.component, stack.Instances, d, service(w.ns, w.component),
			configMap(w.ns, w.component+"-config", map[string]string{"config.yaml": "level: info\n"}))
		if w.pvc {
			s.Add(w.component, stack.Instances, &corev1.PersistentVolumeClaim{
				ObjectMeta: metav1.ObjectMeta{Name: w.component + "-data", Namespace: w.ns},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("10Gi")}},
				},
			})
		}
	}
	for _, st := range []struct{ component, ns string }{{"tempo", "tracing"}, {"fluentd", "logging"}} {
		if dev && st.component == "tempo" {
			continue
		}
		workloadRBAC(s, st.component, stack.Instances, st.ns)
		s.Add(st.component, stack.Instances, statefulSet(st.ns, st.component, replicas, size), service(st.ns, st.component),
			configMap(st.ns, st.component+"-config", map[string]string{"config.yaml": "retention: 7d\n"}))
	}
	workloadRBAC(s, "node-exporter", stack.Instances, "monitoring")
	s.Add("node-exporter", stack.Instances, daemonSet("monitoring", "node-exporter"), service("monitoring", "node-exporter"))
	workloadRBAC(s, "fluent-bit", stack.Instances, "logging")
	s.Add("fluent-bit", stack.Instances, daemonSet("logging", "fluent-bit"),
		configMap("logging", "fluent-bit-config", map[string]string{"fluent-bit.conf": "[SERVICE]\n    Flush 1\n"}))
	es := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "elasticsearch.k8s.elastic.co/v1", "kind": "Elasticsearch",
		"metadata": map[string]any{"name": "logs", "namespace": "logging"},
		"spec": map[string]any{"version": stack.Elasticsearch.Version, "nodeSets": []any{
			map[string]any{"name": "default", "count": int64(replicas), "config": map[string]any{"node.store.allow_mmap": true}},
		}},
	}}
	kb := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "kibana.k8s.elastic.co/v1", "kind": "Kibana",
		"metadata": map[string]any{"name": "logs", "namespace": "logging"},
		"spec":     map[string]any{"version": stack.Kibana.Version, "count": int64(1), "elasticsearchRef": map[string]any{"name": "logs"}},
	}}
	s.Add("elasticsearch", stack.Instances, es, kb)

	// Content: rules, monitors, dashboards.
	for i := 0; i < 45; i++ {
		if dev && i%3 == 0 {
			continue
		}
		s.Add(ruleComponent(i), stack.Content, prometheusRule(i, prod))
	}
	for i := 0; i < 45; i++ {
		s.Add(ruleComponent(i), stack.Content, serviceMonitor("monitoring", fmt.Sprintf("monitor-%02d", i), "web", "metrics"))
	}
	for i := 0; i < 95; i++ {
		if prod && i == 7 {
			continue // prod drops one dashboard
		}
		s.Add("grafana", stack.Content, configMap("monitoring", fmt.Sprintf("dashboard-%02d", i),
			map[string]string{"dashboard.json": fmt.Sprintf(`{"title":"Dashboard %d","panels":[]}`, i)}))
	}
	if prod {
		for i := 0; i < 5; i++ {
			s.Add("grafana", stack.Content, configMap("monitoring", fmt.Sprintf("dashboard-prod-%d", i), map[string]string{"dashboard.json": "{}"}))
		}
	}
	return s
}

func ruleComponent(i int) string {
	return []string{"prometheus", "alertmanager", "kube-state-metrics", "node-exporter", "elasticsearch"}[i%5]
}

func prometheusRule(i int, prod bool) *monitoringv1.PrometheusRule {
	threshold := "0.9"
	if prod {
		threshold = "0.8"
	}
	forDur := monitoringv1.Duration("5m")
	return &monitoringv1.PrometheusRule{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("rules-%02d", i), Namespace: "monitoring", Labels: stack.Labels("prometheus", "rules", "")},
		Spec: monitoringv1.PrometheusRuleSpec{Groups: []monitoringv1.RuleGroup{{
			Name: fmt.Sprintf("group-%02d", i),
			Rules: []monitoringv1.Rule{
				{Alert: "HighUsage", Expr: intstr.FromString("usage > " + threshold), For: &forDur, Labels: map[string]string{"severity": "warning"}},
				{Record: "job:usage:rate5m", Expr: intstr.FromString("rate(usage[5m])")},
			},
		}}},
	}
}

func crd(group, kind string) *apiextensionsv1.CustomResourceDefinition {
	plural := stringsToLower(kind) + "s"
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: plural + "." + group},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: group,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Kind: kind, Plural: plural, ListKind: kind + "List", Singular: stringsToLower(kind)},
			Scope: apiextensionsv1.NamespaceScoped,
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{
				Name: "v1beta2", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"spec":   {Type: "object", XPreserveUnknownFields: ptr(true)},
						"status": {Type: "object", XPreserveUnknownFields: ptr(true)},
					},
				}},
				Subresources: &apiextensionsv1.CustomResourceSubresources{Status: &apiextensionsv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

func stringsToLower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if c >= 'A' && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}

func storageClass(name, provisioner string) *storagev1.StorageClass {
	mode := storagev1.VolumeBindingWaitForFirstConsumer
	return &storagev1.StorageClass{
		ObjectMeta:        metav1.ObjectMeta{Name: name, Labels: stack.Labels("storage", "", "")},
		Provisioner:       provisioner,
		VolumeBindingMode: &mode,
		Parameters:        map[string]string{"backend": "file"},
	}
}

func daemonSet(ns, name string) *appsv1.DaemonSet {
	d := deployment(ns, name, 1, "--path.rootfs=/host")
	return &appsv1.DaemonSet{
		ObjectMeta: d.ObjectMeta,
		Spec: appsv1.DaemonSetSpec{
			Selector: d.Spec.Selector,
			Template: d.Spec.Template,
		},
	}
}

// workloadRBAC adds the ServiceAccount, ClusterRole and binding a workload
// runs with.
func workloadRBAC(s *stack.Set, name string, layer stack.Layer, ns string) {
	s.Add(name, layer,
		&corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(name, "", "")}},
		&rbacv1.ClusterRole{
			ObjectMeta: metav1.ObjectMeta{Name: "vigil:" + name, Labels: stack.Labels(name, "", "")},
			Rules: []rbacv1.PolicyRule{
				{APIGroups: []string{""}, Resources: []string{"pods", "services", "endpoints"}, Verbs: []string{"get", "list", "watch"}},
				{APIGroups: []string{"apps"}, Resources: []string{"deployments", "statefulsets"}, Verbs: []string{"get", "list", "watch"}},
			},
		},
		&rbacv1.ClusterRoleBinding{
			ObjectMeta: metav1.ObjectMeta{Name: "vigil:" + name, Labels: stack.Labels(name, "", "")},
			RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "vigil:" + name},
			Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: name, Namespace: ns}},
		},
	)
}
