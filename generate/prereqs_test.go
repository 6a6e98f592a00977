package generate

import (
	"reflect"
	"testing"

	"github.com/vigil-stack/vigil/generate/env"
)

// Every {secret, key} of the environment becomes a prerequisite, merged by
// Secret with its keys and where it is referenced; the prerequisites section
// adds the rest.
func TestPrerequisites(t *testing.T) {
	e := &env.Environment{
		Storage: env.Storage{PureSecret: &env.SecretRef{Secret: "px-pure-secret", Key: "pure.json"}},
		Tracing: env.Tracing{Tempo: env.Tempo{Credentials: &env.S3Credentials{
			AccessKeyID:     env.SecretRef{Secret: "tempo-s3", Key: "id"},
			SecretAccessKey: env.SecretRef{Secret: "tempo-s3", Key: "secret"},
		}}},
		Prerequisites: env.Prerequisites{
			Secrets:        map[string]map[string]env.PrerequisiteSecret{"vault": {"root": {Keys: []string{"token"}, NeededBy: []string{"grafana"}}}},
			CSIDrivers:     map[string]env.PrerequisiteUse{"ebs.csi.aws.com": {}},
			IngressClasses: map[string]env.PrerequisiteUse{"internal": {NeededBy: []string{"kibana"}}},
		},
	}
	var got []string
	for _, p := range Prerequisites(e) {
		got = append(got, p.String()+" from "+p.Source+" needed by "+joinAll(p.NeededBy))
	}
	want := []string{
		"Secret portworx/px-pure-secret (key pure.json) from storage.pureSecret needed by storage",
		"Secret tempo-s3 (keys id, secret) from tracing.tempo.credentials.accessKeyId, tracing.tempo.credentials.secretAccessKey needed by ",
		"Secret vault/root (key token) from prerequisites.secrets.vault.root needed by grafana",
		`CSIDriver ebs.csi.aws.com from prerequisites.csiDrivers."ebs.csi.aws.com" needed by `,
		"IngressClass internal from prerequisites.ingressClasses.internal needed by kibana",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
}

func joinAll(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += ","
		}
		out += x
	}
	return out
}
