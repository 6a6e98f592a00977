package spark

import (
	"sort"
	"strings"
)

// MavenArtifact is one jar on Maven Central.
type MavenArtifact struct {
	Group, Artifact, Version string
}

// mavenCentral is where the History Server fetches the S3A jars; apache/spark
// images do not ship them.
const mavenCentral = "https://repo1.maven.org/maven2"

// URL is the artifact's jar on Maven Central. Maven publishes a .sha1 file
// next to it, which the download verifies.
func (a MavenArtifact) URL() string { return a.URLIn(mavenCentral) }

// URLIn is the artifact's jar in a Maven repository with Maven Central's
// layout (a proxy or mirror of it).
func (a MavenArtifact) URLIn(repository string) string {
	return strings.TrimSuffix(repository, "/") + "/" + strings.ReplaceAll(a.Group, ".", "/") + "/" + a.Artifact + "/" + a.Version +
		"/" + a.Artifact + "-" + a.Version + ".jar"
}

// S3A is what one Spark line needs to read and write s3a:// paths: the
// hadoop-aws jar of exactly the Hadoop that Spark bundles, and the AWS SDK
// bundle that hadoop-aws was built against. Hadoop's S3A troubleshooting
// guide forbids mixing versions of hadoop-aws, hadoop-common and the SDK.
type S3A struct {
	// Hadoop is the Hadoop version bundled with Spark; hadoop-aws must equal it.
	Hadoop string
	// SDK is the AWS SDK bundle hadoop-aws depends on: the SDK v1
	// aws-java-sdk-bundle up to Hadoop 3.3, the SDK v2 bundle from 3.4.
	SDK MavenArtifact
	// CredentialsProvider reads AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
	// from the environment; its class lives in the SDK, so it changes with
	// the SDK major.
	CredentialsProvider string
}

// HadoopAWS is the hadoop-aws artifact of the line.
func (s S3A) HadoopAWS() MavenArtifact {
	return MavenArtifact{"org.apache.hadoop", "hadoop-aws", s.Hadoop}
}

// Jars are the two jars to put on the classpath, hadoop-aws first.
func (s S3A) Jars() []MavenArtifact { return []MavenArtifact{s.HadoopAWS(), s.SDK} }

const (
	envProviderV1 = "com.amazonaws.auth.EnvironmentVariableCredentialsProvider"
	envProviderV2 = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
)

// s3aOfLine is the one table of S3A classpaths, keyed by Spark line
// ("major.minor"). The History Server reads it through S3AFor, and so should
// the validation rule on spark.version and hadoopAwsVersion
// (generate/check.go), so that the two cannot disagree.
//
// Where the versions come from: the Hadoop of each line is the one
// generate/check.go already required (Spark 3.5 → 3.3.4, 4.0 → 3.4.1,
// 4.1 → 3.4.2). The SDK versions are the hadoop-project POM properties of that
// Hadoop release: aws-java-sdk.version 1.12.262 (3.3.4) and
// aws-java-sdk-v2.version 2.24.6 (3.4.1), as quoted from
// hadoop-project-3.3.4.pom and hadoop-project-3.4.1.pom; 2.29.52 (3.4.2) is
// what several independent build files pair with hadoop-aws 3.4.2. None of the
// three POMs could be read directly here.
var s3aOfLine = map[string]S3A{
	"3.5": {Hadoop: "3.3.4", SDK: MavenArtifact{"com.amazonaws", "aws-java-sdk-bundle", "1.12.262"}, CredentialsProvider: envProviderV1},
	"4.0": {Hadoop: "3.4.1", SDK: MavenArtifact{"software.amazon.awssdk", "bundle", "2.24.6"}, CredentialsProvider: envProviderV2},
	"4.1": {Hadoop: "3.4.2", SDK: MavenArtifact{"software.amazon.awssdk", "bundle", "2.29.52"}, CredentialsProvider: envProviderV2},
}

// Line is the "major.minor" of a Spark version ("4.0.4" → "4.0").
func Line(version string) string {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return version
	}
	return parts[0] + "." + parts[1]
}

// S3AFor returns the S3A classpath of a Spark version's line, and false for
// a line Vigil does not know.
func S3AFor(sparkVersion string) (S3A, bool) {
	s, ok := s3aOfLine[Line(sparkVersion)]
	return s, ok
}

// KnownLines lists the Spark lines S3AFor knows, in order.
func KnownLines() []string {
	lines := make([]string, 0, len(s3aOfLine))
	for l := range s3aOfLine {
		lines = append(lines, l)
	}
	sort.Strings(lines)
	return lines
}
