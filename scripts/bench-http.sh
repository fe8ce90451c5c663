#!/bin/sh
# make bench-http: POST /api/quota/check through the real daemon (bin/licensehost,
# default settings: info log level, builtin policy) and the same request
# against a bare net/http JSON handler (bin/barejson) on the same machine, in
# the same run, with an external load generator (wrk, 2 threads, 16
# connections). Runs alternate bare/host ROUNDS times, the order swapped
# every round; prints each round's req/s, server CPU per request and ratio,
# then the ratios of the sums and the range of the rounds' ratios.
# docs/benchmarks.md.
set -eu
BIN=${BIN:-bin}
DURATION=${DURATION:-5s}
ROUNDS=${ROUNDS:-6}
EXTRA=${EXTRA:-} # more daemon flags, e.g. EXTRA="--log-level debug"
HOSTENV=${HOSTENV:-} # variables for the daemon alone, e.g. HOSTENV="GOGC=100"

work=$(mktemp -d)
pids=""
# cleanup stops both servers and waits for them before removing their data
# directory (a daemon whose directory vanishes cannot flush its store).
cleanup() {
	for p in $pids; do kill "$p" 2>/dev/null || true; done
	for p in $pids; do wait "$p" 2>/dev/null || true; done
	rm -rf "$work"
}
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

: >"$work/host.out"
: >"$work/bare.out"
# shellcheck disable=SC2086
env $HOSTENV "$BIN/licensehost" --listen 127.0.0.1:0 --data-dir "$work/data" --license-server http://127.0.0.1:9 $EXTRA \
	>"$work/host.out" 2>"$work/host.err" &
host_pid=$!
pids="$pids $!"
"$BIN/barejson" >"$work/bare.out" 2>&1 &
bare_pid=$!
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

# run PID URL: one wrk run; prints "REQ/S CPU-µs-PER-REQUEST", the second
# being the server process's own CPU time (user + system, from
# /proc/PID/stat) over the requests it answered — steadier than req/s when
# other work shares the machine.
tck=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
run() {
	c0=$(cpu "$1")
	wrk -t2 -c16 -d"$DURATION" -s "$work/post.lua" "$2" >"$work/wrk.out"
	c1=$(cpu "$1")
	awk -v c="$((c1 - c0))" -v tck="$tck" '
		/requests in/ {n = $1}
		/^Requests\/sec/ {r = $2}
		/Non-2xx/ {bad = $NF}
		END {if (bad > 0) {print "bench-http: " bad " answers were not 2xx" > "/dev/stderr"; exit 1}
		     printf "%s %.1f\n", r, c * 1e6 / tck / n}' "$work/wrk.out"
}

echo "wrk -t2 -c16 -d$DURATION, POST /api/quota/check, $ROUNDS rounds; daemon flags: ${EXTRA:-none}; daemon environment: ${HOSTENV:-none}"
run "$host_pid" "$host/api/quota/check" >/dev/null # warm up
run "$bare_pid" "$bare/" >/dev/null
sum_bare=0; sum_host=0; cpu_bare=0; cpu_host=0; ratios=""
r=1
while [ $r -le "$ROUNDS" ]; do
	# Swapping the order every round cancels the machine's drift within a
	# pair as well as across rounds.
	if [ $((r % 2)) -eq 1 ]; then
		set -- $(run "$bare_pid" "$bare/") $(run "$host_pid" "$host/api/quota/check")
	else
		set -- $(run "$host_pid" "$host/api/quota/check") $(run "$bare_pid" "$bare/")
		set -- "$3" "$4" "$1" "$2"
	fi
	ratio=$(awk "BEGIN {printf \"%.3f\", $3 / $1}")
	ratios="$ratios $ratio"
	echo "round $r: bare $1 req/s ($2 µs CPU/request), licensehost $3 req/s ($4 µs CPU/request), ratio $ratio"
	sum_bare=$(awk "BEGIN {print $sum_bare + $1}"); sum_host=$(awk "BEGIN {print $sum_host + $3}")
	cpu_bare=$(awk "BEGIN {print $cpu_bare + $2}"); cpu_host=$(awk "BEGIN {print $cpu_host + $4}")
	r=$((r + 1))
done
# shellcheck disable=SC2086
range=$(printf '%s\n' $ratios | sort -n | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%s–%s", lo, hi}')
echo "licensehost / bare = $(awk "BEGIN {printf \"%.3f\", $sum_host / $sum_bare}") by req/s (rounds $range), $(awk "BEGIN {printf \"%.3f\", $cpu_bare / $cpu_host}") by server CPU per request  (load average: $(cut -d' ' -f1-3 /proc/loadavg))"
echo "daemon log lines written: $(wc -l <"$work/host.err")"
