#!/usr/bin/env bash
# `make e2e`: build (or reuse) the real components, prepare the upstream
# sources, and run the e2e tests; every control plane the tests start is
# stopped on success, failure or interrupt.
#
# Env: VIGIL_E2E_CACHE (binaries and upstream sources, default ~/.cache/vigil-e2e),
#      E2E_WORK (scratch directory, default a fresh one under /tmp, removed on success),
#      E2E_PORT_BASE (default 26000), E2E_RUN (go test -run pattern).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${E2E_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/vigil-e2e.XXXXXX")}
export E2E_WORK=$WORK

stop_all() {
	local d
	for d in "$WORK"/*/cluster-*; do
		[[ -d $d ]] && e2e/cluster.sh down "$d"
	done
	return 0
}
trap 'stop_all' EXIT
trap 'stop_all; exit 130' INT TERM

start=$SECONDS
e2e/build.sh
e2e/upstream.sh
echo "e2e: components ready after $((SECONDS - start))s; scratch in $WORK" >&2
go test -tags e2e -count=1 -timeout 60m -v -run "${E2E_RUN:-.}" ./e2e/
echo "e2e: passed in $((SECONDS - start))s" >&2
[[ -n ${KEEP_E2E_WORK:-} ]] || rm -rf "$WORK"
