#!/usr/bin/env bash
# rustc wrapper for the fuzz build (fuzz/.cargo/config.toml): SanitizerCoverage goes where the
# fuzzing is aimed, in three tiers by crate:
#   - edges and comparisons (`-sanitizer-coverage-trace-compares`, what libFuzzer's
#     -use_value_profile=1 feeds on): the model crates that parse untrusted input — BER, the LPI
#     decoder, the OSI stack, P1, the MTA core — and the fuzz target binaries (three lines each,
#     and the `trivial` reference, which must be instrumented as any target is);
#   - edges only: the other model crates (buffer manager, event log, build table) and mta_reach,
#     whose generated feed functions turn each protocol-state transition into an edge; and the
#     lab's loaders and simulator (mta_lab_world, mta_lab_net), which input_files fuzzes;
#   - nothing: the harnesses (reference models, worlds, oracles) and third-party code (asn1-rs as
#     the differential reference, tracing, toml…).
#
# Why: libFuzzer turns every counter hit and, with value profile, every executed comparison into a
# feature and looks each one up in its tables on every execution — measured here, three quarters
# of lpi_decode's time. Features from bookkeeping say nothing about the input but cost as much as
# the decoder's. Override the tiers with MTA_LAB_CMP_CRATES / MTA_LAB_EDGE_CRATES (space-separated
# crate names). Cargo sees neither these variables nor this script's contents: after changing
# either, build into a fresh --target-dir (or remove fuzz/target).
set -euo pipefail
rustc=$1
shift
# MTA_LAB_NO_GOALS=1: compile the reachability goals out (`--cfg mta_no_goals`, see models/reach),
# for measuring what they cost; build into a separate --target-dir.
if [ -n "${MTA_LAB_NO_GOALS:-}" ]; then
  set -- "$@" --cfg mta_no_goals
fi
crate=""
prev=""
for a in "$@"; do
  [ "$prev" = "--crate-name" ] && crate=$a
  # A fuzz target binary is its own crate, named after the target.
  case "$a" in */fuzz_targets/*.rs | fuzz_targets/*.rs) crate=fuzz_target ;; esac
  prev=$a
done
cmp=" ${MTA_LAB_CMP_CRATES:-mta_ber mta_lpi mta_osi mta_p1 mta_mta fuzz_target} "
edges=" ${MTA_LAB_EDGE_CRATES:-mta_bufmgr mta_eventlog mta_build mta_reach mta_lab_world mta_lab_net} "
case "$cmp" in
  *" $crate "*) exec "$rustc" "$@" ;;
esac
args=()
case "$edges" in
  *" $crate "*)
    for a in "$@"; do
      [ "$a" = "-Cllvm-args=-sanitizer-coverage-trace-compares" ] && continue
      args+=("$a")
    done ;;
  *)
    for a in "$@"; do
      case "$a" in
        -Cpasses=sancov-module | -Cllvm-args=-sanitizer-coverage-*) continue ;;
      esac
      args+=("$a")
    done ;;
esac
exec "$rustc" "${args[@]}"
