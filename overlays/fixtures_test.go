package overlays

import (
	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// Hand-built objects for the tests. Each call returns a fresh object, so a
// test may modify it.

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: stack.Labels(name, "", "")}}
}

func configMap(ns, name string, data map[string]string) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(name, "config", "")},
		Data:       data,
	}
}

func container(name, image string, args ...string) corev1.Container {
	return corev1.Container{
		Name:  name,
		Image: image,
		Args:  args,
		Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 8080, Protocol: corev1.ProtocolTCP}},
		Env: []corev1.EnvVar{
			{Name: "GOMAXPROCS", Value: "2"},
			{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		},
		Resources: corev1.ResourceRequirements{
			Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("128Mi")},
		},
		VolumeMounts: []corev1.VolumeMount{{Name: "tmp", MountPath: "/tmp"}},
	}
}

func deployment(ns, name string, replicas int32, args ...string) *appsv1.Deployment {
	sel := stack.SelectorLabels(name, "server")
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(name, "server", "v1.0.0")},
		Spec: appsv1.DeploymentSpec{
			Replicas: &replicas,
			Selector: &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: stack.Labels(name, "server", "v1.0.0")},
				Spec: corev1.PodSpec{
					ServiceAccountName: name,
					Containers:         []corev1.Container{container(name, "example.org/"+name+":v1.0.0", args...)},
					Volumes:            []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
		},
	}
}

func statefulSet(ns, name string, replicas int32, size string) *appsv1.StatefulSet {
	sel := stack.SelectorLabels(name, "database")
	c := container(name, "example.org/"+name+":v2.0.0", "--storage.path=/data")
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: "data", MountPath: "/data"})
	return &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(name, "database", "v2.0.0")},
		Spec: appsv1.StatefulSetSpec{
			Replicas:    &replicas,
			ServiceName: name,
			Selector:    &metav1.LabelSelector{MatchLabels: sel},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: stack.Labels(name, "database", "v2.0.0")},
				Spec: corev1.PodSpec{
					Containers: []corev1.Container{c},
					Volumes:    []corev1.Volume{{Name: "tmp", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}}},
				},
			},
			VolumeClaimTemplates: []corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: "data"},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(size)}},
				},
			}},
		},
	}
}

func service(ns, name string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(name, "server", "")},
		Spec: corev1.ServiceSpec{
			Selector: stack.SelectorLabels(name, "server"),
			Ports:    []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http"), Protocol: corev1.ProtocolTCP}},
		},
	}
}

func serviceMonitor(ns, name string, ports ...string) *monitoringv1.ServiceMonitor {
	sm := &monitoringv1.ServiceMonitor{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: stack.Labels(name, "monitor", "")},
		Spec: monitoringv1.ServiceMonitorSpec{
			Selector: metav1.LabelSelector{MatchLabels: stack.SelectorLabels(name, "server")},
		},
	}
	for _, p := range ports {
		sm.Spec.Endpoints = append(sm.Spec.Endpoints, monitoringv1.Endpoint{Port: p, Interval: "30s"})
	}
	return sm
}

// smallStack is the fixture of the golden test and the table tests' base:
// a namespace, a Deployment, a StatefulSet with a PVC template, a
// ServiceMonitor, ConfigMaps and an upstream CRD bundle.
func smallStack() *stack.Set {
	s := &stack.Set{}
	s.Add("monitoring", stack.Namespaces, namespace("monitoring"))
	s.Add("prometheus-operator", stack.Operators,
		deployment("monitoring", "prometheus-operator", 1, "--log-level=info", "--kubelet-service=kube-system/kubelet"),
		service("monitoring", "prometheus-operator"))
	s.Add("prometheus", stack.Instances,
		statefulSet("monitoring", "prometheus", 1, "10Gi"),
		service("monitoring", "prometheus"),
		configMap("monitoring", "prometheus-config", map[string]string{"retention": "15d"}))
	s.Add("prometheus", stack.Content, serviceMonitor("monitoring", "prometheus", "web", "reloader"))
	s.Add("alertmanager", stack.Instances,
		configMap("monitoring", "alertmanager-routes", map[string]string{"slack-channel": "#alerts", "repeat-interval": "4h"}))
	s.AddUpstream(stack.Upstream{
		Name: "prometheus-operator-crds", Component: "prometheus-operator", Layer: stack.CRDs,
		URL: "https://github.com/prometheus-operator/prometheus-operator", Tag: stack.PrometheusOperator.Version,
		Path: "./example/prometheus-operator-crd",
	})
	return s
}

// prodStack is smallStack as prod wants it: three replicas, more storage, its
// own Slack channel, one more ConfigMap, no operator Service.
func prodStack() *stack.Set {
	s := &stack.Set{}
	s.Add("monitoring", stack.Namespaces, namespace("monitoring"))
	s.Add("prometheus-operator", stack.Operators,
		deployment("monitoring", "prometheus-operator", 1, "--log-level=info", "--kubelet-service=kube-system/kubelet"))
	s.Add("prometheus", stack.Instances,
		statefulSet("monitoring", "prometheus", 3, "50Gi"),
		service("monitoring", "prometheus"),
		configMap("monitoring", "prometheus-config", map[string]string{"retention": "15d"}),
		configMap("monitoring", "prometheus-extra-scrape", map[string]string{"targets": "db-1:9100"}))
	s.Add("prometheus", stack.Content, serviceMonitor("monitoring", "prometheus", "web", "reloader"))
	s.Add("alertmanager", stack.Instances,
		configMap("monitoring", "alertmanager-routes", map[string]string{"slack-channel": "#alerts-prod", "repeat-interval": "4h"}))
	s.AddUpstream(stack.Upstream{
		Name: "prometheus-operator-crds", Component: "prometheus-operator", Layer: stack.CRDs,
		URL: "https://github.com/prometheus-operator/prometheus-operator", Tag: stack.PrometheusOperator.Version,
		Path: "./example/prometheus-operator-crd",
	})
	return s
}
