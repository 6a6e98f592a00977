package generate

import (
	"context"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-stack/vigil"
	"github.com/vigil-stack/vigil/generate/env"
)

// The loader backstop refuses on its own what Alertmanager refuses: with
// the Go duration check taken out, a zero group interval is still refused,
// at its field, with Alertmanager's words; a valid environment passes.
func TestAlertmanagerLoaderIsTheBackstop(t *testing.T) {
	base, err := LoadFS(context.Background(), vigil.Examples, "environments/dev")
	if err != nil {
		t.Fatal(err)
	}
	if issues := checkAlertmanagerLoads(base.Spec); len(issues) > 0 {
		t.Fatalf("the example is refused: %v", issues)
	}
	saved := checks
	t.Cleanup(func() { checks = saved })
	i := slices.IndexFunc(checks, func(r rule) bool { return reflect.ValueOf(r).Pointer() == reflect.ValueOf(checkDurations).Pointer() })
	if i < 0 {
		t.Fatal("checkDurations is not a rule")
	}
	checks = slices.Delete(slices.Clone(checks), i, i+1)

	spec := *base.Spec
	spec.Monitoring.Alertmanager.GroupInterval = "0s"
	var got []env.Issue
	for _, is := range Check(&spec) {
		if !is.Warning {
			got = append(got, is)
		}
	}
	if len(got) != 1 || env.PathString(got[0].Path) != "monitoring.alertmanager.groupInterval" ||
		!strings.Contains(got[0].Message, "group_interval cannot be zero") {
		t.Errorf("zero group interval without the Go check: %v, want Alertmanager's refusal at monitoring.alertmanager.groupInterval", got)
	}
}
