# The two commands a new machine needs: `make render` and `make test`.
GO ?= go
OUT ?= deploy
# staticcheck 2026.x: v0.8.x is the first release that builds with and
# understands Go 1.26.
STATICCHECK_VERSION ?= v0.8.2
GOBIN_DIR := $(shell $(GO) env GOPATH)/bin
# Fuzz budgets are execution counts, about 20 s each on a 2-core machine,
# not durations: Go 1.26's fuzz coordinator can fail a duration run that
# found nothing with "context deadline exceeded" when the deadline meets a
# worker mid-input (go.dev/issue/75804, fixed in Go 1.27); a count has no
# deadline to race. Minimizing a new input is capped the same way, or one
# input can hold a worker for the default 60 s.
FUZZ_LOAD ?= 3000x
FUZZ_RENDER ?= 60x
FUZZ_PREFILTER ?= 8000x
FUZZFLAGS ?= -fuzzminimizetime 200x
# Vigil never loads kustomize exec/Go plugins; this tag compiles kustomize's
# plugin loader out (a smaller binary, less memory at start; issue 9
# measured 84 -> 67 MB and 6-8 MiB less RSS). Tests build without it so they
# also cover the default build that `go install` users get.
BUILDTAGS ?= kustomize_disable_go_plugin_support

.PHONY: test test-full test-platform render build vet lint fuzz bench update promtool e2e

## test: vet, then every test in -short mode (golden files, invalid inputs,
## every rule and validator, CLI scripts, promtool unit tests of every rule,
## the render cache and shards), then the examples/platform module's.
## -short trims only exhaustive checks: the property tests run fewer random
## cases, and the every-example x every-builder matrix (Flux's and kubectl's
## kustomize on every layer) waits for test-full.
test: vet promtool
	$(GO) test -short -timeout 20m ./...
	$(MAKE) test-platform

## test-full: after make test, the packages whose tests trim themselves
## under -short (found by grep, so a new one is not forgotten), at full
## strength; CI runs both (.ci/run).
SHORT_TRIMMED = $(sort $(dir $(shell grep -rl --include='*_test.go' 'testing.Short()' generate overlays cmd)))
test-full: promtool
	$(GO) test -timeout 30m $(addprefix ./,$(SHORT_TRIMMED))

## test-platform: examples/platform is a module of its own (Vigil used as
## a library); ./... does not reach it.
test-platform:
	cd examples/platform && $(GO) vet ./... && $(GO) test ./...

## promtool: build the rule tests' promtool from go.mod's tool directive
## once, outside any test's timeout (a cold build takes minutes).
promtool:
	$(GO) tool promtool --version >/dev/null

vet:
	$(GO) vet ./...

## lint: staticcheck at the pinned version, installed into GOPATH/bin.
## Deprecations that cannot be replaced yet carry a lint:ignore with the
## reason, or a staticcheck.conf beside the package.
lint:
	GOBIN=$(GOBIN_DIR) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)
	$(GOBIN_DIR)/staticcheck ./...

## fuzz: each fuzz target for its budget above: the loader with arbitrary
## CUE, render with perturbed examples (seeds in testdata/fuzz), the
## credential scan's prefilters against its full expressions. `make test`
## runs the seeds only; CI runs this too.
fuzz:
	$(GO) test ./generate/ -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime $(FUZZ_LOAD) $(FUZZFLAGS)
	$(GO) test ./generate/ -run '^$$' -fuzz '^FuzzRender$$' -fuzztime $(FUZZ_RENDER) $(FUZZFLAGS)
	$(GO) test ./generate/ -run '^$$' -fuzz '^FuzzCredentialPrefilter$$' -fuzztime $(FUZZ_PREFILTER) $(FUZZFLAGS)

## render: render the example environment prod into $(OUT).
render:
	$(GO) run -tags $(BUILDTAGS) ./cmd/gen render environments/prod -o $(OUT)

## build: the gen binary, without kustomize plugin support (see BUILDTAGS).
build:
	$(GO) build -tags $(BUILDTAGS) -o bin/gen ./cmd/gen

## bench: the render benchmarks (compare runs with benchstat): the overlay
## compiler and fleets of 1, 10 and 50 environments six times each; fleets of
## 200 and 1000 once (uncached, they take minutes per run). Figures and the
## machine they were taken on: README, "Performance".
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./overlays/
	$(GO) test -run '^$$' -bench 'BenchmarkRender(Prod|AllExamples)$$' -benchmem -count 6 ./generate/
	$(GO) test -run '^$$' -bench 'BenchmarkRender$$/^fleet-(1|10|50)$$/' -benchmem -count 6 -timeout 2h ./generate/
	$(GO) test -run '^$$' -bench 'BenchmarkRender$$/^fleet-(200|1000)$$/' -benchtime 1x -benchmem -count 1 -timeout 4h ./generate/

## update: rewrite golden files; read `git diff testdata` before committing.
update:
	$(GO) test ./... -update

## e2e: every example on a real kube-apiserver and real Flux controllers,
## plus a day-2 sequence (see README, "End-to-end"). Builds and caches the
## binaries in $$VIGIL_E2E_CACHE on first use (cold: tens of minutes).
e2e:
	e2e/run.sh
