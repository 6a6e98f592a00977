package env

// ControlPlane is monitoring.controlPlane; see schema/controlplane.cue.
// Exactly one of SelfManaged and Managed is set, after Cluster.ControlPlane.
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
	switch {
	case e.Cluster.ControlPlane == ControlPlaneSelfManaged && cp.SelfManaged != nil:
		s := cp.SelfManaged
		out.Scheduler = s.Scheduler.Enabled
		out.ControllerManager = s.ControllerManager.Enabled
		out.Etcd = s.Etcd.Enabled && s.Etcd.ClientCertificate != nil
		out.CoreDNS = s.CoreDNS.Enabled
	case e.Cluster.ControlPlane == ControlPlaneManaged && cp.Managed != nil:
		m := cp.Managed
		// GKE runs kube-dns, not CoreDNS; an unnamed provider is not
		// assumed to run either where Prometheus can see it.
		out.CoreDNS = m.CoreDNS.Enabled && (m.Provider == ProviderEKS || m.Provider == ProviderAKS)
	}
	return out
}
