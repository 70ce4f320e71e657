//! The fuzz targets a campaign runs: the models' harnesses (`mta_harness::TARGETS`) and the
//! targets that live above this crate — `input_files` over the lab's own input files
//! (`mta_lab_net::input_files`), which this crate may not import (sim/README.md) — handed in
//! once at start-up by the `mta-lab` binary ([`register`]).

use mta_harness::{TARGETS, Target};
use std::sync::OnceLock;

static MORE: OnceLock<&'static [Target]> = OnceLock::new();

/// Add targets defined above this crate (the `mta-lab` binary calls this first thing). A second
/// call is ignored: the table is fixed for the process.
pub fn register(more: &'static [Target]) {
    let _ = MORE.set(more);
}

/// The registered targets of the crates above this one (none before [`register`]).
pub fn registered() -> &'static [Target] {
    MORE.get().copied().unwrap_or(&[])
}

/// Every target: `mta_harness::TARGETS`, then the registered ones.
pub fn all() -> impl Iterator<Item = &'static Target> {
    TARGETS.iter().chain(registered())
}

/// The target named `name`.
pub fn by_name(name: &str) -> Option<&'static Target> {
    all().find(|t| t.name == name)
}
