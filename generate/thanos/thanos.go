// Package thanos owns long-term metrics: Thanos beside the cluster's
// Prometheus, and the alerts on Prometheus's remote write.
//
// With monitoring.thanos.enabled, each Prometheus replica runs the Thanos
// sidecar (prometheus-operator's spec.thanos, filled in by package
// prometheus from Sidecar), which uploads every two-hour TSDB block to an
// S3 bucket and serves the recent data over the StoreAPI. This package adds,
// in monitoring.namespace:
//
//   - layer Storage: the objstore configuration (ConfigMap thanos-objstore),
//     which Prometheus's sidecar and the components below mount, so that a
//     broken store gateway never holds Prometheus back;
//   - layer Instances: the store gateway (StatefulSet thanos-store) serving
//     the bucket's blocks; the compactor (StatefulSet thanos-compact, one
//     replica, --wait) compacting, deduplicating the replicas' blocks,
//     downsampling and applying retention per resolution; the querier
//     (Deployment thanos-query) fanning out to the sidecars (headless Service
//     thanos-sidecar), the store gateway and, for an observer, other
//     environments' StoreAPIs (monitoring.thanos.observe), deduplicating on
//     the replica external label; their Services, NetworkPolicies and
//     PodDisruptionBudgets;
//   - layer Content: their ServiceMonitors and the PrometheusRule thanos.
//
// Thanos has no custom resources; every object is a core or apps type.
// Credentials are never in a file: objstore's S3 client reads
// AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, set from Secret references.
//
// With monitoring.remoteWrite, the PrometheusRule prometheus-remote-write
// alerts on failing and lagging remote storage (package prometheus writes
// the remoteWrite specs).
package thanos

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	monitoringv1 "github.com/prometheus-operator/prometheus-operator/pkg/apis/monitoring/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the name of this generator's base.
const Component = "thanos"

const (
	// ReplicaLabel is the external label naming a Prometheus replica
	// (the Prometheus CR's replicaExternalLabelName), which the querier and
	// the compactor deduplicate on.
	ReplicaLabel = "replica"

	// Ports of every Thanos component: the StoreAPI and the HTTP API,
	// UI and /metrics.
	GRPCPort     = 10901
	GRPCPortName = "grpc"
	HTTPPort     = 10902
	HTTPPortName = "http"

	// ObjstoreConfigMap holds the objstore configuration.
	ObjstoreConfigMap = "thanos-objstore"
	// SidecarService is the headless Service of the Prometheus pods'
	// sidecars; the querier resolves its SRV records.
	SidecarService = "thanos-sidecar"
	// SidecarContainer is the operator's name for the sidecar container.
	SidecarContainer = "thanos-sidecar"
	StoreName        = "thanos-store"
	CompactName      = "thanos-compact"
	QueryName        = "thanos-query"
	// QueryGRPCName is the LoadBalancer Service of querier.exposeGrpc.
	QueryGRPCName = "thanos-query-grpc"
	// EndpointsConfigMap holds the querier's endpoint.sd-config file.
	EndpointsConfigMap = "thanos-query-endpoints"
	serviceAccount     = "thanos"

	// uid is the nobody user; the image needs no particular one.
	uid                = 65534
	checksumAnnotation = "vigil.dev/config-checksum"
)

// QueryURL is the querier's in-cluster HTTP address (Grafana's default
// datasource when Thanos is on).
func QueryURL(e *env.Environment) string {
	return fmt.Sprintf("http://%s.%s.svc:%d", QueryName, e.Monitoring.Namespace, HTTPPort)
}

// Generate adds Thanos when enabled and the remote-write alerts when
// remote write is configured.
func Generate(e *env.Environment, s *stack.Set) error {
	if !e.PrometheusEnabled() {
		return nil
	}
	ns := e.Monitoring.Namespace
	if len(e.Monitoring.RemoteWrite) > 0 {
		s.Add(Component, stack.Content, remoteWriteRules(ns))
	}
	if !e.ThanosEnabled() {
		return nil
	}
	conf, err := ObjstoreConfig(e)
	if err != nil {
		return err
	}
	s.Add(Component, stack.Storage, &corev1.ConfigMap{
		ObjectMeta: meta(ObjstoreConfigMap, ns, labels("objstore")),
		Data:       map[string]string{objstoreFile: string(conf)},
	})
	s.Add(Component, stack.Instances,
		&corev1.ServiceAccount{ObjectMeta: meta(serviceAccount, ns, labels("")), AutomountServiceAccountToken: ptr.To(false)},
	)
	s.Add(Component, stack.Instances, sidecarObjects(e)...)
	store, err := storeGateway(e, checksum(conf))
	if err != nil {
		return err
	}
	s.Add(Component, stack.Instances, store...)
	compact, err := compactor(e, checksum(conf))
	if err != nil {
		return err
	}
	s.Add(Component, stack.Instances, compact...)
	query, err := querier(e)
	if err != nil {
		return err
	}
	s.Add(Component, stack.Instances, query...)
	s.Add(Component, stack.Content, monitors(e)...)
	s.Add(Component, stack.Content, rules(e))
	return nil
}

// Sidecar is what the Prometheus CR needs for the sidecar: its spec.thanos,
// the volumes it mounts, and the container override that gives it the
// bucket's credentials (the operator merges a container of spec.containers
// into the one it generates of the same name).
func Sidecar(e *env.Environment) (*monitoringv1.ThanosSpec, []corev1.Volume, []corev1.Container, error) {
	res, err := e.Monitoring.Thanos.Sidecar.Resources.Requirements()
	if err != nil {
		return nil, nil, nil, fmt.Errorf("monitoring.thanos.sidecar.resources: %w", err)
	}
	vols, mounts := bucketVolumes(e)
	spec := &monitoringv1.ThanosSpec{
		Image:   ptr.To(stack.Thanos.Ref()),
		Version: ptr.To(stack.Thanos.Version),
		// A file rather than objectStorageConfig (a Secret): the
		// configuration holds no secret, and one ConfigMap serves every
		// component.
		ObjectStorageConfigFile: ptr.To(ObjstoreConfigFile),
		VolumeMounts:            mounts,
		Resources:               res,
	}
	// The override restates the resources and the restricted context the
	// operator gives the sidecar, so the merged container reads the same
	// whichever side a reader looks at.
	containers := []corev1.Container{{
		Name:            SidecarContainer,
		Env:             credentialsEnv(e),
		Resources:       res,
		SecurityContext: stack.RestrictedContainer(),
	}}
	return spec, vols, containers, nil
}

func labels(part string) map[string]string {
	return stack.Labels("thanos", part, stack.Thanos.Version)
}

func selector(part string) map[string]string { return stack.SelectorLabels("thanos", part) }

func meta(name, ns string, l map[string]string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: ns, Labels: l}
}

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}
