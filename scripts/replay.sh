#!/usr/bin/env bash
# Replay a finding: a simulation finding file (bit-identical, prints the event logs) or a fuzz
# input through its harness.
# Usage: scripts/replay.sh FINDING.toml
#        scripts/replay.sh TARGET FILE [--build B]
set -euo pipefail
cd "$(dirname "$0")/.."
exec cargo run --release -q -p mta-lab -- replay "$@"
