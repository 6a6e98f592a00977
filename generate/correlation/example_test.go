package correlation_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/correlation"
)

// The kube-state-metrics label of a Spark pod label, for joining container
// metrics with the application they belong to.
func ExampleKSMLabel() {
	fmt.Println(correlation.KSMLabel(correlation.PodLabelSparkApp))
	fmt.Println(correlation.KSMPodLabelAllowlist)
	// Output:
	// label_sparkoperator_k8s_io_app_name
	// pods=[sparkoperator.k8s.io/app-name,spark-app-selector,spark-role]
}
