#!/bin/sh
# make bench-http: POST /api/quota/check through the real daemon (bin/licensehost,
# default settings: info log level, builtin policy) and the same request
# against a bare net/http JSON handler (bin/barejson) on the same machine, in
# the same run, with an external load generator (wrk, 2 threads, 16
# connections). Runs alternate bare/host ROUNDS times; prints each run's
# req/s and the ratio of the sums. docs/benchmarks.md.
set -eu
BIN=${BIN:-bin}
DURATION=${DURATION:-10s}
ROUNDS=${ROUNDS:-3}
EXTRA=${EXTRA:-} # more daemon flags, e.g. EXTRA="--log-level debug"

work=$(mktemp -d)
pids=""
cleanup() { for p in $pids; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT INT TERM

# wait_url FILE: the URL a process printed ("listening on http://…").
wait_url() {
	i=0
	while [ $i -lt 300 ]; do
		url=$(sed -n 's/.*listening on \(http:[^ ]*\).*/\1/p' "$1" | head -n 1)
		if [ -n "$url" ]; then echo "$url"; return 0; fi
		i=$((i + 1)); sleep 0.1
	done
	echo "bench-http: $1 printed no address:" >&2; cat "$1" >&2; return 1
}

# shellcheck disable=SC2086
"$BIN/licensehost" --listen 127.0.0.1:0 --data-dir "$work/data" --license-server http://127.0.0.1:9 $EXTRA \
	>"$work/host.out" 2>"$work/host.err" &
pids="$pids $!"
"$BIN/barejson" >"$work/bare.out" 2>&1 &
pids="$pids $!"
host=$(wait_url "$work/host.out")
bare=$(wait_url "$work/bare.out")
token=$(cat "$work/data/admin.token")

cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"batch":5,"used":10}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA

rps() { wrk -t2 -c16 -d"$DURATION" -s "$work/post.lua" "$1" | awk '/^Requests\/sec/ {print $2}'; }

echo "wrk -t2 -c16 -d$DURATION, POST /api/quota/check, $ROUNDS rounds; daemon flags: ${EXTRA:-none}"
rps "$host/api/quota/check" >/dev/null # warm up
rps "$bare/" >/dev/null
sum_bare=0; sum_host=0
r=1
while [ $r -le "$ROUNDS" ]; do
	b=$(rps "$bare/"); h=$(rps "$host/api/quota/check")
	echo "round $r: bare $b req/s, licensehost $h req/s"
	sum_bare=$(awk "BEGIN {print $sum_bare + $b}"); sum_host=$(awk "BEGIN {print $sum_host + $h}")
	r=$((r + 1))
done
echo "licensehost / bare = $(awk "BEGIN {printf \"%.3f\", $sum_host / $sum_bare}")  (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "daemon log lines written: $(wc -l <"$work/host.err")"
