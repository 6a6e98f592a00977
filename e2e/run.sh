#!/usr/bin/env bash
# `make e2e`: build (or reuse) the real components, prepare the upstream
# sources, and run the e2e tests; every control plane the tests start is
# stopped on success, failure or interrupt.
#
# Env: VIGIL_E2E_CACHE (binaries and upstream sources, default ~/.cache/vigil-e2e),
#      E2E_WORK (scratch directory, default a fresh one under /tmp, removed on success),
#      E2E_PORT_BASE (default 26000; the second process below uses +1000),
#      E2E_RUN (go test -run pattern: one process runs just that).
set -euo pipefail
cd "$(dirname "$0")/.."
WORK=${E2E_WORK:-$(mktemp -d "${TMPDIR:-/tmp}/vigil-e2e.XXXXXX")}
export E2E_WORK=$WORK
BASE=${E2E_PORT_BASE:-26000}

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
gotest=(go test -tags e2e -count=1 -timeout 60m -v)
if [[ -n ${E2E_RUN:-} ]]; then
	E2E_PORT_BASE=$BASE "${gotest[@]}" -run "$E2E_RUN" ./e2e/
else
	# Two processes, each with control planes on its own ports: TestDay2
	# (prod, then its day-2 changes) and everything else (the other
	# examples). A control plane spends much of its time waiting (Flux's
	# 2 s dependency requeue, 5 s health-check polls), so the two overlap
	# well on two cores. Each line is prefixed with its part; the build
	# runs once, before, so that the two do not compile the test twice.
	go test -tags e2e -count=1 -run '^$' ./e2e/ >/dev/null
	part() {
		local name=$1 base=$2
		shift 2
		E2E_PORT_BASE=$base "${gotest[@]}" "$@" ./e2e/ 2>&1 | sed -u "s/^/[$name] /"
		return "${PIPESTATUS[0]}"
	}
	part day2 "$BASE" -run '^TestDay2$' &
	day2=$!
	part examples "$((BASE + 1000))" -skip '^TestDay2$' &
	examples=$!
	rc=0
	wait "$day2" || rc=1
	wait "$examples" || rc=1
	((rc == 0)) || { echo "e2e: FAILED after $((SECONDS - start))s (the [day2] or [examples] lines above say where)" >&2; exit 1; }
fi
echo "e2e: passed in $((SECONDS - start))s" >&2
[[ -n ${KEEP_E2E_WORK:-} ]] || rm -rf "$WORK"
