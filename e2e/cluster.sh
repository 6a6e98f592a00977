#!/usr/bin/env bash
# Start or stop one throwaway control plane for the e2e test, on loopback only:
# etcd, kube-apiserver (certificates generated with openssl), the loopback git
# server, and Flux's source-, kustomize- and helm-controller as plain
# processes. There is no kubelet and no controller-manager: nothing runs pods,
# and the test writes workload status itself.
#
#   e2e/cluster.sh up   RUN_DIR   start etcd, kube-apiserver and the git server; prints the kubeconfig path
#   e2e/cluster.sh controllers RUN_DIR   start the Flux controllers (once their CRDs are installed)
#   e2e/cluster.sh down RUN_DIR   stop what RUN_DIR/*.pid names: clients first,
#                                 etcd last (an apiserver without etcd hangs on SIGTERM)
#
# Binaries come from e2e/build.sh's cache; ports from E2E_PORT_BASE (default 26000).
set -euo pipefail

CACHE=${VIGIL_E2E_CACHE:-$HOME/.cache/vigil-e2e}
BIN=$CACHE/bin
K8S_VERSION=${K8S_VERSION:-v1.37.2}
KUSTOMIZE_CONTROLLER_VERSION=${KUSTOMIZE_CONTROLLER_VERSION:-v1.9.5}
SOURCE_CONTROLLER_VERSION=${SOURCE_CONTROLLER_VERSION:-v1.9.5}
HELM_CONTROLLER_VERSION=${HELM_CONTROLLER_VERSION:-v1.6.4}
BASE=${E2E_PORT_BASE:-26000}
ETCD_PORT=$((BASE + 379)) ETCD_PEER_PORT=$((BASE + 380)) APISERVER_PORT=$((BASE + 443))
GIT_PORT=$((BASE + 80)) STORAGE_PORT=$((BASE + 90))

# E2E_CONTROLLERS narrows the Flux controllers started (the test then skips
# what needs the missing ones); default all three.
CONTROLLERS=" ${E2E_CONTROLLERS-source-controller kustomize-controller helm-controller} "
has() { [[ $CONTROLLERS == *" $1 "* ]]; }

# Stop order: whatever talks to the apiserver, then the apiserver, then etcd.
STOP_ORDER=(helm-controller kustomize-controller source-controller gitserver kube-apiserver etcd)

log() { printf '%s e2e/cluster: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

down() {
	local run=$1 name p pid i
	for name in "${STOP_ORDER[@]}"; do
		p=$run/$name.pid
		[[ -f $p ]] || continue
		pid=$(cat "$p")
		if kill -0 "$pid" 2>/dev/null; then
			kill "$pid" 2>/dev/null || true
			for i in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
			if kill -0 "$pid" 2>/dev/null; then log "$name ($pid) ignored SIGTERM for 10s: SIGKILL"; kill -9 "$pid" 2>/dev/null || true; fi
		fi
		rm -f "$p"
	done
}

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# wait_for <name> <pid file> <command...>: poll until the command succeeds,
# failing early (with the log tail) if the process died.
wait_for() {
	local name=$1 run=$2; shift 2
	local i
	for i in $(seq 600); do
		"$@" >/dev/null 2>&1 && return 0
		if ! kill -0 "$(cat "$run/$name.pid")" 2>/dev/null; then
			log "$name exited during start-up:"; tail -n 30 "$run/$name.log" >&2; return 1
		fi
		sleep 0.1
	done
	log "$name not ready after 60s:"; tail -n 30 "$run/$name.log" >&2; return 1
}

certs() {
	local pki=$1
	mkdir -p "$pki"
	(
		cd "$pki"
		openssl req -x509 -newkey rsa:2048 -nodes -days 2 -keyout ca.key -out ca.crt -subj /CN=vigil-e2e-ca 2>/dev/null
		printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=serverAuth \
			subjectAltName=IP:127.0.0.1,IP:10.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc >server.ext
		openssl req -newkey rsa:2048 -nodes -keyout server.key -out server.csr -subj /CN=kube-apiserver 2>/dev/null
		openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile server.ext -out server.crt 2>/dev/null
		# O=system:masters: the test and the controllers act as cluster admin.
		printf '%s\n' basicConstraints=CA:FALSE keyUsage=digitalSignature,keyEncipherment extendedKeyUsage=clientAuth >client.ext
		openssl req -newkey rsa:2048 -nodes -keyout admin.key -out admin.csr -subj "/O=system:masters/CN=vigil-e2e-admin" 2>/dev/null
		openssl x509 -req -in admin.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile client.ext -out admin.crt 2>/dev/null
		openssl genrsa -out sa.key 2048 2>/dev/null
		openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null
	)
}

kubeconfig() {
	local pki=$1 ca crt key
	ca=$(base64 -w0 <"$pki/ca.crt") crt=$(base64 -w0 <"$pki/admin.crt") key=$(base64 -w0 <"$pki/admin.key")
	cat <<YAML
apiVersion: v1
kind: Config
clusters:
- name: vigil-e2e
  cluster: {server: "https://127.0.0.1:$APISERVER_PORT", certificate-authority-data: "$ca"}
users:
- name: vigil-e2e-admin
  user: {client-certificate-data: "$crt", client-key-data: "$key"}
contexts:
- name: vigil-e2e
  context: {cluster: vigil-e2e, user: vigil-e2e-admin}
current-context: vigil-e2e
YAML
}

up() {
	local run=$1 port
	for port in $ETCD_PORT $ETCD_PEER_PORT $APISERVER_PORT $GIT_PORT $STORAGE_PORT; do
		port_free "$port" || { log "port $port is in use (a previous run? try: e2e/cluster.sh down RUN_DIR)"; return 1; }
	done
	local want=("kube-apiserver-$K8S_VERSION" gitserver)
	has source-controller && want+=("source-controller-$SOURCE_CONTROLLER_VERSION")
	has kustomize-controller && want+=("kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION")
	has helm-controller && want+=("helm-controller-$HELM_CONTROLLER_VERSION")
	for b in "${want[@]}"; do
		[[ -x $BIN/$b ]] || { log "$BIN/$b missing: run e2e/build.sh"; return 1; }
	done
	command -v etcd >/dev/null || { log "etcd missing: run e2e/build.sh etcd (Debian etcd-server)"; return 1; }
	mkdir -p "$run"
	local start=$SECONDS
	certs "$run/pki"
	kubeconfig "$run/pki" >"$run/kubeconfig"

	local fsync=()
	etcd --help 2>&1 | grep -q -- --unsafe-no-fsync && fsync=(--unsafe-no-fsync) # throwaway data
	etcd --name vigil-e2e --data-dir "$run/etcd" \
		--listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
		--listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
		--initial-cluster "vigil-e2e=http://127.0.0.1:$ETCD_PEER_PORT" "${fsync[@]}" >"$run/etcd.log" 2>&1 &
	echo $! >"$run/etcd.pid"
	wait_for etcd "$run" curl -sf "http://127.0.0.1:$ETCD_PORT/health"

	# --endpoint-reconciler-type=none: 1.37 refuses a loopback advertise
	# address for the kubernetes Service endpoints otherwise.
	"$BIN/kube-apiserver-$K8S_VERSION" \
		--bind-address=127.0.0.1 --secure-port="$APISERVER_PORT" --advertise-address=127.0.0.1 \
		--etcd-servers="http://127.0.0.1:$ETCD_PORT" --cert-dir="$run/apiserver-certs" \
		--tls-cert-file="$run/pki/server.crt" --tls-private-key-file="$run/pki/server.key" \
		--client-ca-file="$run/pki/ca.crt" \
		--service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$run/pki/sa.pub" \
		--service-account-signing-key-file="$run/pki/sa.key" --service-cluster-ip-range=10.0.0.0/24 \
		--authorization-mode=RBAC --allow-privileged=true --disable-admission-plugins=ServiceAccount \
		--endpoint-reconciler-type=none >"$run/kube-apiserver.log" 2>&1 &
	echo $! >"$run/kube-apiserver.pid"
	wait_for kube-apiserver "$run" curl -sf --cacert "$run/pki/ca.crt" --cert "$run/pki/admin.crt" --key "$run/pki/admin.key" \
		"https://127.0.0.1:$APISERVER_PORT/readyz"

	mkdir -p "$run/git" "$run/files"
	"$BIN/gitserver" -addr "127.0.0.1:$GIT_PORT" -git-root "$run/git" -files "$run/files" >"$run/gitserver.log" 2>&1 &
	echo $! >"$run/gitserver.pid"
	wait_for gitserver "$run" curl -sf -o /dev/null "http://127.0.0.1:$GIT_PORT/files/"

	log "up in $((SECONDS - start))s: apiserver https://127.0.0.1:$APISERVER_PORT, git http://127.0.0.1:$GIT_PORT"
	echo "$run/kubeconfig"
}

# controllers starts the Flux controllers; they need their CRDs installed
# (the test installs them from the controllers' module zips).
controllers() {
	local run=$1
	# TMPDIR per control plane: kustomize-controller purges every
	# kustomization-* directory in its temp dir when it starts, which took
	# the artifacts a controller of a control plane running beside it was
	# extracting (make e2e runs two at once).
	mkdir -p "$run/tmp"
	export KUBECONFIG=$run/kubeconfig RUNTIME_NAMESPACE=flux-system TMPDIR=$run/tmp
	local common=(--enable-leader-election=false --watch-all-namespaces=true --log-level=info --log-encoding=json)
	mkdir -p "$run/source-storage"
	local c health
	for c in source-controller kustomize-controller helm-controller; do
		has "$c" || continue
		case $c in
		source-controller)
			health=$((BASE + 92))
			"$BIN/$c-$SOURCE_CONTROLLER_VERSION" "${common[@]}" --storage-path="$run/source-storage" \
				--storage-addr="127.0.0.1:$STORAGE_PORT" --storage-adv-addr="127.0.0.1:$STORAGE_PORT" \
				--metrics-addr="127.0.0.1:$((BASE + 91))" --health-addr="127.0.0.1:$health" >"$run/$c.log" 2>&1 &
			;;
		kustomize-controller)
			# --requeue-dependency: the default 30s makes a 7-layer chain crawl.
			health=$((BASE + 94))
			"$BIN/$c-$KUSTOMIZE_CONTROLLER_VERSION" "${common[@]}" --requeue-dependency=2s \
				--metrics-addr="127.0.0.1:$((BASE + 93))" --health-addr="127.0.0.1:$health" >"$run/$c.log" 2>&1 &
			;;
		helm-controller)
			health=$((BASE + 96))
			"$BIN/$c-$HELM_CONTROLLER_VERSION" "${common[@]}" --requeue-dependency=2s \
				--metrics-addr="127.0.0.1:$((BASE + 95))" --health-addr="127.0.0.1:$health" >"$run/$c.log" 2>&1 &
			;;
		esac
		echo $! >"$run/$c.pid"
		wait_for "$c" "$run" curl -sf "http://127.0.0.1:$health/readyz"
	done
}

RUN_DIR=${2:-}
[[ -n $RUN_DIR ]] || { echo "usage: $0 up|controllers|down RUN_DIR" >&2; exit 2; }
case ${1:-} in
up | controllers)
	# A failed or interrupted start leaves nothing running behind.
	trap 'rc=$?; ((rc == 0)) || down "$RUN_DIR"' EXIT
	trap 'exit 130' INT TERM
	"$1" "$RUN_DIR"
	;;
down) down "$RUN_DIR" ;;
*) echo "usage: $0 up|controllers|down RUN_DIR" >&2; exit 2 ;;
esac
