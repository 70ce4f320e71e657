//! cargo-fuzz target `input_files`: the lab's own input files (mta_lab_net::input_files) on the build named by $MTA_LAB_BUILD (default 5.5).
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| mta_lab_net::input_files::fuzz_one(data));
