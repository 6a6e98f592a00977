package generate_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// TestLongTermSecretRefs: the SOPS checks and the cross-reference tests see
// the secret references of Thanos and remote write.
func TestLongTermSecretRefs(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Monitoring.RemoteWrite = env.RemoteWrites{"mimir": {BearerToken: &env.SecretRef{Secret: "mimir", Key: "token"}}}
	var paths []string
	for _, u := range generate.SecretRefs(e) {
		paths = append(paths, strings.Join(u.Path, "."))
	}
	for _, want := range []string{
		"monitoring.thanos.objectStorage.credentials.accessKeyId",
		"monitoring.thanos.objectStorage.credentials.secretAccessKey",
		"monitoring.remoteWrite.mimir.bearerToken",
	} {
		if !slices.Contains(paths, want) {
			t.Errorf("SecretRefs lacks %s: %v", want, paths)
		}
	}
	// Off, Thanos reads no Secret.
	e.Monitoring.Thanos.Enabled = false
	for _, u := range generate.SecretRefs(e) {
		if u.Path[0] == "monitoring" && u.Path[1] == "thanos" {
			t.Errorf("Thanos is off but %v is listed", u.Path)
		}
	}
}
