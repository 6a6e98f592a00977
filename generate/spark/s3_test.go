package spark_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"

	"github.com/vigil-stack/vigil/generate/spark"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
)

func TestEventLogDir(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		bucket, prefix, want, err string
	}{
		{"spark-history", "spark-events", "s3a://spark-history/spark-events/", ""},
		{"spark-history", "prod/spark-events", "s3a://spark-history/prod/spark-events/", ""},
		{"spark-history", "/prod//spark-events/", "s3a://spark-history/prod/spark-events/", ""},
		{"spark-history", "/", "s3a://spark-history/", ""},
		{"spark-history", "a/./b", "", `"." segment`},
		{"spark-history", "../b", "", `".." segment`},
		{"", "spark-events", "", "bucket is empty"},
	} {
		got, err := spark.EventLogDir(tc.bucket, tc.prefix)
		switch {
		case tc.err != "":
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("EventLogDir(%q, %q) error %v, want %q", tc.bucket, tc.prefix, err, tc.err)
			}
		case err != nil || got != tc.want:
			t.Errorf("EventLogDir(%q, %q) = %q, %v; want %q", tc.bucket, tc.prefix, got, err, tc.want)
		}
	}
}

func ExampleEventLogDir() {
	dir, _ := spark.EventLogDir("spark-history", "prod/spark-events")
	fmt.Println(dir)
	// Output: s3a://spark-history/prod/spark-events/
}

func TestS3AFor(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		spark, hadoop, sdk, provider string
	}{
		{"3.5.8", "3.3.4", "com.amazonaws:aws-java-sdk-bundle:1.12.262", "com.amazonaws.auth.EnvironmentVariableCredentialsProvider"},
		{"4.0.4", "3.4.1", "software.amazon.awssdk:bundle:2.24.6", "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"},
		{"4.1.2", "3.4.2", "software.amazon.awssdk:bundle:2.29.52", "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"},
	} {
		s, ok := spark.S3AFor(tc.spark)
		if !ok {
			t.Errorf("S3AFor(%s): unknown", tc.spark)
			continue
		}
		sdk := s.SDK.Group + ":" + s.SDK.Artifact + ":" + s.SDK.Version
		if s.Hadoop != tc.hadoop || sdk != tc.sdk || s.CredentialsProvider != tc.provider {
			t.Errorf("S3AFor(%s) = %+v", tc.spark, s)
		}
		if got := s.HadoopAWS().URL(); got != "https://repo1.maven.org/maven2/org/apache/hadoop/hadoop-aws/"+tc.hadoop+"/hadoop-aws-"+tc.hadoop+".jar" {
			t.Errorf("hadoop-aws URL %s", got)
		}
	}
	if _, ok := spark.S3AFor("3.4.4"); ok {
		t.Error("S3AFor knows Spark 3.4")
	}
	if got := spark.KnownLines(); !slices.Equal(got, []string{"3.5", "4.0", "4.1"}) {
		t.Errorf("KnownLines = %v", got)
	}
	if got := spark.Line("4.0.4"); got != "4.0" {
		t.Errorf("Line(4.0.4) = %q", got)
	}
}

// TestSparkImagesCoverLines: the History Server can run every pinned
// apache/spark image, and each known line has at least one.
func TestSparkImagesCoverLines(t *testing.T) {
	t.Parallel()
	if r, ok := stack.SparkRelease(stack.Spark.Version); !ok || r != stack.Spark {
		t.Errorf("SparkRelease(%s) = %v, %v; want the table's Spark", stack.Spark.Version, r, ok)
	}
	for _, line := range spark.KnownLines() {
		found := false
		for patch := range 20 {
			if _, ok := stack.SparkRelease(fmt.Sprintf("%s.%d", line, patch)); ok {
				found = true
			}
		}
		if !found {
			t.Errorf("no pinned apache/spark image of Spark %s", line)
		}
	}
	if _, ok := stack.SparkRelease("4.0.99"); ok {
		t.Error("an unpublished version is pinned")
	}
}

func TestHistorySettings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		maxAge  string
		maxNum  int
		enabled bool
		memory  string
		want    map[string]string
		heap    string
	}{
		{"weeks", "2w", 0, true, "2Gi", map[string]string{"spark.history.fs.cleaner.maxAge": "14d", "spark.history.fs.cleaner.enabled": "true"}, "1536m"},
		{"years and a count", "1y", 500, true, "1Gi", map[string]string{"spark.history.fs.cleaner.maxAge": "365d", "spark.history.fs.cleaner.maxNum": "500"}, "768m"},
		{"hours", "36h", 0, true, "1536Mi", map[string]string{"spark.history.fs.cleaner.maxAge": "36h"}, "1152m"},
		{"off", "7d", 10, false, "1Gi", map[string]string{"spark.history.fs.cleaner.enabled": "false", "spark.history.fs.cleaner.maxAge": "", "spark.history.fs.cleaner.maxNum": ""}, "768m"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := stacktest.Example(t, "staging")
			c := &e.Spark.HistoryServer.Cleaner
			c.Enabled, c.MaxAge, c.MaxNum = tc.enabled, tc.maxAge, tc.maxNum
			e.Spark.HistoryServer.Resources.Limits.Memory = tc.memory
			s := generate(t, e)
			p := configMapProps(t, s, "spark-operator", spark.HistoryServerName)
			for k, v := range tc.want {
				if p[k] != v {
					t.Errorf("%s = %q, want %q", k, p[k], v)
				}
			}
			d := stacktest.FindNamed[*appsv1.Deployment](t, s, "spark-operator", spark.HistoryServerName)
			for _, ev := range d.Spec.Template.Spec.Containers[0].Env {
				if ev.Name == "SPARK_DAEMON_MEMORY" && ev.Value != tc.heap {
					t.Errorf("SPARK_DAEMON_MEMORY = %s, want %s", ev.Value, tc.heap)
				}
			}
		})
	}
}
