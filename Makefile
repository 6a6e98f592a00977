# The two commands a new machine needs: `make render` and `make test`.
GO ?= go
OUT ?= out

.PHONY: test render vet bench update e2e

## test: vet, then every test (golden files, invalid inputs, CLI scripts,
## kustomize/Flux/kubectl builds of the rendered tree).
test: vet
	$(GO) test ./...

vet:
	$(GO) vet ./...

## render: render the example environment prod into $(OUT).
render:
	$(GO) run ./cmd/gen render environments/prod -o $(OUT)

## bench: the render benchmarks (compare runs with benchstat).
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./generate/ ./overlays/

## update: rewrite golden files; read `git diff testdata` before committing.
update:
	$(GO) test ./... -update

## e2e: every example on a real kube-apiserver and real Flux controllers,
## plus a day-2 sequence (see README, "End-to-end"). Builds and caches the
## binaries in $$VIGIL_E2E_CACHE on first use (cold: tens of minutes).
e2e:
	e2e/run.sh
