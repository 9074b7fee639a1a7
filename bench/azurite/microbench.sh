#!/usr/bin/env bash
# Before/after micro-benchmark of the Storage Queue handler: the in-package
# benchmarks of internal/httpapi/queuestorage (loopback_bench_test.go: the
# real handler over the broker on memstore, through a real HTTP server on
# 127.0.0.1 with Shared Key requests; and ServeHTTP alone) run against the
# tree at BEFORE (extracted with git archive, the benchmark file copied in)
# and the working tree, alternately ROUNDS times, so that both see the same
# machine load. Prints the raw lines and one median table.
#
#   BEFORE=5dec406 bench/azurite/microbench.sh
#
# Environment: BEFORE (required: a commit), ROUNDS (3), BENCHTIME (2s),
# BENCH ('Loopback|Direct').
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
: "${BEFORE:?set BEFORE to the commit to compare with}"
ROUNDS=${ROUNDS:-3}
BENCHTIME=${BENCHTIME:-2s}
BENCH=${BENCH:-Loopback|Direct}
pkg=internal/httpapi/queuestorage

tmp=$(mktemp -d "${TMPDIR:-/tmp}/baton-microbench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/before"
(cd "$root" && git archive "$BEFORE") | tar -x -C "$tmp/before"
cp "$root/$pkg"/loopback_*test.go "$tmp/before/$pkg/"
(cd "$tmp/before" && go test -c -o "$tmp/before.test" "./$pkg")
(cd "$root" && go test -c -o "$tmp/after.test" "./$pkg")

for i in $(seq 1 "$ROUNDS"); do
	for side in before after; do
		(cd "$root/$pkg" && "$tmp/$side.test" -test.run '^$' -test.bench "$BENCH" -test.benchmem -test.benchtime "$BENCHTIME") |
			grep '^Benchmark' | sed "s/^/$side /" | tee -a "$tmp/lines"
	done
done

echo
echo "medians of $ROUNDS rounds (before $BEFORE, after $(cd "$root" && git rev-parse --short HEAD)$(cd "$root" && git diff --quiet HEAD -- "$pkg" || echo '+changes'))"
awk '
{ side=$1; name=$2; sub(/-[0-9]+$/, "", name)
  for (i=3; i<=NF; i++) { if ($i=="ns/op") ns[side,name]=ns[side,name] " " $(i-1); if ($i=="cpu-ns/op") cpu[side,name]=cpu[side,name] " " $(i-1); if ($i=="B/op") by[side,name]=by[side,name] " " $(i-1); if ($i=="allocs/op") al[side,name]=al[side,name] " " $(i-1) }
  if (!(name in seen)) { seen[name]=1; order[++n]=name } }
function median(s,   a, k, i, j, t) { k=split(s, a, " "); for (i=1;i<=k;i++) for (j=i+1;j<=k;j++) if (a[j]+0 < a[i]+0) { t=a[i]; a[i]=a[j]; a[j]=t }; return a[int((k+1)/2)] }
END {
  printf "| %-30s | %10s | %10s | %10s | %10s | %6s | %9s | %9s | %8s | %8s |\n", "benchmark", "ns/op bef.", "ns/op aft.", "cpu-ns bef.", "cpu-ns aft.", "cpu ×", "B/op bef.", "B/op aft.", "allocs b.", "allocs a."
  printf "|%s|%s|%s|%s|%s|%s|%s|%s|%s|%s|\n", "---", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:", "---:"
  for (i=1; i<=n; i++) { m=order[i]; cb=median(cpu["before",m]); ca=median(cpu["after",m])
    printf "| %-30s | %10d | %10d | %10d | %10d | %5.2fx | %9d | %9d | %8d | %8d |\n", m, median(ns["before",m]), median(ns["after",m]), cb, ca, (ca>0 ? cb/ca : 0), median(by["before",m]), median(by["after",m]), median(al["before",m]), median(al["after",m]) }
}' "$tmp/lines"
