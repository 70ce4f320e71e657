//! cargo-fuzz target `inbound_stack`: the shared harness on the build named by $MTA_LAB_BUILD (default 5.5).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mta_harness::fuzz_one("inbound_stack", data));
