#!/usr/bin/env bash
# The main job: compute the KB x build x config matrix with the default budget and compare it with
# corpora/kb/expected.toml. Installs cargo-fuzz if missing (the Q182619 cells need libFuzzer).
# Usage: scripts/kb.sh [mta-lab kb options, e.g. --budget 5 --kb Q182619 --json out.json]
set -euo pipefail
cd "$(dirname "$0")/.."
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
exec cargo run --release -p mta-lab -- kb "$@"
