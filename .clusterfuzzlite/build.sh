#!/bin/bash -eu
# ClusterFuzzLite / OSS-Fuzz build script: every cargo-fuzz target into $OUT, with its seed corpus
# as <name>_seed_corpus.zip. Targets whose oracle depends on the modelled build are installed as
# <target>__<build> (e.g. driver_events__2000-sp3-rollup): the harness reads the build from the
# executable name (mta_harness::build_from_env), since these platforms cannot set MTA_LAB_BUILD.
# They run on the newest fixed build, where any crash is a regression; codec targets run on 5.5.
#
# Instrumentation: --sanitizer none (stable Rust, see ../shared/FUZZING.md); libFuzzer's coverage
# instrumentation is still on. .ci/run runs this script directly (no container engine there):
#   OUT=target/cflite-out .clusterfuzzlite/build.sh
here=$(cd "$(dirname "$0")/.." && pwd)
SRC=${SRC:-$here}
OUT=${OUT:-$here/target/cflite-out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
cd "$here/fuzz"
cargo fuzz build --sanitizer none
bin=$(ls -d target/*/release | head -1)
build_targets="driver_events nsi_pop4 x25_up inbound_stack"
fixed=2000-sp3-rollup
for src in fuzz_targets/*.rs; do
  t=$(basename "$src" .rs)
  name=$t
  case " $build_targets " in *" $t "*) name="${t}__$(echo $fixed | tr . _)" ;; esac
  cp "$bin/$t" "$OUT/$name"
  seeds="$here/corpora/fuzz/$t"
  if [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
    rm -f "$OUT/${name}_seed_corpus.zip"
    (cd "$seeds" && zip -q -j "$OUT/${name}_seed_corpus.zip" ./*)
  fi
  # The dictionary `mta-lab corpus seed` writes (OSS-Fuzz picks up <name>.dict next to the binary).
  [ -f "$here/corpora/dict/$t.dict" ] && cp "$here/corpora/dict/$t.dict" "$OUT/$name.dict"
  printf '[libfuzzer]\ntimeout = 10\nrss_limit_mb = 2048\n' > "$OUT/$name.options"
done
echo "ClusterFuzzLite build: $(ls "$OUT" | grep -vc '\.\(zip\|options\)$') targets in $OUT"
