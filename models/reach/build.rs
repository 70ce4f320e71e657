//! Generates `feed.rs`: FEED_ARMS functions, each passing its own number to `black_box`, and the
//! table `feed` dispatches through (see `mta_reach::feed`). Generated because a thousand
//! hand-written functions would be noise.
use std::fmt::Write as _;

const ARMS: usize = 1024;

fn main() {
    let mut s = format!(
        "/// Transition buckets: each transition id lands in one (collisions are rare at our counts).\n\
         pub const FEED_ARMS: usize = {ARMS};\n"
    );
    for i in 0..ARMS {
        let _ = writeln!(
            s,
            "#[inline(never)] fn feed_{i}() {{ std::hint::black_box({i}_u32); }}"
        );
    }
    s.push_str("static FEED_TABLE: [fn(); FEED_ARMS] = [\n");
    for i in 0..ARMS {
        let _ = writeln!(s, "    feed_{i},");
    }
    s.push_str("];\n");
    let out = std::path::PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("feed.rs"), s).expect("OUT_DIR is writable");
    println!("cargo:rerun-if-changed=build.rs");
}
