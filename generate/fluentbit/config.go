package fluentbit

import (
	"fmt"

	"sigs.k8s.io/yaml"
)

// Config is a Fluent Bit configuration in its YAML format (Fluent Bit ≥
// 2.0; the file name must end in .yaml). Field names are Fluent Bit's own
// property names, which it reads case-insensitively; every property is a
// scalar except the lists of repeatable ones.
type Config struct {
	Service  Service  `json:"service"`
	Parsers  []Parser `json:"parsers,omitempty"`
	Pipeline Pipeline `json:"pipeline"`
}

// Service is the [SERVICE] section: engine, HTTP server and buffering.
type Service struct {
	// Flush is how often, in seconds, outputs are flushed.
	Flush int `json:"flush"`
	// Grace is how long, in seconds, Fluent Bit flushes on SIGTERM.
	Grace    int    `json:"grace"`
	LogLevel string `json:"log_level"`
	// The HTTP server serves /api/v2/metrics/prometheus.
	HTTPServer bool   `json:"http_server"`
	HTTPListen string `json:"http_listen"`
	HTTPPort   int    `json:"http_port"`
	// ParsersFile loads the parsers shipped in the image, so that pods can
	// name one in their fluentbit.io/parser annotation.
	ParsersFile string `json:"parsers_file,omitempty"`
	// StoragePath is where filesystem buffers live (a host path, so they
	// survive a restart of the pod).
	StoragePath            string `json:"storage.path"`
	StorageSync            string `json:"storage.sync"`
	StorageChecksum        bool   `json:"storage.checksum"`
	StorageBacklogMemLimit string `json:"storage.backlog.mem_limit"`
	StorageMetrics         bool   `json:"storage.metrics"`
}

// Parser is an entry of the parsers list.
type Parser struct {
	Name       string `json:"name"`
	Format     string `json:"format"`
	TimeKey    string `json:"time_key,omitempty"`
	TimeFormat string `json:"time_format,omitempty"`
	TimeKeep   bool   `json:"time_keep,omitempty"`
}

// Pipeline holds the inputs, filters and outputs; records flow from an
// input to every filter and output whose match pattern matches its tag.
type Pipeline struct {
	Inputs  []Input  `json:"inputs"`
	Filters []Filter `json:"filters,omitempty"`
	Outputs []Output `json:"outputs"`
}

// Input is an input plugin. The properties of the tail, systemd and
// kubernetes_events plugins share the struct; each is documented with its
// plugin.
type Input struct {
	Name string `json:"name"`
	// Alias names the input in metrics (the name label).
	Alias string `json:"alias,omitempty"`
	Tag   string `json:"tag"`
	// MemBufLimit pauses the input when its in-memory buffer reaches it.
	MemBufLimit string `json:"mem_buf_limit,omitempty"`
	// StorageType "filesystem" buffers chunks on disk under storage.path.
	StorageType string `json:"storage.type,omitempty"`

	// tail: files to read (a comma-separated list of globs).
	Path string `json:"path,omitempty"`
	// tail: the built-in multiline parsers that reassemble
	// container-runtime lines ("docker, cri").
	MultilineParser string `json:"multiline.parser,omitempty"`
	// tail: the parser of each line.
	Parser string `json:"parser,omitempty"`
	// tail, systemd: the database of read offsets (a host path, so that a
	// restarted pod neither re-reads nor skips); kubernetes_events: the
	// uids of the events already shipped.
	DB string `json:"db,omitempty"`
	// tail: lock the database; only this process uses it.
	DBLocking bool `json:"db.locking,omitempty"`
	// tail: skip lines longer than BufferMaxSize instead of stopping the file.
	SkipLongLines   bool   `json:"skip_long_lines,omitempty"`
	BufferMaxSize   string `json:"buffer_max_size,omitempty"`
	RefreshInterval int    `json:"refresh_interval,omitempty"`

	// kubernetes_events: how far back, at start, events are shipped (the
	// API server keeps them for an hour by default).
	KubeRetentionTime string `json:"kube_retention_time,omitempty"`

	// systemd: journal matches, OR-ed together.
	SystemdFilter []string `json:"systemd_filter,omitempty"`
	// systemd: start at the end of the journal when there is no offset.
	ReadFromTail bool `json:"read_from_tail,omitempty"`
	// systemd: drop the leading underscore of journal field names.
	StripUnderscores bool `json:"strip_underscores,omitempty"`
}

// Filter is a filter plugin; the properties are the kubernetes filter's.
type Filter struct {
	Name  string `json:"name"`
	Alias string `json:"alias,omitempty"`
	Match string `json:"match"`

	// KubeTagPrefix is what precedes the log file name in the tag.
	KubeTagPrefix string `json:"kube_tag_prefix,omitempty"`
	// MergeLog parses a JSON log line into fields under MergeLogKey.
	MergeLog    bool   `json:"merge_log,omitempty"`
	MergeLogKey string `json:"merge_log_key,omitempty"`
	// KeepLog keeps the raw line next to the parsed fields (default on).
	KeepLog *bool `json:"keep_log,omitempty"`
	// Labels and Annotations copy the pod's into the record.
	Labels      *bool `json:"labels,omitempty"`
	Annotations *bool `json:"annotations,omitempty"`
	// K8sLoggingParser lets a pod pick a parser with the
	// fluentbit.io/parser annotation; K8sLoggingExclude lets it opt out
	// with fluentbit.io/exclude.
	K8sLoggingParser  bool `json:"k8s-logging.parser,omitempty"`
	K8sLoggingExclude bool `json:"k8s-logging.exclude,omitempty"`
	// BufferSize bounds the API server's answer about a pod ("0" is no bound).
	BufferSize string `json:"buffer_size,omitempty"`
}

// Output is an output plugin. The properties of the es and forward
// plugins share the struct; each is documented with its plugin.
type Output struct {
	Name  string `json:"name"`
	Alias string `json:"alias,omitempty"`
	Match string `json:"match"`
	// RetryLimit is how often a chunk is retried (with exponential
	// backoff) before it is dropped.
	RetryLimit int `json:"retry_limit,omitempty"`
	// StorageTotalLimitSize bounds the filesystem buffer of this output;
	// past it the oldest chunks are dropped.
	StorageTotalLimitSize string `json:"storage.total_limit_size,omitempty"`
	Host                  string `json:"host"`
	Port                  int    `json:"port"`
	TLS                   bool   `json:"tls,omitempty"`
	TLSVerify             bool   `json:"tls.verify,omitempty"`
	TLSVerifyHostname     bool   `json:"tls.verify_hostname,omitempty"`
	TLSCAFile             string `json:"tls.ca_file,omitempty"`

	// es: the index or data stream written to.
	Index string `json:"index,omitempty"`
	// es: "create", the only operation a data stream accepts.
	WriteOperation string `json:"write_operation,omitempty"`
	// es: no _type in bulk requests (Elasticsearch ≥ 8 rejects it).
	SuppressTypeName bool `json:"suppress_type_name,omitempty"`
	// es: dots in field names become underscores, so that labels such as
	// app.kubernetes.io/name do not collide with object mappings.
	ReplaceDots bool   `json:"replace_dots,omitempty"`
	HTTPUser    string `json:"http_user,omitempty"`
	// es: the password, as ${ES_PASSWORD}, which Fluent Bit reads from its
	// environment; the value never enters the configuration.
	HTTPPasswd string `json:"http_passwd,omitempty"`
	// es: log the response of a failed bulk request.
	TraceError bool `json:"trace_error,omitempty"`

	// forward: wait for the receiver's acknowledgement before dropping a
	// chunk (at-least-once delivery).
	RequireAckResponse bool `json:"require_ack_response,omitempty"`
}

// Marshal renders the configuration as Fluent Bit YAML.
func (c *Config) Marshal() ([]byte, error) {
	b, err := yaml.Marshal(c)
	if err != nil {
		return nil, fmt.Errorf("fluent-bit config: %w", err)
	}
	return b, nil
}
