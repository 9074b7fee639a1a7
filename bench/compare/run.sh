#!/usr/bin/env bash
# Side-by-side comparison: Baton (fsync and buffered) against RabbitMQ
# (quorum and classic queues), NATS JetStream (sync_interval always and its
# default) and Azurite (Storage Queues), on this machine, one broker at a
# time, each on free loopback ports with a fresh data directory, driven by
# the same load generator (`baton bench run`) with the same workload,
# message size and concurrency. Prints each peer's configuration and one
# table of ratios (`baton bench table`).
#
#   bench/compare/run.sh            # full: 2 rounds, ~20 min
#   bench/compare/run.sh -quick     # a few seconds per row: a smoke run
#   bench/compare/run.sh -smoke     # -quick, and fail unless every Baton row
#                                   # ran (what ./test.sh runs in CI)
#
# A peer that cannot be installed or does not start is skipped with a
# message (its rows are missing from the table); Baton's own rows never are.
#
# It installs what is missing: rabbitmq-server (apt-get; started here as a
# plain process with its own RABBITMQ_* environment, never as a service),
# nats-server (go install of the pinned module into a temp dir), Azurite
# (npm ci in bench/azurite, pinned by its package-lock.json).
#
# Environment: DURATION (10s; quick 3s), WARMUP (2s; quick 1s), SIZE (1024),
# ROUNDS (2; quick 1: every target once per round, even rounds in reverse
# order; the table keeps each row's best round), BACKLOG (50000; quick 5000), SQ_BACKLOG (5000; quick 1000: Azurite's Get
# and Delete slow down with queue depth), BATCH (16: messages per send in
# throughput-batch — the throughput workload with each send carrying BATCH
# messages: a Service Bus batch transfer for Baton, BATCH publishes and then
# a wait for their confirms for RabbitMQ and NATS; backlog-batch likewise),
# WORKLOADS ("latency throughput throughput-batch
# queues100 backlog backlog-batch fanout churn"; quick: "latency throughput
# backlog"),
# TARGETS ("baton-fsync baton-buffered rabbitmq nats-always nats-default
# azurite"), OUT (results directory; default a temp dir), NATS_VERSION.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
quick=0 smoke=0
for a in "$@"; do
	case $a in
	-quick | --quick) quick=1 ;;
	-smoke | --smoke) quick=1 smoke=1 ;;
	*) echo "usage: $0 [-quick | -smoke]" >&2; exit 2 ;;
	esac
done
if ((quick)); then
	DURATION=${DURATION:-3s} WARMUP=${WARMUP:-1s} BACKLOG=${BACKLOG:-5000} SQ_BACKLOG=${SQ_BACKLOG:-1000}
	WORKLOADS=${WORKLOADS:-latency throughput backlog}
else
	DURATION=${DURATION:-10s} WARMUP=${WARMUP:-2s} BACKLOG=${BACKLOG:-50000} SQ_BACKLOG=${SQ_BACKLOG:-5000}
	WORKLOADS=${WORKLOADS:-latency throughput throughput-batch queues100 backlog backlog-batch fanout churn}
fi
SIZE=${SIZE:-1024}
BATCH=${BATCH:-16}
ROUNDS=${ROUNDS:-$((quick ? 1 : 2))}
TARGETS=${TARGETS:-baton-fsync baton-buffered rabbitmq nats-always nats-default azurite}
NATS_VERSION=${NATS_VERSION:-v2.15.2}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-compare.XXXXXX")
OUT=${OUT:-$tmp/out}
mkdir -p "$OUT"
pids=()
cleanup() {
	stop_all
	rm -rf "$tmp/data"
}
trap cleanup EXIT
LOG_PREFIX=compare
# shellcheck source=../lib.sh
source "$here/../lib.sh"

# ---- install -------------------------------------------------------------
build_baton "$tmp"

want() { [[ " $TARGETS " == *" $1 "* ]]; }
skipped=()
drop() { # drop TARGET WHY: leave a peer out of this run
	local t keep=()
	log "$1: skipped: $2"
	skipped+=("$1 ($2)")
	for t in $TARGETS; do [[ $t == "$1" ]] || keep+=("$t"); done
	TARGETS="${keep[*]}"
}
if want rabbitmq && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	log "apt-get install rabbitmq-server"
	if ! { as_root timeout 300 apt-get update -qq &&
		as_root env DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq rabbitmq-server >/dev/null; }; then
		drop rabbitmq "apt-get install rabbitmq-server failed"
	fi
fi
if want nats-always || want nats-default; then
	log "go install nats-server $NATS_VERSION"
	if ! (cd "$tmp" && GOBIN="$tmp/bin" GOFLAGS=-mod=mod timeout 600 go install "github.com/nats-io/nats-server/v2@$NATS_VERSION"); then
		drop nats-always "go install nats-server failed"
		drop nats-default "go install nats-server failed"
	fi
fi
if want azurite; then
	log "npm ci (Azurite pinned in bench/azurite/package-lock.json)"
	if ! (cd "$root/bench/azurite" && timeout 600 npm ci --no-audit --no-fund --loglevel=error >/dev/null); then
		drop azurite "npm ci failed"
	fi
fi

# ---- the machine ---------------------------------------------------------
mkdir -p "$tmp/data"
{
	echo "machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo)"
	echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "baton: $("$baton" version) ($(cd "$root" && git rev-parse --short HEAD 2>/dev/null || echo unknown))"
	echo "disk (the physical limit every durable row pays):"
	"$baton" bench disk --dir "$tmp/data" --duration 2s
} | tee "$OUT/machine.txt" >&2

common=(--size "$SIZE" --duration "$DURATION" --warmup "$WARMUP" --quiet)
configs="$OUT/configs.txt"
: >"$configs"
config() { # config LABEL TEXT: once per label
	grep -q "^$1: " "$configs" || echo "$1: $2" >>"$configs"
}
results=() # in run order: the table keeps it within a workload

# run LABEL TARGET FAMILY WORKLOAD DURABILITY PID ARGS...: one row.
run() {
	local label=$1 target=$2 family=$3 workload=$4 durability=$5 pid=$6; shift 6
	local extra=() run_as=$workload
	case $workload in
	backlog) if [[ $family == storagequeue ]]; then extra=(--messages "$SQ_BACKLOG"); else extra=(--messages "$BACKLOG"); fi ;;
	throughput-batch) run_as=throughput extra=(--batch "$BATCH") ;;
	backlog-batch) run_as=backlog extra=(--messages "$BACKLOG" --batch "$BATCH") ;;
	esac
	log "$label: $workload"
	local json="$OUT/$family-$workload-$label-r$round.json"
	if "$baton" bench run --workload "$run_as" --target "$target" --label "$label" --durability "$durability" \
		--broker-pid "$pid" --json "$json" "${common[@]}" "${extra[@]}" "$@" \
		>>"$OUT/$label.txt" 2>>"$OUT/$label.err"; then
		results+=("$json")
	else
		log "$label: $workload failed: $(tail -n1 "$OUT/$label.err")"
	fi
}

sb_workloads() { # the Service Bus-style workloads a peer without topics or dead-lettering runs
	local w out=()
	for w in $WORKLOADS; do [[ $w == fanout || $w == churn ]] || out+=("$w"); done
	echo "${out[@]}"
}
sq_workloads() {
	local w out=()
	for w in $WORKLOADS; do [[ $w == throughput || $w == backlog ]] && out+=("$w"); done
	echo "${out[@]}"
}

# ---- Baton ---------------------------------------------------------------
run_baton() {
	local mode=$1 label=baton-$1 data amqp mgmt sq pid dur w
	data="$tmp/data/$label-r$round"
	amqp=$(free_port) mgmt=$(free_port) sq=$(free_port)
	"$baton" serve --data-dir "$data" --durability "$mode" --amqp-addr "127.0.0.1:$amqp" --mgmt-addr "127.0.0.1:$mgmt" \
		--queue-addr "127.0.0.1:$sq" --amqps-addr off --eventgrid-addr off --log-level warn >"$OUT/$label.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_ready "$pid" http_ok "http://127.0.0.1:$mgmt/readyz"
	if [[ $mode == fsync ]]; then
		dur="fsync before ack (group commit)"
	else
		dur="buffered: OS write before ack, fsync every 100 ms"
	fi
	config "$label" "baton serve --durability $mode (filestore in a temp dir); clients: go-amqp v1.7.0 (Service Bus face, unsettled sends, settle mode second), azqueue v1.0.0 (Storage Queues)"
	for w in $WORKLOADS; do
		run "$label" baton servicebus "$w" "$dur" "$pid" --driver amqp --amqp "127.0.0.1:$amqp" --mgmt "http://127.0.0.1:$mgmt" \
			--ca "$data/tls/ca.pem"
	done
	# The official Service Bus SDK on the same server: what an application
	# sees (the base rows above use go-amqp, the client the SDK is built on).
	for w in $WORKLOADS; do
		[[ $w == latency || $w == throughput || $w == throughput-batch ]] || continue
		run "$label-sdk" baton servicebus "$w" "$dur" "$pid" --driver sdk --amqp "127.0.0.1:$amqp" --mgmt "http://127.0.0.1:$mgmt" \
			--ca "$data/tls/ca.pem"
	done
	config "$label-sdk" "the $label server, client azservicebus v1.11.0 (SendMessage per message, or SendMessageBatch in throughput-batch; ReceiveMessages + CompleteMessage, peek-lock)"
	for w in $(sq_workloads); do
		run "$label" baton storagequeue "$w" "$dur" "$pid" --driver azqueue --queue-url "http://127.0.0.1:$sq/devstoreaccount1" \
			--mgmt "http://127.0.0.1:$mgmt"
	done
	stop "$pid"
}

# ---- RabbitMQ ------------------------------------------------------------
run_rabbitmq() {
	local r="$tmp/data/rabbitmq-r$round" port dist epmd launcher pid version erl qt label dur w
	mkdir -p "$r/mnesia" "$r/log" "$r/home"
	port=$(free_port) dist=$(free_port) epmd=$(free_port)
	echo '[].' >"$r/enabled_plugins"
	printf 'listeners.tcp.default = 127.0.0.1:%s\nloopback_users = none\n' "$port" >"$r/rabbitmq.conf"
	rmqenv=(env HOME="$r/home" RABBITMQ_MNESIA_BASE="$r/mnesia" RABBITMQ_LOG_BASE="$r/log" RABBITMQ_LOGS="$r/log/rabbit.log"
		RABBITMQ_NODENAME="baton-compare-$$@localhost" RABBITMQ_DIST_PORT="$dist" ERL_EPMD_PORT="$epmd"
		RABBITMQ_PID_FILE="$r/pid" RABBITMQ_CONFIG_FILE="$r/rabbitmq" RABBITMQ_ENABLED_PLUGINS_FILE="$r/enabled_plugins")
	"${rmqenv[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server >"$OUT/rabbitmq.log" 2>&1 &
	launcher=$!
	pids+=("$launcher")
	wait_ready "$launcher" "${rmqenv[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q await_startup || return 1
	pid=$(cat "$r/pid")
	pids+=("$pid")
	version=$("${rmqenv[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q version 2>/dev/null || echo unknown)
	erl=$("${rmqenv[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q eval 'erlang:system_info(otp_release).' 2>/dev/null | tr -d '"' || echo unknown)
	for qt in quorum classic; do
		label=rabbitmq-$qt
		if [[ $qt == quorum ]]; then
			dur="fsync before confirm (Ra WAL, 1 node)"
		else
			dur="fsync before confirm (message store, batched)"
		fi
		config "$label" "RabbitMQ $version (Debian rabbitmq-server, Erlang/OTP $erl), default settings, one node, no plugins; durable $qt queues (x-queue-type), persistent messages, publisher confirms; client amqp091-go v1.16.0, manual acks, QoS = prefetch"
		for w in $(sb_workloads); do
			run "$label" "$label" servicebus "$w" "$dur" "$pid" --rabbitmq-url "amqp://guest:guest@127.0.0.1:$port/"
		done
	done
	"${rmqenv[@]}" /usr/lib/rabbitmq/bin/rabbitmqctl -q shutdown >/dev/null 2>&1 || true
	stop "$pid"
	stop "$launcher"
	# the Erlang port mapper this node started on its own port
	"${rmqenv[@]}" "$(ls /usr/lib/erlang/erts-*/bin/epmd | head -n1)" -kill >/dev/null 2>&1 || true
}

# ---- NATS JetStream ------------------------------------------------------
run_nats() {
	local variant=$1 label=nats-$1 d port pid dur w
	d="$tmp/data/$label-r$round"
	mkdir -p "$d"
	port=$(free_port)
	{
		echo "listen: 127.0.0.1:$port"
		if [[ $variant == always ]]; then
			echo "jetstream { store_dir: \"$d/js\", sync_interval: always }"
		else
			echo "jetstream { store_dir: \"$d/js\" }"
		fi
	} >"$d/nats.conf"
	"$tmp/bin/nats-server" -c "$d/nats.conf" >"$OUT/$label.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_ready "$pid" grep -q "Server is ready" "$OUT/$label.log" || return 1
	if [[ $variant == always ]]; then
		dur="fsync before PubAck (sync_interval: always)"
	else
		dur="OS write before PubAck, fsync every 2 min (default)"
	fi
	config "$label" "nats-server $("$tmp/bin/nats-server" --version | awk '{print $2}') (go install), config: $(sed "s|$tmp|TMP|g" "$d/nats.conf" | tr '\n' ' '); file-storage streams, work-queue retention, 1 replica, durable pull consumer, explicit acks (not confirmed); client nats.go v1.55.0 (jetstream), synchronous publish"
	for w in $(sb_workloads); do
		run "$label" nats servicebus "$w" "$dur" "$pid" --nats-url "nats://127.0.0.1:$port"
	done
	stop "$pid"
}

# ---- Azurite -------------------------------------------------------------
run_azurite() {
	local label=azurite d="$tmp/data/azurite-r$round" port pid w
	mkdir -p "$d"
	port=$(free_port)
	"$root/bench/azurite/node_modules/.bin/azurite-queue" --queueHost 127.0.0.1 --queuePort "$port" --location "$d" \
		--skipApiVersionCheck --silent --disableTelemetry >"$OUT/$label.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	wait_ready "$pid" grep -q "successfully listens" "$OUT/$label.log" || return 1
	config azurite "Azurite $("$root/bench/azurite/node_modules/.bin/azurite-queue" --version | tail -n1) (npm, node $(node --version)), azurite-queue --skipApiVersionCheck --silent --disableTelemetry, default on-disk persistence; client azqueue v1.0.0"
	for w in $(sq_workloads); do
		run "$label" azurite storagequeue "$w" "Azurite default: body fdatasync'd, metadata saved every 5 s (no fsync)" "$pid" \
			--queue-url "http://127.0.0.1:$port/devstoreaccount1"
	done
	stop "$pid"
}

# ---- the rounds ----------------------------------------------------------
# Each round runs every target once; even rounds go in reverse order, so
# that a slow spell of the shared machine does not always hit the same
# targets. The table keeps each row's best round.
order=()
for t in $TARGETS; do
	case $t in
	baton-fsync | baton-buffered | rabbitmq | nats-always | nats-default | azurite) order+=("$t") ;;
	*) log "unknown target $t"; exit 2 ;;
	esac
done
for round in $(seq 1 "$ROUNDS"); do
	targets=("${order[@]}")
	if ((round % 2 == 0)); then
		targets=()
		for ((i = ${#order[@]} - 1; i >= 0; i--)); do targets+=("${order[i]}"); done
	fi
	log "round $round of $ROUNDS: ${targets[*]}"
	for t in "${targets[@]}"; do
		case $t in
		baton-*) run_baton "${t#baton-}" ;;
		rabbitmq) run_rabbitmq || skipped+=("rabbitmq (did not start in round $round; see $OUT/rabbitmq.log)") ;;
		nats-*) run_nats "${t#nats-}" || skipped+=("$t (did not start in round $round; see $OUT/$t.log)") ;;
		azurite) run_azurite || skipped+=("azurite (did not start in round $round; see $OUT/azurite.log)") ;;
		esac
	done
done

# ---- the table -----------------------------------------------------------
echo
cat "$OUT/machine.txt"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "workload settings: $SIZE-byte messages, $WARMUP warm-up + $DURATION measured per row, best of $ROUNDS round(s), backlog $BACKLOG ($SQ_BACKLOG for Storage Queues); see 'baton bench run --help' and each JSON result for producers, in-flight sends, consumers and prefetch"
echo
echo "Configurations:"
sed 's/^/  /' "$configs"
echo
if ((${#results[@]} == 0)); then
	log "no results"; exit 1
fi
"$baton" bench table --base baton-fsync,baton-buffered "${results[@]}"
echo
echo "Results (JSON), per-row reports and server logs: $OUT"
for f in "$OUT"/*.err; do
	if [ -s "$f" ]; then log "errors in $f:"; cat "$f" >&2; fi
done
for s in "${skipped[@]}"; do log "SKIPPED: $s"; done

# -smoke: every Baton row of every workload must have run.
if ((smoke)); then
	missing=()
	for t in $TARGETS; do
		[[ $t == baton-* ]] || continue
		for w in $WORKLOADS; do
			[ -s "$OUT/servicebus-$w-$t-r1.json" ] || missing+=("$t $w (go-amqp)")
			if [[ $w == latency || $w == throughput ]]; then
				[ -s "$OUT/servicebus-$w-$t-sdk-r1.json" ] || missing+=("$t $w (azservicebus)")
			fi
			if [[ $w == throughput || $w == backlog ]]; then
				[ -s "$OUT/storagequeue-$w-$t-r1.json" ] || missing+=("$t $w (azqueue)")
			fi
		done
	done
	if ((${#missing[@]} > 0)); then
		log "smoke run failed: Baton rows missing: ${missing[*]}"
		exit 1
	fi
	log "smoke run: every Baton row ran"
fi
