//! cargo-fuzz target `inbound_stack`: the shared harness on the build named by $MTA_LAB_BUILD (default 5.5).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let build = mta_harness::build_from_env();
    if let Err(failure) = mta_harness::mta::inbound_stack(build, data) {
        panic!("{failure} (build {build})");
    }
});
