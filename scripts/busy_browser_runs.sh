#!/usr/bin/env bash
# The busy-machine check: `make test` (the whole suite, as CI runs it) three times in a row on a clean
# clone, with CPU-burning processes alongside (CI's 2-core machines may be loaded).
#   scripts/busy_browser_runs.sh [COMMIT] [BURNERS]     (defaults: HEAD, 2)
# Needs `make test` to have set up .venv and .venv-server in this checkout (they are linked, so the
# clone's `make test` only confirms them against its locks). Prints one line per run; logs go to $OUT
# (default /tmp/busy-runs).
set -u
here=$(cd "$(dirname "$0")/.." && pwd)
commit=${1:-HEAD}
burners=${2:-2}
out=${OUT:-/tmp/busy-runs}
rm -rf "$out" && mkdir -p "$out"
git clone -q "$here" "$out/clone" && cd "$out/clone" && git checkout -q "$commit"
ln -s "$here/.venv" .venv && ln -s "$here/.venv-server" .venv-server
pids=""
for _ in $(seq "$burners"); do timeout 14400 sh -c "while :; do :; done" & pids="$pids $!"; done
trap 'kill $pids 2>/dev/null' EXIT
for run in 1 2 3; do
  start=$(date +%s)
  timeout 3600 make test > "$out/run$run.log" 2>&1
  echo "run $run rc=$? $(( $(date +%s) - start )) s: $(grep -E "^=+ .*(passed|failed|error)" "$out/run$run.log" | tr -d = | paste -sd "+")"
done
