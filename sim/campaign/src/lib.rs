//! mta-lab's campaigns: the KB matrix (every KB × build × configuration cell searched by the
//! finders that fit), the nightly (KB matrix, fuzz targets and seed sweeps across the cores,
//! triage, report), libFuzzer and smoke runs, merging sharded sweeps, source coverage,
//! reachability goals, mutation scores of the lab's own oracles, and the benchmarks.
//!
//! Campaigns drive the worlds (`mta-lab-world`) and the fuzz harnesses (`models/harness`) and
//! compose pictures (`mta-lab-look`) into their reports; they open no socket (real TCP belongs to
//! `mta-lab-net`). Wall-clock reads are limited to budgets, unit timings and naming the night.

#![warn(clippy::too_many_lines)]

pub mod bench;
pub mod bench_ber;
pub mod bench_p1;
pub mod commands;
pub mod coverage;
pub mod date;
pub mod goals;
pub mod grid;
pub mod harness_trace;
pub mod kb;
pub mod libfuzzer;
pub mod lifecycle;
pub mod merge;
pub mod mutants;
pub mod night;
pub mod nightly;
pub mod report;
pub mod retention;
pub mod smoke;
pub mod targets;
