package env

// Types of issue 14's logging additions; see schema/logging-extras.cue and
// schema/sizing.cue.

// Events are the Kubernetes events shipped to Elasticsearch.
type Events struct {
	Enabled   bool      `json:"enabled"`
	Retention string    `json:"retention"`
	Resources Resources `json:"resources"`
}

// Snapshots are the SLM snapshots of the log data streams to S3.
type Snapshots struct {
	Enabled     bool           `json:"enabled"`
	Bucket      string         `json:"bucket"`
	S3          *S3Endpoint    `json:"s3,omitempty"`
	BasePath    string         `json:"basePath"`
	Credentials *S3Credentials `json:"credentials,omitempty"`
	Schedule    string         `json:"schedule"`
	ExpireAfter string         `json:"expireAfter"`
	MinCount    int            `json:"minCount"`
	MaxCount    int            `json:"maxCount"`
	MaxAge      string         `json:"maxAge"`
}

// Sizing holds the inputs of `gen size`.
type Sizing struct {
	Nodes             int    `json:"nodes"`
	PodsPerNode       int    `json:"podsPerNode"`
	SeriesPerNode     int    `json:"seriesPerNode,omitempty"`
	LogVolumePerNode  string `json:"logVolumePerNode"`
	AuditVolume       string `json:"auditVolume"`
	EventVolume       string `json:"eventVolume"`
	IndexRatioPercent int    `json:"indexRatioPercent"`
}

// EventsEnabled reports whether Kubernetes events are shipped.
func (e *Environment) EventsEnabled() bool { return e.Logging.Enabled && e.Logging.Events.Enabled }

// SnapshotsEnabled reports whether Elasticsearch snapshots are taken.
func (e *Environment) SnapshotsEnabled() bool {
	return e.Logging.Enabled && e.Logging.Elasticsearch.Snapshots.Enabled
}
