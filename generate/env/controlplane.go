package env

// ControlPlane is monitoring.controlPlane; see schema/controlplane.cue.
// At most one of SelfManaged and Managed is set, the one that matches
// Cluster.ControlPlane; an absent one means its defaults
// (DefaultSelfManaged, DefaultManaged).
type ControlPlane struct {
	Enabled     bool                     `json:"enabled"`
	SelfManaged *SelfManagedControlPlane `json:"selfManaged,omitempty"`
	Managed     *ManagedControlPlane     `json:"managed,omitempty"`
}

type SelfManagedControlPlane struct {
	Endpoints         []string           `json:"endpoints"`
	Scheduler         ControlPlaneTarget `json:"scheduler"`
	ControllerManager ControlPlaneTarget `json:"controllerManager"`
	Etcd              Etcd               `json:"etcd"`
	CoreDNS           ControlPlaneTarget `json:"coreDNS"`
}

// ControlPlaneTarget is one scraped component and its port.
type ControlPlaneTarget struct {
	Enabled bool `json:"enabled"`
	Port    int  `json:"port"`
}

type Etcd struct {
	Enabled           bool                   `json:"enabled"`
	Port              int                    `json:"port"`
	ClientCertificate *EtcdClientCertificate `json:"clientCertificate,omitempty"`
}

// EtcdClientCertificate is the certificate Prometheus presents to etcd, by
// reference to Secrets in monitoring.namespace.
type EtcdClientCertificate struct {
	CA   SecretRef `json:"ca"`
	Cert SecretRef `json:"cert"`
	Key  SecretRef `json:"key"`
}

type ManagedControlPlane struct {
	Provider string                 `json:"provider,omitempty"`
	CoreDNS  ManagedControlPlaneDNS `json:"coreDNS"`
}

type ManagedControlPlaneDNS struct {
	Enabled bool `json:"enabled"`
}

// Managed control-plane providers.
const (
	ProviderEKS = "eks"
	ProviderGKE = "gke"
	ProviderAKS = "aks"
)

// ControlPlaneScrape says which control-plane components Prometheus
// scrapes in an environment, folding in monitoring, the section's switch,
// the cluster's kind and the provider.
type ControlPlaneScrape struct {
	APIServer, Scheduler, ControllerManager, Etcd, CoreDNS bool
}

// ControlPlaneScrape returns what of the control plane is scraped.
func (e *Environment) ControlPlaneScrape() ControlPlaneScrape {
	cp := e.Monitoring.ControlPlane
	if !e.Monitoring.Enabled || !cp.Enabled {
		return ControlPlaneScrape{}
	}
	out := ControlPlaneScrape{APIServer: true}
	switch e.Cluster.ControlPlane {
	case ControlPlaneSelfManaged:
		s := cp.SelfManagedSettings()
		out.Scheduler = s.Scheduler.Enabled
		out.ControllerManager = s.ControllerManager.Enabled
		out.Etcd = s.Etcd.Enabled && s.Etcd.ClientCertificate != nil
		out.CoreDNS = s.CoreDNS.Enabled
	case ControlPlaneManaged:
		m := cp.ManagedSettings()
		// GKE runs kube-dns, not CoreDNS; an unnamed provider is not
		// assumed to run either where Prometheus can see it.
		out.CoreDNS = m.CoreDNS.Enabled && (m.Provider == ProviderEKS || m.Provider == ProviderAKS)
	}
	return out
}

// DefaultSelfManaged is #SelfManagedControlPlane with nothing set; a test
// of package generate keeps it equal to the schema's defaults.
func DefaultSelfManaged() SelfManagedControlPlane {
	return SelfManagedControlPlane{
		Endpoints:         []string{},
		Scheduler:         ControlPlaneTarget{Enabled: true, Port: 10259},
		ControllerManager: ControlPlaneTarget{Enabled: true, Port: 10257},
		Etcd:              Etcd{Port: 2379},
		CoreDNS:           ControlPlaneTarget{Enabled: true, Port: 9153},
	}
}

// DefaultManaged is #ManagedControlPlane with nothing set.
func DefaultManaged() ManagedControlPlane {
	return ManagedControlPlane{CoreDNS: ManagedControlPlaneDNS{Enabled: true}}
}

// SelfManagedSettings is selfManaged as given, or its defaults.
func (c ControlPlane) SelfManagedSettings() SelfManagedControlPlane {
	if c.SelfManaged != nil {
		return *c.SelfManaged
	}
	return DefaultSelfManaged()
}

// ManagedSettings is managed as given, or its defaults.
func (c ControlPlane) ManagedSettings() ManagedControlPlane {
	if c.Managed != nil {
		return *c.Managed
	}
	return DefaultManaged()
}
