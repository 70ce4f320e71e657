//! mta-lab's pictures: a run's trace records as a message sequence chart (SVG/HTML), the trace
//! viewer page, the first divergence of two runs as text and side-by-side charts, and the HTML
//! escaping and SVG line and bar charts every page shares, and the byte-inspection commands
//! (a stream, BER, P1, an internal message, the build table) as text.
//!
//! Everything here is a pure function from records, numbers or bytes to markup or text: it runs
//! nothing (no simulation, no harness, no fuzzer), opens no socket and reads no clock (the
//! inspection commands read only the file they are given). It imports only `mta-lab-world` of
//! the `sim/` crates (the trace record schema, input files); the campaigns compose its pieces
//! into their reports.

#![warn(clippy::too_many_lines)]

pub mod chart;
pub mod diff;
pub mod html;
pub mod inspect;
pub mod viewer;
