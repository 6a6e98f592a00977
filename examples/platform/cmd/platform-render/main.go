// Command platform-render renders environments with the platform's
// component and transform and writes the tree, like `gen render`.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"

	"example.com/acme/platform"
	"github.com/vigil-stack/vigil/generate"
	"github.com/vigil-stack/vigil/overlays"
)

func main() {
	out := flag.String("o", "deploy", "output directory")
	flag.Parse()
	var sources []generate.Source
	for _, dir := range flag.Args() {
		sources = append(sources, generate.Source{Dir: dir})
	}
	ctx := context.Background()
	r, err := platform.Render(ctx, sources)
	if err != nil {
		fmt.Fprintln(os.Stderr, "platform-render:", err)
		os.Exit(3)
	}
	if _, err := overlays.Write(ctx, r.Tree, *out); err != nil {
		fmt.Fprintln(os.Stderr, "platform-render:", err)
		os.Exit(4)
	}
}
