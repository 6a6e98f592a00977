// Command gen validates Vigil environments and renders them into kustomize
// overlays and Flux Kustomizations. It is a thin shell over the generate and
// overlays packages.
//
// Exit codes: 0 success, 1 (diff only) changes found, 2 misuse, 3 invalid
// input, 4 I/O trouble or a refused output directory, 5 internal error.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	stopProfile := startProfile(os.Getenv("VIGIL_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// startProfile writes a CPU profile of the whole command to path, when set:
// where a render's time goes in a user's own fleet, which the benchmarks
// cannot see (README, "Performance").
func startProfile(path string) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "gen: VIGIL_CPUPROFILE: %v\n", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "gen: VIGIL_CPUPROFILE: %v\n", err)
		}
	}
}
