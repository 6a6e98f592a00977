package spark

import (
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/utils/ptr"

	"github.com/vigil-stack/vigil/generate/stack"
)

// jobNamespaces adds to every job namespace what Spark drivers need (layer
// Instances): the ServiceAccount they run as, with a Role to create and
// clean up their executors, services, config maps and volume claims (the
// chart's spark/rbac.yaml), and the shared spark-defaults.conf. The
// namespaces themselves come from the namespaces component or exist
// already.
func (g *generator) jobNamespaces(s *stack.Set) error {
	l := stack.Labels(OperatorName, "spark", stack.SparkOperator.Version)
	conf := g.defaults.Encode()
	for _, ns := range g.e.Spark.Operator.JobNamespaces {
		s.Add(Component, stack.Instances,
			&corev1.ServiceAccount{
				ObjectMeta: meta(SparkServiceAccount, ns, l),
				// The driver talks to the API server to run executors.
				AutomountServiceAccountToken: ptr.To(true),
			},
			&rbacv1.Role{
				ObjectMeta: meta(SparkServiceAccount, ns, l),
				Rules: []rbacv1.PolicyRule{{
					APIGroups: []string{""},
					Resources: []string{"pods", "configmaps", "persistentvolumeclaims", "services"},
					Verbs:     []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"},
				}},
			},
			roleBinding(SparkServiceAccount, ns, SparkServiceAccount, ns, l),
			&corev1.ConfigMap{
				ObjectMeta: meta(SparkDefaultsConfigMap, ns, l),
				Data:       map[string]string{SparkDefaultsFile: conf},
			},
		)
	}
	return nil
}
