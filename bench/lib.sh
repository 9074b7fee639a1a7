# Shell helpers shared by the benchmark scripts under bench/ (sourced, not
# run). The caller sets `set -euo pipefail`, an array `pids` of the
# processes it started, and LOG_PREFIX.

log() { echo "${LOG_PREFIX:-bench}: $*" >&2; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }
http_ok() { python3 -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=2)' "$1"; } # no curl needed

# wait_ready PID CMD...: until CMD succeeds (30 s), or the process dies.
wait_ready() {
	local pid=$1; shift
	for _ in $(seq 1 300); do
		if "$@" >/dev/null 2>&1; then return 0; fi
		if ! kill -0 "$pid" 2>/dev/null; then log "the server exited"; return 1; fi
		sleep 0.1
	done
	log "not ready after 30 s: $*"; return 1
}

stop() { # stop PID: SIGTERM, then wait; forget it, so cleanup never signals a reused pid
	local p keep=()
	kill "$1" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$1" 2>/dev/null && kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null || true
	for p in "${pids[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	pids=("${keep[@]}")
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

stop_all() { # SIGTERM every process in pids and wait for it (for the EXIT trap)
	local p
	for p in "${pids[@]}"; do
		kill "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
}

build_baton() { # build_baton DIR: go build ./cmd/baton into DIR/baton (or use $BATON); sets baton
	if [[ -n ${BATON:-} ]]; then
		log "using $BATON"
		baton=$BATON
		return
	fi
	log "go build baton"
	(cd "$root" && go build -o "$1/baton" ./cmd/baton)
	baton="$1/baton"
}
