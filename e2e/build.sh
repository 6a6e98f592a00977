#!/usr/bin/env bash
# Build (once) the real components `make e2e` runs, caching each binary by
# version in $VIGIL_E2E_CACHE so later runs start in seconds.
#
# Upstream binaries cannot be `go install`ed: kubernetes and the Flux
# controllers carry replace directives in their go.mod. Each one is therefore
# built in a throwaway module under $VIGIL_E2E_CACHE/src that pins the
# published versions instead. Nothing here touches the Vigil module.
#
# Usage: e2e/build.sh [controller-gen|kube-apiserver|kustomize-controller|source-controller|helm-controller|gitserver|etcd]...
# (no argument = all). Prints nothing but progress; exits non-zero on failure.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.37.2}
KUSTOMIZE_CONTROLLER_VERSION=${KUSTOMIZE_CONTROLLER_VERSION:-v1.9.5}
SOURCE_CONTROLLER_VERSION=${SOURCE_CONTROLLER_VERSION:-v1.9.5}
HELM_CONTROLLER_VERSION=${HELM_CONTROLLER_VERSION:-v1.6.4}
# controller-gen generates prometheus-operator's CRDs from its pinned API
# module: the proxy does not serve the main module, so the tag's files are
# not available offline (see e2e/crds.sh).
CONTROLLER_TOOLS_VERSION=${CONTROLLER_TOOLS_VERSION:-v0.23.0}
# source-controller v1.9.5 asks for fluxcd/pkg/artifact v0.18.3, which the
# module proxy refuses; v0.18.1 is the nearest served version and builds.
SOURCE_CONTROLLER_EXTRA=${SOURCE_CONTROLLER_EXTRA:-github.com/fluxcd/pkg/artifact=github.com/fluxcd/pkg/artifact@v0.18.1}

CACHE=${VIGIL_E2E_CACHE:-$HOME/.cache/vigil-e2e}
BIN=$CACHE/bin
SRC=$CACHE/src
mkdir -p "$BIN" "$SRC"
HERE=$(cd "$(dirname "$0")" && pwd)

# Cold builds are long (kube-apiserver: 11 min quiet, ~27 min on a loaded
# 2-core host) and must not starve whatever else runs on a shared machine:
# niced, one package at a time. A dedicated CI machine sets E2E_GOFLAGS=""
# to compile on every core.
export GOFLAGS="${GOFLAGS:-} ${E2E_GOFLAGS--p=1}"
export GOTOOLCHAIN=local
NICE=(nice -n 19)

log() { printf '%s e2e/build: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

# install_if_missing <cache-name> <builder...>: build into a temp file and
# rename, so an interrupted build never leaves a half-written cached binary.
build_cached() {
	local name=$1; shift
	if [[ -x $BIN/$name ]]; then log "$name: cached"; return; fi
	log "$name: building (cold)"
	local start=$SECONDS
	"$@" "$BIN/$name.tmp"
	mv "$BIN/$name.tmp" "$BIN/$name"
	log "$name: built in $((SECONDS - start))s"
}

build_kube_apiserver() {
	local out=$1 mod=$SRC/kube-apiserver-$K8S_VERSION
	local staging_version=v0.${K8S_VERSION#v1.} # v1.37.2 -> v0.37.2
	mkdir -p "$mod"; cd "$mod"; rm -f go.mod go.sum
	go mod init vigil-e2e/kube-apiserver >/dev/null 2>&1
	local gomod
	gomod=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
	go mod edit -require="k8s.io/kubernetes@$K8S_VERSION"
	# Every staging module kubernetes replaces with ./staging/... is published
	# separately as v0.X.Y; the sample-* ones are not, and are not needed.
	local m
	for m in $(sed -n '/^replace (/,/^)/p' "$gomod" | awk '/=> \.\/staging/{print $1}'); do
		case $m in k8s.io/sample-*) continue ;; esac
		go mod edit -replace="$m=$m@$staging_version"
	done
	printf '//go:build tools\n\npackage tools\n\nimport _ "k8s.io/kubernetes/cmd/kube-apiserver"\n' >tools.go
	go mod tidy
	"${NICE[@]}" go build -mod=mod -trimpath -ldflags="-s -w \
		-X k8s.io/component-base/version.gitVersion=$K8S_VERSION \
		-X k8s.io/component-base/version.gitMajor=1 \
		-X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$K8S_VERSION") \
		-X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" \
		-o "$out" k8s.io/kubernetes/cmd/kube-apiserver
}

# build_flux_controller <name> <version> <extra replaces> <out>: the module zip
# lacks the nested ./api module its go.mod replaces, so build a writable copy
# with that replace pointed at the published api module of the same version.
build_flux_controller() {
	local name=$1 version=$2 extra=$3 out=$4
	local dir copy=$SRC/$name-$version
	dir=$(cd "$SRC" && go mod download -json "github.com/fluxcd/$name@$version" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
	rm -rf "$copy"; cp -r "$dir" "$copy"; chmod -R u+w "$copy"; cd "$copy"
	go mod edit -replace="github.com/fluxcd/$name/api=github.com/fluxcd/$name/api@$version"
	local r
	for r in $extra; do go mod edit -replace="$r"; done
	# `go mod tidy` would fail: test-only dependencies are refused by the proxy.
	"${NICE[@]}" go build -mod=mod -trimpath -ldflags="-s -w" -o "$out" .
}

build_controller_gen() {
	local gobin=$SRC/controller-gen-$CONTROLLER_TOOLS_VERSION
	GOBIN=$gobin "${NICE[@]}" go install -trimpath "sigs.k8s.io/controller-tools/cmd/controller-gen@$CONTROLLER_TOOLS_VERSION"
	mv "$gobin/controller-gen" "$1"
}

build_gitserver() { cd "$HERE/gitserver" && go build -trimpath -o "$1" .; }

# etcd comes from Debian: building it adds minutes and any 3.4+ serves 1.37.
ensure_etcd() {
	if command -v etcd >/dev/null; then log "etcd: $(command -v etcd)"; return; fi
	log "etcd: installing Debian etcd-server"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq etcd-server >/dev/null
}

targets=("$@")
[[ ${#targets[@]} -gt 0 ]] || targets=(etcd gitserver controller-gen kube-apiserver kustomize-controller source-controller helm-controller)
for t in "${targets[@]}"; do
	case $t in
	etcd) ensure_etcd ;;
	gitserver) build_cached gitserver build_gitserver ;;
	kube-apiserver) build_cached "kube-apiserver-$K8S_VERSION" build_kube_apiserver ;;
	kustomize-controller) build_cached "kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION" \
		build_flux_controller kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION" "" ;;
	source-controller) build_cached "source-controller-$SOURCE_CONTROLLER_VERSION" \
		build_flux_controller source-controller "$SOURCE_CONTROLLER_VERSION" "$SOURCE_CONTROLLER_EXTRA" ;;
	helm-controller) build_cached "helm-controller-$HELM_CONTROLLER_VERSION" \
		build_flux_controller helm-controller "$HELM_CONTROLLER_VERSION" "" ;;
	controller-gen) build_cached "controller-gen-$CONTROLLER_TOOLS_VERSION" build_controller_gen ;;
	*) echo "e2e/build.sh: unknown target $t" >&2; exit 2 ;;
	esac
done
