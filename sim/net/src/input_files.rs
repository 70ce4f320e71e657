//! Fuzz harness `input_files` over the lab's own input files — world files, finding files, peer
//! scripts, connector files and kept captures: each input is loaded by the loader the CLI uses and
//! then *used* (a world runs its first simulated second, a finding replays its first simulated
//! seconds, a script plays against a modelled MTA, a connector file configures an MTA that runs,
//! a kept capture replays on its builds). Oracle: `Ok`, or an error that names the file and the
//! field — never a panic. One function ([`run_bytes`]) serves cargo-fuzz
//! (`fuzz/fuzz_targets/input_files.rs`), the bolero property and corpus replay in `cargo test`,
//! and the nightly (through [`TARGETS`], which the `mta-lab` binary hands to the campaign).
//!
//! Input: byte 0 picks the kind (mod 5); byte 1's low bit picks the form and its other bits the
//! run's seed: even, the rest is the file's text as is (so every committed file is a seed with a
//! two-byte header); odd, the rest drives `arbitrary` to pick a committed file of that kind and an
//! edit list on it as a `toml::Value` (set a field at a path to a value of any type — extreme
//! numbers, long strings, strings from the file —, delete one, duplicate or truncate an array,
//! add a key), rendered back to TOML. The committed files are compiled in ([`SEEDS`]; a test
//! checks that none is missing), so the binary needs no checkout at run time.

use crate::capture_replay::{self, KeptCapture};
use crate::import::PeerScript;
use arbitrary::{Arbitrary, Unstructured};
use mta_build::Build;
use mta_harness::{Failure, Target};
use mta_lab_world::finding::Finding;
use mta_lab_world::simulate;
use mta_lab_world::world::World;
use mta_mta::core::{Mta, MtaConfig, SocketEvent};
use mta_mta::driver::{SocketAction, winsock};
use mta_p1::{Bind, GlobalDomainIdentifier};
use std::collections::BTreeMap;
use std::path::Path;

/// The target's name (cargo-fuzz binary, corpus directories).
pub const NAME: &str = "input_files";

/// The directory the harness pretends its files are in: every error must name a file there.
pub const FUZZ_DIR: &str = "<fuzz>";

/// Simulated time a loaded world runs (ms).
pub const WORLD_RUN_MS: u64 = 1_000;

/// Simulated time a loaded finding replays (ms): its faults' window (seeds draw them in the
/// first 3 s) and the start of its liveness phase, not the whole run (up to `max_sim_ms`).
pub const FINDING_REPLAY_MS: u64 = 4_000;

/// Longest peer script the harness plays (ms from its opening to its last action): the replay
/// ticks the model every 10 ms across the whole span.
pub const SCRIPT_SPAN_MS: u64 = 60_000;

/// Simulated time an MTA configured by a connector file runs (ms).
pub const CONNECTOR_RUN_MS: u64 = 1_000;

/// libFuzzer's `-max_len`: the largest committed file (the kept capture, 21 KB) with room to grow.
pub const MAX_LEN: usize = 32 << 10;

/// Most edits one structured input applies.
const MAX_EDITS: usize = 8;

/// The kinds of input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// `worlds/*.toml` (`mta-lab run --world FILE`).
    World,
    /// `corpora/regressions/sim/*.toml` (`mta-lab replay FINDING`).
    Finding,
    /// `conn-N.peer.toml` written by `mta-lab import` (`mta-lab hostile --script`).
    PeerScript,
    /// A connector file (`mta-lab serve --config`).
    Connectors,
    /// `corpora/regressions/captures/*.toml` (`mta-lab replay CAPTURE.toml`).
    KeptCapture,
}

impl Kind {
    /// Every kind, in selector order.
    pub const ALL: [Kind; 5] = [
        Kind::World,
        Kind::Finding,
        Kind::PeerScript,
        Kind::Connectors,
        Kind::KeptCapture,
    ];

    /// The file name the harness gives an input of this kind (under [`FUZZ_DIR`]).
    pub fn file(self) -> String {
        let name = match self {
            Kind::World => "world.toml",
            Kind::Finding => "finding.toml",
            Kind::PeerScript => "conn-0.peer.toml",
            Kind::Connectors => "connectors.toml",
            Kind::KeptCapture => "capture.toml",
        };
        format!("{FUZZ_DIR}/{name}")
    }

    /// Its selector byte.
    pub fn byte(self) -> u8 {
        Kind::ALL.iter().position(|k| *k == self).unwrap_or(0) as u8
    }

    /// The words an error about this kind names its field with (keys of the schema, and the
    /// loaders' names for table entries).
    fn fields(self) -> &'static [&'static str] {
        match self {
            Kind::World => &[
                "name",
                "timers",
                "machine",
                "connector",
                "flow",
                "x25",
                "fault_weights",
                "hostile_callers",
                "build",
                "foreign",
                "addresses",
                "address",
                "set",
            ],
            Kind::Finding => &[
                "schema",
                "model_version",
                "world",
                "builds",
                "messages",
                "seed",
                "faults",
                "fault_plan",
                "plan",
                "shrunk",
                "world_description",
                "world_file",
                "signature",
                "findings",
                "trace_hash",
            ],
            Kind::PeerScript => &[
                "schema",
                "client",
                "server",
                "end",
                "origin_ms",
                "opened_ms",
                "opened_frame",
                "closed_ms",
                "closed_frame",
                "write",
                "after_ms",
                "frame",
                "hex",
            ],
            Kind::Connectors => &["connector"],
            Kind::KeptCapture => &[
                "schema",
                "capture",
                "port",
                "build",
                "name",
                "quiescent",
                "findings",
                "events",
            ],
        }
    }
}

/// A committed input file, compiled in.
pub struct Seed {
    /// Its kind.
    pub kind: Kind,
    /// Its path in the repository.
    pub path: &'static str,
    /// Its text.
    pub text: &'static str,
}

macro_rules! seed {
    ($kind:ident, $path:literal) => {
        Seed {
            kind: Kind::$kind,
            path: $path,
            text: include_str!(concat!("../../../", $path)),
        }
    };
}

/// Every committed input file of each kind (`every_committed_input_file_is_a_seed` checks the
/// directories against this list).
pub const SEEDS: &[Seed] = &[
    seed!(World, "worlds/pair-sp1-strict.toml"),
    seed!(
        Finding,
        "corpora/regressions/sim/q197378-sp1-refusal-streak-after-partition.toml"
    ),
    seed!(
        Finding,
        "corpora/regressions/sim/q225157-55-xot-overload-faults-session-input.toml"
    ),
    seed!(
        Finding,
        "corpora/regressions/sim/q811406-2000sp3-short-timeout-burst-leaks-blocks.toml"
    ),
    seed!(PeerScript, "corpora/inputs/peer/close.peer.toml"),
    seed!(PeerScript, "corpora/inputs/peer/half-close.peer.toml"),
    seed!(PeerScript, "corpora/inputs/peer/left-open.peer.toml"),
    seed!(PeerScript, "corpora/inputs/peer/many-writes.peer.toml"),
    seed!(PeerScript, "corpora/inputs/peer/reset.peer.toml"),
    seed!(Connectors, "corpora/inputs/connectors/pair.toml"),
    seed!(Connectors, "corpora/inputs/connectors/override-1984.toml"),
    seed!(
        KeptCapture,
        "corpora/regressions/captures/hostile-library-2000-sp3.toml"
    ),
];

/// The committed captures kept captures name, compiled in: (file name, octets).
pub const CAPTURES: &[(&str, &[u8])] = &[(
    "hostile-library-2000-sp3.pcap",
    include_bytes!("../../../corpora/regressions/captures/hostile-library-2000-sp3.pcap"),
)];

/// The seeds of one kind.
fn seeds_of(kind: Kind) -> Vec<&'static Seed> {
    SEEDS.iter().filter(|s| s.kind == kind).collect()
}

/// A committed file as a fuzz input: kind, the raw form (seed 0), its text.
pub fn encode_raw(kind: Kind, text: &str) -> Vec<u8> {
    let mut v = vec![kind.byte(), 0];
    v.extend_from_slice(text.as_bytes());
    v
}

/// The committed corpus (`corpora/fuzz/input_files/`): every seed file in the raw form, named
/// after it.
pub fn seeds() -> Vec<(&'static str, Vec<u8>)> {
    SEEDS
        .iter()
        .map(|s| {
            let name = s.path.rsplit('/').next().unwrap_or(s.path);
            (name, encode_raw(s.kind, s.text))
        })
        .collect()
}

/// One edit of a structured input.
#[derive(Debug, Arbitrary)]
enum Edit {
    /// Set the value at a path (each step picks a key or an element by index, mod their number).
    Set(Vec<u8>, Val),
    /// Remove the entry at a path.
    Delete(Vec<u8>),
    /// Repeat an array's element `n` times (mod 64).
    Duplicate(Vec<u8>, u8),
    /// Keep the first `n` elements of an array (or characters of a string).
    Truncate(Vec<u8>, u8),
    /// Add a key (a field of the kind, or any) to the table at a path.
    Insert(Vec<u8>, Key, Val),
}

/// A key to add.
#[derive(Debug, Arbitrary)]
enum Key {
    /// One of the kind's field names.
    Field(u8),
    /// Anything.
    Any(String),
}

/// A value to put in.
#[derive(Debug, Arbitrary)]
enum Val {
    /// An integer.
    Int(i64),
    /// A boundary integer: 0, -1, 1, 255, 256, 65535, 65536, 2^31-1, 2^32-1, 2^32, 2^53, i64 max
    /// and min.
    Edge(u8),
    /// A float (TOML cannot hold NaN as a value of every field; the loader must still cope).
    Float(f64),
    /// A boolean.
    Bool(bool),
    /// A string.
    Str(String),
    /// A long string: `n × 256` copies of a character.
    Long(u8, char),
    /// A string, number or table that occurs somewhere in the file (cross-references stay
    /// plausible: machine names, builds, addresses).
    FromFile(u16),
    /// A word the loaders look for.
    Word(u8),
    /// An array of values.
    Array(Vec<Leaf>),
    /// An empty table.
    Table,
}

/// A scalar inside a generated array.
#[derive(Debug, Arbitrary)]
enum Leaf {
    Int(i64),
    Str(String),
    Word(u8),
}

const EDGES: &[i64] = &[
    0,
    -1,
    1,
    255,
    256,
    65_535,
    65_536,
    2_147_483_647,
    4_294_967_295,
    4_294_967_296,
    9_007_199_254_740_992,
    i64::MAX,
    i64::MIN,
];

/// Words the loaders compare with: builds, foreign kinds, modes, endings, fault kinds, addresses,
/// paths.
const WORDS: &[&str] = &[
    "4.0",
    "5.0",
    "5.5",
    "5.5-sp1",
    "5.5-sp2",
    "5.5-sp3",
    "2000-sp3",
    "2000-sp3-rollup",
    "foreign-strict",
    "foreign-lenient",
    "strict",
    "lenient",
    "1984",
    "1988",
    "close",
    "half-close",
    "reset",
    "open",
    "crash",
    "hold",
    "partition",
    "listener_down",
    "latency",
    "burst",
    "hostile",
    "x25_overload",
    "standard",
    "flood",
    "xot",
    "multihomed",
    "10.0.9.1",
    "10.0.9.1:1000",
    "10.0.2.1:102",
    "10.0.7.3",
    "10.255.0.1",
    "127.0.0.1",
    "::1",
    "[::1]:102",
    "0.0.0.0",
    "",
    " ",
    "/C=US/A= /P=B/",
    "/C=/A=/",
    "tick_ms=1",
    "pop4_tick_ms=0",
    "hostile-library-2000-sp3.pcap",
    "../x.pcap",
    "/dev/zero",
    "x.pcap",
    "A",
    "B",
    "ALPHA",
    "BETA",
    "F",
    "0300",
    "03000016",
    "zz",
];

fn leaf(l: &Leaf) -> toml::Value {
    match l {
        Leaf::Int(i) => toml::Value::Integer(*i),
        Leaf::Str(s) => toml::Value::String(s.clone()),
        Leaf::Word(w) => toml::Value::String(WORDS[*w as usize % WORDS.len()].into()),
    }
}

/// Every value in `v` (depth first), for [`Val::FromFile`].
fn values_in(v: &toml::Value, out: &mut Vec<toml::Value>) {
    match v {
        toml::Value::Table(t) => {
            for x in t.values() {
                out.push(x.clone());
                values_in(x, out);
            }
        }
        toml::Value::Array(a) => {
            for x in a {
                out.push(x.clone());
                values_in(x, out);
            }
        }
        _ => {}
    }
}

impl Val {
    fn value(&self, pool: &[toml::Value]) -> toml::Value {
        match self {
            Val::Int(i) => toml::Value::Integer(*i),
            Val::Edge(i) => toml::Value::Integer(EDGES[*i as usize % EDGES.len()]),
            Val::Float(f) => toml::Value::Float(*f),
            Val::Bool(b) => toml::Value::Boolean(*b),
            Val::Str(s) => toml::Value::String(s.clone()),
            Val::Long(n, c) => {
                toml::Value::String(std::iter::repeat_n(*c, (*n as usize + 1) * 256).collect())
            }
            Val::FromFile(i) if !pool.is_empty() => pool[*i as usize % pool.len()].clone(),
            Val::FromFile(_) => toml::Value::Integer(0),
            Val::Word(w) => toml::Value::String(WORDS[*w as usize % WORDS.len()].into()),
            Val::Array(v) => toml::Value::Array(v.iter().map(leaf).collect()),
            Val::Table => toml::Value::Table(toml::Table::new()),
        }
    }
}

/// The value at `path` (each step picks a child by index, mod their number; stops at a scalar).
fn at_path<'a>(v: &'a mut toml::Value, path: &[u8]) -> &'a mut toml::Value {
    let Some((&step, rest)) = path.split_first() else {
        return v;
    };
    let n = match &*v {
        toml::Value::Table(t) => t.len(),
        toml::Value::Array(a) => a.len(),
        _ => 0,
    };
    if n == 0 {
        return v;
    }
    let i = step as usize % n;
    match v {
        toml::Value::Table(t) => at_path(t.iter_mut().nth(i).expect("i < len").1, rest),
        toml::Value::Array(a) => at_path(&mut a[i], rest),
        other => other,
    }
}

/// Apply one edit.
fn apply(doc: &mut toml::Value, e: &Edit, kind: Kind, pool: &[toml::Value]) {
    match e {
        Edit::Set(path, val) => *at_path(doc, path) = val.value(pool),
        Edit::Delete(path) => {
            let Some((last, parent)) = path.split_last() else {
                return;
            };
            match at_path(doc, parent) {
                toml::Value::Table(t) if !t.is_empty() => {
                    let key = t.keys().nth(*last as usize % t.len()).cloned();
                    if let Some(k) = key {
                        t.remove(&k);
                    }
                }
                toml::Value::Array(a) if !a.is_empty() => {
                    a.remove(*last as usize % a.len());
                }
                _ => {}
            }
        }
        Edit::Duplicate(path, n) => {
            if let toml::Value::Array(a) = at_path(doc, path)
                && let Some(x) = a.first().cloned()
            {
                a.extend(std::iter::repeat_n(x, *n as usize % 64));
            }
        }
        Edit::Truncate(path, n) => match at_path(doc, path) {
            toml::Value::Array(a) => a.truncate(*n as usize),
            toml::Value::String(s) => *s = s.chars().take(*n as usize).collect(),
            _ => {}
        },
        Edit::Insert(path, key, val) => {
            if let toml::Value::Table(t) = at_path(doc, path) {
                let k = match key {
                    Key::Field(i) => kind.fields()[*i as usize % kind.fields().len()].to_string(),
                    Key::Any(s) => s.clone(),
                };
                t.insert(k, val.value(pool));
            }
        }
    }
}

/// A structured input's file text: a committed file of `kind` with the edits `u` describes, or
/// `None` when the edited document cannot be written as TOML (not the loaders' concern).
fn edited(kind: Kind, u: &mut Unstructured<'_>) -> Option<String> {
    let seeds = seeds_of(kind);
    let base = seeds[usize::from(u.arbitrary::<u8>().unwrap_or(0)) % seeds.len()];
    let mut doc: toml::Value = toml::from_str(base.text).ok()?;
    let mut pool = Vec::new();
    values_in(&doc, &mut pool);
    for _ in 0..MAX_EDITS {
        let Ok(e) = u.arbitrary::<Edit>() else { break };
        apply(&mut doc, &e, kind, &pool);
        if u.is_empty() {
            break;
        }
    }
    toml::to_string(&doc).ok()
}

/// Run one input (see the module's doc): `Ok(outcome class)`, or a [`Failure`] when a loader's
/// error names neither the file nor a field. A panic anywhere is the crash libFuzzer reports.
pub fn run_bytes(build: Build, data: &[u8]) -> Result<&'static str, Failure> {
    let (Some(&k), Some(&form)) = (data.first(), data.get(1)) else {
        return Ok("too short");
    };
    let kind = Kind::ALL[k as usize % Kind::ALL.len()];
    let seed = u64::from(form >> 1);
    let rest = &data[2..];
    let text = if form & 1 == 0 {
        String::from_utf8_lossy(rest).into_owned()
    } else {
        match edited(kind, &mut Unstructured::new(rest)) {
            Some(t) => t,
            None => return Ok("edit not writable as TOML"),
        }
    };
    match check(kind, &text, build, seed) {
        Ok(class) => Ok(class),
        Err(e) if names_file_and_field(kind, &e) => Ok("refused with a clear error"),
        Err(e) => Err(Failure {
            target: NAME,
            what: format!("{kind:?} error names no file or no field: {e}"),
        }),
    }
}

/// The body of the cargo-fuzz target: run the input on the build `MTA_LAB_BUILD` (or the
/// executable's name) selects; an error that does not say where is a crash, as is a panic
/// (other than the modelled faults `mta_mta::fault::catch_fault` turns into a stopped MTA).
pub fn fuzz_one(data: &[u8]) {
    // A finding of KB Q225157 replays its modelled fault (a panic the simulator catches as the
    // MTA service stopping): libFuzzer's panic hook, which aborts, must not see those.
    static QUIET: std::sync::Once = std::sync::Once::new();
    QUIET.call_once(mta_mta::fault::quiet_caught_faults);
    let build = mta_harness::build_from_env();
    if let Err(f) = run_bytes(build, data) {
        panic!("{f} (build {build})");
    }
}

/// The oracle on an error: it names a file of the input ([`FUZZ_DIR`]) and a field (one of the
/// kind's fields, or a TOML position: `line N, column M`).
pub fn names_file_and_field(kind: Kind, e: &str) -> bool {
    e.contains(FUZZ_DIR) && (e.contains("line ") || kind.fields().iter().any(|f| e.contains(f)))
}

/// Load `text` as a file of `kind` and use it.
pub fn check(kind: Kind, text: &str, build: Build, seed: u64) -> Result<&'static str, String> {
    let file = kind.file();
    let path = Path::new(&file);
    match kind {
        Kind::World => {
            let mut w = World::from_file(&file, text)?;
            w.timers.max_sim_ms = w.timers.max_sim_ms.min(WORLD_RUN_MS);
            let r = simulate::run(&w, seed, true);
            Ok(if r.findings.is_empty() {
                "world ran"
            } else {
                "world ran with findings"
            })
        }
        Kind::Finding => {
            let f = Finding::parse(path, text)?;
            let mut w = f.world(None).map_err(|e| format!("{file}: {e}"))?;
            w.timers.max_sim_ms = w.timers.max_sim_ms.min(FINDING_REPLAY_MS);
            let r = f.run(&w);
            Ok(if mta_lab_world::finding::signature(&r) == f.signature {
                "finding replayed, signature fired"
            } else {
                "finding replayed"
            })
        }
        Kind::PeerScript => play_script(&PeerScript::parse(path, text)?, build),
        Kind::Connectors => {
            let connectors = crate::serve::connector_file(path, text)?;
            Ok(run_configured(build, connectors))
        }
        Kind::KeptCapture => {
            let k = KeptCapture::parse(path, text)?;
            let read = |p: &Path| {
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                CAPTURES
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, b)| b.to_vec())
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
            };
            match k.check_with(path, read) {
                Ok(_) => Ok("kept capture replayed as recorded"),
                Err(e) if e.contains(" differs") || e.contains("recorded ") => {
                    Ok("kept capture replayed differently")
                }
                Err(e) => Err(e),
            }
        }
    }
}

/// Play a peer script against the modelled MTA as captured (the sans-IO player of `hostile
/// --script --as-captured`), and as a hostile-peer program (its conversion).
fn play_script(s: &PeerScript, build: Build) -> Result<&'static str, String> {
    let _ = crate::hostile::from_script(s, "script");
    let mut span = s.opened_ms.unwrap_or(0);
    for w in &s.write {
        span = span.saturating_add(w.after_ms);
    }
    if span.max(s.closed_ms.unwrap_or(0)) > SCRIPT_SPAN_MS {
        return Ok("script longer than the harness plays");
    }
    let (r, _) = capture_replay::replay_captured(build, std::slice::from_ref(s))?;
    Ok(if r.findings.is_empty() {
        "script played"
    } else {
        "script played with findings"
    })
}

/// An MTA configured with `connectors` (as `mta-lab serve --config` builds it) runs for
/// [`CONNECTOR_RUN_MS`]: a message to each routed domain (its connects are refused, so the
/// connectors retry), and a caller from each connector's stack address binding with the
/// connector's remote name and password.
fn run_configured(build: Build, connectors: Vec<mta_mta::connector::Connector>) -> &'static str {
    let callers: Vec<(String, Vec<u8>, Vec<u8>)> = connectors
        .iter()
        .map(|c| {
            let bind = Bind::simple(&c.config.remote_mta_name, &c.config.remote_password).emit();
            let (cr, cn) = mta_lab_world::caller::opening(&bind, c.mode);
            (c.config.stack_address.clone(), cr, cn)
        })
        .collect();
    let domains: Vec<String> = connectors
        .iter()
        .flat_map(|c| c.routes.iter().map(|r| r.2.clone()))
        .filter(|p| !p.is_empty())
        .collect();
    let cfg = MtaConfig::new(
        "MTA",
        GlobalDomainIdentifier::new("US", " ", Some("MTA")),
        vec!["127.0.0.1".into()],
        connectors,
    );
    let mut mta = Mta::new(&build.profile(), cfg);
    for (i, d) in domains.iter().take(16).enumerate() {
        let apdu = simulate::message(&mut mta, "MTA", d, i, 64);
        mta.submit(apdu);
    }
    let mut waiting = BTreeMap::new();
    for (n, (from, cr, cn)) in callers.into_iter().take(16).enumerate() {
        if let Some(cb) = mta.accept(n as u64 + 1, &from) {
            mta.socket(SocketEvent::Received(cb, cr));
            waiting.insert(cb, cn);
        }
    }
    let mut now = 0;
    while now < CONNECTOR_RUN_MS {
        now += 10;
        mta.tick(now);
        for a in mta.take_actions() {
            match a {
                SocketAction::Connect { cb, .. } => {
                    mta.socket(SocketEvent::ConnectFailed(cb, winsock::CONNREFUSED));
                }
                SocketAction::Send { cb, bytes } => {
                    if mta_lab_world::caller::is_connect_confirm(&bytes)
                        && let Some(cn) = waiting.remove(&cb)
                    {
                        mta.socket(SocketEvent::Received(cb, cn));
                    }
                }
                _ => {}
            }
        }
    }
    if mta.log.first_fatal().is_some() {
        "configured MTA stopped"
    } else {
        "configured MTA ran"
    }
}

/// This crate's fuzz targets, in the shape of `mta_harness::TARGETS`: the `mta-lab` binary hands
/// them to the campaign (`mta_lab_campaign::targets::register`), which cannot depend on this
/// crate.
pub const TARGETS: &[Target] = &[Target {
    name: NAME,
    run: run_bytes,
    seeds,
    clean_on: mta_harness::always_clean,
    reset_check: |b, x, y| mta_harness::stateless_check(run_bytes, b, x, y),
    max_len: MAX_LEN,
}];

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
    }

    /// Files of a directory with an extension (or a suffix), as repository paths.
    fn files(dir: &str, suffix: &str) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(repo().join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
            .filter(|n| n.ends_with(suffix))
            .map(|n| format!("{dir}/{n}"))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn every_committed_input_file_is_a_seed() {
        for (kind, dir, suffix) in [
            (Kind::World, "worlds", ".toml"),
            (Kind::Finding, "corpora/regressions/sim", ".toml"),
            (Kind::PeerScript, "corpora/inputs/peer", ".peer.toml"),
            (Kind::Connectors, "corpora/inputs/connectors", ".toml"),
            (Kind::KeptCapture, "corpora/regressions/captures", ".toml"),
        ] {
            let mut have: Vec<String> = seeds_of(kind).iter().map(|s| s.path.into()).collect();
            have.sort();
            assert_eq!(have, files(dir, suffix), "{kind:?}: update SEEDS");
        }
        let mut pcaps: Vec<String> = CAPTURES
            .iter()
            .map(|(n, _)| format!("corpora/regressions/captures/{n}"))
            .collect();
        pcaps.sort();
        assert_eq!(pcaps, files("corpora/regressions/captures", ".pcap"));
    }

    #[test]
    fn the_oracle_wants_the_file_and_a_field() {
        assert!(names_file_and_field(
            Kind::World,
            "<fuzz>/world.toml: flow 1: count 99999 exceeds 10000 messages"
        ));
        assert!(!names_file_and_field(Kind::World, "flow 1: no machine"));
        assert!(!names_file_and_field(
            Kind::PeerScript,
            "<fuzz>/conn-0.peer.toml: invalid digit"
        ));
    }

    #[test]
    fn structured_inputs_edit_a_committed_file() {
        // The world seed's flow 1 count (keys in order: flow, then count) set to i64::MAX: the
        // loader refuses it naming the file and the field.
        let mut doc: toml::Value = toml::from_str(SEEDS[0].text).unwrap();
        apply(
            &mut doc,
            &Edit::Set(vec![0, 0, 0], Val::Edge(11)),
            Kind::World,
            &[],
        );
        let text = toml::to_string(&doc).unwrap();
        let e = check(Kind::World, &text, Build::Ex2000Sp3Rollup, 1).unwrap_err();
        assert!(names_file_and_field(Kind::World, &e), "{e}");
        assert!(e.contains("flow 1: count"), "{e}");
        // Decoded from bytes, edits apply to a committed file of the kind.
        assert!(edited(Kind::Finding, &mut Unstructured::new(&[1, 0, 0, 0, 0, 3])).is_some());
    }
}
