package env

// RemoteWrites are the remote-write endpoints by name.
type RemoteWrites map[string]RemoteWrite

// RemoteWrite is one monitoring.remoteWrite endpoint; see schema
// #RemoteWrite.
type RemoteWrite struct {
	URL                 string           `json:"url"`
	RemoteTimeout       string           `json:"remoteTimeout"`
	BasicAuth           *BasicAuth       `json:"basicAuth,omitempty"`
	BearerToken         *SecretRef       `json:"bearerToken,omitempty"`
	SigV4               *SigV4           `json:"sigv4,omitempty"`
	Queue               RemoteWriteQueue `json:"queue"`
	WriteRelabelConfigs []RelabelConfig  `json:"writeRelabelConfigs"`
}

type BasicAuth struct {
	Username SecretRef `json:"username"`
	Password SecretRef `json:"password"`
}

type SigV4 struct {
	Region    string     `json:"region"`
	AccessKey *SecretRef `json:"accessKey,omitempty"`
	SecretKey *SecretRef `json:"secretKey,omitempty"`
	Profile   string     `json:"profile,omitempty"`
	RoleARN   string     `json:"roleArn,omitempty"`
}

type RemoteWriteQueue struct {
	Capacity          int    `json:"capacity,omitempty"`
	MinShards         int    `json:"minShards,omitempty"`
	MaxShards         int    `json:"maxShards,omitempty"`
	MaxSamplesPerSend int    `json:"maxSamplesPerSend,omitempty"`
	BatchSendDeadline string `json:"batchSendDeadline,omitempty"`
	MinBackoff        string `json:"minBackoff,omitempty"`
	MaxBackoff        string `json:"maxBackoff,omitempty"`
	RetryOnRateLimit  bool   `json:"retryOnRateLimit"`
}

type RelabelConfig struct {
	SourceLabels []string `json:"sourceLabels"`
	Separator    *string  `json:"separator,omitempty"`
	Regex        string   `json:"regex,omitempty"`
	TargetLabel  string   `json:"targetLabel,omitempty"`
	Replacement  *string  `json:"replacement,omitempty"`
	Modulus      int      `json:"modulus,omitempty"`
	Action       string   `json:"action"`
}

// Thanos is monitoring.thanos; see schema #Thanos.
type Thanos struct {
	Enabled       bool                  `json:"enabled"`
	ObjectStorage ThanosObjectStorage   `json:"objectStorage"`
	Retention     ThanosRetention       `json:"retention"`
	Downsampling  bool                  `json:"downsampling"`
	Sidecar       ThanosSidecar         `json:"sidecar"`
	Compactor     ThanosCompactor       `json:"compactor"`
	StoreGateway  ThanosStoreGateway    `json:"storeGateway"`
	Querier       ThanosQuerier         `json:"querier"`
	Observe       map[string]ThanosPeer `json:"observe"`
}

type ThanosObjectStorage struct {
	Bucket      string         `json:"bucket"`
	Prefix      string         `json:"prefix,omitempty"`
	S3          *S3Endpoint    `json:"s3,omitempty"`
	Credentials *S3Credentials `json:"credentials,omitempty"`
}

type ThanosRetention struct {
	Raw         string `json:"raw"`
	FiveMinutes string `json:"5m"`
	OneHour     string `json:"1h"`
}

type ThanosSidecar struct {
	Resources Resources `json:"resources"`
}

type ThanosCompactor struct {
	Storage   Volume    `json:"storage"`
	Resources Resources `json:"resources"`
}

type ThanosStoreGateway struct {
	Replicas  int       `json:"replicas"`
	Storage   Volume    `json:"storage"`
	Resources Resources `json:"resources"`
}

type ThanosQuerier struct {
	Replicas   int       `json:"replicas"`
	Resources  Resources `json:"resources"`
	ExposeGRPC bool      `json:"exposeGrpc"`
}

// ThanosPeer is another environment's StoreAPI an observer's querier asks.
type ThanosPeer struct {
	Address string `json:"address"`
}

// ThanosEnabled reports whether Thanos runs beside Prometheus.
func (e *Environment) ThanosEnabled() bool {
	return e.PrometheusEnabled() && e.Monitoring.Thanos.Enabled
}
