#!/usr/bin/env bash
# rustc wrapper for the fuzz build (fuzz/.cargo/config.toml): SanitizerCoverage comparison tracing
# (`-sanitizer-coverage-trace-compares`, what libFuzzer's -use_value_profile=1 feeds on) only for
# the model crates a target fuzzes; every other crate — the harnesses' reference models, worlds
# and oracles, and third-party code (toml, tracing, asn1-rs…) — keeps edge coverage only.
#
# Why: with value profile on, every comparison a run executes becomes one or two features that
# libFuzzer hashes into its tables on every execution. Comparisons in bookkeeping code say nothing
# about the input but cost as much as the decoder's; measured on lpi_decode they were a quarter of
# all features. Edge coverage (`cov:`) is unchanged. Override the list with MTA_LAB_CMP_CRATES
# (space-separated crate names; cargo does not see the variable, so build into a separate
# --target-dir when changing it).
set -euo pipefail
rustc=$1
shift
crate=""
prev=""
for a in "$@"; do
  [ "$prev" = "--crate-name" ] && crate=$a
  prev=$a
done
traced=" ${MTA_LAB_CMP_CRATES:-mta_ber mta_lpi mta_osi mta_p1 mta_mta} "
case "$traced" in
  *" $crate "*) exec "$rustc" "$@" ;;
esac
args=()
for a in "$@"; do
  [ "$a" = "-Cllvm-args=-sanitizer-coverage-trace-compares" ] && continue
  args+=("$a")
done
exec "$rustc" "${args[@]}"
