#!/usr/bin/env bash
# Baton on one PostgreSQL with 1, 2 and 3 nodes (`baton serve --standby`),
# beside the embedded store, in one run: durable sends (backlog fill),
# receive + complete (backlog drain) and both at once (throughput), with
# the same load generator (`baton bench run`, go-amqp) and 1 KiB messages.
# With N nodes the producers' and consumers' connections are dealt over the
# N nodes in turn (`--amqp a,b,c`): a connection to a standby node is
# forwarded byte for byte to the active one (docs/scale-out.md).
#
# PGSAMPLE=1 samples PostgreSQL's busy backends (pg_stat_activity) ten
# times a second during each workload: OUT/<config>-<workload>-r<round>.top
# lists what they spent the run on.
#
# FACE=sq measures Storage Queues instead (the official azqueue SDK, Put;
# Get 32 + Delete each): the nodes run with --shared-storage-queues, so
# every node serves the requests it receives itself from the shared tables
# (multi-active), and the embedded store's row is the broker's own Storage
# Queues on the file store.
#
# FACE=sbshared measures shared Service Bus queues: the nodes run with
# --standby --shared-service-bus, so every node serves the AMQP connections
# it receives itself from the shared tables (internal/pgbroker; nothing is
# forwarded), dealt over the nodes as with FACE=sb. The queue is created
# through the Service Bus administration API over HTTPS on the first node's
# AMQP port (`bench run --sb-admin`, trusting that node's development CA in
# its data dir's tls/): the management API talks to the active node's own
# broker, which does not see shared queues. Those rows report no fsyncs per
# message ("—"); the embedded row is the broker on the file store, as with
# FACE=sb.
#
# PostgreSQL runs privately: initdb into a temp dir (as "nobody" under
# root: PostgreSQL refuses root), Unix socket only, fsync and
# synchronous_commit on (its defaults). Each node count gets a fresh schema
# and fresh nodes.
#
#   bench/pgnodes/run.sh
#
# Environment: FACE (sb, sq or sbshared), ROUNDS (2; the order of the
# configurations alternates), DURATION (8s), WARMUP (2s), BACKLOG (50000;
# 20000 with FACE=sq or sbshared), NODES ("embedded 1 2 3"),
# OUT (results directory; default a temp dir), BATON (a baton binary to use
# instead of building this tree).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
FACE=${FACE:-sb}
case $FACE in
sb) BACKLOG=${BACKLOG:-50000} ;;
sq | sbshared) BACKLOG=${BACKLOG:-20000} ;;
*) echo "FACE must be sb, sq or sbshared" >&2; exit 2 ;;
esac
ROUNDS=${ROUNDS:-2} DURATION=${DURATION:-8s} WARMUP=${WARMUP:-2s}
NODES=${NODES:-embedded 1 2 3}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-pgnodes.XXXXXX")
chmod 755 "$tmp"
OUT=${OUT:-$tmp/out}
mkdir -p "$OUT"
pids=()
pg_pid=
cleanup() {
	stop_all
	if [[ -n $pg_pid ]]; then
		kill -INT "${pg_main:-$pg_pid}" 2>/dev/null || true
		for _ in $(seq 1 100); do kill -0 "$pg_pid" 2>/dev/null || break; sleep 0.1; done
	fi
	rm -rf "$tmp/pg" "$tmp/data"
}
trap cleanup EXIT
LOG_PREFIX=pgnodes
# shellcheck source=../lib.sh
source "$here/../lib.sh"

build_baton "$tmp"

# ---- PostgreSQL ------------------------------------------------------------
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
if [[ -z $pgbin || ! -x $pgbin/initdb ]]; then
	log "PostgreSQL is not installed (Debian: apt-get install postgresql)"; exit 1
fi
asuser=()
[[ $(id -u) == 0 ]] && asuser=(runuser -u nobody --)
mkdir -p "$tmp/pg/sock"
[[ $(id -u) == 0 ]] && chown -R nobody "$tmp/pg"
"${asuser[@]}" "$pgbin/initdb" -D "$tmp/pg/data" -A trust -U postgres >"$OUT/initdb.log" 2>&1
"${asuser[@]}" "$pgbin/postgres" -D "$tmp/pg/data" -k "$tmp/pg/sock" -c listen_addresses= \
	-c max_connections=200 -c shared_buffers=256MB >"$OUT/postgres.log" 2>&1 &
pg_pid=$!
psql() { "$pgbin/psql" -h "$tmp/pg/sock" -U postgres -d postgres -v ON_ERROR_STOP=1 -q "$@"; }
wait_ready "$pg_pid" psql -c 'SELECT 1'
# The postmaster itself (under root, $pg_pid is runuser): its children are
# the backends, whose CPU counts as PostgreSQL's.
pg_main=$(head -n1 "$tmp/pg/data/postmaster.pid")
pgversion=$(psql -At -c 'SHOW server_version')
log "PostgreSQL $pgversion (fsync $(psql -At -c 'SHOW fsync'), synchronous_commit $(psql -At -c 'SHOW synchronous_commit'))"

# cpu_ticks PID...: user + system ticks of these processes and of every
# PostgreSQL process (the postmaster's children come and go: the live ones
# are read, the exited ones are in the postmaster's reaped-children times).
cpu_ticks() {
	python3 - "$pg_main" "$@" <<-'EOF'
		import os, sys
		pg, pids = int(sys.argv[1]), [int(p) for p in sys.argv[2:]]
		def ticks(p, reaped=False):
		    try:
		        f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
		    except OSError:
		        return 0, None
		    # utime + stime, and with reaped the children it has waited for
		    # (cutime + cstime): backends that exited during the run.
		    return int(f[11]) + int(f[12]) + (int(f[13]) + int(f[14]) if reaped else 0), int(f[1])
		own = sum(ticks(p)[0] for p in pids)
		db = ticks(pg, True)[0]
		for d in os.listdir("/proc"):
		    if d.isdigit():
		        t, ppid = ticks(int(d))
		        if ppid == pg:
		            db += t
		print(own, db)
	EOF
}

# ---- runs --------------------------------------------------------------------
rows="$OUT/rows.tsv"
: >"$rows"
# bench CONFIG PID... -- ARGS...: the three workloads against one setup;
# one row each in rows.tsv (config, workload, phase, msgs/s, nodes' and
# PostgreSQL's CPU in cores, fsyncs per message).
bench() {
	local cfg=$1 ps=() w json t0 t1 d0 d1 s0 s1; shift
	while [[ $1 != -- ]]; do ps+=("$1"); shift; done
	shift
	for w in throughput backlog; do
		json="$OUT/$cfg-$w-r$round.json"
		local extra=()
		[[ $w == backlog ]] && extra=(--messages "$BACKLOG")
		s0=$(date +%s.%N)
		read -r t0 d0 < <(cpu_ticks "${ps[@]}")
		log "$cfg: $w"
		local sampler=
		if [[ -n ${PGSAMPLE:-} ]]; then
			# What PostgreSQL's busy backends do, ten times a second.
			while :; do
				psql -At -c "SELECT coalesce(wait_event_type, 'CPU') || ':' || coalesce(wait_event, '') || '  ' ||
					left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_activity
					WHERE backend_type = 'client backend' AND state = 'active' AND pid <> pg_backend_pid()" || true
				sleep 0.1
			done >"$OUT/$cfg-$w-r$round.activity" 2>/dev/null &
			sampler=$!
		fi
		if ! "$baton" bench run --workload "$w" --duration "$DURATION" --warmup "$WARMUP" --size 1024 --quiet \
			--label "$cfg" --json "$json" "${extra[@]}" "$@" >>"$OUT/$cfg.txt" 2>>"$OUT/$cfg.err"; then
			log "$cfg: $w failed: $(tail -n1 "$OUT/$cfg.err")"
			continue
		fi
		read -r t1 d1 < <(cpu_ticks "${ps[@]}")
		s1=$(date +%s.%N)
		if [[ -n $sampler ]]; then
			kill "$sampler" 2>/dev/null; wait "$sampler" 2>/dev/null || true
			sort "$OUT/$cfg-$w-r$round.activity" | uniq -c | sort -rn | head -n 12 >"$OUT/$cfg-$w-r$round.top"
		fi
		python3 - "$json" "$cfg" "$round" "$t0" "$t1" "$d0" "$d1" "$s0" "$s1" >>"$rows" <<-'EOF'
			import json, sys
			j = json.load(open(sys.argv[1]))
			cfg, rnd = sys.argv[2], sys.argv[3]
			t0, t1, d0, d1 = map(int, sys.argv[4:8])
			wall = float(sys.argv[9]) - float(sys.argv[8])
			# CPU over the whole run (warm-up and phases): cores = ticks/100/wall.
			nodes, db = (t1 - t0) / 100 / wall, (d1 - d0) / 100 / wall
			for p in j["result"]["phases"] if "result" in j else j["phases"]:
			    if p["name"] == "warmup":
			        continue
			    rate = p["recvRate"] if p["name"] == "drain" else p["sendRate"]
			    # syncs -1: not reported (shared Service Bus queues, --sb-admin).
			    spm = "—" if p.get("syncs", 0) < 0 else f'{p.get("syncsPerMessage", 0):.3f}'
			    print(f'{cfg}\t{j.get("result", j)["workload"]}\t{p["name"]}\t{rnd}\t{rate:.0f}\t{p.get("recvRate", 0):.0f}\t{nodes:.2f}\t{db:.2f}\t{spm}')
		EOF
	done
}

# face_args PORT: the face flags of `baton serve` for FACE, on PORT.
face_args() {
	if [[ $FACE == sq ]]; then
		echo --queue-addr "127.0.0.1:$1" --amqp-addr off
	else
		echo --amqp-addr "127.0.0.1:$1" --queue-addr off
	fi
}

# client_args ADDRS: the load generator's flags for FACE and these
# comma-separated host:port addresses (with FACE=sbshared and nodes, the
# caller adds --sb-admin and the first node's CA).
client_args() {
	if [[ $FACE == sq ]]; then
		local u=() a
		for a in ${1//,/ }; do u+=("http://$a/devstoreaccount1"); done
		echo --driver azqueue --queue-url "$(IFS=,; echo "${u[*]}")"
	else
		echo --amqp "$1"
	fi
}

tcp_ok() { python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 2).close()' "$1"; }

run_embedded() {
	local data="$tmp/data/embedded-r$round" port mgmt pid
	port=$(free_port) mgmt=$(free_port)
	# shellcheck disable=SC2046
	"$baton" serve --data-dir "$data" $(face_args "$port") --mgmt-addr "127.0.0.1:$mgmt" --amqps-addr off \
		--eventgrid-addr off --log-level warn >"$OUT/embedded-r$round.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_ready "$pid" http_ok "http://127.0.0.1:$mgmt/readyz"
	# shellcheck disable=SC2046
	bench embedded "$pid" -- $(client_args "127.0.0.1:$port") --mgmt "http://127.0.0.1:$mgmt" --broker-pid "$pid"
	stop "$pid"
}

run_nodes() {
	local n=$1 schema="bench_r${round}_n$1" i port mgmt pid ps=() addrs=() mgmt0 shared=()
	psql -c "CREATE SCHEMA $schema"
	local store="postgres://postgres@/postgres?host=$tmp/pg/sock&sslmode=disable&search_path=$schema"
	local admin=()
	[[ $FACE == sq ]] && shared=(--shared-storage-queues)
	if [[ $FACE == sbshared ]]; then
		shared=(--shared-service-bus)
		# The queue lives in the shared tables: made through the first
		# node's administration API (HTTPS on its AMQP port).
		admin=(--sb-admin --ca "$tmp/data/n$n-0-r$round/tls/ca.pem")
	fi
	for ((i = 0; i < n; i++)); do
		port=$(free_port) mgmt=$(free_port)
		# shellcheck disable=SC2046
		"$baton" serve --standby "${shared[@]}" --store "$store" --data-dir "$tmp/data/n$n-$i-r$round" $(face_args "$port") \
			--mgmt-addr "127.0.0.1:$mgmt" --amqps-addr off --eventgrid-addr off --log-level warn \
			>"$OUT/n$n-$i-r$round.log" 2>&1 &
		pid=$!
		pids+=("$pid")
		ps+=("$pid")
		addrs+=("127.0.0.1:$port")
		if ((i == 0)); then
			# The first node takes the store; the others then stand by.
			wait_ready "$pid" http_ok "http://127.0.0.1:$mgmt/api/v1/node/active"
			mgmt0="http://127.0.0.1:$mgmt"
		else
			wait_ready "$pid" http_ok "http://127.0.0.1:$mgmt/api/v1/node"
		fi
		# Shared Service Bus: every node's own AMQP listener.
		if [[ $FACE == sbshared ]]; then wait_ready "$pid" tcp_ok "$port"; fi
	done
	# shellcheck disable=SC2046
	bench "pg-${n}node" "${ps[@]}" -- $(client_args "$(IFS=,; echo "${addrs[*]}")") "${admin[@]}" --mgmt "$mgmt0" --broker-pid "${ps[0]}"
	for pid in "${ps[@]}"; do stop "$pid"; done
}

order=($NODES)
for ((round = 1; round <= ROUNDS; round++)); do
	seq_=("${order[@]}")
	if ((round % 2 == 0)); then
		seq_=()
		for ((i = ${#order[@]} - 1; i >= 0; i--)); do seq_+=("${order[i]}"); done
	fi
	for c in "${seq_[@]}"; do
		if [[ $c == embedded ]]; then run_embedded; else run_nodes "$c"; fi
	done
done

# ---- table -------------------------------------------------------------------
echo
if [[ $FACE == sq ]]; then
	echo "Storage Queues: Baton on PostgreSQL $pgversion, 1/2/3 nodes (--standby --shared-storage-queues: every node serves),"
	echo "beside the embedded store; azqueue v1.0.0, 1 KiB,"
elif [[ $FACE == sbshared ]]; then
	echo "Shared Service Bus queues: Baton on PostgreSQL $pgversion, 1/2/3 nodes (--standby --shared-service-bus: every node serves),"
	echo "beside the embedded store (its own broker); go-amqp v1.7.0, 1 KiB, fsyncs/msg not reported for the shared rows (—),"
else
	echo "Baton on PostgreSQL $pgversion, 1/2/3 nodes (--standby), beside the embedded store; go-amqp v1.7.0, 1 KiB,"
fi
echo "fsync before ack everywhere; $(nproc) cores; $ROUNDS rounds, best round per row; CPU over the whole"
echo "workload run (warm-up included; a backlog run's fill and drain share one figure)"
python3 - "$rows" <<-'EOF'
	import sys, collections
	best = collections.OrderedDict()
	for line in open(sys.argv[1]):
	    cfg, w, ph, rnd, rate, recv, nodes, db, spm = line.rstrip("\n").split("\t")
	    k = (w, ph, cfg)
	    if k not in best or float(rate) > float(best[k][0]):
	        best[k] = (rate, nodes, db, spm)
	base = {(w, ph): float(v[0]) for (w, ph, c), v in best.items() if c == "embedded"}
	print("| workload | phase | setup | msgs/s | × embedded | Baton nodes' CPU (cores) | PostgreSQL CPU (cores) | fsyncs/msg (active node) |")
	print("|---|---|---|---|---|---|---|---|")
	for (w, ph, c), (rate, nodes, db, spm) in sorted(best.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
	    b = base.get((w, ph))
	    ratio = f"{float(rate) / b:.2f}×" if b else "—"
	    what = {"steady": "send + receive/complete", "fill": "send", "drain": "receive + complete"}.get(ph, ph)
	    print(f"| {w} | {ph} ({what}) | {c} | {rate} | {ratio} | {nodes} | {db if c != 'embedded' else '—'} | {spm} |")
EOF
echo
echo "raw rows: $rows"
