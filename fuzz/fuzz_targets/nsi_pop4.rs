//! cargo-fuzz target `nsi_pop4`: the shared harness on the build named by $MTA_LAB_BUILD (default 5.5).
//! On the builds a KB names, this oracle is meant to fire; CI fuzzes it on 2000-sp3-rollup.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mta_harness::fuzz_one("nsi_pop4", data));
