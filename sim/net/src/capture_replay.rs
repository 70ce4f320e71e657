//! Replay of a captured session into a modelled MTA as it was captured, sans-IO: the callers'
//! opens, writes and leavings (from `mta-lab import`'s peer scripts) are handed to the model in
//! the capture's frame order, between the model's ticks — what the stream edge (world's `edge.rs`) did
//! while the capture was taken. The edge stamps every record with the tick it followed, so a
//! capture it tapped (`mta-lab hostile --pcap`) replays to the same event log, event for event and
//! millisecond for millisecond. A field capture has no ticks in it: its packets are handed over
//! after every tick at or before their time, the same rule.
//!
//! Clock: the replayed MTA starts on the hour (UTC) of the capture's first packet and ticks every
//! `tick_ms` from then, as the edge's step loop does; packets keep their times on that clock. A
//! simulator capture's timestamps are simulated time since the Unix epoch — inside the first hour
//! — so the replay runs on the very clock of the captured run.
//!
//! Flow control as at the edge: while the driver's receive window for a connection is closed,
//! its octets (and its leaving, which follows them) wait, and are handed over after a later tick.
//!
//! A capture ends with some callers still connected: when it ends, they leave (FIN) — else every
//! replay of a cut-off field capture would end with blocks held by callers that never go, and the
//! block oracle could not tell a leak (KB Q811406) from a capture's end. In the hostile runner's
//! captures every caller left connected is one the model refused (no block), so the event log is
//! unchanged; a leave that meets a closed receive window waits behind it like any octets.

use crate::hostile::{HostileReport, judge, target_mta};
use crate::import::{Ending, PeerScript};
use mta_bufmgr::ControlBlockId;
use mta_build::Build;
use mta_lab_world::simulate::{cc_with_reserved, evidence};
use mta_mta::core::{Mta, SocketEvent};
use mta_mta::driver::{SocketAction, winsock};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// One hour (ms): where the replay clock starts.
const HOUR_MS: u64 = 3_600_000;

/// How the replay runs the model.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    /// The model's tick period (the edge's: 10 ms).
    pub tick_ms: u64,
    /// After the last packet, tick until the model is quiescent, at most this long.
    pub drain_ms: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            tick_ms: 10,
            drain_ms: 60_000,
        }
    }
}

/// What a caller did.
#[derive(Debug, Clone, PartialEq, Eq)]
enum What {
    /// Connected (the listener accepted).
    Open,
    /// Octets arrived.
    Data(Vec<u8>),
    /// Left: FIN (0) or reset (Winsock error).
    Leave(u32),
}

/// One caller action, on the replay clock.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Input {
    clock_ms: u64,
    /// The capture's frame (`u64::MAX` when a hand-written script has none).
    frame: u64,
    conn: usize,
    what: What,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Replayed {
    /// Connections opened.
    pub connections: usize,
    /// Connections the model refused.
    pub refused: usize,
    /// Writes handed to the model.
    pub writes: usize,
    /// Times octets waited for a closed receive window.
    pub held: usize,
    /// The model's clock when the replay stopped (ms).
    pub ended_ms: u64,
    /// Whether the model was quiescent then (else the drain ran out).
    pub quiescent: bool,
    /// What the octets showed of a KB's mechanism, in the simulator's format
    /// (`mta_lab_world::simulate::evidence`): the model ("MTA") sending a CC with a non-zero TPKT
    /// reserved octet, a caller leaving on it without a word.
    pub evidence: Vec<String>,
}

/// The callers' actions in capture order, on the replay clock.
fn inputs(scripts: &[PeerScript]) -> Result<Vec<Input>, String> {
    let origin = scripts.first().and_then(|s| s.origin_ms).unwrap_or(0);
    if let Some(s) = scripts.iter().find(|s| s.origin_ms.unwrap_or(0) != origin) {
        return Err(format!(
            "scripts from different captures (origin {} ms and {} ms, caller {}): replay one \
             capture's scripts together",
            origin,
            s.origin_ms.unwrap_or(0),
            s.client
        ));
    }
    // The replay clock: the capture's time since the hour of its first packet.
    let clock = |rel: u64| origin % HOUR_MS + rel;
    let mut out = Vec::new();
    let mut still_open = Vec::new();
    for (conn, s) in scripts.iter().enumerate() {
        let mut t = s.opened_ms.unwrap_or(0);
        let frame = |f: Option<u64>| f.unwrap_or(u64::MAX);
        out.push(Input {
            clock_ms: clock(t),
            frame: frame(s.opened_frame),
            conn,
            what: What::Open,
        });
        for (i, w) in s.write.iter().enumerate() {
            t += w.after_ms;
            let bytes = hex::decode(&w.hex)
                .map_err(|e| format!("caller {}: write {}: {e}", s.client, i + 1))?;
            out.push(Input {
                clock_ms: clock(t),
                frame: frame(w.frame),
                conn,
                what: What::Data(bytes),
            });
        }
        let code = match s.end {
            Ending::Reset => winsock::CONNRESET,
            Ending::Close | Ending::HalfClose => 0,
            Ending::Open => {
                still_open.push(conn);
                continue;
            }
        };
        out.push(Input {
            clock_ms: clock(s.closed_ms.unwrap_or(t).max(t)),
            frame: frame(s.closed_frame),
            conn,
            what: What::Leave(code),
        });
    }
    // When the capture ends, the callers still connected leave (FIN), after everything it saw.
    let end = out.iter().map(|i| i.clock_ms).max().unwrap_or(0);
    for conn in still_open {
        out.push(Input {
            clock_ms: end,
            frame: u64::MAX,
            conn,
            what: What::Leave(0),
        });
    }
    // Stable: one caller's actions keep their order when frames are missing.
    out.sort_by_key(|i| (i.clock_ms, i.frame));
    Ok(out)
}

/// The model and the callers' connections.
struct Replay<'a> {
    mta: &'a mut Mta,
    /// Per caller: the model's block (`None` before the open or when refused), and what waits.
    blocks: Vec<Option<ControlBlockId>>,
    waiting: Vec<VecDeque<What>>,
    from: Vec<String>,
    /// Per block: the reserved octet of a CC the model sent that its caller has not answered.
    odd_cc: BTreeMap<ControlBlockId, u8>,
    done: Replayed,
}

impl Replay<'_> {
    fn tick(&mut self, now: u64) {
        self.mta.tick(now);
        self.done.ended_ms = now;
        for a in self.mta.take_actions() {
            match a {
                // The capture holds the callers only: the model's own calls find nobody.
                SocketAction::Connect { cb, .. } => {
                    self.mta
                        .socket(SocketEvent::ConnectFailed(cb, winsock::CONNREFUSED));
                }
                SocketAction::Send { cb, bytes } => {
                    if let Some(r) = cc_with_reserved(&bytes) {
                        self.odd_cc.insert(cb, r);
                        self.done.evidence.push(evidence::cc_sent("MTA", r, now));
                    }
                }
                _ => {}
            }
        }
        for conn in 0..self.waiting.len() {
            while let Some(cb) = self.blocks[conn]
                && self.mta.driver.receive_window_open(cb)
                && let Some(w) = self.waiting[conn].pop_front()
            {
                self.hand_over(cb, w);
            }
        }
    }

    fn hand_over(&mut self, cb: ControlBlockId, what: What) {
        match what {
            What::Open => {}
            What::Data(b) => {
                self.done.writes += 1;
                self.odd_cc.remove(&cb); // answered
                self.mta.socket(SocketEvent::Received(cb, b));
            }
            What::Leave(code) => {
                if let Some(r) = self.odd_cc.remove(&cb) {
                    let at = self.done.ended_ms;
                    self.done
                        .evidence
                        .push(evidence::closed_unanswered("caller", r, at));
                }
                self.mta.socket(SocketEvent::Closed(cb, code));
            }
        }
    }

    fn input(&mut self, conn: usize, what: What) {
        if what == What::Open {
            self.done.connections += 1;
            let n = self.done.connections as u64;
            self.blocks[conn] = self.mta.accept(n, &self.from[conn]);
            if self.blocks[conn].is_none() {
                self.done.refused += 1;
            }
            return;
        }
        // A refused connection's octets reach no block (the edge dropped its stream).
        let Some(cb) = self.blocks[conn] else { return };
        if self.waiting[conn].is_empty() && self.mta.driver.receive_window_open(cb) {
            self.hand_over(cb, what);
        } else {
            self.done.held += 1;
            self.waiting[conn].push_back(what);
        }
    }

    fn idle(&self) -> bool {
        self.mta.quiescent() && self.waiting.iter().all(VecDeque::is_empty)
    }
}

/// Replay `scripts` (one capture's callers) into `mta`.
pub fn replay(mta: &mut Mta, scripts: &[PeerScript], opts: &Options) -> Result<Replayed, String> {
    if opts.tick_ms == 0 {
        return Err("tick period 0".into());
    }
    let inputs = inputs(scripts)?;
    let mut from = Vec::new();
    for s in scripts {
        let a: SocketAddr = s
            .client
            .parse()
            .map_err(|e| format!("caller address {:?}: {e}", s.client))?;
        from.push(a.ip().to_string());
    }
    let mut r = Replay {
        mta,
        blocks: vec![None; scripts.len()],
        waiting: vec![VecDeque::new(); scripts.len()],
        from,
        odd_cc: BTreeMap::new(),
        done: Replayed {
            connections: 0,
            refused: 0,
            writes: 0,
            held: 0,
            ended_ms: 0,
            quiescent: false,
            evidence: Vec::new(),
        },
    };
    let p = opts.tick_ms;
    let mut next_tick = p;
    let last = inputs.last().map_or(0, |i| i.clock_ms);
    for i in inputs {
        while next_tick <= i.clock_ms {
            r.tick(next_tick);
            next_tick += p;
        }
        r.input(i.conn, i.what);
    }
    while !r.idle() && next_tick <= last + opts.drain_ms {
        r.tick(next_tick);
        next_tick += p;
    }
    r.done.quiescent = r.idle();
    Ok(r.done)
}

/// A capture kept as a regression test: `corpora/regressions/captures/NAME.toml` next to
/// `NAME.pcap`, with what its replay gave on each recorded build. `cargo test` replays it and
/// wants the same event log (times included), the same oracle findings and the same ending; a
/// model change that alters them shows up as a diff to review, and `mta-lab import … --keep NAME`
/// records it again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeptCapture {
    /// Schema.
    pub schema: u32,
    /// The pcap, relative to this file.
    pub capture: String,
    /// The MTA's port in it.
    pub port: u16,
    /// Per build, what the replay gave.
    pub build: Vec<Expected>,
}

/// What a kept capture's replay gave on one build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The build (its CLI name).
    pub name: String,
    /// Whether the model was quiescent when the replay stopped.
    pub quiescent: bool,
    /// The oracles' findings, each up to its first colon (no state dumps).
    pub findings: Vec<String>,
    /// The event log, "ms<TAB>id<TAB>text" per event.
    pub events: Vec<String>,
}

/// Replay `scripts` on `build` as a kept capture records it.
pub fn expected(build: Build, scripts: &[PeerScript]) -> Result<Expected, String> {
    let (r, done) = replay_captured(build, scripts)?;
    Ok(Expected {
        name: build.cli_name().to_string(),
        quiescent: done.quiescent,
        findings: r
            .findings
            .iter()
            .map(|f| f.split(':').next().unwrap_or_default().to_string())
            .collect(),
        events: r.log_lines(),
    })
}

/// Keep `pcap` (read into `streams`) as regression `name` under `dir`
/// (`corpora/regressions/captures`): a copy of the capture and its replay on each of `builds`. Refuses to overwrite a different capture of the
/// same name. Returns the file written.
pub fn keep(
    pcap: &Path,
    streams: &[crate::import::Stream],
    port: u16,
    name: &str,
    builds: &[Build],
    dir: &Path,
) -> Result<PathBuf, String> {
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        return Err(format!(
            "regression name {name:?}: letters, digits, '-', '_' and '.' only"
        ));
    }
    let scripts: Vec<PeerScript> = streams.iter().map(crate::import::Stream::script).collect();
    let build = builds
        .iter()
        .map(|&b| expected(b, &scripts))
        .collect::<Result<Vec<_>, _>>()?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let bytes = std::fs::read(pcap).map_err(|e| format!("{}: {e}", pcap.display()))?;
    let kept_pcap = dir.join(format!("{name}.pcap"));
    if let Ok(old) = std::fs::read(&kept_pcap)
        && old != bytes
    {
        return Err(format!(
            "{} exists and holds another capture: choose another name",
            kept_pcap.display()
        ));
    }
    let kept = KeptCapture {
        schema: 1,
        capture: format!("{name}.pcap"),
        port,
        build,
    };
    let text = toml::to_string_pretty(&kept).map_err(|e| e.to_string())?;
    let toml_path = dir.join(format!("{name}.toml"));
    std::fs::write(&kept_pcap, &bytes).map_err(|e| format!("{}: {e}", kept_pcap.display()))?;
    std::fs::write(&toml_path, text).map_err(|e| format!("{}: {e}", toml_path.display()))?;
    Ok(toml_path)
}

impl KeptCapture {
    /// Read and check a kept capture.
    pub fn load(path: &Path) -> Result<KeptCapture, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        KeptCapture::parse(path, &text)
    }

    /// Parse and check a kept capture's text read from `path` (which errors name): the capture
    /// is a `.pcap` file next to it (a file name, no directory: a kept capture reads nothing
    /// else), and each build is recorded once.
    pub fn parse(path: &Path, text: &str) -> Result<KeptCapture, String> {
        let k = mta_lab_world::input::parse_toml(
            path,
            text,
            "a kept capture",
            1,
            |k: &KeptCapture| k.schema,
        )?;
        let at = |e: String| format!("{}: {e}", path.display());
        let c = &k.capture;
        if c.is_empty()
            || !Path::new(c)
                .extension()
                .is_some_and(|e| e.eq_ignore_ascii_case("pcap"))
            || c.starts_with('.')
            || !c
                .chars()
                .all(|x| x.is_ascii_alphanumeric() || matches!(x, '-' | '_' | '.'))
        {
            return Err(at(format!(
                "capture: {c:?} is not the name of a .pcap file next to this one"
            )));
        }
        let mut seen = Vec::new();
        for b in &k.build {
            let build = b
                .name
                .parse::<Build>()
                .map_err(|e| at(format!("build: name: {e}")))?;
            if seen.contains(&build) {
                return Err(at(format!("build: name: {build} is recorded twice")));
            }
            seen.push(build);
        }
        Ok(k)
    }

    /// Replay it on every recorded build: `Err` names the first build whose replay differs, and
    /// where.
    pub fn check(&self, path: &Path) -> Result<usize, String> {
        self.check_with(path, |p| std::fs::read(p))
    }

    /// [`KeptCapture::check`], reading the capture with `read` (given its path next to `path`).
    pub fn check_with(
        &self,
        path: &Path,
        read: impl Fn(&Path) -> std::io::Result<Vec<u8>>,
    ) -> Result<usize, String> {
        let pcap = path.with_file_name(&self.capture);
        let bytes = read(&pcap).map_err(|e| format!("{}: capture: {e}", pcap.display()))?;
        let streams = crate::import::read_from(&pcap, &bytes[..], self.port)?;
        let scripts: Vec<PeerScript> = streams.iter().map(crate::import::Stream::script).collect();
        for want in &self.build {
            let build: Build = want.name.parse().map_err(|e| format!("{e}"))?;
            let got = expected(build, &scripts)?;
            let rerecord = format!(
                "(if the change is intended: mta-lab import {} --port {} --keep NAME --build …)",
                pcap.display(),
                self.port
            );
            if let Some(i) = (0..want.events.len().max(got.events.len()))
                .find(|&i| want.events.get(i) != got.events.get(i))
            {
                return Err(format!(
                    "{} on {build}: event {} differs: recorded {:?}, replayed {:?} {rerecord}",
                    path.display(),
                    i + 1,
                    want.events.get(i),
                    got.events.get(i)
                ));
            }
            if (&want.findings, want.quiescent) != (&got.findings, got.quiescent) {
                return Err(format!(
                    "{} on {build}: findings {:?} (quiescent {}), recorded {:?} (quiescent {}) \
                     {rerecord}",
                    path.display(),
                    got.findings,
                    got.quiescent,
                    want.findings,
                    want.quiescent
                ));
            }
        }
        Ok(self.build.len())
    }
}

/// Replay one capture's callers into [`target_mta`] as they were captured
/// (this module): in the capture's order between the model's ticks, with no library
/// peers, flood or good peer added — a capture `hostile --pcap` wrote gives back its run's event
/// log. A model that is not quiescent when the drain runs out is a finding (blocks left).
pub fn replay_captured(
    build: Build,
    scripts: &[PeerScript],
) -> Result<(HostileReport, Replayed), String> {
    let mut mta = target_mta(build);
    let done = replay(&mut mta, scripts, &Options::default())?;
    Ok((judge(&mta, scripts.len(), Vec::new(), None), done))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::import::Write;

    /// A hostile run's capture, imported, replays as captured to the same event log — every
    /// event, in order, at the same millisecond — on a fixed build (the replay ends quiescent)
    /// and on 2000 SP3, where the flood leaves inbound blocks stuck (Q811406) in both.
    #[test]
    fn captured_hostile_run_replays_through_import_to_the_same_event_log() {
        for build in [Build::Ex2000Sp3Rollup, Build::Ex2000Sp3] {
            let (original, capture) =
                crate::hostile::run_peers_recorded(build, 1, crate::hostile::library(), true);
            let dir = std::env::temp_dir().join(format!(
                "mta-lab-replay-{}-{}",
                std::process::id(),
                build.cli_name()
            ));
            std::fs::create_dir_all(&dir).unwrap();
            let pcap = dir.join("hostile.pcap");
            mta_lab_world::pcap::write(&pcap, &capture).unwrap();
            let streams = crate::import::read(&pcap, crate::import::ISO_TSAP_PORT).unwrap();
            let _ = std::fs::remove_dir_all(&dir);
            assert!(
                streams.len() >= crate::hostile::library().len() + 50,
                "{build}: {} connections",
                streams.len()
            );
            let scripts: Vec<_> = streams.iter().map(crate::import::Stream::script).collect();
            let (replay, done) = replay_captured(build, &scripts).unwrap();
            assert_eq!(done.connections, streams.len());
            assert!(original.log.len() > 100, "{build}: {}", original.log.len());
            assert_eq!(original.log, replay.log, "{build}");
            if build == Build::Ex2000Sp3Rollup {
                assert!(original.findings.is_empty(), "{:?}", original.findings);
                assert!(replay.findings.is_empty(), "{:?}", replay.findings);
                assert!(done.quiescent);
            } else {
                assert!(!done.quiescent);
                assert!(
                    replay.findings.iter().any(|f| f.contains("control blocks")),
                    "{:?}",
                    replay.findings
                );
            }
        }
    }

    fn script(client: &str, opened: u64, writes: &[(u64, u64)], end: Ending) -> PeerScript {
        PeerScript {
            schema: 1,
            client: client.into(),
            server: "10.0.2.1:102".into(),
            end,
            origin_ms: Some(7 * HOUR_MS + 30),
            opened_ms: Some(opened),
            opened_frame: Some(opened + 1),
            closed_ms: Some(opened + 50),
            closed_frame: Some(opened + 60),
            write: writes
                .iter()
                .map(|&(after_ms, frame)| Write {
                    after_ms,
                    frame: Some(frame),
                    hex: "0300".into(),
                })
                .collect(),
        }
    }

    #[test]
    fn inputs_follow_the_capture_clock_and_frame_order() {
        let a = script("10.0.9.1:1000", 0, &[(10, 9), (0, 12)], Ending::Reset);
        let b = script("10.0.9.1:1001", 10, &[(0, 13)], Ending::Open);
        let i = inputs(&[a, b]).unwrap();
        // First packet 30 ms after 07:00: on the replay clock at 30; within a tick, frames decide.
        let seen: Vec<(u64, u64, usize)> =
            i.iter().map(|i| (i.clock_ms, i.frame, i.conn)).collect();
        assert_eq!(
            seen,
            vec![
                (30, 1, 0),
                (40, 9, 0),
                (40, 11, 1),
                (40, 12, 0),
                (40, 13, 1),
                (80, 60, 0),
                (80, u64::MAX, 1)
            ]
        );
        // b was still connected when the capture ended: it leaves then.
        assert_eq!(i[6].what, What::Leave(0));
        assert_eq!(i[5].what, What::Leave(winsock::CONNRESET));
    }

    #[test]
    fn scripts_of_two_captures_are_refused() {
        let a = script("10.0.9.1:1000", 0, &[], Ending::Close);
        let mut b = a.clone();
        b.origin_ms = Some(99);
        assert!(inputs(&[a, b]).unwrap_err().contains("different captures"));
    }

    /// `corpora/regressions/captures/*.toml`: every kept capture replays to its recorded event
    /// log, findings and ending on each recorded build.
    #[test]
    fn kept_captures_replay_as_recorded() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/regressions/captures");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let k = KeptCapture::load(&p).unwrap();
            n += k.check(&p).unwrap();
        }
        assert!(n >= 2, "{n} build replays");
    }

    #[test]
    fn keep_refuses_bad_names_and_a_different_capture_under_the_same_name() {
        let dir = std::env::temp_dir().join(format!("mta-lab-keep-{}", std::process::id()));
        let kept = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../corpora/regressions/captures/hostile-library-2000-sp3.pcap");
        let b = [Build::Ex2000Sp3Rollup];
        let s = crate::import::read(&kept, 102).unwrap();
        assert!(
            keep(&kept, &s, 102, "../x", &b, &dir)
                .unwrap_err()
                .contains("name")
        );
        let p = keep(&kept, &s, 102, "k", &b, &dir).unwrap();
        assert_eq!(KeptCapture::load(&p).unwrap().check(&p).unwrap(), 1);
        std::fs::write(dir.join("k2.pcap"), b"not this one").unwrap();
        assert!(
            keep(&kept, &s, 102, "k2", &b, &dir)
                .unwrap_err()
                .contains("another capture")
        );
        std::fs::write(&p, "schema = 1\n").unwrap();
        assert!(
            KeptCapture::load(&p)
                .unwrap_err()
                .contains("not a kept capture")
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
