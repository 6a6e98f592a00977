package env

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Requirements turns an environment's resources into a container's. The
// schema constrains every value to a quantity, so an error means a value
// built in Go, not by a user.
func (r Resources) Requirements() (corev1.ResourceRequirements, error) {
	out := corev1.ResourceRequirements{Requests: corev1.ResourceList{}, Limits: corev1.ResourceList{}}
	for _, q := range []struct {
		list  corev1.ResourceList
		name  corev1.ResourceName
		field string
		value string
	}{
		{out.Requests, corev1.ResourceCPU, "requests.cpu", r.Requests.CPU},
		{out.Requests, corev1.ResourceMemory, "requests.memory", r.Requests.Memory},
		{out.Limits, corev1.ResourceCPU, "limits.cpu", r.Limits.CPU},
		{out.Limits, corev1.ResourceMemory, "limits.memory", r.Limits.Memory},
	} {
		if q.value == "" {
			continue
		}
		v, err := resource.ParseQuantity(q.value)
		if err != nil {
			return out, fmt.Errorf("%s %q: %w", q.field, q.value, err)
		}
		q.list[q.name] = v
	}
	return out, nil
}
