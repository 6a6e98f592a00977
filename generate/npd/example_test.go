package npd_test

import (
	"fmt"

	"github.com/vigil-stack/vigil/generate/env"
	"github.com/vigil-stack/vigil/generate/npd"
)

// The monitor files of an environment and the node conditions each owns;
// the alerts select exactly these conditions.
func ExampleMonitors() {
	monitors := npd.Monitors(env.NPDMonitors{Kernel: true, Readonly: true, Containerd: true})
	for _, m := range monitors {
		fmt.Print(m.Daemon, " ", m.File, ":")
		for _, c := range m.Conditions() {
			fmt.Print(" ", c.Type)
		}
		fmt.Println()
	}
	fmt.Println(npd.ConditionsSelector(monitors))
	// Output:
	// system-log-monitor kernel-monitor.json: KernelDeadlock XfsShutdown
	// system-log-monitor readonly-monitor.json: ReadonlyFilesystem
	// custom-plugin-monitor health-checker-containerd.json: ContainerRuntimeUnhealthy
	// KernelDeadlock|XfsShutdown|ReadonlyFilesystem|ContainerRuntimeUnhealthy
}
