#!/usr/bin/env bash
# The nightly campaign (thin wrapper over `mta-lab nightly`): the KB matrix, then every fuzz target
# and seed sweep across the cores, triage, reports/<date>/index.html + summary.json. Resumable:
# run it again after a kill. Installs cargo-fuzz if missing.
# Usage: scripts/nightly.sh [mta-lab nightly options]   (default --budget 15m)
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
args=("$@")
[[ " $* " == *" --budget "* ]] || args=(--budget 15m "${args[@]}")
exec cargo run --release -p mta-lab -- nightly "${args[@]}"
