// Package platform is an example of a platform team's program on top of
// Vigil's Go API: it renders environments with one component of its own
// (an exporter's scrape configuration and ServiceMonitor) and one transform
// (a toleration on every workload, for nodes dedicated to monitoring), and
// reads its settings from the environment's extensions key.
package platform

import (
	"context"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the name of this platform's component: its base directory
// and Flux units are named after it.
const Component = "acme-exporter"

// Settings are this platform's fields of an environment, under
// extensions: acme: {...}.
type Settings struct {
	// Namespace the exporter runs in; Vigil's monitoring namespace by default.
	Namespace string `json:"namespace"`
	// Interval is the scrape interval.
	Interval string `json:"interval"`
	// Targets are the hosts the exporter probes.
	Targets []string `json:"targets"`
}

// Toleration lets every workload run on nodes tainted for monitoring.
var Toleration = corev1.Toleration{Key: "acme.example/dedicated", Operator: corev1.TolerationOpEqual, Value: "monitoring", Effect: corev1.TaintEffectNoSchedule}

// Options are what this platform adds to Vigil.
func Options() []generate.Option {
	return []generate.Option{
		generate.WithComponent(Component, exporter),
		generate.WithTransform("dedicated-nodes", tolerate),
	}
}

// Render is generate.Render with this platform's options.
func Render(ctx context.Context, sources []generate.Source) (*generate.Rendered, error) {
	return generate.Render(ctx, sources, Options()...)
}

func exporter(e *generate.Environment, s *stack.Set) error {
	// Vigil's default environment (the bases) has no extensions: the
	// defaults here are what every environment's overlay patches.
	cfg := Settings{Namespace: "monitoring", Interval: "30s"}
	if _, err := e.Extension("acme", &cfg); err != nil {
		return err
	}
	labels := map[string]string{"app.kubernetes.io/name": Component}
	targets := ""
	for _, t := range cfg.Targets {
		targets += t + "\n"
	}
	s.Add(Component, stack.Content,
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: Component + "-targets", Namespace: cfg.Namespace, Labels: labels},
			Data:       map[string]string{"targets.txt": targets},
		},
		&monitoringv1.ServiceMonitor{
			ObjectMeta: metav1.ObjectMeta{Name: Component, Namespace: cfg.Namespace, Labels: labels},
			Spec: monitoringv1.ServiceMonitorSpec{
				Selector:  metav1.LabelSelector{MatchLabels: labels},
				Endpoints: []monitoringv1.Endpoint{{Port: "metrics", Interval: monitoringv1.Duration(cfg.Interval)}},
			},
		},
	)
	return nil
}

// tolerate adds Toleration to the pod template of every workload.
func tolerate(_ *generate.Environment, r stack.Resource) error {
	var spec *corev1.PodSpec
	switch o := r.Object.(type) {
	case *appsv1.Deployment:
		spec = &o.Spec.Template.Spec
	case *appsv1.StatefulSet:
		spec = &o.Spec.Template.Spec
	case *appsv1.DaemonSet:
		spec = &o.Spec.Template.Spec
	case *batchv1.Job:
		spec = &o.Spec.Template.Spec
	}
	if spec == nil {
		return nil
	}
	for _, t := range spec.Tolerations {
		if t == Toleration {
			return nil
		}
	}
	spec.Tolerations = append(spec.Tolerations, Toleration)
	return nil
}
