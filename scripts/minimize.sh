#!/usr/bin/env bash
# Minimise a finding: a simulation finding with `mta-lab shrink` (drop faults, halve the workload
# while the signature fires), or a fuzz crash input with `cargo fuzz tmin` on its build.
# Usage: scripts/minimize.sh FINDING.toml
#        scripts/minimize.sh TARGET CRASH_FILE BUILD
set -euo pipefail
cd "$(dirname "$0")/.."
if [ $# -eq 1 ]; then
  exec cargo run --release -q -p mta-lab -- shrink "$1"
fi
[ $# -eq 3 ] || { echo "usage: $0 FINDING.toml | TARGET CRASH_FILE BUILD" >&2; exit 2; }
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
file=$(realpath "$2")
cd fuzz
MTA_LAB_BUILD=$3 cargo fuzz tmin --sanitizer none "$1" "$file" -- -timeout=10
