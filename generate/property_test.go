package generate_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/overlays"
)

// TestVariedEnvironmentsRoundTrip perturbs the examples at random
// (replicas, sizes, retention, components switched off) and compiles each
// variant against the base: Compile builds every overlay and fails unless
// it yields exactly the generated objects. Variants the Go checks refuse are
// skipped, as Load would refuse them.
func TestVariedEnvironmentsRoundTrip(t *testing.T) {
	b, err := generate.BaseEnvironment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	base, err := generate.Build(b.Spec)
	if err != nil {
		t.Fatal(err)
	}
	cases := 16
	if testing.Short() {
		cases = 4
	}
	rng := rand.New(rand.NewPCG(1, 2))
	compiled := 0
	for i := range cases {
		name := stacktest.ExampleNames[i%len(stacktest.ExampleNames)]
		e := stacktest.Example(t, name)
		perturb(rng, e)
		if issues := generate.Check(e); hasError(issues) {
			continue
		}
		s, err := generate.Build(e)
		if err != nil {
			t.Fatalf("case %d (%s): build: %v", i, name, err)
		}
		if _, err := overlays.Compile(context.Background(), base, []overlays.Environment{{Name: e.Name, Objects: s}}); err != nil {
			t.Fatalf("case %d (%s): %v", i, name, err)
		}
		compiled++
	}
	if compiled < cases/2 {
		t.Fatalf("only %d of %d variants were valid: the perturbation proves little", compiled, cases)
	}
}

func hasError(issues []env.Issue) bool {
	for _, is := range issues {
		if !is.Warning {
			return true
		}
	}
	return false
}

func perturb(rng *rand.Rand, e *env.Environment) {
	m := &e.Monitoring
	m.Prometheus.Replicas = 2 + rng.IntN(3)
	m.Alertmanager.Replicas = 2 + rng.IntN(2)
	m.Prometheus.Storage.Size = fmt.Sprintf("%dGi", 100+rng.IntN(900))
	m.Prometheus.RetentionSize = ""
	m.Prometheus.Retention = fmt.Sprintf("%dd", 1+rng.IntN(60))
	m.Grafana.Storage.Size = fmt.Sprintf("%dGi", 1+rng.IntN(50))
	m.Grafana.Enabled = rng.IntN(4) > 0
	m.NodeExporter.Enabled = rng.IntN(4) > 0
	m.KubeStateMetrics.Enabled = rng.IntN(4) > 0
	e.NodeProblemDetector.Enabled = rng.IntN(3) > 0
	e.Spark.Enabled = rng.IntN(3) > 0
	e.Logging.Agent.Fluentd.Enabled = rng.IntN(2) == 0
	e.Logging.Kibana.Replicas = 1 + rng.IntN(3)
	for n, ns := range e.Logging.Elasticsearch.NodeSets {
		ns.Storage.Size = fmt.Sprintf("%dGi", 10+rng.IntN(500))
		e.Logging.Elasticsearch.NodeSets[n] = ns
	}
	e.Tracing.Collector.Replicas = 1 + rng.IntN(3)
	e.Correlation.Exemplars = rng.IntN(2) == 0
}
