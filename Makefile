# The two commands a new machine needs: `make render` and `make test`.
GO ?= go
OUT ?= out

.PHONY: test render vet bench update promtool

## test: vet, then every test (golden files, invalid inputs, CLI scripts,
## kustomize/Flux/kubectl builds of the rendered tree, promtool unit tests
## of every rule).
test: vet promtool
	$(GO) test ./...

## promtool: build the rule tests' promtool from go.mod's tool directive
## once, outside any test's timeout (a cold build takes minutes).
promtool:
	$(GO) tool promtool --version >/dev/null

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
