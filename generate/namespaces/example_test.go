package namespaces_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/namespaces"
)

func ExampleMonitored() {
	e := &env.Environment{
		Cluster:    env.Cluster{ExistingNamespaces: []string{"etl"}},
		Monitoring: env.Monitoring{Enabled: true, Namespace: "monitoring", Prometheus: env.Prometheus{ExtraNamespaces: []string{"ingress-nginx"}}},
		Spark:      env.Spark{Enabled: true, Operator: env.SparkOperator{Namespace: "spark-operator", JobNamespaces: []string{"spark", "etl"}}},
	}
	fmt.Println(namespaces.Rendered(e))
	fmt.Println(namespaces.Monitored(e))
	// Output:
	// [monitoring spark spark-operator]
	// [default etl ingress-nginx kube-system monitoring spark spark-operator]
}
