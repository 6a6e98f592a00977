// Command gen validates Vigil environments and renders them into kustomize
// overlays and Flux Kustomizations. It is a thin shell over the generate and
// overlays packages.
//
// Exit codes: 0 success, 1 (diff only) changes found, 2 misuse, 3 invalid
// input, 4 I/O trouble or a refused output directory, 5 internal error.
package main

import (
	"context"
	"os"
	"os/signal"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
