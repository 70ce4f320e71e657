//! Harnesses for the MTA core (`mta-mta`): `driver_events`, `nsi_pop4`, `x25_up`. Generic oracles
//! only — no fatal event, buffer accounting zero at quiescence, no leaked control block, the
//! listener still accepts, no fault in the stack. On the builds the KBs name these oracles can
//! fire (the KB unit tests in models/mta show each one from a realistic sequence); each target's
//! `clean_on` in the TARGETS table says on which builds a clean run is expected.

use crate::{Failure, World, Worlds};
use mta_bufmgr::{BufferManager, Component, ControlBlockId};
use mta_build::{Build, Profile};
use mta_eventlog::EventLog;
use mta_lpi::{Lpi, MessageType};
use mta_mta::driver::{ACCEPTED_TOO_LATE, Remote, TcpDriver, winsock};
use mta_mta::pop4::Pop4;
use mta_mta::x25::{AcceptEveryBind, CallState, Dte, Gateway, connect_tsdu};
use mta_osi::association::{Address, Association, Config, Role};
use mta_osi::presentation::Mode;
use mta_osi::tpkt::{SendFlags, Writer};

fn tpkt(tpdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    Writer::conforming().write(&mut v, tpdu, SendFlags::NONE);
    v
}

fn cb(l: Lpi) -> ControlBlockId {
    ControlBlockId {
        index: l.index,
        generation: l.generation,
    }
}

fn remote(locality: u32) -> Remote {
    Remote {
        host: "peer".into(),
        port: 102,
        locality,
        source: None,
    }
}

/// What POP4 would say to NSI, encoded and handed over: the driver judges it like any other.
fn request(
    bm: &mut BufferManager,
    log: &mut EventLog,
    d: &mut TcpDriver,
    now: u64,
    t: MessageType,
    lpi: Lpi,
    data: &[u8],
) {
    if let Ok(h) = mta_lpi::encode_into_buffer(bm, Component::Pop4, t, lpi, false, data) {
        d.from_pop4(bm, log, now, h);
    }
}

fn quiesce(bm: &mut BufferManager, d: &mut TcpDriver, lpis: &[Lpi]) {
    while let Some(h) = d.pop_for_pop4() {
        let _ = bm.release(h);
    }
    for l in lpis {
        d.release(bm, *l);
    }
}

/// The harness reads at most this many octets (512 two-octet ops); libFuzzer's `-max_len`.
pub const DRIVER_EVENTS_MAX_LEN: usize = 1024;

/// The world of `driver_events` and `nsi_pop4`: one MTA's buffer manager, event log, TCP driver
/// and POP4 (with the build's Exchange responder configuration), and the harness's handle list.
#[derive(Debug)]
pub struct DriverWorld {
    p: Profile,
    bm: BufferManager,
    log: EventLog,
    d: TcpDriver,
    pop4: Pop4,
    lpis: Vec<Lpi>,
    callers: Vec<ControlBlockId>,
}

impl World for DriverWorld {
    fn new(build: Build) -> Self {
        let p = Profile::of(build);
        DriverWorld {
            bm: BufferManager::for_profile(&p),
            log: EventLog::new("mta", p.event_era, 0),
            d: TcpDriver::new(&p),
            pop4: Pop4::new(
                &p,
                Config::exchange(build, Mode::X410, Address::default(), Address::default()),
            ),
            lpis: Vec::new(),
            callers: Vec::new(),
            p,
        }
    }

    fn reset(&mut self) {
        self.bm.reset();
        self.log.clear();
        self.d.reset();
        self.pop4.reset();
        self.lpis.clear();
        self.callers.clear();
    }
}

thread_local! {
    static DRIVER_WORLDS: Worlds<DriverWorld> = const { Worlds::new() };
    static X25_WORLDS: Worlds<X25World> = const { Worlds::new() };
    static STACK_WORLDS: Worlds<StackWorld> = const { Worlds::new() };
}

/// [`crate::reset_equivalence`] for `driver_events`.
pub fn driver_events_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, driver_events_in)
}

/// [`crate::reset_equivalence`] for `nsi_pop4`.
pub fn nsi_pop4_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, nsi_pop4_in)
}

/// [`crate::reset_equivalence`] for `x25_up`.
pub fn x25_up_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, |w: &mut X25World, input| {
        tracing::dispatcher::with_default(&mta_mta::fault::span_recorder(), || x25_up_in(w, input))
    })
}

/// [`crate::reset_equivalence`] for `inbound_stack`.
pub fn inbound_stack_reset_check(build: Build, a: &[u8], b: &[u8]) -> Result<(), String> {
    crate::reset_equivalence(build, a, b, inbound_stack_in)
}

/// `driver_events`: 2-octet ops (socket results, TPDUs from upper layers, timers, recoveries) on
/// one TCP driver. Oracles: no fatal event; buffer accounting zero once every block is released.
pub fn driver_events(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    DRIVER_WORLDS.with(|w| w.with(build, |w| driver_events_in(w, input)))
}

fn driver_events_in(w: &mut DriverWorld, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "driver_events";
    let DriverWorld {
        bm, log, d, lpis, ..
    } = w;
    let mut now = 0u64;
    let mut conn = 0u64;
    for op in input.chunks(2).take(DRIVER_EVENTS_MAX_LEN / 2) {
        let (o, a) = (op[0], op.get(1).copied().unwrap_or(0));
        let pick = |lpis: &[Lpi]| (!lpis.is_empty()).then(|| lpis[usize::from(a) % lpis.len()]);
        match o % 9 {
            0 => {
                if let Some(l) = d.connect(remote(4)) {
                    let cr = tpkt(&[0x06, 0xe0, 0, 0, 0, 1, 0]);
                    request(bm, log, d, now, MessageType::DataRequest, l, &cr);
                    lpis.push(l);
                }
            }
            1 => {
                if let Some(l) = pick(lpis) {
                    d.connected(bm, cb(l));
                }
            }
            2 => {
                if let Some(l) = pick(lpis) {
                    let e = if a & 0x80 != 0 {
                        winsock::TIMEDOUT
                    } else {
                        winsock::CONNREFUSED
                    };
                    d.connect_failed(bm, log, now, cb(l), e);
                }
            }
            3 => {
                if let Some(l) = pick(lpis) {
                    let mut dt = vec![0x02, 0xf0, 0x80];
                    dt.resize(3 + usize::from(a) * 8, a);
                    request(bm, log, d, now, MessageType::DataRequest, l, &tpkt(&dt));
                }
            }
            4 => {
                if let Some(l) = pick(lpis) {
                    let e = if a & 1 == 1 { winsock::CONNRESET } else { 0 };
                    d.remote_closed(bm, log, now, cb(l), e);
                }
            }
            5 => {
                if let Some(l) = pick(lpis) {
                    let tpdu: &[u8] = match a % 3 {
                        0 => &[0x06, 0xd0, 0, 1, 0, 2, 0],
                        1 => &[0x02, 0xf0, 0x80, 1, 2, 3],
                        _ => &[0x06, 0x80, 0, 1, 0, 2, 0],
                    };
                    d.received(bm, cb(l), &tpkt(tpdu));
                }
            }
            6 => {
                now += u64::from(a) * 1000;
                d.tick(now);
            }
            7 => {
                conn += 1;
                if let Some(id) = d.accepted(conn, remote(5)) {
                    lpis.push(Lpi::new(1, id.generation, id.index));
                }
            }
            _ => {
                if let Some(l) = pick(lpis) {
                    request(bm, log, d, now, MessageType::CloseRequest, l, &[]);
                }
            }
        }
        let _ = d.take_actions();
        if let Some(f) = d.fatal() {
            return Err(Failure::new(
                T,
                format!("fatal event {}: {}", f.id, f.lines.join(" / ")),
            ));
        }
    }
    quiesce(bm, d, lpis);
    if let Some(r) = bm.leak_report() {
        return Err(Failure::new(
            T,
            format!("buffers outstanding at quiescence: {r:?}"),
        ));
    }
    bm.check_invariants().map_err(|e| Failure::new(T, e))?;
    Ok(if d.counters.refused_reconnect_with_full_queue > 0 {
        // Q182619's trigger reached without a fatal error (a build that splits the request).
        "full-queue-refused"
    } else if log.count(9215) > 0 {
        "recovered"
    } else {
        "quiet"
    })
}

/// `nsi_pop4`: 2-octet ops interleaving callers (connect + CR), POP4 ticks, caller hang-ups and
/// raw internal-message octets — `[3, a]` posts the next `a >> 1` octets to POP4 as a misbehaving
/// NSI would (`a` even) or to NSI as a misbehaving POP4 would (`a` odd). Messages move between
/// the two only through [`mta_mta::link::carry`]. Oracles: after every caller has gone and both
/// sides have drained, no control block is left, the listener still accepts, buffer accounting
/// is zero.
pub fn nsi_pop4(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    DRIVER_WORLDS.with(|w| w.with(build, |w| nsi_pop4_in(w, input)))
}

fn nsi_pop4_in(w: &mut DriverWorld, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "nsi_pop4";
    let DriverWorld {
        p,
        bm,
        log,
        d,
        pop4,
        callers,
        ..
    } = w;
    let p = &*p;
    let mut now = 0u64;
    let mut conn = 0u64;
    let mut rest = input;
    while let [o, a, tail @ ..] = rest {
        rest = tail;
        match o % 4 {
            0 => {
                conn += 1;
                if let Some(id) = d.accepted(conn, remote(5)) {
                    let mut c = Association::new(
                        Role::Initiator,
                        Config::new(Mode::X410, Address::default(), Address::default()),
                    );
                    c.bind(&[]);
                    d.received(bm, id, &c.transmit());
                    callers.push(id);
                }
            }
            1 => {
                now += u64::from(*a) * 10;
                mta_mta::link::carry(bm, log, now, d, pop4);
                let _ = pop4.tick(bm, log, now);
            }
            2 if !callers.is_empty() => {
                let id = callers.remove(usize::from(*a) % callers.len());
                d.remote_closed(bm, log, now, id, 0);
            }
            2 => {}
            _ => {
                let n = usize::from(*a >> 1).min(rest.len());
                if a & 1 == 0 {
                    let _ = d.post_raw(bm, &rest[..n]);
                } else if let Ok(h) = bm.request_for_len(Component::Pop4, n) {
                    let _ = bm.fill(h, &rest[..n]);
                    d.from_pop4(bm, log, now, h);
                }
                rest = &rest[n..];
            }
        }
        mta_mta::link::carry(bm, log, now, d, pop4);
        let _ = d.take_actions();
    }
    for id in callers.drain(..) {
        d.remote_closed(bm, log, now, id, 0);
    }
    for _ in 0..10_000 {
        now += p.pop4_tick_ms;
        mta_mta::link::carry(bm, log, now, d, pop4);
        let _ = pop4.tick(bm, log, now);
        let moved = mta_mta::link::carry(bm, log, now, d, pop4);
        let _ = d.take_actions();
        if pop4.depth() == 0 && d.pending_for_pop4() == 0 && moved == 0 {
            break;
        }
    }
    if d.live_blocks() != 0 {
        return Err(Failure::new(
            T,
            format!(
                "{} control blocks leaked after every caller left ({} closing {ACCEPTED_TOO_LATE}){}",
                d.live_blocks(),
                d.blocks_accepted_too_late(),
                crate::kb::logged(log)
            ),
        ));
    }
    conn += 1;
    let Some(probe) = d.accepted(conn, remote(5)) else {
        return Err(Failure::new(
            T,
            "the listener no longer accepts connections",
        ));
    };
    d.remote_closed(bm, log, now, probe, 0);
    while let Some(h) = d.pop_for_pop4() {
        let _ = bm.release(h);
    }
    d.release(bm, Lpi::new(1, probe.generation, probe.index));
    pop4.discard_messages(bm);
    if let Some(r) = bm.leak_report() {
        return Err(Failure::new(
            T,
            format!("buffers outstanding at quiescence: {r:?}"),
        ));
    }
    Ok(if d.counters.bad_lpi_close_requests > 0 {
        "bad-lpi"
    } else {
        "clean"
    })
}

/// The harness reads at most this many octets: the two parameters and one connect-data length
/// for each of at most 24 circuits; libFuzzer's `-max_len`.
pub const X25_UP_MAX_LEN: usize = 2 + 24;

/// `x25_up`: `[circuits][service period][connect-data lengths…]` — circuits calling at once
/// through the third-party transport and the adapter into the session input path, with the
/// transport serviced every `period` arrival rounds (window pressure). Oracle: no fault.
pub fn x25_up(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    // The fault's layer stack is read from tracing spans: record them whatever the process's own
    // subscriber is (a fuzzer installs none; the CLI's filters them). One recorder per thread.
    tracing::dispatcher::with_default(&mta_mta::fault::span_recorder(), || {
        X25_WORLDS.with(|w| w.with(build, |w| x25_up_in(w, input)))
    })
}

/// The world of `x25_up`: the build's X.25 interface (third-party transport, adapter, service
/// cadence) and the remote DTEs' circuits.
#[derive(Debug)]
pub struct X25World {
    p: Profile,
    gw: Gateway,
}

impl World for X25World {
    fn new(build: Build) -> Self {
        let p = Profile::of(build);
        X25World {
            gw: Gateway::new(&p, "mta", x25_stack(&p)),
            p,
        }
    }

    fn reset(&mut self) {
        self.gw = Gateway::new(&self.p, "mta", x25_stack(&self.p));
    }
}

/// The association configuration of both ends of `x25_up`'s calls (an Exchange MTA of the build).
fn x25_stack(p: &Profile) -> Config {
    Config::for_profile(p, Mode::Normal, Address::default(), Address::default())
}

fn x25_up_in(w: &mut X25World, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "x25_up";
    let [n, period, lens @ ..] = input else {
        return Ok("short");
    };
    let X25World { p, gw } = w;
    let circuits = u16::from(*n % 24) + 1;
    gw.service_every = u32::from(*period % 4) + 1;
    // Circuits connected before the burst (their calls are not modelled: the adapter meets each
    // circuit with its first buffer); each DTE sends a CN of its length as an M-bit sequence
    // within its window. A round is one unit of time, the resend time zero: every round each DTE
    // sends a window from its first unacknowledged packet (go-back-N), and the gateway services
    // its transport (and acknowledges) every `period` rounds.
    let mut dtes: Vec<Dte> = (0..circuits)
        .map(|_| {
            let lcn = gw.open_circuit();
            let len = usize::from(lens.get(usize::from(lcn - 1)).copied().unwrap_or(40)) * 2;
            let mut d = Dte::connected(
                lcn,
                usize::from(p.x25_packet_size),
                usize::from(p.x25_window),
                0,
                0,
            );
            d.send_tsdu(&connect_tsdu(x25_stack(p), len));
            d
        })
        .collect();
    let mut round = 0;
    // A circuit the gateway cleared (its buffer dropped) sends no more.
    let sending = |d: &Dte| !d.all_acknowledged() && d.state() != CallState::Cleared;
    while dtes.iter().any(sending) && round < 1000 {
        round += 1;
        for d in &mut dtes {
            for pk in d.poll_transmit(round) {
                gw.arrive(d.lcn(), pk);
            }
        }
        for pk in gw.tick(0, &mut AcceptEveryBind::default()) {
            if let Some(d) = dtes.get_mut(usize::from(pk.lcn()) - 1) {
                d.receive(pk, round);
            }
        }
        if let Some((_, f)) = gw.faults.first() {
            return Err(Failure::new(
                T,
                format!(
                    "fault in the session input path: {} (stack {})",
                    f.message,
                    f.spans.join(" -> ")
                ),
            ));
        }
    }
    Ok(if gw.transport.counters.malformed_buffers > 0 {
        "malformed-dropped"
    } else {
        "clean"
    })
}

/// Seeds for the three targets.
pub fn driver_events_seeds() -> Vec<(&'static str, Vec<u8>)> {
    let mut recovery = vec![0, 0, 1, 0, 5, 0];
    recovery.extend([3, 4].repeat(4));
    recovery.extend([4, 1]);
    recovery.extend([3, 4].repeat(6));
    recovery.extend([6, 31, 2, 0, 6, 31, 1, 0]);
    vec![
        (
            "connect-transfer-release",
            vec![0, 0, 1, 0, 5, 0, 3, 10, 3, 20, 5, 2, 8, 0],
        ),
        ("reset-recover-refused-small-queue", recovery),
        ("inbound-abnormal-close", vec![7, 0, 5, 0, 4, 0, 8, 0]),
    ]
}

/// Seeds for `nsi_pop4`.
pub fn nsi_pop4_seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "callers-served",
            vec![0, 0, 0, 0, 1, 0, 1, 10, 2, 0, 2, 0, 1, 10],
        ),
        ("late-caller", vec![1, 0, 0, 0, 2, 0, 1, 10, 1, 10]),
        ("raw-message-to-pop4", vec![3, 8, 1, 2, 3, 4, 1, 10]),
        ("raw-message-to-nsi", vec![3, 9, 1, 2, 3, 4, 1, 10]),
    ]
}

/// Seeds for `x25_up`.
pub fn x25_up_seeds() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("three-calls-no-pressure", vec![2, 0, 40, 40, 40]),
        ("many-calls-serviced-late", vec![11, 1, 150, 150, 150, 150]),
    ]
}

/// `inbound_stack`: arbitrary octets as a TCP stream into an MTA's listener, through the driver,
/// POP4, the OSI stack and P1 into routing. The caller waits a POP4 tick between chunks, then
/// hangs up (a caller that sends no CR at all is a port scanner's connection). Oracles: no fatal event, no fault, no leaked control block, the listener still
/// accepts, buffer accounting zero.
pub fn inbound_stack(build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    STACK_WORLDS.with(|w| w.with(build, |w| inbound_stack_in(w, input)))
}

/// The world of `inbound_stack`: the lab MTA's configuration (its connector file parsed once)
/// and the MTA built from it.
#[derive(Debug)]
pub struct StackWorld {
    p: Profile,
    cfg: mta_mta::core::MtaConfig,
    m: mta_mta::core::Mta,
}

impl World for StackWorld {
    fn new(build: Build) -> Self {
        let p = Profile::of(build);
        let connectors = mta_mta::connector::parse_connectors(
            "[[connector]]\nname = \"peer\"\nlocal_mta_name = \"LAB\"\nremote_mta_name = \"PEER\"\nstack_address = \"10.0.0.9\"\naddress_space = [\"/C=US/A= /P=PEER/\"]\n",
        )
        .expect("static config");
        let cfg = mta_mta::core::MtaConfig::new(
            "LAB",
            mta_p1::GlobalDomainIdentifier::new("US", " ", Some("LAB")),
            vec!["10.0.0.1".into()],
            connectors,
        );
        StackWorld {
            m: mta_mta::core::Mta::new(&p, cfg.clone()),
            cfg,
            p,
        }
    }

    /// A new MTA from the parsed configuration: the MTA core has many parts (queues, routing,
    /// outcomes, POP4's associations) and building it is cheap next to parsing its configuration,
    /// so exactness comes by construction.
    fn reset(&mut self) {
        self.m = mta_mta::core::Mta::new(&self.p, self.cfg.clone());
    }
}

fn inbound_stack_in(w: &mut StackWorld, input: &[u8]) -> Result<&'static str, Failure> {
    const T: &str = "inbound_stack";
    let p = w.p;
    let m = &mut w.m;
    let r = mta_mta::fault::catch_fault(|| {
        let mut now = 0;
        let Some(cb) = m.accept(1, "10.0.0.9") else {
            return Err("first connection refused".to_string());
        };
        for chunk in input.chunks(97) {
            m.socket(mta_mta::core::SocketEvent::Received(cb, chunk.to_vec()));
            now += p.pop4_tick_ms;
            m.tick(now);
            let _ = m.take_actions();
        }
        m.socket(mta_mta::core::SocketEvent::Closed(cb, 0));
        for _ in 0..200 {
            now += p.pop4_tick_ms;
            m.tick(now);
            let _ = m.take_actions();
        }
        if let Some(f) = m.log.first_fatal() {
            return Err(format!("fatal event {}", f.id));
        }
        if m.driver.live_blocks() != 0 {
            return Err(format!(
                "{} control blocks left after the caller hung up ({} closing {ACCEPTED_TOO_LATE}){}",
                m.driver.live_blocks(),
                m.driver.blocks_accepted_too_late(),
                crate::kb::logged(&m.log)
            ));
        }
        let Some(probe) = m.accept(2, "10.0.0.9") else {
            return Err("the listener no longer accepts".into());
        };
        m.socket(mta_mta::core::SocketEvent::Closed(probe, 0));
        for _ in 0..50 {
            now += p.pop4_tick_ms;
            m.tick(now);
            let _ = m.take_actions();
        }
        if let Some(l) = m.bm.leak_report() {
            return Err(format!("buffers outstanding at quiescence: {l:?}"));
        }
        Ok(m.counters.received)
    });
    match r {
        Err(f) => Err(Failure::new(
            T,
            format!("fault: {} in {:?}", f.message, f.spans),
        )),
        Ok(Err(e)) => Err(Failure::new(T, e)),
        Ok(Ok(0)) => Ok("no-transfer"),
        Ok(Ok(_)) => Ok("transfer"),
    }
}

/// Seeds for `inbound_stack`: a recorded association's initiator stream (bind, one P1 message,
/// release), and its first TPKT alone.
pub fn inbound_stack_seeds() -> Vec<(&'static str, Vec<u8>)> {
    use mta_osi::association::Event;
    let peer_bind = mta_p1::Bind::simple("PEER", "").emit();
    let cfg = Config::new(Mode::Normal, Address::default(), Address::default());
    let mut a = Association::new(Role::Initiator, cfg.clone());
    let mut b = Association::new(Role::Responder, cfg);
    let mut stream = Vec::new();
    a.bind(&peer_bind);
    let shuttle = |a: &mut Association, b: &mut Association, stream: &mut Vec<u8>| {
        for _ in 0..100 {
            let x = a.transmit();
            stream.extend_from_slice(&x);
            b.receive(&x);
            let y = b.transmit();
            a.receive(&y);
            if x.is_empty() && y.is_empty() {
                break;
            }
        }
    };
    shuttle(&mut a, &mut b, &mut stream);
    if matches!(b.poll_event(), Some(Event::BindRequest { .. })) {
        b.accept_bind(&mta_p1::Bind::simple("LAB", "").emit());
    }
    shuttle(&mut a, &mut b, &mut stream);
    let msg = crate::p1_decode::seeds()
        .into_iter()
        .find(|(n, _)| *n == "message")
        .expect("seed")
        .1;
    a.transfer(msg);
    a.release();
    shuttle(&mut a, &mut b, &mut stream);
    let first = stream[..usize::from(u16::from_be_bytes([stream[2], stream[3]]))].to_vec();
    vec![
        ("bind-message-release", stream),
        ("connect-request-only", first),
    ]
}
