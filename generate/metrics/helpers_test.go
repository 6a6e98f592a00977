package metrics_test

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func metaNamed(name string) metav1.ObjectMeta {
	return metav1.ObjectMeta{Name: name, Namespace: "monitoring"}
}

func metaLabelled(name string, labels map[string]string) metav1.ObjectMeta {
	m := metaNamed(name)
	m.Labels = labels
	return m
}

func intOrString(s string) intstr.IntOrString { return intstr.FromString(s) }
