package generate

import "github.com/vigil-stack/vigil/generate/env"

// checkControlPlane rejects the half of monitoring.controlPlane that does
// not match cluster.controlPlane: the schema fills in the right half, but
// cannot forbid the other without an unreadable message.
func checkControlPlane(e *env.Environment) []env.Issue {
	cp := e.Monitoring.ControlPlane
	switch {
	case e.Cluster.ControlPlane == env.ControlPlaneSelfManaged && cp.Managed != nil:
		return []env.Issue{env.Errorf(p("monitoring", "controlPlane", "managed"),
			`cluster.controlPlane is "self-managed", so there is no provider-managed control plane to describe; `+
				`configure monitoring.controlPlane.selfManaged instead, or set cluster.controlPlane: "managed"`)}
	case e.Cluster.ControlPlane == env.ControlPlaneManaged && cp.SelfManaged != nil:
		return []env.Issue{env.Errorf(p("monitoring", "controlPlane", "selfManaged"),
			`cluster.controlPlane is "managed": the provider runs the scheduler, controller manager and etcd, which Prometheus cannot reach; `+
				`remove monitoring.controlPlane.selfManaged (set monitoring.controlPlane.managed.provider instead), or set cluster.controlPlane: "self-managed"`)}
	}
	return nil
}
