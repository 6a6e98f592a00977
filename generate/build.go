package generate

import (
	"context"
	_ "embed"
	"fmt"
	"testing/fstest"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/audit"
	"github.com/vigil-stack/vigil/generate/blackbox"
	"github.com/vigil-stack/vigil/generate/controlplane"
	"github.com/vigil-stack/vigil/generate/correlation"
	"github.com/vigil-stack/vigil/generate/dashboards"
	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentbit"
	"github.com/vigil-stack/vigil/generate/fluentd"
	"github.com/vigil-stack/vigil/generate/grafana"
	"github.com/vigil-stack/vigil/generate/kubestatemetrics"
	"github.com/vigil-stack/vigil/generate/namespaces"
	"github.com/vigil-stack/vigil/generate/nodeexporter"
	"github.com/vigil-stack/vigil/generate/npd"
	"github.com/vigil-stack/vigil/generate/prometheus"
	"github.com/vigil-stack/vigil/generate/prometheusoperator"
	"github.com/vigil-stack/vigil/generate/pureexporter"
	"github.com/vigil-stack/vigil/generate/rules"
	"github.com/vigil-stack/vigil/generate/spark"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/storage"
	"github.com/vigil-stack/vigil/generate/thanos"
	"github.com/vigil-stack/vigil/generate/tracing"
)

// component is one generator of the stack, in the order Build runs them.
type component struct {
	name     string
	generate func(*env.Environment, *stack.Set) error
}

// components lists every generator. Order does not matter for the output
// (a Set sorts itself) but keeps error messages predictable.
var components = []component{
	{"namespaces", namespaces.Generate},
	{"storage", storage.Generate},
	{"prometheus-operator", prometheusoperator.Generate},
	{"prometheus", prometheus.Generate},
	{"thanos", thanos.Generate},
	{"alertmanager", alertmanager.Generate},
	{"prometheus-rules", rules.Generate},
	{"grafana", generateGrafana},
	{"node-exporter", nodeexporter.Generate},
	{"kube-state-metrics", kubestatemetrics.Generate},
	{"control-plane", controlplane.Generate},
	{"node-problem-detector", npd.Generate},
	{"spark", spark.Generate},
	{"elasticsearch", elasticsearch.Generate},
	{"fluent-bit", fluentbit.Generate},
	{"fluentd", fluentd.Generate},
	{"audit", audit.Generate},
	{"pure-exporter", pureexporter.Generate},
	{"tracing", tracing.Generate},
	{"dashboards", dashboards.Generate},
	// Last: it probes the Ingresses the components above rendered.
	{"blackbox-exporter", blackbox.Generate},
}

// generateGrafana gives Grafana the datasources that correlate metrics,
// logs and traces, and the dashboards.
func generateGrafana(e *env.Environment, s *stack.Set) error {
	ds, err := correlation.Datasources(e)
	if err != nil {
		return err
	}
	return grafana.GenerateWith(e, s, grafana.Options{Datasources: ds, Dashboards: dashboards.List(e)})
}

// Build generates the typed objects of every enabled component of a valid
// environment, moves their images to the environment's mirror registry, and
// marks the ones Flux may replace when an immutable field changes
// (overlays.MarkReplaceable), whichever component made them. Render does
// the same plus the extensions of its options (extension.go).
func Build(e *env.Environment) (*stack.Set, error) {
	return (*options)(nil).build(&Environment{Spec: e})
}

func buildComponents(e *env.Environment) (*stack.Set, error) {
	s := &stack.Set{}
	for _, c := range components {
		if err := c.generate(e, s); err != nil {
			return nil, fmt.Errorf("generate %s: %w", c.name, err)
		}
	}
	return s, nil
}

//go:embed baseenv/env.cue
var baseEnvironment []byte

// BaseEnvironment is Vigil's default environment with every component on;
// its objects are the kustomize bases every environment patches.
func BaseEnvironment(ctx context.Context) (*Environment, error) {
	fsys := fstest.MapFS{"environments/base/env.cue": {Data: baseEnvironment}}
	e, err := LoadFS(ctx, fsys, "environments/base")
	if err != nil {
		return nil, fmt.Errorf("base environment: %w", err)
	}
	return e, nil
}
