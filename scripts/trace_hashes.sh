#!/usr/bin/env bash
# Trace hashes a refactor must not change: every committed simulation finding's replay, the kept
# capture's replay (md5 of its output) and seeds 0..11 of each built-in world and example world
# file. Run it with the binaries before and after a change and diff the outputs.
# Usage: scripts/trace_hashes.sh [MTA_LAB_BINARY]   (default: target/release/mta-lab)
set -euo pipefail
cd "$(dirname "$0")/.."
B=${1:-target/release/mta-lab}
findings=$(mktemp -d)
trap 'rm -rf "$findings"' EXIT
for f in corpora/regressions/sim/*.toml; do
  echo "$f $("$B" replay "$f" 2>&1 | grep '^trace ' || true)"
done
for k in corpora/regressions/captures/*.toml; do
  echo "$k $("$B" replay "$k" 2>&1 | md5sum | cut -d' ' -f1)"
done
for w in standard flood xot worlds/*.toml; do
  for s in $(seq 0 11); do
    echo "$w $s $("$B" run --world "$w" --seed "$s" --findings "$findings" 2>&1 | grep -o 'trace [0-9a-f]*' || true)"
  done
done
