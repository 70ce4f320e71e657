//! cargo-fuzz target `trivial`: no model at all — the speed reference `mta-lab bench fuzz` runs
//! beside every real target, built and run the same way, so exec/s become ratios that mean the same
//! on a fast or a slow, quiet or busy machine. It never crashes.
#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    // One comparison for value profile to see, as in FUZZING.md's trivial target.
    std::hint::black_box(data.len() >= 4 && data[..4] == *b"FUZZ");
});
