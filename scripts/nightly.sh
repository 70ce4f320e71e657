#!/usr/bin/env bash
# Nightly fuzz campaign: every target on every build for SECONDS each (default 600), with value
# profile and forked workers, then corpus minimisation. Findings land in fuzz/artifacts/<target>/.
# Usage: scripts/nightly.sh [SECONDS] [JOBS]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
jobs=${2:-2}
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
builds="4.0 5.0 5.5 5.5-sp1 5.5-sp2 5.5-sp3 2000-sp3 2000-sp3-rollup"
targets="bufmgr_ops ber_decode lpi_decode"
cargo run --release -p mta-lab -- smoke --iterations 200000
cd fuzz
for t in $targets; do
  mkdir -p "corpus/$t"
  for b in $builds; do
    echo "== $t on $b"
    MTA_LAB_BUILD=$b cargo fuzz run --sanitizer none "$t" "corpus/$t" "../corpora/fuzz/$t" -- \
      -max_total_time="$secs" -use_value_profile=1 -fork="$jobs" -ignore_crashes=0 \
      -timeout=10 -rss_limit_mb=2048 || echo "!! $t on $b found a crash: see fuzz/artifacts/$t"
  done
  cargo fuzz cmin --sanitizer none "$t" "corpus/$t"
done
