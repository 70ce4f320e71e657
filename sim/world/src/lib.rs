//! The simulated worlds of mta-lab: world files and the built-in worlds, seeded fault plans, the
//! stream edge every adapter shares (`edge`; it drives streams it is handed, never opens one), the
//! turmoil adapter that runs modelled MTAs (`models/`) and peers on a simulated network, the
//! generic oracles, findings (record, replay, shrink), seed sweeps and their worker processes,
//! and pcap export of a run.
//!
//! It may not touch a real socket or read the wall clock on a model's path: everything a run does
//! derives from (build, world, seed), so the same inputs give a bit-identical trace. Sweep
//! workers' wall-clock timeout (a last resort against a hung process) and progress bars are the
//! only clock reads, and they sit outside the runs. It imports no other crate of `sim/`.

#![warn(clippy::too_many_lines)]

pub mod caller;
pub mod commands;
pub mod edge;
pub mod exit;
pub mod faults;
pub mod finding;
pub mod hostile_peers;
pub mod idle;
pub mod input;
pub mod jobs;
pub mod pcap;
pub mod simulate;
pub mod sweep;
pub mod world;
pub mod xot;
