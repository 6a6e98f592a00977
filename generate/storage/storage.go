// Package storage owns the StorageClasses of an environment: one per mapped
// block and file role (the object role is S3 and needs none), named
// ClassName(role), so that every volume of the stack names a role and never a
// vendor class.
//
// Backends and the classes they give:
//
//   - pure-flasharray: FlashArray block volumes through PX-CSI
//     (provisioner pxd.portworx.com, backend pure_block), with the file
//     system in csi.storage.k8s.io/fstype and the optional per-volume QoS
//     limits max_iops and max_bandwidth.
//   - pure-flashblade: FlashBlade NFS file systems through PX-CSI (backend
//     pure_file). pure_export_rules carries flashblade.exportRules: a
//     FlashBlade squashes root by default, and a pod with an fsGroup then
//     fails to chown its volume. mountOptions pin the NFS version.
//   - portworx: Portworx Enterprise volumes on pxd.portworx.com with repl,
//     io_profile, fs and, for shared volumes, sharedv4.
//   - csi: any CSI driver, with its provisioner, parameters and mount options
//     as given.
//
// Block classes bind WaitForFirstConsumer, so a volume is created where its
// pod is scheduled (zonal cloud disks, topology-aware arrays); file classes
// bind Immediate, since a shared file system is reachable from every node.
// Exactly one class, the one of storage.defaultClass, carries the
// storageclass.kubernetes.io/is-default-class annotation; "none" leaves the
// cluster's default alone.
//
// PX-CSI reads the array credentials from the Secret px-pure-secret (key
// pure.json) in the namespace PX-CSI runs in, "portworx" by default
// (PureSecretName, PureSecretNamespace). Vigil never emits that Secret with
// data: storage.pureSecret only references it. When the reference has a sops
// file, the overlay compiler copies the encrypted manifest into the rendered
// tree and Flux decrypts it; that manifest must define a Secret named
// px-pure-secret in PureSecretNamespace. Otherwise the Secret is created out
// of band. The PX-CSI driver itself (its operator and StorageCluster) is
// installed out of band as well and owns the portworx namespace; the classes
// here only need its provisioner to be running.
package storage

import (
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
)

// Component is the name of this generator's base.
const Component = "storage"

const (
	// Provisioner is the CSI driver of PX-CSI and Portworx Enterprise.
	Provisioner = "pxd.portworx.com"
	// PureSecretName is the Secret PX-CSI reads the arrays' pure.json from.
	PureSecretName = "px-pure-secret"
	// PureSecretKey is the key of pure.json in PureSecretName.
	PureSecretKey = "pure.json"
	// PureSecretNamespace is the namespace PX-CSI is installed in by
	// default, where PureSecretName must live.
	PureSecretNamespace = "portworx"
	// DefaultClassAnnotation marks the cluster's default StorageClass.
	DefaultClassAnnotation = "storageclass.kubernetes.io/is-default-class"
)

// PX-CSI backend parameter values.
const (
	backendBlock = "pure_block"
	backendFile  = "pure_file"
)

// ClassName is the name of the StorageClass serving a storage role
// ("vigil-block", "vigil-file"). Every PVC and volumeClaimTemplate of the
// stack names its class through it.
func ClassName(role string) string { return env.StorageClassName(role) }

// Roles are the roles that get a StorageClass; the object role is served
// over S3.
var Roles = []string{env.RoleBlock, env.RoleFile}

// Generate adds a StorageClass for every mapped block and file role, in the
// Storage layer.
func Generate(e *env.Environment, s *stack.Set) error {
	if r := e.Storage.PureSecret; r != nil && (r.Secret != PureSecretName || r.Key != PureSecretKey) {
		return fmt.Errorf("storage.pureSecret: PX-CSI reads only the Secret %q, key %q, but the reference names %q, key %q",
			PureSecretName, PureSecretKey, r.Secret, r.Key)
	}
	for _, role := range Roles {
		name, b, ok := e.Storage.RoleBackend(role)
		if !ok {
			continue
		}
		sc, err := class(role, b)
		if err != nil {
			return fmt.Errorf("storage class for the %s role (backend %q): %w", role, name, err)
		}
		if e.Storage.DefaultClass == role {
			sc.Annotations = map[string]string{DefaultClassAnnotation: "true"}
		}
		s.Add(Component, stack.Storage, sc)
	}
	return nil
}

// class builds the StorageClass of one role from its backend.
func class(role string, b env.Backend) (*storagev1.StorageClass, error) {
	sc := &storagev1.StorageClass{
		ObjectMeta:           metav1.ObjectMeta{Name: ClassName(role), Labels: stack.Labels("storage", role, "")},
		AllowVolumeExpansion: &b.AllowVolumeExpansion,
		Parameters:           map[string]string{},
	}
	switch b.ReclaimPolicy {
	case "", string(corev1.PersistentVolumeReclaimDelete):
		sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimDelete)
	case string(corev1.PersistentVolumeReclaimRetain):
		sc.ReclaimPolicy = ptr(corev1.PersistentVolumeReclaimRetain)
	default:
		return nil, fmt.Errorf("reclaimPolicy %q is neither Delete nor Retain", b.ReclaimPolicy)
	}
	binding := storagev1.VolumeBindingWaitForFirstConsumer
	if role == env.RoleFile {
		binding = storagev1.VolumeBindingImmediate
	}
	sc.VolumeBindingMode = &binding

	switch b.Kind {
	case env.KindFlashArray:
		fa := b.FlashArray
		if fa == nil {
			return nil, fmt.Errorf("kind %s without a flasharray block", b.Kind)
		}
		sc.Provisioner = Provisioner
		sc.Parameters["backend"] = backendBlock
		if fa.FSType != "" {
			sc.Parameters["csi.storage.k8s.io/fstype"] = fa.FSType
		}
		if fa.MaxIOPS > 0 {
			sc.Parameters["max_iops"] = strconv.Itoa(fa.MaxIOPS)
		}
		if fa.MaxBandwidth != "" {
			sc.Parameters["max_bandwidth"] = fa.MaxBandwidth
		}
	case env.KindFlashBlade:
		fb := b.FlashBlade
		if fb == nil {
			return nil, fmt.Errorf("kind %s without a flashblade block", b.Kind)
		}
		sc.Provisioner = Provisioner
		sc.Parameters["backend"] = backendFile
		if fb.ExportRules != "" {
			sc.Parameters["pure_export_rules"] = fb.ExportRules
		}
		if fb.NFSVersion != "" {
			sc.MountOptions = []string{"nfsvers=" + fb.NFSVersion}
		}
	case env.KindPortworx:
		px := b.Portworx
		if px == nil {
			return nil, fmt.Errorf("kind %s without a portworx block", b.Kind)
		}
		sc.Provisioner = Provisioner
		sc.Parameters["repl"] = strconv.Itoa(px.Repl)
		if px.IOProfile != "" {
			sc.Parameters["io_profile"] = px.IOProfile
		}
		if px.FS != "" {
			sc.Parameters["fs"] = px.FS
		}
		if px.SharedV4 {
			sc.Parameters["sharedv4"] = "true"
		}
	case env.KindCSI:
		c := b.CSI
		if c == nil || c.Provisioner == "" {
			return nil, fmt.Errorf("kind %s without a csi provisioner", b.Kind)
		}
		sc.Provisioner = c.Provisioner
		for k, v := range c.Parameters {
			sc.Parameters[k] = v
		}
		sc.MountOptions = append([]string(nil), c.MountOptions...)
	default:
		// pso is rejected by the checks before generation; anything else is
		// a schema change this generator does not know yet.
		return nil, fmt.Errorf("backend kind %q has no StorageClass mapping", b.Kind)
	}
	if len(sc.Parameters) == 0 {
		sc.Parameters = nil
	}
	return sc, nil
}

func ptr[T any](v T) *T { return &v }
