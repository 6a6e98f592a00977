package storage_test

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	storagev1 "k8s.io/api/storage/v1"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/stack"
	"github.com/vigil-stack/vigil/generate/stacktest"
	"github.com/vigil-stack/vigil/generate/storage"
)

func generate(t *testing.T, e *env.Environment) *stack.Set {
	t.Helper()
	var s stack.Set
	if err := storage.Generate(e, &s); err != nil {
		t.Fatal(err)
	}
	return &s
}

func classes(t *testing.T, s *stack.Set) map[string]*storagev1.StorageClass {
	t.Helper()
	out := map[string]*storagev1.StorageClass{}
	for _, r := range s.Resources() {
		if r.Layer != stack.Storage {
			t.Errorf("%s in layer %s, want storage", r.Object.GetName(), r.Layer)
		}
		out[r.Object.GetName()] = r.Object.(*storagev1.StorageClass)
	}
	return out
}

func TestGenerateExamples(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		t.Run(name, func(t *testing.T) {
			e := stacktest.Example(t, name)
			s := generate(t, e)
			stacktest.Check(t, s)
			stacktest.Golden(t, name, storage.Component, s)

			defaults := 0
			for _, sc := range classes(t, s) {
				if sc.Annotations[storage.DefaultClassAnnotation] == "true" {
					defaults++
					if want := storage.ClassName(e.Storage.DefaultClass); sc.Name != want {
						t.Errorf("default class is %s, want %s", sc.Name, want)
					}
				}
			}
			if defaults != 1 {
				t.Errorf("%d default classes, want exactly 1", defaults)
			}
		})
	}
}

// The on-prem examples: FlashArray block and FlashBlade NFS through PX-CSI.
func TestPureClasses(t *testing.T) {
	e := stacktest.Example(t, "prod")
	got := classes(t, generate(t, e))
	if len(got) != 2 {
		t.Fatalf("%d classes, want block and file: %v", len(got), got)
	}

	block := got[storage.ClassName(env.RoleBlock)]
	if block.Provisioner != "pxd.portworx.com" {
		t.Errorf("block provisioner %q", block.Provisioner)
	}
	if d := cmp.Diff(map[string]string{"backend": "pure_block", "csi.storage.k8s.io/fstype": "xfs"}, block.Parameters); d != "" {
		t.Errorf("block parameters (-want +got):\n%s", d)
	}
	if *block.VolumeBindingMode != storagev1.VolumeBindingWaitForFirstConsumer {
		t.Errorf("block binding %s, want WaitForFirstConsumer", *block.VolumeBindingMode)
	}
	if *block.ReclaimPolicy != corev1.PersistentVolumeReclaimDelete || !*block.AllowVolumeExpansion {
		t.Errorf("block reclaim %s expansion %v", *block.ReclaimPolicy, *block.AllowVolumeExpansion)
	}

	file := got[storage.ClassName(env.RoleFile)]
	if d := cmp.Diff(map[string]string{"backend": "pure_file", "pure_export_rules": "*(rw,no_root_squash)"}, file.Parameters); d != "" {
		t.Errorf("file parameters (-want +got):\n%s", d)
	}
	if d := cmp.Diff([]string{"nfsvers=4.1"}, file.MountOptions); d != "" {
		t.Errorf("file mount options (-want +got):\n%s", d)
	}
	if *file.VolumeBindingMode != storagev1.VolumeBindingImmediate {
		t.Errorf("file binding %s, want Immediate", *file.VolumeBindingMode)
	}
	if file.Annotations[storage.DefaultClassAnnotation] != "" {
		t.Errorf("file class is annotated default with defaultClass %q", e.Storage.DefaultClass)
	}
}

func TestFlashArrayQoSAndRetain(t *testing.T) {
	e := stacktest.Example(t, "staging")
	b := e.Storage.Backends["flasharray"]
	b.FlashArray.MaxIOPS = 30000
	b.FlashArray.MaxBandwidth = "10G"
	b.FlashArray.FSType = "ext4"
	b.ReclaimPolicy = "Retain"
	b.AllowVolumeExpansion = false
	e.Storage.Backends["flasharray"] = b
	block := classes(t, generate(t, e))[storage.ClassName(env.RoleBlock)]
	want := map[string]string{"backend": "pure_block", "csi.storage.k8s.io/fstype": "ext4", "max_iops": "30000", "max_bandwidth": "10G"}
	if d := cmp.Diff(want, block.Parameters); d != "" {
		t.Errorf("parameters (-want +got):\n%s", d)
	}
	if *block.ReclaimPolicy != corev1.PersistentVolumeReclaimRetain || *block.AllowVolumeExpansion {
		t.Errorf("reclaim %s expansion %v, want Retain and false", *block.ReclaimPolicy, *block.AllowVolumeExpansion)
	}
}

func TestPortworx(t *testing.T) {
	got := classes(t, generate(t, stacktest.Example(t, "cloud")))
	want := map[string]map[string]string{
		storage.ClassName(env.RoleBlock): {"repl": "3", "io_profile": "db_remote", "fs": "xfs"},
		storage.ClassName(env.RoleFile):  {"repl": "2", "io_profile": "auto", "fs": "xfs", "sharedv4": "true"},
	}
	for name, params := range want {
		sc := got[name]
		if sc == nil {
			t.Fatalf("no class %s", name)
		}
		if sc.Provisioner != storage.Provisioner {
			t.Errorf("%s provisioner %q", name, sc.Provisioner)
		}
		if d := cmp.Diff(params, sc.Parameters); d != "" {
			t.Errorf("%s parameters (-want +got):\n%s", name, d)
		}
	}
}

func TestGenericCSI(t *testing.T) {
	e := stacktest.Example(t, "dev")
	got := classes(t, generate(t, e))
	if len(got) != 1 {
		t.Fatalf("dev maps only the block role, got %d classes", len(got))
	}
	sc := got[storage.ClassName(env.RoleBlock)]
	if sc.Provisioner != "ebs.csi.aws.com" {
		t.Errorf("provisioner %q", sc.Provisioner)
	}
	if d := cmp.Diff(map[string]string{"type": "gp3", "encrypted": "true"}, sc.Parameters); d != "" {
		t.Errorf("parameters (-want +got):\n%s", d)
	}
	if sc.MountOptions != nil {
		t.Errorf("mount options %v, want none", sc.MountOptions)
	}
	if sc.Annotations[storage.DefaultClassAnnotation] != "true" {
		t.Error("the block class of dev is not the default class")
	}
}

func TestDefaultClassNoneAndFile(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Storage.DefaultClass = "none"
	for _, sc := range classes(t, generate(t, e)) {
		if len(sc.Annotations) != 0 {
			t.Errorf("defaultClass none: %s annotated %v", sc.Name, sc.Annotations)
		}
	}
	e.Storage.DefaultClass = env.RoleFile
	got := classes(t, generate(t, e))
	if got[storage.ClassName(env.RoleFile)].Annotations[storage.DefaultClassAnnotation] != "true" ||
		got[storage.ClassName(env.RoleBlock)].Annotations[storage.DefaultClassAnnotation] != "" {
		t.Error("defaultClass file: the file class must be the only default")
	}
}

func TestPureSecretMustBePXCSIs(t *testing.T) {
	e := stacktest.Example(t, "prod")
	e.Storage.PureSecret = &env.SecretRef{Secret: "pure-arrays", Key: "pure.json"}
	var s stack.Set
	err := storage.Generate(e, &s)
	if err == nil || !strings.Contains(err.Error(), storage.PureSecretName) {
		t.Errorf("a pureSecret not named %s: err = %v", storage.PureSecretName, err)
	}
}

// No output may carry the array credentials: the SOPS file is copied by
// the overlay compiler, never turned into a Secret here.
func TestNoSecretEmitted(t *testing.T) {
	for _, name := range stacktest.ExampleNames {
		s := generate(t, stacktest.Example(t, name))
		if n := len(stacktest.Find[*corev1.Secret](s)); n != 0 {
			t.Errorf("%s: %d Secrets emitted", name, n)
		}
	}
}
