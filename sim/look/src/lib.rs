//! mta-lab's pictures: a run's trace records as a message sequence chart (SVG/HTML), the trace
//! viewer page, the first divergence of two runs as text and side-by-side charts, and the HTML
//! escaping and SVG line and bar charts every page shares.
//!
//! Everything here is a pure function from records or numbers to markup: it runs nothing (no
//! simulation, no harness, no fuzzer), opens no socket and reads no clock. It imports only
//! `mta-lab-world` of the `sim/` crates (for the trace record schema); the campaigns compose its
//! pieces into their reports.

#![warn(clippy::too_many_lines)]

pub mod chart;
pub mod diff;
pub mod html;
pub mod viewer;
