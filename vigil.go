// Package vigil compiles typed CUE environment definitions into kustomize
// bases, overlays and Flux Kustomizations for a whole Kubernetes monitoring
// and logging stack. The library lives in generate (load, validate, build
// objects) and overlays (compile, verify, write); the CUE contract in
// schema; the CLI in cmd/gen.
//
// This package only embeds the example environments, so that `gen render`
// works from any directory.
package vigil

import "embed"

// Examples holds the example environments at their repository paths
// ("environments/prod/env.cue"), with the fleet package they share.
//
//go:embed environments/fleet environments/dev environments/staging environments/prod environments/cloud
var Examples embed.FS

// ExampleNames lists the example environments, by directory below
// environments/.
var ExampleNames = []string{"dev", "staging", "prod", "cloud"}

// DefaultExample is the example `gen render` renders without arguments.
const DefaultExample = "prod"
