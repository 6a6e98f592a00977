package generate

import (
	"testing"

	"github.com/vigil-stack/vigil/generate/env"
)

// The event log credentials are a prerequisite of every job namespace only
// when every job logs events; with eventLog.jobs "opt-in", jobs start
// without them, so no gate waits for them there.
func TestEventLogCredentialsGateOnlyWhenAllJobsLog(t *testing.T) {
	for _, mode := range []string{env.EventLogAllJobs, env.EventLogOptIn} {
		e := &env.Environment{Spark: env.Spark{
			Enabled:  true,
			Operator: env.SparkOperator{JobNamespaces: []string{"jobs-a"}},
			HistoryServer: env.SparkHistory{
				Enabled:  true,
				EventLog: env.EventLog{Jobs: mode},
				Credentials: env.S3Credentials{
					AccessKeyID:     env.SecretRef{Secret: "spark-s3", Key: "id"},
					SecretAccessKey: env.SecretRef{Secret: "spark-s3", Key: "secret"},
				},
			},
		}}
		gated := 0
		for _, p := range Prerequisites(e) {
			if p.Namespace == "jobs-a" {
				gated++
			}
		}
		if want := map[string]int{env.EventLogAllJobs: 2, env.EventLogOptIn: 0}[mode]; gated != want {
			t.Errorf("%s: %d prerequisites in the job namespace, want %d", mode, gated, want)
		}
	}
}
