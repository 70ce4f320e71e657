//! `bufmgr_ops`: arbitrary request/release/write/hand-over sequences against the buffer manager of a
//! build, checked op by op against a simple reference model: accounting exact, per-request limits
//! honoured (the KB Q182619 boundary included), exhaustion only when the pools are short, double and
//! stale releases detected and told apart, data read back as written, nothing leaked at the end.

use crate::{Failure, World, Worlds};
use mta_bufmgr::{BufferError, BufferHandle, BufferManager, Component, Limits, ReleaseError};
use mta_build::Build;

const TARGET: &str = "bufmgr_ops";

/// One operation. Encoded as four octets `[code, a, b, c]` (see [`Op::encode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, arbitrary::Arbitrary)]
pub enum Op {
    /// `request(headers, elements)`; both below 40 so the 28/29/30 boundary is dense.
    Request {
        /// Headers.
        headers: u8,
        /// Elements.
        elements: u8,
    },
    /// `request_for_len(len)`.
    RequestForLen {
        /// Octets wanted.
        len: u16,
    },
    /// Release a live buffer (picked modulo the live count).
    Release {
        /// Pick.
        pick: u8,
    },
    /// Release a buffer that was already released (double or stale release).
    ReleaseAgain {
        /// Pick.
        pick: u8,
    },
    /// Write `len` octets at `offset` into a live buffer, then read everything back.
    Write {
        /// Pick.
        pick: u8,
        /// Offset in units of 37 octets (to cross element boundaries).
        offset: u8,
        /// Length in units of 31 octets.
        len: u8,
    },
    /// Hand a live buffer to another component.
    HandOver {
        /// Pick.
        pick: u8,
        /// Component number.
        to: u8,
    },
}

const COMPONENTS: [Component; 8] = [
    Component::TcpDriver,
    Component::X25Adapter,
    Component::Nsi,
    Component::Pop4,
    Component::Session,
    Component::UpperLayers,
    Component::MtaCore,
    Component::Harness,
];

impl Op {
    /// The op's four-octet encoding (inverse of [`Op::decode_stream`]).
    pub fn encode(self) -> [u8; 4] {
        match self {
            Op::Request { headers, elements } => [0, headers, elements, 0],
            Op::RequestForLen { len } => [1, 0, (len >> 8) as u8, len as u8],
            Op::Release { pick } => [2, pick, 0, 0],
            Op::ReleaseAgain { pick } => [3, pick, 0, 0],
            Op::Write { pick, offset, len } => [4, pick, offset, len],
            Op::HandOver { pick, to } => [5, pick, to, 0],
        }
    }

    /// Decode a byte stream, four octets per op (a short tail is ignored). Total: every input
    /// decodes to some op sequence, as a fuzzer needs.
    pub fn decode_stream(bytes: &[u8]) -> Vec<Op> {
        bytes
            .chunks_exact(4)
            .map(|c| match c[0] % 6 {
                0 => Op::Request {
                    headers: c[1] % 40,
                    elements: c[2] % 40,
                },
                1 => Op::RequestForLen {
                    len: u16::from_be_bytes([c[2], c[3]]),
                },
                2 => Op::Release { pick: c[1] },
                3 => Op::ReleaseAgain { pick: c[1] },
                4 => Op::Write {
                    pick: c[1],
                    offset: c[2],
                    len: c[3],
                },
                _ => Op::HandOver {
                    pick: c[1],
                    to: c[2],
                },
            })
            .collect()
    }

    /// Encode a sequence (for seed corpora and regressions).
    pub fn encode_stream(ops: &[Op]) -> Vec<u8> {
        ops.iter().flat_map(|o| o.encode()).collect()
    }
}

/// The longest input libFuzzer gives this target: 128 ops. Enough to exhaust the largest pools
/// (2000 SP3: 2,048 elements take 74 requests of 28) with room to release and reuse; longer
/// streams repeat the same states at a cost per execution (measured: 256 ops ran at 0.7× the
/// speed of 128). The harness itself reads any length (regressions replay whole).
pub const MAX_LEN: usize = 128 * 4;

/// Which reference model to check against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Model {
    /// The faithful model.
    Faithful,
    /// Canary: believes the per-request limit is one higher than the build's.
    OffByOneLimit,
}

#[derive(Debug)]
struct Live {
    handle: BufferHandle,
    elements: u32,
}

#[derive(Debug)]
struct Reference {
    limits: Limits,
    live: Vec<Live>,
    released: Vec<BufferHandle>,
    /// Latest generation granted per header slot (0: never granted).
    slot_generation: Vec<u32>,
    headers: u32,
    elements: u32,
}

/// The harness's world: the build's buffer manager, the reference model (faithful and canary
/// limits) and the pattern writes take their data from.
#[derive(Debug)]
pub struct BufWorld {
    mgr: BufferManager,
    r: Reference,
    /// The octets writes take their data from (see [`PATTERN_PERIOD`]).
    pattern: Vec<u8>,
}

impl World for BufWorld {
    fn new(build: Build) -> Self {
        let limits = Limits::from_profile(&build.profile());
        BufWorld {
            mgr: BufferManager::new(limits),
            r: Reference {
                limits,
                live: Vec::new(),
                released: Vec::new(),
                slot_generation: Vec::new(),
                headers: 0,
                elements: 0,
            },
            pattern: pattern(),
        }
    }

    fn reset(&mut self) {
        self.mgr.reset();
        self.r.limits = self.mgr.limits();
        self.r.live.clear();
        self.r.released.clear();
        self.r.slot_generation.clear();
        self.r.headers = 0;
        self.r.elements = 0;
    }
}

thread_local! {
    static WORLDS: Worlds<BufWorld> = const { Worlds::new() };
}

/// [`crate::reset_equivalence`] for this harness.
pub fn reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, |w: &mut BufWorld, input| {
        run_in(w, &Op::decode_stream(input), Model::Faithful)
    })
}

fn check(cond: bool, what: impl FnOnce() -> String) -> Result<(), Failure> {
    if cond {
        Ok(())
    } else {
        Err(Failure::new(TARGET, what()))
    }
}

/// Run a byte input on `build` (the fuzz-target entry point), on this thread's world of `build`.
pub fn run_bytes(build: Build, bytes: &[u8]) -> Result<&'static str, Failure> {
    WORLDS.with(|w| {
        w.with(build, |w| {
            run_in(w, &Op::decode_stream(bytes), Model::Faithful)
        })
    })
}

/// Run an op sequence against the reference model on a new world.
pub fn run(build: Build, ops: &[Op], model: Model) -> Result<&'static str, Failure> {
    run_in(&mut BufWorld::new(build), ops, model)
}

/// Run an op sequence against the reference model on a (new or reset) world.
pub fn run_in(w: &mut BufWorld, ops: &[Op], model: Model) -> Result<&'static str, Failure> {
    let off_by_one = u32::from(model == Model::OffByOneLimit);
    w.r.limits.max_headers_per_request += off_by_one;
    w.r.limits.max_elements_per_request += off_by_one;
    let BufWorld { mgr, r, pattern } = w;
    let mut saw_illegal = false;
    for (i, &op) in ops.iter().enumerate() {
        step(mgr, r, op, &mut saw_illegal, pattern)
            .map_err(|f| Failure::new(TARGET, format!("op {i} {op:?}: {}", f.what)))?;
        let o = mgr.outstanding();
        check(o.headers == r.headers && o.elements == r.elements, || {
            format!(
                "after op {i}: outstanding {}/{} but model {}/{}",
                o.headers, o.elements, r.headers, r.elements
            )
        })?;
        // The full recount is O(slots): every 16 ops and after the last keeps exec/s high while a
        // broken free list is still caught within 16 ops of the fault.
        if i % 16 == 15 || i + 1 == ops.len() {
            mgr.check_invariants()
                .map_err(|e| Failure::new(TARGET, format!("after op {i}: {e}")))?;
        }
    }
    for l in std::mem::take(&mut r.live) {
        mgr.release(l.handle)
            .map_err(|e| Failure::new(TARGET, format!("final release: {e}")))?;
    }
    if let Some(leak) = mgr.leak_report() {
        return Err(Failure::new(TARGET, leak.to_string()));
    }
    Ok(if saw_illegal {
        "illegal-request-seen"
    } else {
        "clean"
    })
}

fn grant(r: &mut Reference, handles: &[BufferHandle], headers: u32, elements: u32) {
    let per = elements / headers;
    let extra = elements % headers;
    for (i, &h) in handles.iter().enumerate() {
        let n = per + u32::from((i as u32) < extra);
        let slot = h.slot() as usize;
        if r.slot_generation.len() <= slot {
            r.slot_generation.resize(slot + 1, 0);
        }
        r.slot_generation[slot] = h.generation();
        r.live.push(Live {
            handle: h,
            elements: n,
        });
    }
    r.headers += headers;
    r.elements += elements;
}

fn expect_request(r: &Reference, headers: u32, elements: u32) -> Result<(), &'static str> {
    if headers == 0 {
        Err("empty")
    } else if headers > r.limits.max_headers_per_request
        || elements > r.limits.max_elements_per_request
    {
        Err("illegal")
    } else if headers > r.limits.headers - r.headers || elements > r.limits.elements - r.elements {
        Err("exhausted")
    } else {
        Ok(())
    }
}

/// Octets a write may take: every write is a window of this table, `(start + k) % 251` at offset
/// `k`. The period is prime, so unlike any power of two it never lines up with the 2,048-octet
/// element size: elements chained in the wrong order, or one element's data read from another,
/// show in the read-back.
const PATTERN_PERIOD: usize = 251;

fn pattern() -> Vec<u8> {
    (0..PATTERN_PERIOD + 255 * 31)
        .map(|i| (i % PATTERN_PERIOD) as u8)
        .collect()
}

fn step(
    mgr: &mut BufferManager,
    r: &mut Reference,
    op: Op,
    saw_illegal: &mut bool,
    pattern: &[u8],
) -> Result<(), Failure> {
    match op {
        Op::Request { headers, elements } => {
            let (h, e) = (u32::from(headers), u32::from(elements));
            let want = expect_request(r, h, e);
            let got = mgr.request(Component::Harness, h, e);
            match (&got, want) {
                (Ok(handles), Ok(())) => {
                    check(handles.len() == h as usize, || "grant size".into())?;
                    grant(r, handles, h, e);
                }
                (
                    Err(BufferError::IllegalRequest {
                        headers: gh,
                        elements: ge,
                        ..
                    }),
                    Err("illegal"),
                ) => {
                    *saw_illegal = true;
                    check((*gh, *ge) == (h, e), || {
                        "illegal request reports wrong counts".into()
                    })?;
                }
                (Err(BufferError::EmptyRequest { .. }), Err("empty"))
                | (Err(BufferError::Exhausted { .. }), Err("exhausted")) => {}
                _ => {
                    return Err(Failure::new(
                        TARGET,
                        format!("request({h},{e}) gave {got:?}, model expected {want:?}"),
                    ));
                }
            }
        }
        Op::RequestForLen { len } => {
            let es = r.limits.element_size as usize;
            let e = (usize::from(len).div_ceil(es)).max(1) as u32;
            let want = expect_request(r, 1, e);
            match (
                mgr.request_for_len(Component::Harness, usize::from(len)),
                want,
            ) {
                (Ok(h), Ok(())) => grant(r, &[h], 1, e),
                (Err(BufferError::Exhausted { .. }), Err("exhausted"))
                | (Err(BufferError::IllegalRequest { .. }), Err("illegal")) => {}
                (got, want) => {
                    return Err(Failure::new(
                        TARGET,
                        format!("request_for_len({len}) gave {got:?}, model expected {want:?}"),
                    ));
                }
            }
        }
        Op::Release { pick } => {
            if r.live.is_empty() {
                return Ok(());
            }
            let l = r.live.remove(usize::from(pick) % r.live.len());
            mgr.release(l.handle)
                .map_err(|e| Failure::new(TARGET, format!("release of live buffer: {e}")))?;
            r.headers -= 1;
            r.elements -= l.elements;
            r.released.push(l.handle);
        }
        Op::ReleaseAgain { pick } => {
            if r.released.is_empty() {
                return Ok(());
            }
            let h = r.released[usize::from(pick) % r.released.len()];
            let current = r.slot_generation[h.slot() as usize];
            let want = if current == h.generation() {
                ReleaseError::DoubleRelease(h)
            } else {
                ReleaseError::Stale { handle: h, current }
            };
            let got = mgr.release(h);
            check(got == Err(want), || {
                format!("second release of {h} gave {got:?}, model expected {want:?}")
            })?;
        }
        Op::Write { pick, offset, len } => {
            if r.live.is_empty() {
                return Ok(());
            }
            let es = r.limits.element_size as usize;
            let i = usize::from(pick) % r.live.len();
            let l = &mut r.live[i];
            let (off, n) = (usize::from(offset) * 37, usize::from(len) * 31);
            let start = usize::from(pick ^ offset) % PATTERN_PERIOD;
            let payload = &pattern[start..start + n];
            let cap = l.elements as usize * es;
            let got = mgr.write_at(l.handle, off, payload);
            if off + n > cap {
                check(matches!(got, Err(BufferError::OutOfBounds { .. })), || {
                    format!("write {off}+{n} into capacity {cap} gave {got:?}")
                })?;
                return Ok(());
            }
            got.map_err(|e| Failure::new(TARGET, format!("write: {e}")))?;
            mgr.set_len(l.handle, off + n)
                .map_err(|e| Failure::new(TARGET, format!("set_len: {e}")))?;
            // Read back through the element chain, in place. Octets never written are unspecified
            // (recycled elements): compare the written range.
            let mut pos = 0;
            let mut same = true;
            for chunk in mgr
                .chunks(l.handle)
                .map_err(|e| Failure::new(TARGET, e.to_string()))?
            {
                let end = pos + chunk.len();
                if end > off {
                    let from = off.max(pos);
                    same &= chunk[from - pos..] == payload[from - off..end - off];
                }
                pos = end;
            }
            check(same && pos == off + n, || {
                "data read back differs from what was written".into()
            })?;
        }
        Op::HandOver { pick, to } => {
            if r.live.is_empty() {
                return Ok(());
            }
            let h = r.live[usize::from(pick) % r.live.len()].handle;
            let c = COMPONENTS[usize::from(to) % COMPONENTS.len()];
            mgr.hand_over(h, c)
                .map_err(|e| Failure::new(TARGET, format!("hand_over: {e}")))?;
            check(mgr.owner(h) == Ok(c), || "owner not updated".into())?;
        }
    }
    Ok(())
}

/// Meaningful seed inputs for the corpus: (file name, bytes).
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "q182619-full-queue-plus-cr-on-4.0-and-5.5",
            // 30/30 is illegal on 4.0/5.0, 29/29 on 5.5: the KB boundary on any build.
            Op::encode_stream(&[
                Op::Request {
                    headers: 28,
                    elements: 28,
                },
                Op::Release { pick: 0 },
                Op::Request {
                    headers: 29,
                    elements: 29,
                },
                Op::Request {
                    headers: 30,
                    elements: 30,
                },
            ]),
        ),
        (
            "double-and-stale-release",
            Op::encode_stream(&[
                Op::RequestForLen { len: 100 },
                Op::Release { pick: 0 },
                Op::ReleaseAgain { pick: 0 },
                Op::RequestForLen { len: 100 },
                Op::ReleaseAgain { pick: 0 },
            ]),
        ),
        (
            "writes-across-elements-and-hand-over",
            Op::encode_stream(&[
                Op::RequestForLen { len: 5000 },
                Op::Write {
                    pick: 0,
                    offset: 50,
                    len: 100,
                },
                Op::HandOver { pick: 0, to: 3 },
                Op::Write {
                    pick: 0,
                    offset: 200,
                    len: 255,
                },
            ]),
        ),
        (
            "exhaust-the-pools",
            Op::encode_stream(
                &[Op::Request {
                    headers: 28,
                    elements: 28,
                }; 40],
            ),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoding_round_trips() {
        let ops = [
            Op::Request {
                headers: 29,
                elements: 3,
            },
            Op::RequestForLen { len: 4097 },
            Op::Release { pick: 7 },
            Op::ReleaseAgain { pick: 1 },
            Op::Write {
                pick: 2,
                offset: 3,
                len: 4,
            },
            Op::HandOver { pick: 5, to: 6 },
        ];
        assert_eq!(Op::decode_stream(&Op::encode_stream(&ops)), ops);
    }

    #[test]
    fn seeds_pass_on_every_build_and_hit_the_kb_boundary() {
        for b in Build::ALL {
            for (name, bytes) in seeds() {
                let out = run_bytes(b, &bytes).unwrap_or_else(|f| panic!("{b} {name}: {f}"));
                if name.starts_with("q182619") {
                    assert_eq!(out, "illegal-request-seen", "{b}");
                }
            }
        }
    }

    #[test]
    fn canary_off_by_one_model_is_caught_at_the_kb_boundary() {
        let (_, bytes) = &seeds()[0];
        let err = run(Build::Ex50, &Op::decode_stream(bytes), Model::OffByOneLimit).unwrap_err();
        assert!(err.what.contains("request(30,30)"), "{err}");
    }
}
