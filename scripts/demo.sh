#!/usr/bin/env bash
# demo.sh — licensehost end to end on one machine: start licensed (the on-prem
# license server) and the host, issue a demo key, activate it, show status.
#
#   make demo            # builds bin/licensehost and bin/licensed, then runs this
#   KEEP=1 make demo     # keep the work directory (data dirs, logs) afterwards
#
# Env: BIN (default bin), HOST_ADDR (default 127.0.0.1:<random port>),
# WORK (default a fresh temporary directory).
set -euo pipefail

BIN=${BIN:-bin}
HOST_ADDR=${HOST_ADDR:-127.0.0.1:$((20000 + RANDOM % 20000))}
WORK=${WORK:-$(mktemp -d "${TMPDIR:-/tmp}/licensehost-demo.XXXXXX")}
LD="$WORK/licensed"
HD="$WORK/host"

for b in licensed licensehost; do
	if [ ! -x "$BIN/$b" ]; then
		echo "demo: $BIN/$b is missing; run 'make build licensed' first" >&2
		exit 1
	fi
done

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	if [ -n "${KEEP:-}" ]; then echo "demo: kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

# wait_http URL: until it answers (curl when present, else bash's /dev/tcp).
wait_http() {
	local url=$1 hostport=${1#http://}
	hostport=${hostport%%/*}
	for _ in $(seq 100); do
		if command -v curl >/dev/null 2>&1; then
			curl -fsS -o /dev/null "$url" 2>/dev/null && return 0
		elif (exec 3<>"/dev/tcp/${hostport%:*}/${hostport##*:}") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "demo: $url did not come up" >&2
	return 1
}

step "licensed init: Ed25519 key pair, admin token, store"
"$BIN/licensed" init --data-dir "$LD" --app-name "licensehost demo"
PUB=$("$BIN/licensed" pubkey --data-dir "$LD")
"$BIN/licensed" type add demo --display "演示版" --max-devices 1 --field1 500 --field2 50 --validity 30d --data-dir "$LD"

step "licensed serve (port chosen by the kernel)"
"$BIN/licensed" serve --data-dir "$LD" --listen 127.0.0.1:0 >"$WORK/licensed.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -s "$LD/licensed.addr" ] && break; sleep 0.1; done
LICENSED_URL=$(cat "$LD/licensed.addr")
wait_http "$LICENSED_URL/healthz"
echo "licensed at $LICENSED_URL, public key $PUB"

step "issue a demo key (through the running server's admin API)"
KEY=$("$BIN/licensed" key issue --type demo --note "make demo" --data-dir "$LD")
echo "key: $KEY"

step "start the host, pinned to licensed's public key"
mkdir -p "$HD"
"$BIN/licensehost" --license-server "$LICENSED_URL" --data-dir "$HD" --listen "$HOST_ADDR" \
	--server-public-key "$PUB" >"$WORK/host.log" 2>&1 &
pids+=($!)
wait_http "http://$HOST_ADDR/healthz"
export LICENSEHOST_DATA_DIR="$HD" LICENSEHOST_LISTEN="$HOST_ADDR"

step "licensehost activate"
"$BIN/licensehost" activate "$KEY"

step "licensehost status"
"$BIN/licensehost" status

step "the server's view"
"$BIN/licensed" key show "$KEY" --data-dir "$LD"
"$BIN/licensed" audit --limit 5 --data-dir "$LD"
