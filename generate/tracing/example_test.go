package tracing_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/tracing"
)

// Applications send OTLP to the collector; Grafana queries the backend.
func ExampleCollectorEndpoint() {
	e := &env.Environment{Tracing: env.Tracing{Enabled: true, Namespace: "tracing", Backend: env.BackendTempo}}
	fmt.Println(tracing.CollectorEndpoint(e))
	fmt.Println(tracing.BackendURL(e))
	// Output:
	// http://otel-collector.tracing.svc:4317
	// http://tempo.tracing.svc:3200
}
