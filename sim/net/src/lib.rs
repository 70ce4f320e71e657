//! mta-lab on byte streams: real TCP for the stream edge (`mta_lab_world::edge`, which drives a
//! sans-IO modelled MTA over turmoil's simulated TCP or real tokio sockets), `serve` (a modelled MTA on real TCP), `probe` (the lab
//! pointed at a real endpoint), capture import and replay, and the hostile-peer library.
//!
//! It is the only part of `sim/` that opens real sockets. It holds no protocol logic of its own
//! (the models in `models/` do) and imports only `mta-lab-world` of the `sim/` crates; campaigns
//! and pictures sit above it.

#![warn(clippy::too_many_lines)]

pub mod capture_replay;
pub mod commands;
pub mod hostile;
pub mod import;
pub mod input_files;
pub mod probe;
pub mod serve;
pub mod setup;
pub mod tcp;
