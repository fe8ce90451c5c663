#!/usr/bin/env bash
# screenshots.sh — docs/img/tray-*.png from the real tray app, against the real
# host daemon and the on-prem license server (licensed), under X.
#
#   make screenshots     # builds bin/licensehost, bin/licensed, bin/licensehost-tray,
#                        # then runs this under xvfb-run and dbus-run-session
#
# Shots: the activation form (community), the status window under the
# pre-authorization (features), the status window once licensed, and the
# status window in grace (licensed stopped, one failed refresh).
# Env: BIN (default bin), OUT (default docs/img), LANGUAGE (default en_US;
# LANGUAGE=zh_CN gives the Chinese UI, saved with a -zh suffix).
set -euo pipefail

BIN=${BIN:-bin}
OUT=${OUT:-docs/img}
export LANGUAGE=${LANGUAGE:-en_US} FYNE_THEME=${FYNE_THEME:-light}
SUFFIX=""
case "$LANGUAGE" in zh*) SUFFIX="-zh" ;; esac
: "${DISPLAY:?run under xvfb-run (make screenshots)}"
for b in licensed licensehost licensehost-tray; do
	[ -x "$BIN/$b" ] || { echo "screenshots: $BIN/$b is missing; run 'make build licensed tray'" >&2; exit 1; }
done
for t in import xwininfo; do
	command -v "$t" >/dev/null || { echo "screenshots: $t is missing; run 'make deps'" >&2; exit 1; }
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/licensehost-shots.XXXXXX")
LD="$WORK/licensed" HD="$WORK/host"
HOST_ADDR=127.0.0.1:$((20000 + RANDOM % 20000))
export XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$WORK"
}
trap cleanup EXIT

wait_file() { for _ in $(seq 100); do [ -s "$1" ] && return 0; sleep 0.1; done; echo "screenshots: $1 never appeared" >&2; return 1; }
wait_health() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/${1%:*}/${1##*:}") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "screenshots: nothing listens on $1" >&2
	return 1
}

# The license server, a license type and a key.
"$BIN/licensed" init --data-dir "$LD" --app-name "密钥管理系统" >/dev/null
PUB=$("$BIN/licensed" pubkey --data-dir "$LD")
"$BIN/licensed" type add lifetime --display "终生赞助版" --max-devices 1 --field1 500 --field2 100 --validity 36500d --data-dir "$LD" >/dev/null
"$BIN/licensed" serve --data-dir "$LD" --listen 127.0.0.1:0 >"$WORK/licensed.log" 2>&1 &
LICENSED_PID=$!
pids+=("$LICENSED_PID")
wait_file "$LD/licensed.addr"
LICENSED_URL=$(cat "$LD/licensed.addr")
hp=${LICENSED_URL#http://}
wait_health "${hp%%/*}"
KEY=$("$BIN/licensed" key issue --type lifetime --note screenshots --data-dir "$LD")

# The host daemon, with a product file (docs/features.md) so the status
# shows the Features card: the lifetime type grants two features, the
# pre-authorization covered two (one of them only), one is not licensed.
mkdir -p "$HD"
cat >"$WORK/product.json" <<'JSON'
{"version": 1, "product": "Integration Platform",
 "features": [{"name": "data.source", "title": "数据源管理"}, {"name": "data.ingest", "title": "数据接入"},
              {"name": "data.cdc", "title": "CDC 实时数据同步"}, {"name": "market.assets", "title": "资产市场"}],
 "preauth": {"days": 180, "features": ["data.source", "data.ingest"]},
 "licenseTypes": {"lifetime": ["data.source", "data.cdc"]}}
JSON
"$BIN/licensehost" --license-server "$LICENSED_URL" --data-dir "$HD" --listen "$HOST_ADDR" \
	--server-public-key "$PUB" --product "$WORK/product.json" >"$WORK/host.log" 2>&1 &
pids+=($!)
wait_health "$HOST_ADDR"
wait_file "$HD/admin.token"
export LICENSEHOST_URL="http://$HOST_ADDR" LICENSEHOST_TOKEN_FILE="$HD/admin.token" LICENSEHOST_DATA_DIR="$HD"

# shot NAME TAB: start the tray on TAB, wait for its window, capture it.
shot() {
	local name=$1 tab=$2 id=""
	"$BIN/licensehost-tray" --show "$tab" >"$WORK/tray-$name.log" 2>&1 &
	local pid=$!
	for _ in $(seq 100); do
		id=$(xwininfo -root -tree 2>/dev/null | awk '/"licensehost"/ && / 640x/ {print $1; exit}')
		[ -n "$id" ] && break
		sleep 0.1
	done
	[ -n "$id" ] || { cat "$WORK/tray-$name.log" >&2; echo "screenshots: no tray window" >&2; kill "$pid"; return 1; }
	sleep 2 # the first status read and the first frames
	mkdir -p "$OUT"
	import -window "$id" "$OUT/tray-$name$SUFFIX.png"
	echo "screenshots: $OUT/tray-$name$SUFFIX.png"
	kill "$pid"
	wait "$pid" 2>/dev/null || true
}

shot activate activate
shot features status
"$BIN/licensehost" activate "$KEY" >/dev/null
shot licensed status
kill "$LICENSED_PID"
wait "$LICENSED_PID" 2>/dev/null || true
"$BIN/licensehost" heartbeat >/dev/null 2>&1 || true # fails: grace starts
shot grace status
