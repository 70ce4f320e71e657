//! Harnesses for the OSI stack (`mta-osi`): `tpkt_stream`, `cotp_parse`, `session_parse`,
//! `presentation_parse`, `rtse_parse` and `association`. Every one: never panics; parse → emit →
//! parse is the identity for input the parser accepts (byte-identical where the layer keeps every
//! encoding choice: TPKT, COTP, session); the state machines accept any input without panicking.

use crate::{Failure, World, Worlds};
use mta_build::{Build, Profile};
use mta_osi::association::{AbortReason, Address, Association, Config, Event, Phase, Role};
use mta_osi::cotp::{self, Tpdu, Transport};
use mta_osi::pair::Pair;
use mta_osi::presentation::{self as pres, Mode};
use mta_osi::session::{self, Session, TData, Tsdu};
use mta_osi::tpkt::{Reassembler, ReservedPolicy, SendFlags, Writer};
use mta_osi::{acse, rtse};

/// Rounds of [`Pair::pump`] before the association harness calls it a livelock.
const ROUNDS: usize = 200_000;

fn fail(target: &'static str, what: impl Into<String>) -> Failure {
    Failure::new(target, what)
}

/// Deterministic cut lengths from a seed (xorshift), 1..=max.
fn cuts(seed: u64, max: usize) -> impl FnMut() -> usize {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        1 + (x % max.max(1) as u64) as usize
    }
}

fn frames(
    policy: ReservedPolicy,
    stream: &[u8],
    mut cut: impl FnMut() -> usize,
) -> (Vec<(u8, Vec<u8>)>, Option<mta_osi::Malformed>) {
    let mut r = Reassembler::new(policy);
    let mut out = Vec::new();
    let mut pos = 0;
    loop {
        let n = cut().min(stream.len() - pos);
        r.push(&stream[pos..pos + n]);
        pos += n;
        loop {
            match r.next_frame() {
                Ok(Some(f)) => out.push((f.reserved, f.tpdu)),
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
        if pos == stream.len() {
            return (out, None);
        }
    }
}

/// `tpkt_stream`: `[flags][seed][stream…]`. Reassembly under the seeded segmentation (bit 0 of
/// flags: cut at most 3 octets, else at most 300) equals reassembly of the unsegmented stream, under
/// both reserved-octet policies; re-framing the frames reproduces the consumed prefix.
pub fn tpkt_stream(_build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "tpkt_stream";
    let (flags, seed, stream) = match input {
        [f, s, rest @ ..] => (*f, *s, rest),
        _ => return Ok("short"),
    };
    let max = if flags & 1 == 1 { 3 } else { 300 };
    let mut class = "ok";
    for policy in [ReservedPolicy::Ignore, ReservedPolicy::Reject] {
        let whole = frames(policy, stream, || usize::MAX);
        let cut = frames(policy, stream, cuts(u64::from(seed) + 1, max));
        if whole != cut {
            return Err(fail(
                T,
                format!("{policy:?}: segmentation changed the frames: {whole:?} vs {cut:?}"),
            ));
        }
        let mut again = Vec::new();
        for (reserved, tpdu) in &whole.0 {
            again.extend_from_slice(&[3, *reserved]);
            again.extend_from_slice(&((tpdu.len() + 4) as u16).to_be_bytes());
            again.extend_from_slice(tpdu);
        }
        if !stream.starts_with(&again) {
            return Err(fail(T, "re-framed TPKTs differ from the stream"));
        }
        if whole.1.is_some() {
            class = "framing error";
        }
    }
    Ok(class)
}

/// `cotp_parse`: the TPDU parser (byte-identical re-emit) and the class-0 machine in every state.
pub fn cotp_parse(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    COTP_WORLDS.with(|w| w.with(build, |w| cotp_parse_in(w, input)))
}

fn cotp_parse_in(w: &mut CotpWorld, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "cotp_parse";
    let class = match Tpdu::parse(input) {
        Ok(t) => {
            let mut out = Vec::with_capacity(t.buffer_len());
            t.emit(&mut out);
            if out != input {
                return Err(fail(T, format!("{} re-emitted differently", t.name())));
            }
            if Tpdu::parse(&out).as_ref() != Ok(&t) {
                return Err(fail(T, "parse(emit(x)) != x"));
            }
            t.name()
        }
        Err(_) => "malformed",
    };
    // Feed it, framed, to a responder in Idle and to both ends of an open connection.
    let mut framed = Vec::new();
    Writer::conforming().write(&mut framed, input, SendFlags::NONE);
    cotp_machines(w, &framed)?;
    Ok(class)
}

/// The machines `cotp_parse` feeds: a responder in Idle (the build's TPKT writer) and both ends of
/// an open connection, as built and connected once per build; `live` is what an input changes.
#[derive(Debug)]
pub struct CotpWorld {
    pristine: [Transport; 3],
    live: [Transport; 3],
}

impl World for CotpWorld {
    fn new(build: Build) -> Self {
        let mut cfg = cotp::Config::new(b"B");
        cfg.writer = Writer::new(&Profile::of(build));
        let idle = Transport::new(cfg.clone(), 2);
        let (mut a, mut b) = (
            Transport::new(cotp::Config::new(b"A"), 1),
            Transport::new(cfg, 2),
        );
        a.connect(b"B");
        b.receive(&a.transmit());
        b.accept(b"A", b"B");
        a.receive(&b.transmit());
        let pristine = [idle, a, b];
        CotpWorld {
            live: pristine.clone(),
            pristine,
        }
    }

    fn reset(&mut self) {
        self.live.clone_from(&self.pristine);
    }
}

/// [`crate::reset_equivalence`] for `cotp_parse`.
pub fn cotp_parse_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, cotp_parse_in)
}

thread_local! {
    static COTP_WORLDS: Worlds<CotpWorld> = const { Worlds::new() };
    static SESSION_WORLDS: Worlds<SessionWorld> = const { Worlds::new() };
}

fn cotp_machines(w: &mut CotpWorld, framed: &[u8]) -> Result<(), Failure> {
    const T: &str = "cotp_parse";
    for t in &mut w.live {
        t.receive(framed);
        while t.poll_indication().is_some() {}
        if t.wants_close() != (t.state() == cotp::State::Closed) {
            return Err(fail(
                T,
                format!("close request and state disagree: {:?}", t.state()),
            ));
        }
    }
    Ok(())
}

/// `session_parse`: TSDU parse with byte-identical re-emit, then the session machine as a
/// responder (idle) and in data transfer with and without the tokens.
pub fn session_parse(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    SESSION_WORLDS.with(|w| w.with(build, |w| session_parse_in(w, input)))
}

fn session_parse_in(w: &mut SessionWorld, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "session_parse";
    let class = match Tsdu::parse(input) {
        Ok(t) => {
            let mut out = Vec::new();
            t.emit(&mut out);
            if out != input {
                return Err(fail(T, "TSDU re-emitted differently"));
            }
            t.name(t.spdus.len() - 1)
        }
        Err(_) => "malformed",
    };
    session_machines(w, input);
    Ok(class)
}

/// The machines `session_parse` feeds: a responder (idle) and both ends of a connection in data
/// transfer, connected once per process; `live` is what an input changes.
#[derive(Debug)]
pub struct SessionWorld {
    pristine: [Session; 3],
    live: [Session; 3],
}

impl World for SessionWorld {
    fn new(_build: Build) -> Self {
        let idle = Session::new(session::Config::new(b""));
        let (mut a, mut b) = (
            Session::new(session::Config::new(b"A")),
            Session::new(session::Config::new(b"B")),
        );
        a.connect(b"B", b"x");
        b.input(TData::new(&a.poll_tsdu().expect("CN")));
        while b.poll_indication().is_some() {}
        b.accept(b"y");
        a.input(TData::new(&b.poll_tsdu().expect("AC")));
        let pristine = [idle, a, b];
        SessionWorld {
            live: pristine.clone(),
            pristine,
        }
    }

    fn reset(&mut self) {
        self.live.clone_from(&self.pristine);
    }
}

/// [`crate::reset_equivalence`] for `session_parse`.
pub fn session_parse_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, session_parse_in)
}

fn session_machines(w: &mut SessionWorld, input: &[u8]) {
    for s in &mut w.live {
        s.input(TData::new(input));
        while s.poll_indication().is_some() {}
        while s.poll_tsdu().is_some() {}
    }
}

/// `presentation_parse`: `[selector][ppdu…]`; the selector picks CP/CPA, CPR, ARU/ARP, User-data or
/// an ACSE APDU. parse → emit → parse is the identity.
pub fn presentation_parse(_build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "presentation_parse";
    let Some((sel, b)) = input.split_first() else {
        return Ok("short");
    };
    macro_rules! identity {
        ($ty:path, $name:literal) => {
            match <$ty>::parse(b) {
                Ok(v) => {
                    let again = <$ty>::parse(&v.emit());
                    if again.as_ref() != Ok(&v) {
                        return Err(fail(
                            T,
                            format!("{}: parse(emit(x)) = {again:?} != {v:?}", $name),
                        ));
                    }
                    Ok($name)
                }
                Err(_) => Ok("malformed"),
            }
        };
    }
    match sel % 5 {
        0 => identity!(pres::Connect, "CP/CPA"),
        1 => identity!(pres::Refuse, "CPR"),
        2 => identity!(pres::Abort, "ARU/ARP"),
        3 => identity!(pres::UserData, "user-data"),
        _ => identity!(acse::Apdu, "ACSE"),
    }
}

/// `rtse_parse`: RTSE APDUs (normal-mode tagging) and X.410-mode RTORQ field lists; parse → emit
/// → parse is the identity.
pub fn rtse_parse(_build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "rtse_parse";
    match rtse::Apdu::parse(input) {
        Ok(a) => {
            let again = rtse::Apdu::parse(&a.emit());
            if again.as_ref() != Ok(&a) {
                return Err(fail(T, format!("parse(emit(x)) = {again:?} != {a:?}")));
            }
            Ok(a.name())
        }
        Err(_) => Ok("malformed"),
    }
}

/// `association`: `[flags][peer build][segment][seed][ops…]`. Two Exchange stacks (the harness
/// build and the peer build) bind, run the op script (each octet: transfer of a sized APDU, a
/// turn request by the responder, a timer tick, or release) through a pipe with seeded
/// segmentation. Oracles: no livelock; both ends end in the same phase; the responder delivers
/// exactly the APDUs the initiator had confirmed, in order, plus at most the ones in flight.
pub fn association(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    ASSOCIATION_WORLDS.with(|w| w.with(build, |w| association_in(w, input)))
}

/// Most post-bind pairs [`AssociationWorld`] keeps; when full it starts again (deterministic).
const BOUND_PAIRS: usize = 1024;

/// The world of `association`: the build and the pairs as they stand right after their bind,
/// keyed by the four octets that choose the configuration, segmentation and pipe seed. Binding
/// (P-CONNECT through every layer and back, segmented) is a pure function of those octets and
/// the build, and most of an execution's cost when the op script is short; each input starts from
/// a clone of its bound pair. The memo is not state: `Debug` shows the build and the live pair,
/// and the reset-equivalence property compares exactly that.
pub struct AssociationWorld {
    build: Build,
    bound: std::collections::BTreeMap<[u8; 4], Pair>,
    live: Option<Pair>,
}

impl std::fmt::Debug for AssociationWorld {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AssociationWorld")
            .field("build", &self.build)
            .field("live", &self.live)
            .finish_non_exhaustive()
    }
}

impl World for AssociationWorld {
    fn new(build: Build) -> Self {
        AssociationWorld {
            build,
            bound: std::collections::BTreeMap::new(),
            live: None,
        }
    }

    fn reset(&mut self) {
        self.live = None;
    }
}

thread_local! {
    static ASSOCIATION_WORLDS: Worlds<AssociationWorld> = const { Worlds::new() };
}

/// [`crate::reset_equivalence`] for `association`.
pub fn association_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, association_in)
}

/// Two Exchange stacks (the harness build and the peer build) configured by `key`, bound.
fn bind_pair(build: Build, key: [u8; 4]) -> Result<Pair, Failure> {
    const T: &str = "association";
    let [flags, peer, seg, seed] = key;
    let mode = if flags & 1 == 0 {
        Mode::X410
    } else {
        Mode::Normal
    };
    let peer = Build::ALL[usize::from(peer) % Build::ALL.len()];
    let addr = |t: &[u8]| Address {
        tsap: t.to_vec(),
        ssap: t.to_vec(),
        psap: t.to_vec(),
    };
    let mut ac = Config::exchange(build, mode, addr(b"A"), addr(b"B"));
    ac.twa = flags & 2 != 0;
    ac.checkpoint_size = i64::from(flags >> 4); // 0 (no checkpointing) ..= 15 KiB
    ac.window_size = i64::from((flags >> 2) & 3) + 1;
    let bc = Config::exchange(peer, mode, addr(b"B"), Address::default());
    let max_seg = if seg == 0 { 1 } else { usize::from(seg) * 8 };
    let mut p = Pair::new(
        Association::new(Role::Initiator, ac),
        Association::new(Role::Responder, bc),
        u64::from(seed),
        max_seg,
    );
    p.a.bind(&[0x05, 0x00]);
    p.pump(ROUNDS)
        .ok_or_else(|| fail(T, "no quiescence (livelock)"))?;
    if !matches!(p.b_events.as_slice(), [Event::BindRequest { .. }]) {
        return Err(fail(T, format!("no bind request: {:?}", p.b_events)));
    }
    p.b.accept_bind(&[0x05, 0x00]);
    p.pump(ROUNDS)
        .ok_or_else(|| fail(T, "no quiescence (livelock)"))?;
    Ok(p)
}

fn association_in(w: &mut AssociationWorld, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "association";
    let [flags, peer, seg, seed, ops @ ..] = input else {
        return Ok("short");
    };
    let key = [*flags, *peer, *seg, *seed];
    let p = if let Some(p) = w.bound.get(&key) {
        w.live.insert(p.clone())
    } else {
        let p = bind_pair(w.build, key)?;
        if w.bound.len() >= BOUND_PAIRS {
            w.bound.clear();
        }
        w.bound.insert(key, p.clone());
        w.live.insert(p)
    };
    let flags = *flags;
    let pump = |p: &mut Pair| {
        p.pump(ROUNDS)
            .ok_or_else(|| fail(T, "no quiescence (livelock)"))
    };
    let mut sent = Vec::new();
    let mut now = 0u64;
    let mut released = false;
    for (i, op) in ops.iter().take(64).enumerate() {
        if p.a.phase() != Phase::Open {
            break;
        }
        match op >> 6 {
            0 | 1 => {
                // An APDU of up to ~24 KiB, content derived from its index.
                let len = usize::from(*op & 0x7f) * 193;
                let apdu: Vec<u8> = (0..len).map(|k| (k + i) as u8).collect();
                sent.push(apdu.clone());
                p.a.transfer(apdu);
            }
            2 if p.b.phase() == Phase::Open && flags & 2 != 0 => {
                let apdu = vec![0xb0 ^ *op; usize::from(*op & 0x3f)];
                p.b.transfer(apdu);
            }
            2 => {}
            _ if *op == 0xff => {
                p.a.release();
                released = true;
            }
            _ => {
                now += u64::from(*op & 0x3f) * 1000;
                p.tick(now);
            }
        }
        pump(p)?;
    }
    if !released && p.a.phase() == Phase::Open {
        p.a.release();
    }
    pump(p)?;
    let delivered: Vec<Vec<u8>> = p
        .b_events
        .iter()
        .filter_map(|e| match e {
            Event::Transfer(a) => Some(a.clone()),
            _ => None,
        })
        .collect();
    let confirmed = p
        .a_events
        .iter()
        .filter(|e| **e == Event::TransferConfirmed)
        .count();
    if delivered.len() < confirmed || !sent.starts_with(&delivered) {
        return Err(fail(
            T,
            format!(
                "{} confirmed, {} delivered, {} sent: deliveries are not a prefix of what was sent",
                confirmed,
                delivered.len(),
                sent.len()
            ),
        ));
    }
    if p.a.phase() != p.b.phase() {
        return Err(fail(
            T,
            format!("ends disagree: {:?} vs {:?}", p.a.phase(), p.b.phase()),
        ));
    }
    let timed_out = p.a_events.contains(&Event::Aborted(AbortReason::Timeout));
    if !timed_out && delivered.len() != sent.len() {
        return Err(fail(
            T,
            format!(
                "{} of {} APDUs delivered without a timeout",
                delivered.len(),
                sent.len()
            ),
        ));
    }
    Ok(if timed_out { "timeout" } else { "released" })
}

fn stream_of(writes: &[(bool, Vec<u8>)], out: bool) -> Vec<u8> {
    writes
        .iter()
        .filter(|(o, _)| *o == out)
        .flat_map(|(_, b)| b.clone())
        .collect()
}

/// One recorded association (both modes), as (from initiator?, octets) writes.
fn recorded(mode: Mode) -> Vec<(bool, Vec<u8>)> {
    let a = Config::new(mode, Address::default(), Address::default());
    let b = Config::new(mode, Address::default(), Address::default());
    let (a, b) = (
        Association::new(Role::Initiator, a),
        Association::new(Role::Responder, b),
    );
    let mut p = Pair::new(a, b, 1, usize::MAX).recording();
    p.a.bind(&[0x05, 0x00]);
    p.pump(1000);
    p.b.accept_bind(&[0x05, 0x00]);
    p.pump(1000);
    p.a.transfer(vec![0x04, 0x03, 1, 2, 3]);
    p.a.release();
    p.pump(1000);
    p.writes.unwrap_or_default()
}

/// Seeds for every OSI target, taken from recorded associations and the KB Q151626 frame.
pub fn seeds_for(target: &str) -> Vec<(&'static str, Vec<u8>)> {
    use mta_osi::dissect::{Direction, dissect};
    let mut out = Vec::new();
    for (mode, mname) in [(Mode::Normal, "normal"), (Mode::X410, "x410")] {
        let w = recorded(mode);
        let writes: Vec<(Direction, Vec<u8>)> = w
            .iter()
            .map(|(o, b)| (if *o { Direction::Out } else { Direction::In }, b.clone()))
            .collect();
        let (_, streams) = dissect(&writes);
        let name = |s: &str| -> &'static str { Box::leak(format!("{mname}-{s}").into_boxed_str()) };
        match target {
            "tpkt_stream" => {
                let mut v = vec![0u8, 7];
                v.extend(stream_of(&w, true));
                out.push((name("initiator-stream"), v));
                let mut v = vec![1u8, 9];
                v.extend(stream_of(&w, false));
                out.push((name("responder-stream-3-octet-cuts"), v));
            }
            "cotp_parse" => {
                let mut r = Reassembler::new(ReservedPolicy::Ignore);
                r.push(&stream_of(&w, true));
                for (i, f) in std::iter::from_fn(|| r.next_frame().ok().flatten())
                    .take(3)
                    .enumerate()
                {
                    out.push((name(&format!("tpdu-{i}")), f.tpdu));
                }
            }
            "session_parse" => {
                for (i, t) in streams
                    .iter()
                    .flat_map(|s| s.tsdus.iter())
                    .take(12)
                    .enumerate()
                {
                    out.push((name(&format!("tsdu-{i:02}")), t.clone()));
                }
            }
            "presentation_parse" => {
                for (i, (spdu, p)) in streams
                    .iter()
                    .flat_map(|s| s.ppdus.iter())
                    .take(12)
                    .enumerate()
                {
                    let sel = match *spdu {
                        session::si::CN | session::si::AC => 0,
                        session::si::RF => 1,
                        session::si::AB => 2,
                        _ => 3,
                    };
                    let mut v = vec![sel];
                    v.extend_from_slice(p);
                    out.push((name(&format!("ppdu-{i:02}")), v));
                }
            }
            "rtse_parse" => {
                for (i, a) in streams
                    .iter()
                    .flat_map(|s| s.rtse_apdus.iter())
                    .take(8)
                    .enumerate()
                {
                    out.push((name(&format!("apdu-{i}")), a.clone()));
                }
            }
            "association" => {
                let flags = if mode == Mode::Normal { 0x11 } else { 0x10 };
                out.push((name("transfer-release"), vec![flags, 3, 16, 1, 5, 40, 0xff]));
                out.push((
                    name("twa-turns"),
                    vec![flags | 2, 6, 0, 2, 3, 0x85, 7, 0xff],
                ));
                out.push((
                    name("timeout-tick"),
                    vec![flags, 0, 200, 3, 100, 0xc3, 0xff],
                ));
            }
            _ => {}
        }
    }
    if target == "cotp_parse" {
        out.push(("kb-q151626-connect-confirm", KB_Q151626_CC[4..].to_vec()));
        out.extend(cotp_boundary_seeds());
    }
    if target == "tpkt_stream" {
        let mut v = vec![1u8, 3];
        v.extend_from_slice(&KB_Q151626_CC);
        out.push(("kb-q151626-cc-reserved-0x11", v));
        out.extend(tpkt_boundary_seeds());
    }
    if target == "session_parse" {
        out.extend(session_boundary_seeds());
    }
    out
}

/// A DT TPDU (EOT) whose TPKT length field is `total`.
fn dt_in_tpkt(total: usize) -> Vec<u8> {
    let mut tpdu = vec![0x02, cotp::code::DT, 0x80];
    tpdu.resize(total - 4, 0x5a);
    let mut v = Vec::new();
    Writer::conforming().write(&mut v, &tpdu, SendFlags::NONE);
    v
}

/// TPKT length boundaries (RFC 1006: 7 is the least; 127/128 and 255/256 cross octet values of
/// the 16-bit length field).
fn tpkt_boundary_seeds() -> Vec<(&'static str, Vec<u8>)> {
    [7, 127, 128, 254, 255, 256]
        .into_iter()
        .map(|total| {
            let mut v = vec![0u8, 1];
            v.extend(dt_in_tpkt(total));
            let name: &'static str =
                Box::leak(format!("tpkt-length-boundary-{total}").into_boxed_str());
            (name, v)
        })
        .collect()
}

/// COTP boundaries: a CR whose LI is 254 (the largest), DTs of 255 and 256 data octets.
fn cotp_boundary_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let fill = vec![0x5a; 254 - 6 - 2];
    let mut cr = Vec::new();
    Tpdu::Cr(cotp::Connect {
        dst_ref: 0,
        src_ref: 1,
        class_option: 0,
        params: vec![cotp::Param {
            code: cotp::param::CALLED_TSAP,
            value: &fill,
        }],
        user_data: &[],
    })
    .emit(&mut cr);
    let dt = |n: usize| {
        let data = vec![0x5a; n];
        let mut v = Vec::new();
        Tpdu::Dt {
            eot: true,
            data: &data,
        }
        .emit(&mut v);
        v
    };
    vec![
        ("li-boundary-254-cr", cr),
        ("dt-data-255", dt(255)),
        ("dt-data-256", dt(256)),
    ]
}

/// Session length forms (ISO 8327-1 8.2.5): a CN whose user data is 254 octets (one-octet length),
/// 255 (three-octet), and 1 octet sent in the three-octet form.
fn session_boundary_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let cn = |n: usize, long: bool| {
        let data = vec![0x5a; n];
        let mut p = session::Param::octets(session::pi::USER_DATA, &data);
        p.long_len |= long;
        let mut v = Vec::new();
        Tsdu {
            spdus: vec![session::Spdu::new(session::si::CN, vec![p])],
        }
        .emit(&mut v);
        v
    };
    vec![
        ("cn-user-data-254-one-octet-length", cn(254, false)),
        ("cn-user-data-255-three-octet-length", cn(255, false)),
        ("cn-user-data-1-three-octet-length", cn(1, true)),
    ]
}

/// KB Q151626's CONNECT CONFIRM from the TPKT header on (reserved octet 0x11).
pub const KB_Q151626_CC: [u8; 44] = [
    0x03, 0x11, 0x00, 0x2c, 0x27, 0xd0, 0x01, 0xca, 0x00, 0x29, 0x00, 0xc1, 0x0d, b'S', b'W', b'I',
    b'S', b'S', b'L', b'I', b'F', b'E', b'T', b'S', b'A', b'P', 0xc2, 0x0d, b'E', b'X', b'C', b'H',
    b'A', b'N', b'G', b'E', b'T', b'S', b'A', b'P', b'1', 0xc0, 0x01, 0x0b,
];

/// Seeds of `tpkt_stream`.
pub fn tpkt_stream_seeds() -> Vec<(&'static str, Vec<u8>)> {
    seeds_for("tpkt_stream")
}
/// Seeds of `cotp_parse`.
pub fn cotp_parse_seeds() -> Vec<(&'static str, Vec<u8>)> {
    seeds_for("cotp_parse")
}
/// Seeds of `session_parse`.
pub fn session_parse_seeds() -> Vec<(&'static str, Vec<u8>)> {
    seeds_for("session_parse")
}
/// Seeds of `presentation_parse`.
pub fn presentation_parse_seeds() -> Vec<(&'static str, Vec<u8>)> {
    seeds_for("presentation_parse")
}
/// Seeds of `rtse_parse`.
pub fn rtse_parse_seeds() -> Vec<(&'static str, Vec<u8>)> {
    seeds_for("rtse_parse")
}
/// Seeds of `association`.
pub fn association_seeds() -> Vec<(&'static str, Vec<u8>)> {
    seeds_for("association")
}
