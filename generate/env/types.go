// Package env holds the Go form of a Vigil environment: the types that the
// CUE schema (package schema) decodes into. Every generator reads only these
// types. A test walks #Environment and these structs side by side, so the two
// cannot drift.
package env

// Environment is one validated, concrete environment. See
// schema/environment.cue for what each field means.
type Environment struct {
	Name                string              `json:"name"`
	Tier                string              `json:"tier"`
	Strict              bool                `json:"strict"`
	Cluster             Cluster             `json:"cluster"`
	Storage             Storage             `json:"storage"`
	Monitoring          Monitoring          `json:"monitoring"`
	NodeProblemDetector NodeProblemDetector `json:"nodeProblemDetector"`
	Spark               Spark               `json:"spark"`
	Logging             Logging             `json:"logging"`
	Audit               Audit               `json:"audit"`
	PureExporter        PureExporter        `json:"pureExporter"`
	Correlation         Correlation         `json:"correlation"`
	Tracing             Tracing             `json:"tracing"`
	Flux                Flux                `json:"flux"`
	Prerequisites       Prerequisites       `json:"prerequisites"`
	Platform
	Sizing Sizing `json:"sizing"`
}

// Tiers.
const (
	TierDev     = "dev"
	TierStaging = "staging"
	TierProd    = "prod"
)

type Cluster struct {
	Name               string            `json:"name"`
	KubernetesVersion  string            `json:"kubernetesVersion"`
	ControlPlane       string            `json:"controlPlane"`
	Domain             string            `json:"domain,omitempty"`
	IngressClassName   string            `json:"ingressClassName"`
	ExistingNamespaces []string          `json:"existingNamespaces"`
	Labels             map[string]string `json:"labels"`
}

// Control planes.
const (
	ControlPlaneSelfManaged = "self-managed"
	ControlPlaneManaged     = "managed"
)

type Flux struct {
	Namespace     string        `json:"namespace"`
	SourceRef     FluxSourceRef `json:"sourceRef"`
	Path          string        `json:"path"`
	Interval      string        `json:"interval"`
	Timeout       string        `json:"timeout"`
	RetryInterval string        `json:"retryInterval"`
}

type FluxSourceRef struct {
	Kind      string `json:"kind"`
	Name      string `json:"name"`
	Namespace string `json:"namespace"`
}

// SecretRef points at a key of a Kubernetes Secret; see schema #SecretRef.
type SecretRef struct {
	Secret string `json:"secret"`
	Key    string `json:"key"`
	SOPS   string `json:"sops,omitempty"`
}

type Resources struct {
	Requests ResourceList `json:"requests"`
	Limits   ResourceList `json:"limits"`
}

type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
}

type Volume struct {
	Role string `json:"role"`
	Size string `json:"size"`
}

type Ingress struct {
	Host      string `json:"host,omitempty"`
	TLSSecret string `json:"tlsSecret,omitempty"`
}

// Storage roles.
const (
	RoleBlock  = "block"
	RoleFile   = "file"
	RoleObject = "object"
)

type Storage struct {
	Backends     map[string]Backend `json:"backends"`
	Roles        StorageRoles       `json:"roles"`
	DefaultClass string             `json:"defaultClass"`
	PureSecret   *SecretRef         `json:"pureSecret,omitempty"`
}

type StorageRoles struct {
	Block  string `json:"block"`
	File   string `json:"file,omitempty"`
	Object string `json:"object,omitempty"`
}

// Backend kinds.
const (
	KindFlashArray = "pure-flasharray"
	KindFlashBlade = "pure-flashblade"
	KindPortworx   = "portworx"
	KindCSI        = "csi"
	KindPSO        = "pso"
)

type Backend struct {
	Kind                 string      `json:"kind"`
	FlashArray           *FlashArray `json:"flasharray,omitempty"`
	FlashBlade           *FlashBlade `json:"flashblade,omitempty"`
	Portworx             *Portworx   `json:"portworx,omitempty"`
	CSI                  *CSI        `json:"csi,omitempty"`
	PSO                  any         `json:"pso,omitempty"`
	AllowVolumeExpansion bool        `json:"allowVolumeExpansion"`
	ReclaimPolicy        string      `json:"reclaimPolicy"`
}

type FlashArray struct {
	Arrays       map[string]FlashArrayArray `json:"arrays"`
	FSType       string                     `json:"fsType"`
	MaxIOPS      int                        `json:"maxIops,omitempty"`
	MaxBandwidth string                     `json:"maxBandwidth,omitempty"`
}

type FlashArrayArray struct {
	MgmtEndpoint string `json:"mgmtEndpoint"`
}

type FlashBlade struct {
	Arrays      map[string]FlashBladeArray `json:"arrays"`
	ExportRules string                     `json:"exportRules"`
	NFSVersion  string                     `json:"nfsVersion"`
	S3          *S3Endpoint                `json:"s3,omitempty"`
}

type FlashBladeArray struct {
	MgmtEndpoint string `json:"mgmtEndpoint"`
	NFSEndpoint  string `json:"nfsEndpoint,omitempty"`
}

type Portworx struct {
	Repl         int    `json:"repl"`
	IOProfile    string `json:"ioProfile"`
	StorageNodes int    `json:"storageNodes"`
	SharedV4     bool   `json:"sharedv4"`
	FS           string `json:"fs"`
}

type CSI struct {
	Provisioner  string            `json:"provisioner"`
	Parameters   map[string]string `json:"parameters"`
	MountOptions []string          `json:"mountOptions"`
	FileSystem   bool              `json:"fileSystem"`
}

type S3Endpoint struct {
	Endpoint  string     `json:"endpoint"`
	Region    string     `json:"region"`
	PathStyle bool       `json:"pathStyle"`
	CABundle  *SecretRef `json:"caBundle,omitempty"`
	PrivateCA bool       `json:"privateCA"`
}

type Monitoring struct {
	Enabled          bool                 `json:"enabled"`
	Namespace        string               `json:"namespace"`
	Prometheus       Prometheus           `json:"prometheus"`
	Alertmanager     Alertmanager         `json:"alertmanager"`
	Grafana          Grafana              `json:"grafana"`
	NodeExporter     Exporter             `json:"nodeExporter"`
	KubeStateMetrics Exporter             `json:"kubeStateMetrics"`
	BlackboxExporter BlackboxExporter     `json:"blackboxExporter"`
	Rules            map[string]RuleGroup `json:"rules"`
	ControlPlane     ControlPlane         `json:"controlPlane"`
	RemoteWrite      RemoteWrites         `json:"remoteWrite"`
	Thanos           Thanos               `json:"thanos"`
}

type Exporter struct {
	Enabled   bool      `json:"enabled"`
	Resources Resources `json:"resources"`
}

type Prometheus struct {
	Replicas        int               `json:"replicas"`
	Retention       string            `json:"retention"`
	RetentionSize   string            `json:"retentionSize,omitempty"`
	Storage         Volume            `json:"storage"`
	Resources       Resources         `json:"resources"`
	ExternalLabels  map[string]string `json:"externalLabels"`
	ExtraNamespaces []string          `json:"extraNamespaces"`
	ScrapeInterval  string            `json:"scrapeInterval"`
}

type Alertmanager struct {
	Replicas       int                   `json:"replicas"`
	Retention      string                `json:"retention"`
	Storage        Volume                `json:"storage"`
	Resources      Resources             `json:"resources"`
	Slack          Slack                 `json:"slack"`
	Routes         map[string]AlertRoute `json:"routes"`
	GroupWait      string                `json:"groupWait"`
	GroupInterval  string                `json:"groupInterval"`
	RepeatInterval string                `json:"repeatInterval"`
}

type Slack struct {
	Receivers       map[string]SlackReceiver `json:"receivers"`
	DefaultReceiver string                   `json:"defaultReceiver,omitempty"`
}

type SlackReceiver struct {
	Channel      string    `json:"channel"`
	Webhook      SecretRef `json:"webhook"`
	SendResolved bool      `json:"sendResolved"`
}

type AlertRoute struct {
	Receiver   string   `json:"receiver"`
	Severities []string `json:"severities"`
	Namespaces []string `json:"namespaces"`
	// SparkNamespaces adds the namespaces Spark runs in to Namespaces.
	SparkNamespaces bool `json:"sparkNamespaces"`
	Continue        bool `json:"continue"`
}

type Grafana struct {
	Enabled   bool         `json:"enabled"`
	Storage   Volume       `json:"storage"`
	Admin     GrafanaAdmin `json:"admin"`
	Ingress   Ingress      `json:"ingress"`
	Resources Resources    `json:"resources"`
}

type GrafanaAdmin struct {
	User     string     `json:"user"`
	Password *SecretRef `json:"password,omitempty"`
}

type RuleGroup struct {
	Interval string           `json:"interval,omitempty"`
	Alerts   map[string]Alert `json:"alerts"`
}

type Alert struct {
	Expr        string            `json:"expr"`
	For         string            `json:"for"`
	Severity    string            `json:"severity"`
	Summary     string            `json:"summary"`
	Description string            `json:"description"`
	Runbook     string            `json:"runbook,omitempty"`
	Labels      map[string]string `json:"labels"`
}

type NodeProblemDetector struct {
	Enabled   bool        `json:"enabled"`
	Monitors  NPDMonitors `json:"monitors"`
	ImageTag  string      `json:"imageTag,omitempty"`
	Resources Resources   `json:"resources"`
}

type NPDMonitors struct {
	Kernel     bool `json:"kernel"`
	Readonly   bool `json:"readonly"`
	Kubelet    bool `json:"kubelet"`
	Containerd bool `json:"containerd"`
}

type Spark struct {
	Enabled       bool          `json:"enabled"`
	Version       string        `json:"version"`
	Operator      SparkOperator `json:"operator"`
	HistoryServer SparkHistory  `json:"historyServer"`
	UI            SparkUI       `json:"ui"`
}

type SparkOperator struct {
	Namespace     string    `json:"namespace"`
	JobNamespaces []string  `json:"jobNamespaces"`
	Metrics       bool      `json:"metrics"`
	Webhook       bool      `json:"webhook"`
	Resources     Resources `json:"resources"`
}

type SparkHistory struct {
	Enabled          bool          `json:"enabled"`
	EventLog         EventLog      `json:"eventLog"`
	S3               *S3Endpoint   `json:"s3,omitempty"`
	Credentials      S3Credentials `json:"credentials"`
	BootstrapPrefix  bool          `json:"bootstrapPrefix"`
	Cleaner          SparkCleaner  `json:"cleaner"`
	HadoopAWSVersion string        `json:"hadoopAwsVersion,omitempty"`
	S3AJars          S3AJars       `json:"s3aJars"`
	Ingress          Ingress       `json:"ingress"`
	Resources        Resources     `json:"resources"`
}

type EventLog struct {
	Bucket string `json:"bucket"`
	Prefix string `json:"prefix"`
	Jobs   string `json:"jobs"`
}

type S3Credentials struct {
	AccessKeyID     SecretRef `json:"accessKeyId"`
	SecretAccessKey SecretRef `json:"secretAccessKey"`
}

type SparkCleaner struct {
	Enabled bool   `json:"enabled"`
	MaxAge  string `json:"maxAge"`
	MaxNum  int    `json:"maxNum,omitempty"`
}

type SparkUI struct {
	Service          bool   `json:"service"`
	IngressURLFormat string `json:"ingressUrlFormat,omitempty"`
}

type Logging struct {
	Enabled       bool          `json:"enabled"`
	Namespace     string        `json:"namespace"`
	Agent         LogAgent      `json:"agent"`
	Elasticsearch Elasticsearch `json:"elasticsearch"`
	Kibana        Kibana        `json:"kibana"`
	Events        Events        `json:"events"`
}

type LogAgent struct {
	Kind              string    `json:"kind"`
	MemBufLimit       string    `json:"memBufLimit"`
	StorageLimit      string    `json:"storageLimit"`
	TolerateAllTaints bool      `json:"tolerateAllTaints"`
	Resources         Resources `json:"resources"`
	Fluentd           Fluentd   `json:"fluentd"`
}

type Fluentd struct {
	Enabled   bool      `json:"enabled"`
	Replicas  int       `json:"replicas"`
	Resources Resources `json:"resources"`
}

type Elasticsearch struct {
	Version           string             `json:"version"`
	NodeSets          map[string]NodeSet `json:"nodeSets"`
	MaxMapCount       string             `json:"maxMapCount"`
	Retention         string             `json:"retention"`
	EnterpriseLicense bool               `json:"enterpriseLicense"`
	Snapshots         Snapshots          `json:"snapshots"`
	Operator          ECKOperator        `json:"operator"`
}

type NodeSet struct {
	Count   int      `json:"count"`
	Roles   []string `json:"roles"`
	Memory  string   `json:"memory"`
	Heap    string   `json:"heap,omitempty"`
	CPU     string   `json:"cpu"`
	Storage Volume   `json:"storage"`
}

type Kibana struct {
	Enabled   bool      `json:"enabled"`
	Replicas  int       `json:"replicas"`
	Ingress   Ingress   `json:"ingress"`
	Resources Resources `json:"resources"`
}

type Audit struct {
	Enabled    bool   `json:"enabled"`
	Level      string `json:"level"`
	LogPath    string `json:"logPath"`
	PolicyPath string `json:"policyPath"`
	Retention  string `json:"retention"`
}

type PureExporter struct {
	Enabled      bool                      `json:"enabled"`
	FlashBlades  map[string]PureFlashBlade `json:"flashblades"`
	FlashArrays  map[string]PureFlashArray `json:"flasharrays"`
	Interval     string                    `json:"interval"`
	SlowInterval string                    `json:"slowInterval"`
}

type PureFlashBlade struct {
	Endpoint string    `json:"endpoint"`
	Token    SecretRef `json:"token"`
}

type PureFlashArray struct {
	Endpoint       string    `json:"endpoint"`
	Token          SecretRef `json:"token"`
	PurityVersion  string    `json:"purityVersion"`
	LegacyExporter bool      `json:"legacyExporter"`
}

type Correlation struct {
	Exemplars       bool   `json:"exemplars"`
	ExemplarMaxSize int    `json:"exemplarMaxSize"`
	LogTraceLinks   bool   `json:"logTraceLinks"`
	TraceIDField    string `json:"traceIdField"`
}

type Tracing struct {
	Enabled   bool             `json:"enabled"`
	Namespace string           `json:"namespace"`
	Collector TracingCollector `json:"collector"`
	Backend   string           `json:"backend"`
	Tempo     Tempo            `json:"tempo"`
}

type TracingCollector struct {
	Replicas  int       `json:"replicas"`
	Resources Resources `json:"resources"`
}

// Tracing backends.
const (
	BackendTempo  = "tempo"
	BackendJaeger = "jaeger"
)

type Tempo struct {
	Bucket      string         `json:"bucket"`
	Credentials *S3Credentials `json:"credentials,omitempty"`
	Retention   string         `json:"retention"`
	Storage     Volume         `json:"storage"`
	Resources   Resources      `json:"resources"`
}

// Prerequisites are objects the cluster must have that Vigil does not
// create, besides the Secrets the environment references and the CSI
// drivers and IngressClasses its objects name; see schema #Prerequisites.
type Prerequisites struct {
	// Secrets by namespace, then name.
	Secrets        map[string]map[string]PrerequisiteSecret `json:"secrets"`
	CSIDrivers     map[string]PrerequisiteUse               `json:"csiDrivers"`
	IngressClasses map[string]PrerequisiteUse               `json:"ingressClasses"`
}

type PrerequisiteSecret struct {
	Keys     []string `json:"keys"`
	NeededBy []string `json:"neededBy"`
}

type PrerequisiteUse struct {
	NeededBy []string `json:"neededBy"`
}
