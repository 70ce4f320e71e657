//! `lpi_decode`: control-block churn then an arbitrary internal message through the LPI decoder, both
//! as contiguous bytes and laid out in a buffer-manager buffer. Oracles: never panics; the two paths
//! agree; a well-formed message re-emits byte-identically; the LPI classification (live / stale /
//! reused / unknown) matches an independent model of the control-block table; buffer accounting
//! returns to zero.
//!
//! The encoder (`encode_into_buffer`) is not run here: a second buffer cycle per input cost a third
//! of this target's speed (measured) for a four-line composition the boundary-length property
//! (`tests/boundaries.rs`: every boundary length on every build) and the MTA-core targets (NSI
//! posts every internal message through it) already exercise.
//!
//! Input layout: `[n][n churn octets][message octets…]`. A churn octet with bit 7 set releases the
//! live block picked by its low bits; otherwise it allocates (bit 0: 0 inbound, 1 outbound).

use crate::{Failure, World, Worlds};
use mta_bufmgr::{BufferManager, Component, ControlBlockId, ControlBlockTable, Direction};
use mta_build::Build;
use mta_lpi::{
    DecodeError, Interface, Lpi, LpiStatus, MessageRepr, MessageType, decode, decode_buffer,
};

const TARGET: &str = "lpi_decode";

/// Which classification model to check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The faithful model.
    Faithful,
    /// Canary: believes a reused block's LPI is still live (ignores generations).
    IgnoresGeneration,
}

/// The independent model of the table: per index, generation and direction if live.
#[derive(Debug)]
struct TableModel {
    slots: Vec<(u16, Option<Direction>)>,
    caps: [u16; 2],
    used: [u16; 2],
}

impl TableModel {
    fn pool(d: Direction) -> usize {
        usize::from(d == Direction::Outbound)
    }
    fn allocate(&mut self, d: Direction) -> Option<(u16, u16)> {
        if self.used[Self::pool(d)] >= self.caps[Self::pool(d)] {
            return None;
        }
        let i = (1..self.slots.len()).find(|&i| self.slots[i].1.is_none())?;
        let g = match self.slots[i].0.wrapping_add(1) {
            0 => 1,
            g => g,
        };
        self.slots[i] = (g, Some(d));
        self.used[Self::pool(d)] += 1;
        Some((i as u16, g))
    }
    fn status(&self, lpi: Lpi, model: Model) -> LpiStatus {
        let i = usize::from(lpi.index);
        if lpi.interface != 1 || i == 0 || i >= self.slots.len() {
            return LpiStatus::Unknown;
        }
        match self.slots[i] {
            (_, None) => LpiStatus::Stale,
            (g, Some(d)) if g == lpi.generation || model == Model::IgnoresGeneration => {
                LpiStatus::Live(d)
            }
            (g, Some(_)) => LpiStatus::Reused {
                current_generation: g,
            },
        }
    }
}

/// The harness's world: the build's control-block table and buffer manager, the independent
/// model, and the list of live blocks.
#[derive(Debug)]
pub struct LpiWorld {
    table: ControlBlockTable,
    model: TableModel,
    mgr: BufferManager,
    live: Vec<ControlBlockId>,
}

impl World for LpiWorld {
    fn new(build: Build) -> Self {
        let p = build.profile();
        let table = ControlBlockTable::for_profile(&p);
        LpiWorld {
            model: TableModel {
                slots: vec![(0, None); table.len()],
                caps: [p.tcp_control_blocks_inbound, p.tcp_control_blocks_outbound],
                used: [0, 0],
            },
            table,
            mgr: BufferManager::for_profile(&p),
            live: Vec::new(),
        }
    }

    fn reset(&mut self) {
        self.table.reset();
        self.model.slots.fill((0, None));
        self.model.used = [0, 0];
        self.mgr.reset();
        self.live.clear();
    }
}

thread_local! {
    static WORLDS: Worlds<LpiWorld> = const { Worlds::new() };
}

/// [`crate::reset_equivalence`] for this harness.
pub fn reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, |w: &mut LpiWorld, input| {
        run_in(w, input, Model::Faithful)
    })
}

fn fail(what: impl Into<String>) -> Failure {
    Failure::new(TARGET, what)
}

fn class(s: LpiStatus) -> &'static str {
    match s {
        LpiStatus::Live(_) => "live",
        LpiStatus::Stale => "stale",
        LpiStatus::Reused { .. } => "reused",
        LpiStatus::Unknown => "unknown",
    }
}

/// Run a byte input on `build` (the fuzz-target entry point), on this thread's world of `build`.
pub fn run_bytes(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    WORLDS.with(|w| w.with(build, |w| run_in(w, input, Model::Faithful)))
}

/// Run one input against the chosen model on a new world.
pub fn run(build: Build, input: &[u8], model: Model) -> Result<&'static str, Failure> {
    run_in(&mut LpiWorld::new(build), input, model)
}

/// Run one input against the chosen model on a (new or reset) world.
pub fn run_in(w: &mut LpiWorld, input: &[u8], model: Model) -> Result<&'static str, Failure> {
    let LpiWorld {
        table,
        model: m,
        mgr,
        live,
        ..
    } = w;
    let (n, rest) = input
        .split_first()
        .map_or((0, input), |(n, r)| (usize::from(*n), r));
    let (churn, raw) = rest.split_at(n.min(rest.len()));
    for &c in churn {
        if c & 0x80 != 0 {
            if live.is_empty() {
                continue;
            }
            let id = live.remove(usize::from(c & 0x7f) % live.len());
            table
                .release(id)
                .map_err(|e| fail(format!("release: {e}")))?;
            let slot = &mut m.slots[usize::from(id.index)];
            let d = slot
                .1
                .take()
                .ok_or_else(|| fail("model and table disagree on liveness"))?;
            m.used[TableModel::pool(d)] -= 1;
        } else {
            let d = if c & 1 == 0 {
                Direction::Inbound
            } else {
                Direction::Outbound
            };
            let want = m.allocate(d);
            let got = table.allocate(d).ok();
            if got.map(|id| (id.index, id.generation)) != want {
                return Err(fail(format!("allocate {d}: table {got:?}, model {want:?}")));
            }
            live.extend(got);
        }
    }

    // Contiguous path.
    let direct = decode(raw, table, Interface::TcpIp);
    // Buffer path: the same octets laid out in a buffer-manager buffer.
    match mgr.request_for_len(Component::Nsi, raw.len()) {
        Ok(h) => {
            mgr.fill(h, raw).map_err(|e| fail(format!("fill: {e}")))?;
            let b = decode_buffer(mgr, h, table, Interface::TcpIp);
            mgr.release(h).map_err(|e| fail(e.to_string()))?;
            if b != direct {
                return Err(fail(format!(
                    "buffer path {b:?} != contiguous path {direct:?}"
                )));
            }
        }
        // Larger than one request may hold: only the contiguous path applies.
        Err(mta_bufmgr::BufferError::IllegalRequest { .. }) => {}
        Err(e) => return Err(fail(format!("laying the message out: {e}"))),
    }
    let outcome = match direct {
        Ok(d) => {
            let want = m.status(d.repr.lpi, model);
            if d.status != want {
                return Err(fail(format!(
                    "LPI {} classified {:?}, model says {want:?}",
                    d.repr.lpi, d.status
                )));
            }
            // A well-formed message with the standard header length re-emits byte-identically:
            // the data is carried as is, so the header octets must be the input's.
            if raw.len() >= 4
                && u16::from_le_bytes([raw[2], raw[3]]) == 16
                && raw[..16] != d.repr.header_octets()
            {
                return Err(fail("re-emitted message differs from the input"));
            }
            if d.status.is_bad() && d.report_event_ids().len() != 2 {
                return Err(fail("a bad LPI must log two events"));
            }
            class(d.status)
        }
        Err(DecodeError::Malformed(_)) => "malformed",
        Err(e @ DecodeError::Buffer(_)) => return Err(fail(format!("unexpected {e}"))),
    };

    if let Some(leak) = mgr.leak_report() {
        return Err(fail(leak.to_string()));
    }
    Ok(outcome)
}

fn message(t: MessageType, lpi: Lpi, data: &[u8]) -> Vec<u8> {
    MessageRepr {
        message_type: t,
        lpi,
        more: false,
        data_len: data.len() as u32,
    }
    .to_bytes(data)
}

/// Meaningful seed inputs: (file name, bytes).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    let with = |churn: &[u8], msg: Vec<u8>| {
        let mut v = vec![churn.len() as u8];
        v.extend_from_slice(churn);
        v.extend(msg);
        v
    };
    vec![
        (
            "live-connect-indication-cb1",
            with(
                &[0],
                message(MessageType::ConnectIndication, Lpi::new(1, 1, 1), b"CR"),
            ),
        ),
        (
            // The caller gave up: its block was released, then NSI's Close Request names it.
            "q811406-close-request-for-released-block",
            with(
                &[0, 0x80],
                message(MessageType::CloseRequest, Lpi::new(1, 1, 1), &[]),
            ),
        ),
        (
            "reused-block-old-generation",
            with(
                &[0, 0x80, 0],
                message(MessageType::DataRequest, Lpi::new(1, 1, 1), b"data"),
            ),
        ),
        (
            "unknown-interface-x25-on-tcp-nsi",
            with(
                &[0, 1],
                message(MessageType::AcceptOk, Lpi::new(2, 1, 1), &[]),
            ),
        ),
        ("malformed-data-length", {
            let mut m = message(MessageType::DataIndication, Lpi::new(1, 1, 1), b"xyz");
            m[12] = 0x40;
            with(&[0], m)
        }),
        // Data lengths at the boundaries of the header's 32-bit length field's low octets.
        (
            "data-length-boundary-127",
            with(
                &[0],
                message(MessageType::DataIndication, Lpi::new(1, 1, 1), &[0x5a; 127]),
            ),
        ),
        (
            "data-length-boundary-128",
            with(
                &[0],
                message(MessageType::DataIndication, Lpi::new(1, 1, 1), &[0x5a; 128]),
            ),
        ),
        (
            "data-length-boundary-255",
            with(
                &[0],
                message(MessageType::DataIndication, Lpi::new(1, 1, 1), &[0x5a; 255]),
            ),
        ),
        (
            "data-length-boundary-256",
            with(
                &[0],
                message(MessageType::DataIndication, Lpi::new(1, 1, 1), &[0x5a; 256]),
            ),
        ),
        (
            "driver-internal-769-is-not-nsi-pop4",
            with(&[0], {
                let mut m = message(MessageType::CloseRequest, Lpi::new(1, 1, 1), &[]);
                m[0] = 0x01;
                m[1] = 0x03;
                m
            }),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_classify_as_named() {
        let out: Vec<&str> = seeds()
            .iter()
            .map(|(n, b)| {
                run(Build::Ex2000Sp3, b, Model::Faithful).unwrap_or_else(|f| panic!("{n}: {f}"))
            })
            .collect();
        assert_eq!(
            out,
            [
                "live",
                "stale",
                "reused",
                "unknown",
                "malformed",
                "live",
                "live",
                "live",
                "live",
                "malformed"
            ]
        );
    }

    #[test]
    fn canary_generation_blind_model_is_caught() {
        let (_, bytes) = &seeds()[2];
        let err = run(Build::Ex2000Sp3, bytes, Model::IgnoresGeneration).unwrap_err();
        assert!(err.what.contains("classified"), "{err}");
    }
}
