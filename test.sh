#!/usr/bin/env bash
# The project's test command: installs what the tests need, then runs the
# formatting check, go vet and every test with the race detector.
# Usage: ./test.sh            (what CI runs)
#        BATON_COMPARE=0 ./test.sh  (without the peer comparison smoke run at the end)
#        BATON_SOAK=1 ./test.sh  (also the long soak/crash runs, when present)
set -euo pipefail
cd "$(dirname "$0")"

echo "== toolchain: $(go version)"
go mod download

# Qpid Proton (an independent AMQP 1.0 implementation) for the interop test.
if ! /usr/bin/python3 -c 'import proton' 2>/dev/null; then
	echo "== installing python3-qpid-proton"
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-qpid-proton >/dev/null
	else
		sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-qpid-proton >/dev/null
	fi
fi

# PostgreSQL for the pgstore tests: they start a private server in a temp
# directory (internal/store/pgstore/pgtest) and, with CI set, fail rather
# than skip when it is missing.
if ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then
	echo "== installing postgresql"
	sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
	$sudo apt-get update -qq && $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi

# JavaScript SDK end-to-end tests (driven from internal/e2e): install each
# package's locked dependencies.
for dir in internal/e2e/js internal/e2e/js/sq; do
	echo "== npm ci ($dir)"
	(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
done

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go' -not -path './node_modules/*'))
if [ -n "$unformatted" ]; then
	echo "gofmt would change:"; echo "$unformatted"; exit 1
fi

echo "== go vet"
go vet ./...

echo "== go build"
go build -o /dev/null ./cmd/baton

echo "== go test -race"
# -race on every package: the engine, the stores, the WAL and the faces all
# run goroutines. -p 2 matches the 2-core machines.
go test -race -p 2 -timeout 15m ./... 2>&1 | tee /tmp/baton-test.log

# The side-by-side comparison with RabbitMQ, NATS JetStream and Azurite in
# its smoke mode (bench/compare/run.sh -smoke): a few seconds per row, no
# timing assertions. It fails if one of Baton's own rows does not run; a peer
# that cannot be installed or started is skipped with a message.
# BATON_COMPARE=0 leaves it out (a quicker local run).
if [ "${BATON_COMPARE:-1}" != 0 ]; then
	echo "== bench/compare/run.sh -smoke"
	bench/compare/run.sh -smoke
fi
