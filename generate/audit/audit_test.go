package audit_test

import (
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	auditv1 "k8s.io/apiserver/pkg/apis/audit/v1"
	"sigs.k8s.io/yaml"

	"github.com/vigil-stack/vigil/generate/audit"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			var s stack.Set
			if err := audit.Generate(e, &s); err != nil {
				t.Fatal(err)
			}
			stacktest.Check(t, &s)
			if !e.AuditEnabled() {
				if n := len(s.Resources()); n != 0 {
					t.Errorf("audit off but %d objects", n)
				}
				return
			}
			stacktest.Golden(t, name, audit.Component, &s)
			cm := stacktest.FindNamed[*corev1.ConfigMap](t, &s, audit.Namespace, audit.ConfigMapName)
			file, err := audit.PolicyFile(e)
			if err != nil {
				t.Fatal(err)
			}
			if cm.Data[audit.PolicyKey] != string(file) {
				t.Error("the ConfigMap and the file for the nodes differ")
			}
			for _, f := range audit.APIServerFlags(e) {
				if !strings.Contains(cm.Data[audit.ReadmeKey], f) {
					t.Errorf("the README lacks %s", f)
				}
			}
		})
	}
}

// TestPolicy reads the policy file back strictly into the API server's own
// type and checks what it logs.
func TestPolicy(t *testing.T) {
	for _, level := range []string{"None", "Metadata", "Request", "RequestResponse"} {
		t.Run(level, func(t *testing.T) {
			e := stacktest.Example(t, "prod")
			e.Audit.Level = level
			file, err := audit.PolicyFile(e)
			if err != nil {
				t.Fatal(err)
			}
			var p auditv1.Policy
			if err := yaml.UnmarshalStrict(file, &p); err != nil {
				t.Fatalf("not an audit.k8s.io/v1 Policy: %v", err)
			}
			if p.APIVersion != "audit.k8s.io/v1" || p.Kind != "Policy" {
				t.Errorf("%s/%s", p.APIVersion, p.Kind)
			}
			if !slices.Equal(p.OmitStages, []auditv1.Stage{auditv1.StageRequestReceived}) {
				t.Errorf("omitStages %v", p.OmitStages)
			}
			last := p.Rules[len(p.Rules)-1]
			if string(last.Level) != level || len(last.Resources)+len(last.NonResourceURLs)+len(last.Users)+len(last.Verbs) != 0 {
				t.Errorf("the catch-all rule is %+v, want level %s for everything", last, level)
			}
			// The first rule that matches a request decides its level, as
			// in the API server.
			levelOf := func(group, resource, user string) auditv1.Level {
				for _, r := range p.Rules {
					if len(r.NonResourceURLs) > 0 || len(r.Verbs) > 0 || len(r.Namespaces) > 0 {
						continue
					}
					if len(r.Users) > 0 && !slices.Contains(r.Users, user) {
						continue
					}
					if len(r.UserGroups) > 0 {
						continue
					}
					if len(r.Resources) == 0 {
						return r.Level
					}
					for _, gr := range r.Resources {
						if gr.Group == group && slices.Contains(gr.Resources, resource) {
							return r.Level
						}
					}
				}
				t.Fatalf("no rule for %s/%s", group, resource)
				return ""
			}
			for _, gr := range [][2]string{{"", "secrets"}, {"", "configmaps"}, {"authentication.k8s.io", "tokenreviews"}} {
				if l := levelOf(gr[0], gr[1], "alice"); l != auditv1.LevelMetadata {
					t.Errorf("%s/%s logged at %s: their contents must never be logged", gr[0], gr[1], l)
				}
			}
			if l := levelOf("coordination.k8s.io", "leases", "alice"); l != auditv1.LevelNone {
				t.Errorf("leases logged at %s", l)
			}
			if l := levelOf("apps", "deployments", "alice"); string(l) != level {
				t.Errorf("deployments logged at %s, want %s", l, level)
			}
		})
	}
	e := stacktest.Example(t, "prod")
	e.Audit.Level = "Everything"
	if _, err := audit.Policy(e); err == nil {
		t.Error("an unknown level is accepted")
	}
}

func TestAPIServerFlags(t *testing.T) {
	e := stacktest.Example(t, "prod")
	flags := audit.APIServerFlags(e)
	for _, want := range []string{"--audit-policy-file=" + e.Audit.PolicyPath, "--audit-log-path=" + e.Audit.LogPath} {
		if !slices.Contains(flags, want) {
			t.Errorf("flags %v lack %s", flags, want)
		}
	}
	for _, prefix := range []string{"--audit-log-maxage=", "--audit-log-maxbackup=", "--audit-log-maxsize="} {
		if !slices.ContainsFunc(flags, func(f string) bool { return strings.HasPrefix(f, prefix) }) {
			t.Errorf("flags %v lack %s", flags, prefix)
		}
	}
}

func TestAuditNeedsLogging(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Logging.Enabled = false
	var s stack.Set
	if err := audit.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Resources()); n != 0 {
		t.Errorf("logging off: %d objects", n)
	}
}

// TestPolicyFileIsOneDocument feeds a path that would start a second YAML
// document, and one that is a plain path, through the only text written
// around the encoded policy: the first is refused, the second gives one
// document that decodes to the policy.
func TestPolicyFileIsOneDocument(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Audit.PolicyPath = "/etc/kubernetes/p.yaml\n---\napiVersion: audit.k8s.io/v1\nkind: Policy\nrules: [{level: None}]"
	if _, err := audit.PolicyFile(e); err == nil {
		t.Error("a path with a newline and a document separator is accepted")
	}
	e.Audit.PolicyPath = "/etc/kubernetes/audit-policy.yaml"
	b, err := audit.PolicyFile(e)
	if err != nil {
		t.Fatal(err)
	}
	if docs := strings.Count("\n"+string(b), "\n---"); docs != 0 {
		t.Errorf("the policy file holds %d document separators", docs)
	}
	var p auditv1.Policy
	if err := yaml.UnmarshalStrict(b, &p); err != nil || len(p.Rules) == 0 || p.Rules[len(p.Rules)-1].Level != auditv1.Level(e.Audit.Level) {
		t.Errorf("the policy file does not decode to the policy: %v", err)
	}
}
