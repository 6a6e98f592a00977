package generate_test

import (
	"context"
	"testing"

	"github.com/vigil-stack/vigil/generate"
)

func TestBaseEnvironmentEnablesEverything(t *testing.T) {
	e, err := generate.BaseEnvironment(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	s := e.Spec
	for what, on := range map[string]bool{
		"prometheus": s.PrometheusEnabled(), "grafana": s.GrafanaEnabled(), "npd": s.NodeProblemDetector.Enabled,
		"spark history": s.SparkHistoryEnabled(), "kibana": s.KibanaEnabled(), "fluentd": s.FluentdEnabled(),
		"audit": s.AuditEnabled(), "pure exporter": s.PureExporterEnabled(), "tracing": s.Tracing.Enabled,
		"thanos": s.ThanosEnabled(),
	} {
		if !on {
			t.Errorf("the base environment must enable %s, or its base would be missing", what)
		}
	}
	if len(e.Warnings) > 0 {
		t.Errorf("base environment warnings: %v", e.Warnings)
	}
}
