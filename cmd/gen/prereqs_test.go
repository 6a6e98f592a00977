package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/vigil-stack/vigil/overlays"
)

func gate(kind, ns, name string, keys ...string) overlays.Gate {
	return overlays.Gate{
		Prerequisite:  overlays.Prerequisite{Kind: kind, Namespace: ns, Name: name, Keys: keys},
		Kustomization: "prod-needs-" + name,
		Units:         []string{"prod-" + name + "-user"},
	}
}

// checkGates names every missing prerequisite, a Secret lacking a key
// included, never a Secret's value, and is quiet when all are there.
func TestCheckGates(t *testing.T) {
	gates := []overlays.Gate{
		gate("Secret", "monitoring", "slack", "webhook", "other"),
		gate("Secret", "tracing", "tempo-s3", "id"),
		gate("CSIDriver", "", "pxd.portworx.com"),
		gate("IngressClass", "", "nginx"),
	}
	cs := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "slack"}, Data: map[string][]byte{"webhook": []byte("s3cr3t-value")}},
		&storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "pxd.portworx.com"}},
	)
	var out bytes.Buffer
	err := checkGates(context.Background(), cs, gates, &out)
	if !errors.Is(err, errMissing) {
		t.Fatalf("got %v, want errMissing", err)
	}
	for _, want := range []string{
		"Secret monitoring/slack (keys webhook, other): it has no key other",
		"Secret tracing/tempo-s3 (key id): not found",
		"IngressClass nginx: not found",
	} {
		if !strings.Contains(err.Error(), want) || !strings.Contains(out.String(), want) {
			t.Errorf("missing %q in\n%v\n%s", want, err, out.String())
		}
	}
	if !strings.Contains(out.String(), "ok       CSIDriver pxd.portworx.com\n") {
		t.Errorf("the CSI driver is not reported present:\n%s", out.String())
	}
	if strings.Contains(out.String()+err.Error(), "s3cr3t") {
		t.Error("a Secret's value is echoed")
	}

	// Once everything exists, nothing is reported missing.
	all := fake.NewClientset(
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "monitoring", Name: "slack"}, Data: map[string][]byte{"webhook": nil, "other": nil}},
		&corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "tracing", Name: "tempo-s3"}, Data: map[string][]byte{"id": nil}},
		&storagev1.CSIDriver{ObjectMeta: metav1.ObjectMeta{Name: "pxd.portworx.com"}},
		&networkingv1.IngressClass{ObjectMeta: metav1.ObjectMeta{Name: "nginx"}},
	)
	out.Reset()
	if err := checkGates(context.Background(), all, gates, &out); err != nil {
		t.Errorf("all present: %v\n%s", err, out.String())
	}
}
