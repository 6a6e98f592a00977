# The two commands a new machine needs: `make render` and `make test`.
GO ?= go
OUT ?= deploy

.PHONY: test render vet bench update

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
