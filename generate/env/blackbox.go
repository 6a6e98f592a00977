package env

// BlackboxExporter probes the Ingresses Vigil renders; see
// schema/blackbox.cue.
type BlackboxExporter struct {
	Enabled               bool      `json:"enabled"`
	Interval              string    `json:"interval"`
	SlowSeconds           int       `json:"slowSeconds"`
	CertificateExpiryDays int       `json:"certificateExpiryDays"`
	Resources             Resources `json:"resources"`
}
