package fluentbit_test

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"sigs.k8s.io/yaml"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/elasticsearch"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/fluentbit"
	"github.com/vigil-stack/vigil/generate/fluentd"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func readEventsConfig(t *testing.T, e *env.Environment, s *stack.Set) parsed {
	t.Helper()
	cm := stacktest.FindNamed[*corev1.ConfigMap](t, s, e.Logging.Namespace, fluentbit.EventsName)
	var p parsed
	if err := yaml.UnmarshalStrict([]byte(cm.Data["fluent-bit.yaml"]), &p); err != nil {
		t.Fatalf("the events configuration is not Fluent Bit YAML of the expected shape: %v", err)
	}
	return p
}

// TestEventsAgent checks the single events agent of every example: its
// properties against Fluent Bit's tables, its route to the events data
// stream, one replica that is never doubled, the RBAC it needs and
// nothing more, and that no node agent collects events too.
func TestEventsAgent(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			if !e.EventsEnabled() {
				t.Skip("events off")
			}
			s := generate(t, e)
			c := readEventsConfig(t, e, s)
			checkKeys(t, "service", c.Service, serviceKeys, nil)
			if len(c.Pipeline.Inputs) != 1 || c.Pipeline.Inputs[0]["name"] != "kubernetes_events" {
				t.Fatalf("inputs %v", c.Pipeline.Inputs)
			}
			in := c.Pipeline.Inputs[0]
			checkKeys(t, "input", in, inputKeys, pluginInputKeys)
			if len(c.Pipeline.Outputs) != 1 {
				t.Fatalf("outputs %v", c.Pipeline.Outputs)
			}
			o := c.Pipeline.Outputs[0]
			checkKeys(t, "output", o, outputKeys, pluginOutputKeys)
			if !glob(o["match"].(string), in["tag"].(string)) {
				t.Errorf("output matches %v, not the input's tag %v", o["match"], in["tag"])
			}
			st, ok := elasticsearch.StreamOf(e, elasticsearch.StreamEvents)
			if !ok {
				t.Fatal("no events stream")
			}
			if !e.FluentdEnabled() && (o["index"] != st.DataStream || o["write_operation"] != "create" || o["http_passwd"] != "${ES_PASSWORD}") {
				t.Errorf("events go to %v (%v), want data stream %s", o["index"], o["write_operation"], st.DataStream)
			}

			dep := stacktest.FindNamed[*appsv1.Deployment](t, s, e.Logging.Namespace, fluentbit.EventsName)
			if *dep.Spec.Replicas != 1 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("replicas %d strategy %s: two agents would ship every event twice", *dep.Spec.Replicas, dep.Spec.Strategy.Type)
			}
			pod := dep.Spec.Template.Spec
			db := in["db"].(string)
			var dbMounted bool
			for _, m := range pod.Containers[0].VolumeMounts {
				if strings.HasPrefix(db, m.MountPath+"/") && !m.ReadOnly {
					dbMounted = true
				}
			}
			if !dbMounted {
				t.Errorf("database %s is not on a writable mount", db)
			}
			if sc := pod.Containers[0].SecurityContext; sc == nil || !*sc.RunAsNonRoot || !*sc.ReadOnlyRootFilesystem {
				t.Errorf("the events agent reads no host file and needs no root: %+v", sc)
			}
			role := stacktest.FindNamed[*rbacv1.ClusterRole](t, s, "", fluentbit.EventsName)
			if len(role.Rules) != 1 || !slices.Equal(role.Rules[0].Resources, []string{"events"}) || !slices.Equal(role.Rules[0].Verbs, []string{"list", "watch"}) {
				t.Errorf("cluster role %+v", role.Rules)
			}
			if e.PrometheusEnabled() {
				sm := stacktest.FindNamed[*monitoringv1.ServiceMonitor](t, s, e.Logging.Namespace, fluentbit.EventsName)
				rc := sm.Spec.Endpoints[0].RelabelConfigs
				if len(rc) == 0 || rc[0].TargetLabel != "job" || *rc[0].Replacement != fluentbit.Name {
					t.Errorf("the events agent's series must carry job=%s for the Fluent Bit alerts: %+v", fluentbit.Name, rc)
				}
			}

			// The node agents collect no events.
			for _, in := range readConfig(t, e, s).Pipeline.Inputs {
				if in["name"] == "kubernetes_events" {
					t.Error("the DaemonSet collects events: once per node")
				}
			}
		})
	}
}

func TestEventsOff(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Events.Enabled = false
	s := generate(t, e)
	for _, r := range s.Resources() {
		if r.Object.GetName() == fluentbit.EventsName {
			t.Errorf("events off but %T %s generated", r.Object, r.Object.GetName())
		}
	}
	if _, ok := elasticsearch.StreamOf(e, elasticsearch.StreamEvents); ok {
		t.Error("events off but an events stream")
	}
}

func TestEventsThroughFluentd(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Agent.Fluentd.Enabled = true
	s := generate(t, e)
	c := readEventsConfig(t, e, s)
	o := c.Pipeline.Outputs[0]
	if o["name"] != "forward" || o["host"] != fluentd.Host(e) || !glob(o["match"].(string), fluentbit.EventsTag) {
		t.Errorf("events output with Fluentd: %v", o)
	}
	dep := stacktest.FindNamed[*appsv1.Deployment](t, s, e.Logging.Namespace, fluentbit.EventsName)
	if len(dep.Spec.Template.Spec.Containers[0].Env) != 0 {
		t.Errorf("the password is Fluentd's to use: %v", dep.Spec.Template.Spec.Containers[0].Env)
	}
}
