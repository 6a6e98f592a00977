package spark_test

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/spark"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

// With eventLog.jobs "opt-in", the jobs' defaults keep the event log
// directory and S3A settings but leave logging off and name no Secret;
// with "all" (the default) they turn it on with the credentials.
func TestEventLogOptIn(t *testing.T) {
	for _, mode := range []string{env.EventLogAllJobs, env.EventLogOptIn} {
		e := stacktest.Example(t, "prod")
		e.Spark.HistoryServer.EventLog.Jobs = mode
		s := generate(t, e)
		for _, ns := range append([]string{spark.OperatorNamespace(e)}, e.Spark.Operator.JobNamespaces...) {
			p := configMapProps(t, s, ns, spark.SparkDefaultsConfigMap)
			refs := 0
			for k := range p {
				if strings.Contains(k, "secretKeyRef") {
					refs++
				}
			}
			wantOn, wantRefs := "true", 4
			if mode == env.EventLogOptIn {
				wantOn, wantRefs = "false", 0
			}
			if p["spark.eventLog.enabled"] != wantOn || refs != wantRefs {
				t.Errorf("%s, %s: spark.eventLog.enabled = %q with %d secretKeyRefs, want %s with %d", mode, ns, p["spark.eventLog.enabled"], refs, wantOn, wantRefs)
			}
			if p["spark.eventLog.dir"] == "" || p["spark.hadoop.fs.s3a.endpoint"] == "" {
				t.Errorf("%s, %s: the event log directory and S3A settings are missing", mode, ns)
			}
		}
	}
}

// The S3A jars come from Maven Central, a Maven mirror or an image of the
// platform's; with a mirror registry and none of the last two, generating
// is refused.
func TestS3AJarSources(t *testing.T) {
	init0 := func(e *env.Environment) (string, []string, error) {
		s := &stack.Set{}
		if err := spark.Generate(e, s); err != nil {
			return "", nil, err
		}
		for _, r := range s.Resources() {
			if d, ok := r.Object.(*appsv1.Deployment); ok && d.Name == spark.HistoryServerName {
				c := d.Spec.Template.Spec.InitContainers[0]
				return c.Image, append(c.Command, c.Args...), nil
			}
		}
		t.Fatal("no History Server Deployment")
		return "", nil, nil
	}
	e := stacktest.Example(t, "prod")
	_, cmd, err := init0(e)
	if err != nil || !strings.Contains(strings.Join(cmd, " "), "https://repo1.maven.org/maven2/org/apache/hadoop/hadoop-aws/") {
		t.Errorf("default: %v %v", cmd, err)
	}
	e.Spark.HistoryServer.S3AJars.MirrorURL = "https://nexus.example.com/repository/maven-central/"
	_, cmd, err = init0(e)
	if err != nil || !strings.Contains(strings.Join(cmd, " "), "https://nexus.example.com/repository/maven-central/org/apache/hadoop/hadoop-aws/") || strings.Contains(strings.Join(cmd, " "), "repo1.maven.org/maven2/org") {
		t.Errorf("mirrorUrl: %v %v", cmd, err)
	}
	e.Spark.HistoryServer.S3AJars = env.S3AJars{Image: "registry.example.com/acme/s3a:1", Path: "/jars"}
	img, cmd, err := init0(e)
	if err != nil || img != "registry.example.com/acme/s3a:1" || cmd[len(cmd)-1] != "/jars" {
		t.Errorf("image: %s %v %v", img, cmd, err)
	}
	e.Spark.HistoryServer.S3AJars.MirrorURL = "https://nexus.example.com/x"
	if _, _, err := init0(e); err == nil || !strings.Contains(err.Error(), "not both") {
		t.Errorf("image and mirrorUrl: %v", err)
	}
	e.Spark.HistoryServer.S3AJars = env.S3AJars{Path: "/jars"}
	e.Images.Registry = "mirror.example.com"
	if _, _, err := init0(e); err == nil || !strings.Contains(err.Error(), "s3aJars.image") {
		t.Errorf("mirror without a jar source: %v", err)
	}
}
