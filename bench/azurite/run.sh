#!/usr/bin/env bash
# Side-by-side Storage Queue benchmark: Baton (fsync and buffered) against
# Azurite, same client (azqueue v1.0.0, bench/azurite/sqbench), same
# workload, same machine, one target at a time on a free loopback port.
#
#   bench/azurite/run.sh                  # ~12 s per workload per target
#   DURATION=20s CONCURRENCY=64 bench/azurite/run.sh
#
# Environment: DURATION (12s), WARMUP (2s), CONCURRENCY (16), SIZE (1024),
# WORKLOADS (peek,put,get), TARGETS ("baton-fsync baton-buffered azurite"),
# GET_PRELOAD (10000: the get workload drains what put left, topped up to
# this), PEEK_PRELOAD (1000),
# OUT (directory for the JSON reports and logs; a temp dir by default),
# BASELINE (a commit: also build baton at that commit, extracted with git
# archive, and run it as the targets baseline-fsync and baseline-buffered,
# which then join the default TARGETS — before/after in one run).
#
#   BASELINE=5dec406 WORKLOADS=put bench/azurite/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
DURATION=${DURATION:-12s}
WARMUP=${WARMUP:-2s}
CONCURRENCY=${CONCURRENCY:-16}
SIZE=${SIZE:-1024}
WORKLOADS=${WORKLOADS:-peek,put,get}
BASELINE=${BASELINE:-}
if [[ -n $BASELINE ]]; then
	TARGETS=${TARGETS:-baton-fsync baseline-fsync baton-buffered baseline-buffered azurite}
else
	TARGETS=${TARGETS:-baton-fsync baton-buffered azurite}
fi
GET_PRELOAD=${GET_PRELOAD:-10000}
PEEK_PRELOAD=${PEEK_PRELOAD:-1000}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-sqbench.XXXXXX")
OUT=${OUT:-$tmp/out}
mkdir -p "$OUT"
server_pid=""
cleanup() {
	if [[ -n $server_pid ]]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp/data" "$tmp/baton" "$tmp/sqbench" "$tmp/baseline-src" "$tmp/baton-baseline"
	rmdir "$tmp" 2>/dev/null || true # empty unless OUT is inside it
}
trap cleanup EXIT

log() { echo "run.sh: $*" >&2; }

log "npm ci (Azurite pinned in bench/azurite/package-lock.json)"
(cd "$here" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
log "go build baton and sqbench"
(cd "$root" && go build -o "$tmp/baton" ./cmd/baton && go build -o "$tmp/sqbench" ./bench/azurite/sqbench)
if [[ -n $BASELINE ]]; then
	baseline_rev=$(cd "$root" && git rev-parse --short "$BASELINE")
	log "go build baton at $baseline_rev (BASELINE)"
	mkdir -p "$tmp/baseline-src"
	(cd "$root" && git archive "$baseline_rev") | tar -x -C "$tmp/baseline-src"
	(cd "$tmp/baseline-src" && go build -o "$tmp/baton-baseline" ./cmd/baton)
fi

azurite_version=$("$here/node_modules/.bin/azurite-queue" --version | tail -n1)
baton_version=$("$tmp/baton" version)
rev=$(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown)
node_version=$(node --version)

free_port() {
	node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

# wait_for LOGFILE PATTERN: until the server prints its ready line.
wait_for() {
	for _ in $(seq 1 600); do
		if grep -q "$2" "$1" 2>/dev/null; then return 0; fi
		if ! kill -0 "$server_pid" 2>/dev/null; then
			log "server exited:"; cat "$1" >&2; return 1
		fi
		sleep 0.05
	done
	log "server not ready after 30 s:"; cat "$1" >&2; return 1
}

stop_server() {
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=""
}

mkdir -p "$tmp/data"
log "disk: write + fdatasync latency of $tmp/data (the physical limit every durable row pays)"
"$tmp/baton" bench disk --dir "$tmp/data" --duration 2s | tee "$OUT/disk.txt" >&2

reports=()
for target in $TARGETS; do
	port=$(free_port)
	data="$tmp/data/$target"
	mkdir -p "$data"
	case $target in
	baton-fsync | baton-buffered | baseline-fsync | baseline-buffered)
		mode=${target#*-}
		bin=$tmp/baton
		version="$baton_version ($rev)"
		if [[ $target == baseline-* ]]; then
			[[ -n $BASELINE ]] || { log "$target needs BASELINE=<commit>"; exit 2; }
			bin=$tmp/baton-baseline
			version="baton at $baseline_rev (BASELINE)"
		fi
		"$bin" serve --data-dir "$data" --durability "$mode" --queue-addr "127.0.0.1:$port" \
			--mgmt-addr off --amqp-addr off --amqps-addr off --eventgrid-addr off --log-level warn \
			>"$OUT/$target.log" 2>&1 &
		server_pid=$!
		wait_for "$OUT/$target.log" "Baton is ready"
		if [[ $mode == fsync ]]; then
			durability="fsync: group-committed fdatasync before every answer"
		else
			durability="buffered: written to the OS before the answer, fsync on a timer"
		fi
		;;
	azurite)
		# Default persistence: LokiJS metadata in --location, message bodies in
		# extent files. No --inMemoryPersistence, so both are on disk.
		"$here/node_modules/.bin/azurite-queue" --queueHost 127.0.0.1 --queuePort "$port" \
			--location "$data" --skipApiVersionCheck --silent --disableTelemetry \
			>"$OUT/$target.log" 2>&1 &
		server_pid=$!
		wait_for "$OUT/$target.log" "successfully listens"
		durability="Azurite default: body fdatasync'd, metadata saved every 5 s (no fsync)"
		version="azurite $azurite_version (node $node_version)"
		;;
	*)
		log "unknown target $target"; exit 2 ;;
	esac
	log "$target on 127.0.0.1:$port (pid $server_pid)"
	"$tmp/sqbench" --url "http://127.0.0.1:$port/devstoreaccount1" --label "$target" \
		--durability "$durability" --version "$version" --pid "$server_pid" \
		--duration "$DURATION" --warmup "$WARMUP" --concurrency "$CONCURRENCY" --size "$SIZE" \
		--workloads "$WORKLOADS" --get-preload "$GET_PRELOAD" --peek-preload "$PEEK_PRELOAD" --json "$OUT/$target.json" >"$OUT/$target.txt"
	stop_server
	reports+=("$OUT/$target.json")
done

echo
echo "Storage Queues side by side on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load average $(cut -d' ' -f1-3 /proc/loadavg)"
"$tmp/sqbench" --compare "${reports[@]}"
echo
echo "JSON reports, per-target tables and server logs: $OUT"
