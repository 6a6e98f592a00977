package alertmanager_test

import (
	"encoding/json"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"
	monitoringv1alpha1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1alpha1"

	"github.com/vigil-stack/vigil/generate/alertmanager"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := alertmanager.Generate(e, &s); err != nil {
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
			stacktest.Golden(t, name, alertmanager.Component, s)
			for _, r := range s.Resources() {
				// The AlertmanagerConfig too: the operator does not
				// reconcile an Alertmanager whose configuration is missing.
				if r.Layer != stack.Instances {
					t.Errorf("%T %s in layer %s, want instances", r.Object, r.Object.GetName(), r.Layer)
				}
			}
		})
	}
}

func TestAlertmanagerSpecProd(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	am := stacktest.FindNamed[*monitoringv1.Alertmanager](t, s, "monitoring", alertmanager.Name).Spec
	if *am.Replicas != 3 || am.Retention != "120h" {
		t.Errorf("replicas %d retention %s", *am.Replicas, am.Retention)
	}
	if *am.Image != stack.Alertmanager.Ref() || am.Version != stack.Alertmanager.Version {
		t.Errorf("image %s version %s", *am.Image, am.Version)
	}
	pvc := am.Storage.VolumeClaimTemplate.Spec
	if *pvc.StorageClassName != "vigil-block" || pvc.Resources.Requests.Storage().String() != "5Gi" {
		t.Errorf("claim %s %s", *pvc.StorageClassName, pvc.Resources.Requests.Storage())
	}
	if am.Resources.Requests.Cpu().IsZero() || am.Resources.Limits.Memory().IsZero() {
		t.Errorf("resources %v", am.Resources)
	}
	if c := am.AlertmanagerConfiguration; c == nil || c.Name != alertmanager.ConfigName {
		t.Errorf("alertmanagerConfiguration %+v", c)
	}
	// No other AlertmanagerConfig may add routes, and nothing is mounted:
	// the operator reads the webhooks itself.
	if am.AlertmanagerConfigSelector != nil || am.AlertmanagerConfigNamespaceSelector != nil || len(am.Secrets) != 0 || am.ConfigSecret != "" {
		t.Errorf("selector %v ns selector %v secrets %v configSecret %q",
			am.AlertmanagerConfigSelector, am.AlertmanagerConfigNamespaceSelector, am.Secrets, am.ConfigSecret)
	}
	for k, v := range alertmanager.PodSelector() {
		if am.PodMetadata.Labels[k] != v {
			t.Errorf("pod label %s=%q, the operator sets %q", k, am.PodMetadata.Labels[k], v)
		}
	}
}

// The webhook URLs are only ever Secret references, in the
// AlertmanagerConfig's namespace as the operator requires.
func TestSlackWebhooksAreReferences(t *testing.T) {
	e := stacktest.Example(t, "prod")
	s := generate(t, e)
	if n := len(stacktest.Find[*corev1.Secret](s)); n != 0 {
		t.Errorf("%d Secrets emitted", n)
	}
	amc := stacktest.FindNamed[*monitoringv1alpha1.AlertmanagerConfig](t, s, "monitoring", alertmanager.ConfigName)
	got := map[string]string{}
	for _, r := range amc.Spec.Receivers {
		for _, sc := range r.SlackConfigs {
			got[r.Name] = sc.APIURL.Name + "/" + sc.APIURL.Key + " " + *sc.Channel
		}
	}
	want := map[string]string{
		"platform-alerts": "alertmanager-slack/platform-webhook #platform-alerts",
		"spark-alerts":    "alertmanager-slack/spark-webhook #spark-alerts",
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("slack configs (-want +got):\n%s", d)
	}
	b, _ := json.Marshal(amc)
	if json.Valid(b) && containsURL(string(b)) {
		t.Errorf("the AlertmanagerConfig contains a URL: %s", b)
	}
}

func containsURL(s string) bool {
	for _, p := range []string{"http://", "https://", "hooks.slack.com"} {
		if len(s) > 0 && contains(s, p) {
			return true
		}
	}
	return false
}

func contains(s, sub string) bool {
	for i := 0; i+len(sub) <= len(s); i++ {
		if s[i:i+len(sub)] == sub {
			return true
		}
	}
	return false
}

func TestPodDisruptionBudget(t *testing.T) {
	for _, c := range []struct {
		env  string
		want int
	}{{"prod", 1}, {"staging", 0}} {
		s := generate(t, stacktest.Example(t, c.env))
		pdbs := stacktest.Find[*policyv1.PodDisruptionBudget](s)
		if len(pdbs) != c.want {
			t.Fatalf("%s: %d PDBs, want %d", c.env, len(pdbs), c.want)
		}
		for _, p := range pdbs {
			// minAvailable < replicas: one at a time may go.
			if p.Spec.MaxUnavailable.IntValue() != 1 || p.Spec.MinAvailable != nil {
				t.Errorf("%s: PDB %+v", c.env, p.Spec)
			}
		}
	}
}

func TestNetworkPolicy(t *testing.T) {
	s := generate(t, stacktest.Example(t, "prod"))
	np := stacktest.FindNamed[*networkingv1.NetworkPolicy](t, s, "monitoring", alertmanager.ServiceName)
	got := map[string][]string{}
	for _, in := range np.Spec.Ingress {
		for _, f := range in.From {
			for _, p := range in.Ports {
				k := f.PodSelector.MatchLabels[stack.LabelName]
				got[k] = append(got[k], string(*p.Protocol)+"/"+p.Port.String())
			}
		}
	}
	want := map[string][]string{
		"prometheus":   {"TCP/9093", "TCP/8080"},
		"alertmanager": {"TCP/9094", "UDP/9094"},
		"grafana":      {"TCP/9093"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("ingress (-want +got):\n%s", d)
	}
}

func TestGoDuration(t *testing.T) {
	for in, want := range map[string]monitoringv1.GoDuration{
		"120h": "120h", "5d": "120h", "1w": "168h", "90m": "1h30m", "30s": "30s", "1500ms": "1s500ms", "0s": "0",
	} {
		got, err := alertmanager.GoDuration(in)
		if err != nil || got != want {
			t.Errorf("GoDuration(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	if _, err := alertmanager.GoDuration("soon"); err == nil {
		t.Error("GoDuration(soon): no error")
	}
}

func TestReservedReceiverName(t *testing.T) {
	e := stacktest.Example(t, "dev")
	e.Monitoring.Alertmanager.Slack.Receivers[alertmanager.NullReceiver] = env.SlackReceiver{Channel: "#x", Webhook: env.SecretRef{Secret: "s", Key: "k"}}
	var s stack.Set
	if err := alertmanager.Generate(e, &s); err == nil {
		t.Error("a Slack receiver named null was accepted")
	}
}

func TestDisabled(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.Enabled = false
	if n := len(generate(t, e).Resources()); n != 0 {
		t.Errorf("monitoring disabled: %d objects", n)
	}
}
