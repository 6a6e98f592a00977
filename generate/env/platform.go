package env

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Images is where the cluster pulls images from; see schema/platform.cue.
type Images struct {
	// Registry is the mirror every image is rewritten to, "" for the
	// upstream registries.
	Registry string `json:"registry,omitempty"`
}

// SOPS configures the decryption of the environment's sops: files.
type SOPS struct {
	KeySecret string `json:"keySecret"`
}

// Extensions holds the fields of a platform's own generators, by key, as
// CUE exported them; Vigil never reads them.
type Extensions map[string]any

// Decode decodes the extension under key into v, strictly: a field v does
// not have is an error, so that a typo in the environment is not ignored.
// A missing key leaves v unchanged and returns false.
func (x Extensions) Decode(key string, v any) (bool, error) {
	val, ok := x[key]
	if !ok {
		return false, nil
	}
	raw, err := json.Marshal(val)
	if err != nil {
		return true, fmt.Errorf("extensions.%s: %w", key, err)
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return true, fmt.Errorf("extensions.%s: %w", key, err)
	}
	return true, nil
}

// Platform is the part of Environment that schema/platform.cue declares,
// embedded so that its fields sit at the top level like the schema's.
type Platform struct {
	Images     Images     `json:"images"`
	Sources    Sources    `json:"sources"`
	SOPS       SOPS       `json:"sops"`
	Extensions Extensions `json:"extensions"`
}

// Sources are mirrors of the upstream sources Flux fetches; see
// schema/platform.cue. Empty: the upstream URLs.
type Sources struct {
	GitHub        string `json:"github,omitempty"`
	ElasticCharts string `json:"elasticCharts,omitempty"`
}

// S3AJars is where the History Server gets hadoop-aws and the AWS SDK
// bundle; see schema/platform.cue. Both empty: Maven Central.
type S3AJars struct {
	Image     string `json:"image,omitempty"`
	Path      string `json:"path"`
	MirrorURL string `json:"mirrorUrl,omitempty"`
}

// Values of spark.historyServer.eventLog.jobs.
const (
	EventLogAllJobs = "all"
	EventLogOptIn   = "opt-in"
)

// SparkJobsLogEvents reports whether every Spark job logs events to S3 by
// default (the operator's spark-defaults), rather than only the
// applications that opt in.
func (e *Environment) SparkJobsLogEvents() bool {
	return e.SparkHistoryEnabled() && e.Spark.HistoryServer.EventLog.Jobs != EventLogOptIn
}
