//! `mta-lab kb`: the KB × build × config matrix, computed. For every cell it runs the finders that
//! fit the KB's component — seed sweeps of a world (turmoil), the in-process random/mutation engine
//! over a harness, and libFuzzer through cargo-fuzz — until the KB's signature appears or the
//! cell's budget is spent, then compares with `corpora/kb/expected.toml` (read only to compare).
//!
//! Nothing here knows which builds are faulty: a cell is *reproduced* when a generic oracle fired
//! (a finding, a failed harness input) and the event log / failure shows the KB's signature; *not
//! reproduced* when the budget was spent with no such finding **and** the KB's trigger counter is
//! above zero; otherwise *trigger not reached* (a failure of the finder, never a pass). Q197378 is a
//! rate: 9301 refusals at the receiver over the connections from the multihomed sender, with a
//! Wilson 95 % interval.

use crate::libfuzzer;
use crate::smoke::{mutate, run_one, target_by_name};
use mta_build::Build;
use mta_harness::kb::{q182619, q225157};
use mta_lab_world::world::World;
use mta_lab_world::{finding, simulate};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// How a cell was searched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Engine {
    /// Seed sweep of a turmoil world.
    Sim,
    /// In-process random and mutated inputs through a harness (seeded ChaCha8).
    Random,
    /// libFuzzer via `cargo fuzz run --sanitizer none`, from an empty corpus.
    Libfuzzer,
}

/// A cell's outcome.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum Outcome {
    /// The signature appeared.
    Reproduced,
    /// Budget spent, no signature, trigger reached.
    NotReproduced,
    /// Budget spent and the trigger counter stayed at zero: the finder failed.
    TriggerNotReached,
    /// A rate (Q197378).
    Rate {
        /// Events.
        events: u64,
        /// Connections.
        connections: u64,
        /// Wilson 95 % interval, low.
        low: f64,
        /// Wilson 95 % interval, high.
        high: f64,
    },
    /// The build has no such component (a build-table constant).
    NotApplicable {
        /// Which constant.
        why: String,
    },
    /// An engine could not run (e.g. cargo-fuzz missing).
    Unavailable {
        /// Why.
        why: String,
    },
}

/// One computed cell.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Cell {
    /// KB.
    pub kb: String,
    /// Build.
    pub build: String,
    /// Config.
    pub config: String,
    /// Outcome.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Engine that decided the cell.
    pub engine: Option<Engine>,
    /// Seconds until found (or spent).
    pub seconds: f64,
    /// Seeds or executions spent.
    pub spent: u64,
    /// The KB's trigger counter over the search.
    pub trigger: u64,
    /// The signature detail seen (e.g. "29 headers and 29 elements").
    pub detail: String,
    /// Artifact (finding file or crash input) and the command that replays it.
    pub artifact: Option<String>,
    /// Replay command.
    pub replay: Option<String>,
    /// Expected outcome from expected.toml, and whether it agrees.
    pub expected: Option<String>,
    /// Agreement with expected.toml.
    pub agrees: bool,
    /// Other findings met on the way (not this KB's signature).
    pub other: Vec<String>,
    /// Sequence chart (SVG) and viewer page of the artifact.
    #[serde(default)]
    pub pages: Option<(String, String)>,
}

/// `corpora/kb/expected.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFile {
    cell: Vec<ExpectedCell>,
}

/// One expected cell.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedCell {
    kb: String,
    build: String,
    #[serde(default = "default_config")]
    config: String,
    /// reproduced | not-reproduced | rate
    expect: String,
    /// Rate band (point estimate must lie inside).
    rate_low: Option<f64>,
    rate_high: Option<f64>,
    /// A substring the signature detail must contain.
    detail: Option<String>,
    /// Where the expectation comes from.
    #[allow(dead_code)]
    source: String,
}

fn default_config() -> String {
    "default".into()
}

/// Options (also the `mta-lab kb` command line).
#[derive(clap::Args)]
pub struct Options {
    /// Seconds per cell for sweeps and the random engine (libFuzzer gets four times this; a
    /// rate cell stops at 1,000 connections or twice this).
    #[arg(long = "budget", value_name = "SECONDS", default_value_t = 10.0)]
    pub budget_s: f64,
    /// Seed of the random engine and libFuzzer (`-seed`); sweeps start at (seed − 1) × 10⁶
    /// (independent runs: different seeds).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Only this KB (e.g. Q182619).
    #[arg(long)]
    pub kb: Option<String>,
    /// Only this build.
    #[arg(long)]
    pub build: Option<Build>,
    /// Write the matrix as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
    /// The expectations to compare with.
    #[arg(long, default_value = "corpora/kb/expected.toml")]
    pub expected: PathBuf,
    /// Where artifacts (findings, crash inputs, charts) go.
    #[arg(long, default_value = "target/mta-lab/kb")]
    pub artifacts: PathBuf,
    /// Do not run libFuzzer (its cells then read "unavailable").
    #[arg(long)]
    pub no_libfuzzer: bool,
    /// Cells searched at once.
    #[arg(long, default_value_t = 2)]
    pub jobs: usize,
    /// The fuzz targets are already built (`cargo fuzz build` ran).
    #[arg(skip)]
    pub fuzz_built: bool,
}

/// The KBs and their configs.
pub const KBS: &[(&str, &[&str])] = &[
    ("Q151626", &["default"]),
    ("Q182619", &["default"]),
    ("Q197378", &["default", "override"]),
    ("Q225157", &["default"]),
    ("Q811406", &["default"]),
];

struct Search {
    outcome: Option<Outcome>,
    engine: Option<Engine>,
    spent: u64,
    trigger: u64,
    detail: String,
    artifact: Option<String>,
    replay: Option<String>,
    other: Vec<String>,
}

impl Search {
    fn new() -> Self {
        Search {
            outcome: None,
            engine: None,
            spent: 0,
            trigger: 0,
            detail: String::new(),
            artifact: None,
            replay: None,
            other: Vec::new(),
        }
    }
}

/// Q151626's signature in a failed run, read from its octets and its event log: an Exchange
/// machine sent a CC with a non-zero TPKT reserved octet, a peer closed that connection without
/// answering, and the sender logged the NMI sequence (receive socket closed, remote transport
/// disconnection, lost connections to the locality, 9225 "Bad message type 769 … in state 2").
fn q151626(r: &simulate::RunReport) -> Option<String> {
    if r.findings.is_empty() {
        return None;
    }
    q151626_in(&r.evidence, &r.events, &r.event_log)
}

/// [`q151626`] on a run's parts — its evidence lines (`simulate::evidence`), the event ids per
/// machine and each machine's rendered event log — so a capture's replay is judged the same way.
pub fn q151626_in(
    evidence: &[String],
    events: &BTreeMap<String, BTreeMap<u32, usize>>,
    event_log: &BTreeMap<String, Vec<String>>,
) -> Option<String> {
    let (peer, octet) = evidence.iter().find_map(|e| {
        let (peer, rest) = e.split_once(" closed the connection, unanswered, on a CC")?;
        let octet = rest.split(" at ").next()?.split_whitespace().last()?;
        Some((peer, octet))
    })?;
    events.iter().find_map(|(m, ev)| {
        let sent = evidence
            .iter()
            .any(|e| e.starts_with(&format!("{m} sent a CC with TPKT reserved octet")));
        let nmi = [9236, 1279, 2036, 9225]
            .iter()
            .all(|id| ev.get(id).copied().unwrap_or(0) > 0);
        let line = event_log
            .get(m)?
            .iter()
            .find(|e| e.contains("Bad message type 769") && e.contains("in state 2"))?;
        let line = line
            .split_once(") ")
            .map_or(line.as_str(), |x| x.1)
            .replace('\n', " / ");
        (sent && nmi).then(|| {
            format!(
                "{m}: CC sent with TPKT reserved octet {octet}, {peer} closed that connection \
                 unanswered, then {line}"
            )
        })
    })
}

/// Q811406's signature in a failed run: a machine logged 4258 + 4283 and an oracle names control
/// blocks left allocated, some of them closing with an Accept OK that reached NSI after the caller
/// left (the crossing, read from the driver's blocks — not from the event ids).
fn q811406(r: &simulate::RunReport) -> Option<String> {
    r.events.iter().find_map(|(m, ev)| {
        let logged =
            ev.get(&4258).copied().unwrap_or(0) > 0 && ev.get(&4283).copied().unwrap_or(0) > 0;
        let named = r.findings.iter().find(|f| {
            f.starts_with(&format!("{m}: "))
                && f.contains("control blocks")
                && mta_harness::kb::accepted_too_late(f) > 0
        });
        (logged && named.is_some()).then(|| named.cloned().unwrap_or_default())
    })
}

/// Q197378's mechanism in a run: an Exchange machine dialled from more than one address
/// (`connector.multihomed_outbound`) and a receiver refused callers with 9301.
fn q197378(r: &simulate::RunReport) -> Option<String> {
    let multihomed = r
        .counters
        .get("connector.multihomed_outbound")
        .copied()
        .unwrap_or(0);
    let (m, (n, c)) = r.refused_9301.iter().find(|(_, (n, _))| *n > 0)?;
    (multihomed > 0).then(|| {
        format!("{m} refused {n} of {c} inbound connections with 9301 from a multihomed sender")
    })
}

/// The KB's signature read from a simulated run — its mechanism from the octets, the event log
/// and the model's counters — for the KBs a simulation shows (Q151626, Q197378, Q811406). `None`
/// for a KB without such a reader (Q225157's baseline substring names its fault stack itself).
pub fn run_signature(kb: &str, r: &simulate::RunReport) -> Option<Option<String>> {
    match kb {
        "Q151626" => Some(q151626(r)),
        "Q197378" => Some(q197378(r)),
        "Q811406" => Some(q811406(r)),
        _ => None,
    }
}

/// Whether a finding file explained by `kb` shows the KB's mechanism when replayed (known-findings
/// triage: a matching signature substring is not enough). A file that does not load or replay
/// does not.
pub fn finding_shows_mechanism(kb: &str, path: &Path) -> bool {
    let Ok(f) = finding::Finding::load(path) else {
        return false;
    };
    let Ok(world) = f.world(None) else {
        return false;
    };
    let r = f.run(&world);
    run_signature(kb, &r).is_none_or(|sig| sig.is_some())
}

#[allow(clippy::disallowed_types)] // wall clock: the budget and time-to-find
#[allow(clippy::too_many_arguments)]
fn sim_search(
    s: &mut Search,
    first_seed: u64,
    world: &World,
    faults: bool,
    budget_s: f64,
    dir: &Path,
    sig: fn(&simulate::RunReport) -> Option<String>,
    trigger: &str,
) {
    let started = std::time::Instant::now();
    let mut seed = first_seed;
    while started.elapsed().as_secs_f64() < budget_s {
        let r = simulate::run(world, seed, faults);
        s.spent += 1;
        s.trigger += r.counters.get(trigger).copied().unwrap_or(0);
        if let Some(detail) = sig(&r) {
            let f = finding::Finding::from_run(world, world.messages_per_flow(), faults, &r);
            if let Ok(path) = f.save(dir) {
                s.replay = Some(format!("mta-lab replay {}", path.display()));
                s.artifact = Some(path.display().to_string());
            }
            s.outcome = Some(Outcome::Reproduced);
            s.engine = Some(Engine::Sim);
            s.detail = detail;
            return;
        }
        if let Some(first) = r.findings.first()
            && s.other.len() < 3
        {
            s.other.push(format!("seed {seed}: {first}"));
        }
        seed += 1;
    }
}

/// A harness-based finder's cell: which target and build, the KB's signature and trigger class.
struct Harness<'a> {
    target: &'static mta_harness::Target,
    build: Build,
    seed: u64,
    dir: &'a Path,
    sig: fn(&str) -> Option<String>,
    trigger_class: &'a str,
}

impl Harness<'_> {
    /// A cell's harness, or the cell reads "unavailable".
    fn new<'a>(
        s: &mut Search,
        target: &str,
        build: Build,
        seed: u64,
        dir: &'a Path,
        sig: fn(&str) -> Option<String>,
        trigger_class: &'a str,
    ) -> Option<Harness<'a>> {
        match target_by_name(target) {
            Ok(target) => Some(Harness {
                target,
                build,
                seed,
                dir,
                sig,
                trigger_class,
            }),
            Err(why) => {
                s.outcome = Some(Outcome::Unavailable { why });
                None
            }
        }
    }

    /// Run one input: count the trigger; the KB's signature detail if the oracle fired with it
    /// (other failures are kept, up to three).
    fn judge(&self, s: &mut Search, input: &[u8]) -> Option<String> {
        match run_one(self.target, self.build, input) {
            Ok(class) => {
                if class == self.trigger_class {
                    s.trigger += 1;
                }
                None
            }
            Err(f) => {
                s.trigger += 1;
                let detail = (self.sig)(&f.what);
                if detail.is_none() && s.other.len() < 3 {
                    s.other.push(f.what);
                }
                detail
            }
        }
    }

    /// Record the reproduction: outcome, engine, detail, artifact and its replay command.
    fn reproduced(&self, s: &mut Search, engine: Engine, detail: String, artifact: &Path) {
        s.outcome = Some(Outcome::Reproduced);
        s.engine = Some(engine);
        s.detail = detail;
        s.replay = Some(format!(
            "mta-lab replay {} {} --build {}",
            self.target.name,
            artifact.display(),
            self.build.cli_name()
        ));
        s.artifact = Some(artifact.display().to_string());
    }

    /// The in-process random/mutation engine (seeded ChaCha8) for `budget_s`.
    #[allow(clippy::disallowed_types)] // wall clock: the budget and time-to-find
    fn random_search(&self, s: &mut Search, budget_s: f64) {
        let seeds: Vec<Vec<u8>> = (self.target.seeds)().into_iter().map(|(_, v)| v).collect();
        let mut rng =
            ChaCha8Rng::seed_from_u64(self.seed ^ 0x6b62 ^ ((self.build.index() as u64) << 8));
        let started = std::time::Instant::now();
        while started.elapsed().as_secs_f64() < budget_s {
            let input = if seeds.is_empty() || rng.random_range(0..4) == 0 {
                let n = rng.random_range(0..512);
                (0..n).map(|_| rng.random()).collect()
            } else {
                let mut v = seeds[rng.random_range(0..seeds.len())].clone();
                for _ in 0..rng.random_range(1..=8) {
                    v = mutate(&mut rng, &v);
                }
                v
            };
            s.spent += 1;
            if let Some(detail) = self.judge(s, &input) {
                let _ = std::fs::create_dir_all(self.dir);
                let path = self.dir.join(format!(
                    "{}@{}-random.bin",
                    self.target.name,
                    self.build.cli_name()
                ));
                if std::fs::write(&path, &input).is_ok() {
                    self.reproduced(s, Engine::Random, detail, &path);
                } else {
                    s.outcome = Some(Outcome::Reproduced);
                    s.engine = Some(Engine::Random);
                    s.detail = detail;
                }
                return;
            }
        }
    }

    /// libFuzzer from an empty corpus for `budget_s`; then what it kept (corpus and crashes) is
    /// replayed in-process for the trigger counter and the signature.
    fn libfuzzer_search(&self, s: &mut Search, budget_s: f64) {
        let name = self.target.name;
        let work = self
            .dir
            .join(format!("libfuzzer-{name}@{}", self.build.cli_name()));
        let corpus = work.join("corpus");
        let crashes = work.join("crashes");
        let _ = std::fs::remove_dir_all(&work);
        let job = libfuzzer::Job {
            target: name,
            build: self.build,
            corpora: vec![corpus.clone()],
            artifacts: crashes.clone(),
            seconds: budget_s.ceil() as u64,
            seed: self
                .seed
                .wrapping_mul(31)
                .wrapping_add(self.build.index() as u64 + 1),
            // Plain libFuzzer, not the campaign's flags: see `libfuzzer::campaign_flags`.
            flags: Vec::new(),
            binary: None,
            state_feed: true,
        };
        match libfuzzer::run(&job) {
            Ok(stats) => s.spent += stats.execs,
            Err(why) => {
                s.outcome = Some(Outcome::Unavailable { why });
                return;
            }
        }
        s.engine = Some(Engine::Libfuzzer);
        for f in [&corpus, &crashes].map(|d| libfuzzer::files(d)).concat() {
            let Ok(input) = std::fs::read(&f) else {
                continue;
            };
            if let Some(detail) = self.judge(s, &input)
                && s.outcome.is_none()
            {
                self.reproduced(s, Engine::Libfuzzer, detail, &f);
            }
        }
    }
}

/// Q197378's rate: the receiver's 9301 events over its inbound connections from the sender.
#[allow(clippy::disallowed_types)] // wall clock: the budget
fn rate_search(s: &mut Search, world: &World, budget_s: f64, dir: &Path) -> Outcome {
    let started = std::time::Instant::now();
    let (mut events, mut connections) = (0u64, 0u64);
    let mut seed = 0;
    // At least 1,000 connections (the sample), within twice the budget.
    while connections < 1000 && started.elapsed().as_secs_f64() < budget_s * 2.0 {
        let r = simulate::run(world, seed, false);
        s.spent += 1;
        s.trigger += r
            .counters
            .get("connector.multihomed_outbound")
            .copied()
            .unwrap_or(0);
        if let Some((n, c)) = r.refused_9301.get("BETA") {
            events += *n as u64;
            connections += c;
            // The first run with a refusal is the cell's example (chart, viewer, replay).
            if *n > 0 && s.artifact.is_none() {
                let f = finding::Finding::from_run(world, world.messages_per_flow(), false, &r);
                if let Ok(path) = f.save(dir) {
                    s.artifact = Some(path.display().to_string());
                }
            }
        }
        seed += 1;
    }
    s.engine = Some(Engine::Sim);
    s.replay = Some(format!(
        "mta-lab sweep --world {} --build {} --messages {} --no-faults --seeds 0..{seed}",
        world.name,
        world.machines[0].build_name(),
        world.messages_per_flow()
    ));
    let (low, high) = wilson(events, connections);
    s.detail = format!("BETA 9301 on {events} of {connections} connections from ALPHA");
    Outcome::Rate {
        events,
        connections,
        low,
        high,
    }
}

/// Wilson score interval (95 %).
pub fn wilson(k: u64, n: u64) -> (f64, f64) {
    if n == 0 {
        return (0.0, 1.0);
    }
    let (k, n, z) = (k as f64, n as f64, 1.96f64);
    let p = k / n;
    let d = 1.0 + z * z / n;
    let c = (p + z * z / (2.0 * n)) / d;
    let h = z * ((p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt()) / d;
    ((c - h).max(0.0), (c + h).min(1.0))
}

#[allow(clippy::disallowed_types)] // wall clock: time-to-find
fn run_cell(kb: &str, build: Build, config: &str, o: &Options) -> Cell {
    let started = std::time::Instant::now();
    let dir = o.artifacts.join(kb).join(build.cli_name());
    let mut s = Search::new();
    let mut rate = None;
    let b = o.budget_s;
    match kb {
        "Q151626" => {
            // With the seeds' faults (crashes, partitions, bursts of callers): early closes log the
            // same NMI events on every build; the signature's CC evidence tells Q151626 apart.
            let w = World::standard(build, build, 1);
            sim_search(
                &mut s,
                o.seed.saturating_sub(1) * 1_000_000,
                &w,
                true,
                b,
                &dir,
                q151626,
                "sim.strict_peer_connections",
            );
        }
        "Q811406" => {
            let w = World::flood(build, 2);
            sim_search(
                &mut s,
                o.seed.saturating_sub(1) * 1_000_000,
                &w,
                true,
                b,
                &dir,
                q811406,
                "driver.bad_lpi_close_requests",
            );
        }
        "Q182619" => {
            let h = Harness::new(
                &mut s,
                "driver_events",
                build,
                o.seed,
                &dir,
                q182619,
                "full-queue-refused",
            );
            if let Some(h) = &h {
                h.random_search(&mut s, b / 4.0);
            }
            if let Some(h) = h
                .as_ref()
                .filter(|_| s.outcome.is_none() && !o.no_libfuzzer)
            {
                h.libfuzzer_search(&mut s, b * 4.0);
            } else if s.outcome.is_none() {
                s.outcome = Some(Outcome::Unavailable {
                    why: "libFuzzer skipped (--no-libfuzzer)".into(),
                });
            }
        }
        "Q225157" if !build.profile().x25_winsock_transport => {
            s.outcome = Some(Outcome::NotApplicable {
                why: "no Winsock X.25 transport in this build (x25_winsock_transport)".into(),
            });
        }
        "Q225157" => {
            if let Some(h) = Harness::new(
                &mut s,
                "x25_up",
                build,
                o.seed,
                &dir,
                q225157,
                "malformed-dropped",
            ) {
                h.random_search(&mut s, b);
            }
        }
        "Q197378" => {
            // ALPHA and BETA only: the rate is about their connections (F's strict TPKT check
            // would make a 4.0 world hang on Q151626 and slow the count down).
            let w = World::multihomed(build, 1, config == "override");
            rate = Some(rate_search(&mut s, &w, b, &dir));
        }
        _ => {}
    }
    let outcome = rate.or(s.outcome).unwrap_or(if s.trigger > 0 {
        Outcome::NotReproduced
    } else {
        Outcome::TriggerNotReached
    });
    let seconds = started.elapsed().as_secs_f64();
    // Every reproducing artifact gets its sequence chart and viewer page.
    let pages = s
        .artifact
        .as_deref()
        .and_then(|a| pages(kb, build, Path::new(a), &dir.join(config)).ok());
    Cell {
        pages,
        kb: kb.into(),
        build: build.cli_name().into(),
        config: config.into(),
        outcome,
        engine: s.engine.or(Some(match kb {
            "Q182619" | "Q225157" => Engine::Random,
            _ => Engine::Sim,
        })),
        seconds,
        spent: s.spent,
        trigger: s.trigger,
        detail: s.detail,
        artifact: s.artifact,
        replay: s.replay,
        expected: None,
        agrees: false,
        other: s.other,
    }
}

/// Chart and viewer of a cell's artifact: a simulation finding (replayed) or a fuzz input (its
/// harness run's event log and model events).
fn pages(kb: &str, build: Build, artifact: &Path, dir: &Path) -> Result<(String, String), String> {
    let (title, recs) = if artifact
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"))
    {
        let f = finding::Finding::load(artifact)?;
        let w = f.world(None)?;
        let recs = mta_lab_look::chart::load(&f.trace(&w).1.join("\n"))?;
        (
            format!("{kb} on {build}: {} seed {}", f.world, f.seed),
            recs,
        )
    } else {
        let target = match kb {
            "Q182619" => "driver_events",
            "Q225157" => "x25_up",
            _ => return Err(format!("{kb}: no harness artifact")),
        };
        let bytes = std::fs::read(artifact).map_err(|e| e.to_string())?;
        (
            format!("{kb} on {build}: {target} {}", artifact.display()),
            crate::harness_trace::harness_records(target, build, &bytes)?,
        )
    };
    let svg = mta_lab_look::chart::svg(&recs, mta_lab_look::chart::Layer::Session);
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (c, v) = (dir.join("chart.svg"), dir.join("viewer.html"));
    std::fs::write(&c, &svg).map_err(|e| format!("{}: {e}", c.display()))?;
    std::fs::write(&v, mta_lab_look::viewer::page(&title, &recs, &svg))
        .map_err(|e| format!("{}: {e}", v.display()))?;
    Ok((c.display().to_string(), v.display().to_string()))
}

fn compare(cell: &mut Cell, expected: &[ExpectedCell]) {
    let Some(e) = expected
        .iter()
        .find(|e| e.kb == cell.kb && e.build == cell.build && e.config == cell.config)
    else {
        cell.expected = Some("(no expectation)".into());
        return;
    };
    let detail_ok = e
        .detail
        .as_ref()
        .is_none_or(|d| cell.detail.contains(d.as_str()));
    let (text, ok) = match (e.expect.as_str(), &cell.outcome) {
        ("reproduced", Outcome::Reproduced) => ("reproduced".to_string(), detail_ok),
        ("reproduced", _) => ("reproduced".to_string(), false),
        ("not-reproduced", o) => ("not-reproduced".to_string(), *o == Outcome::NotReproduced),
        ("not-applicable", o) => (
            "not-applicable".to_string(),
            matches!(o, Outcome::NotApplicable { .. }),
        ),
        (
            "rate",
            Outcome::Rate {
                events,
                connections,
                ..
            },
        ) => {
            let (lo, hi) = (e.rate_low.unwrap_or(0.0), e.rate_high.unwrap_or(1.0));
            let p = if *connections == 0 {
                -1.0
            } else {
                *events as f64 / *connections as f64
            };
            (
                format!("rate in [{lo:.2}, {hi:.2}]"),
                *connections >= 1000 && p >= lo && p <= hi,
            )
        }
        (other, _) => (other.to_string(), false),
    };
    cell.expected = Some(text);
    cell.agrees = ok;
}

/// Load and validate expected.toml.
pub fn load_expected(path: &Path) -> Result<Vec<ExpectedCell>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f: ExpectedFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for c in &f.cell {
        let known = KBS
            .iter()
            .any(|(k, cfgs)| *k == c.kb && cfgs.contains(&c.config.as_str()));
        if !known {
            return Err(format!(
                "{}: cell {} / {}: unknown KB or config",
                path.display(),
                c.kb,
                c.config
            ));
        }
        c.build
            .parse::<Build>()
            .map_err(|e| format!("{}: cell {} {}: {e}", path.display(), c.kb, c.build))?;
        if !["reproduced", "not-reproduced", "not-applicable", "rate"].contains(&c.expect.as_str())
        {
            return Err(format!(
                "{}: cell {} {}: expect = {:?} (reproduced, not-reproduced or rate)",
                path.display(),
                c.kb,
                c.build,
                c.expect
            ));
        }
    }
    Ok(f.cell)
}

/// Compute the matrix; `progress` is told each finished cell.
pub fn run(o: &Options, progress: &mut (dyn FnMut(&Cell) + Send)) -> Result<Vec<Cell>, String> {
    let expected = load_expected(&o.expected)?;
    let mut todo: Vec<(&str, Build, &str)> = Vec::new();
    for (kb, configs) in KBS {
        if o.kb.as_deref().is_some_and(|k| !k.eq_ignore_ascii_case(kb)) {
            continue;
        }
        for b in Build::ALL {
            if o.build.is_some_and(|x| x != b) {
                continue;
            }
            for c in *configs {
                todo.push((kb, b, c));
            }
        }
    }
    if todo.is_empty() {
        return Err(
            "no cells selected (--kb takes Q151626 Q182619 Q197378 Q225157 Q811406)".into(),
        );
    }
    if !o.no_libfuzzer
        && !o.fuzz_built
        && todo.iter().any(|(k, ..)| *k == "Q182619")
        && libfuzzer::available().is_ok()
    {
        // Build the fuzz targets once, before the clock of any cell starts.
        libfuzzer::build(&["driver_events"])?;
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let done = std::sync::Mutex::new(BTreeMap::new());
    let report = std::sync::Mutex::new(progress);
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    std::thread::scope(|scope| {
        for _ in 0..o.jobs.max(1) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let Some(&(kb, b, c)) = todo.get(i) else {
                        break;
                    };
                    let mut cell = std::panic::catch_unwind(|| run_cell(kb, b, c, o))
                        .unwrap_or_else(|_| Cell {
                            kb: kb.into(),
                            build: b.cli_name().into(),
                            config: c.into(),
                            outcome: Outcome::Unavailable {
                                why: "the finder panicked (a finding in the lab itself)".into(),
                            },
                            engine: None,
                            seconds: 0.0,
                            spent: 0,
                            trigger: 0,
                            detail: String::new(),
                            artifact: None,
                            replay: None,
                            expected: None,
                            agrees: false,
                            other: Vec::new(),
                            pages: None,
                        });
                    compare(&mut cell, &expected);
                    if let Ok(mut r) = report.lock() {
                        (*r)(&cell);
                    }
                    if let Ok(mut d) = done.lock() {
                        d.insert(i, cell);
                    }
                }
            });
        }
    });
    std::panic::set_hook(prev);
    let cells: Vec<Cell> = done
        .into_inner()
        .map_err(|e| e.to_string())?
        .into_values()
        .collect();
    if let Some(p) = &o.json {
        let text = serde_json::to_string_pretty(&serde_json::json!({
            "schema": 1,
            "budget_s": o.budget_s,
            "lab": finding::Provenance::current(),
            "cells": cells,
        }))
        .map_err(|e| e.to_string())?;
        let tmp = p.with_extension("json.tmp");
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, p).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(cells)
}

/// A cell's outcome in words.
pub fn outcome_text(outcome: &Outcome) -> String {
    match outcome {
        Outcome::Reproduced => "REPRODUCED".to_string(),
        Outcome::NotReproduced => "not reproduced".to_string(),
        Outcome::TriggerNotReached => "TRIGGER NOT REACHED".to_string(),
        Outcome::Rate {
            events,
            connections,
            low,
            high,
        } => {
            let p = if *connections == 0 {
                0.0
            } else {
                *events as f64 * 100.0 / *connections as f64
            };
            format!("rate {p:.1} % [{:.1}, {:.1}]", low * 100.0, high * 100.0)
        }
        Outcome::NotApplicable { .. } => "n/a".to_string(),
        Outcome::Unavailable { why } => format!("unavailable: {why}"),
    }
}

/// One table line.
pub fn line(c: &Cell) -> String {
    let outcome = outcome_text(&c.outcome);
    let engine = c
        .engine
        .map_or("-".to_string(), |e| format!("{e:?}").to_lowercase());
    format!(
        "{:<8} {:<16} {:<9} {:<28} {:<9} {:>7.1}s {:>9} {:>8}  {} {}{}",
        c.kb,
        c.build,
        c.config,
        outcome,
        engine,
        c.seconds,
        c.spent,
        c.trigger,
        if c.agrees { "ok " } else { "DISAGREES " },
        c.expected.as_deref().unwrap_or("-"),
        if c.detail.is_empty() {
            String::new()
        } else {
            format!("  [{}]", c.detail)
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn triage_reads_each_committed_findings_mechanism_and_only_its_own_kbs() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/regressions/sim");
        let q811406 = dir.join("q811406-2000sp3-short-timeout-burst-leaks-blocks.toml");
        let q197378 = dir.join("q197378-sp1-refusal-streak-after-partition.toml");
        assert!(finding_shows_mechanism("Q811406", &q811406));
        assert!(finding_shows_mechanism("Q197378", &q197378));
        // A leak or a refusal streak is not another KB's mechanism.
        assert!(!finding_shows_mechanism("Q151626", &q811406));
        assert!(!finding_shows_mechanism("Q811406", &q197378));
        assert!(!finding_shows_mechanism("Q197378", &q811406));
        // The same Q811406 world on the fixed build: no blocks left, no signature.
        let f = finding::Finding::load(&q811406).unwrap();
        let fixed = f.world(Some(Build::Ex2000Sp3Rollup)).unwrap();
        assert_eq!(run_signature("Q811406", &f.run(&fixed)), Some(None));
        // A KB without a run reader relies on its baseline substring; a missing file never passes.
        assert!(finding_shows_mechanism("Q225157", &q811406));
        assert!(!finding_shows_mechanism(
            "Q811406",
            &dir.join("no-such.toml")
        ));
    }

    #[test]
    fn the_expected_matrix_loads_and_covers_every_cell() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/kb/expected.toml");
        let cells = load_expected(&p).unwrap();
        let n: usize = KBS.iter().map(|(_, c)| c.len()).sum::<usize>() * Build::ALL.len();
        assert_eq!(cells.len(), n, "one expectation per KB × build × config");
        assert!(cells.iter().all(|c| !c.source.is_empty()));
    }

    #[test]
    fn wilson_intervals() {
        let (lo, hi) = wilson(500, 1000);
        assert!(
            lo > 0.46 && lo < 0.47 && hi > 0.53 && hi < 0.54,
            "{lo} {hi}"
        );
        assert!(wilson(0, 1000).0.abs() < 1e-12);
        assert!(wilson(0, 1000).1 < 0.004);
    }

    #[test]
    fn signatures_need_the_oracle_and_the_kb_text() {
        assert_eq!(
            q182619("fatal event 9404: A fatal MTA error has occurred. An illegal buffer request has been made. The request was for 29 headers and 29 elements. [BASE TCP/IP DRVR 8] (16)").as_deref(),
            Some("29 headers and 29 elements")
        );
        assert!(q182619("buffers outstanding at quiescence").is_none());
        assert!(q225157("fault in the session input path: x (stack )").is_none());
    }

    #[test]
    fn q151626_needs_the_cc_with_the_reserved_octet_and_the_peer_that_closed_on_it() {
        let w = World::standard(Build::Ex40, Build::Ex40, 1);
        let r = simulate::run(&w, 0, false);
        let sig = q151626(&r).expect("4.0's CC, the strict peer's close, 9225 in state 2");
        assert!(
            sig.starts_with("ALPHA: CC sent with TPKT reserved octet 0x11, F closed"),
            "{sig}"
        );
        // Remove the mechanism from the same run's evidence: the events alone are not Q151626.
        let mut no_odd_cc = r.clone();
        no_odd_cc.evidence.retain(|e| !e.contains(" sent a CC "));
        assert!(q151626(&no_odd_cc).is_none());
        let mut nobody_closed = r.clone();
        nobody_closed
            .evidence
            .retain(|e| !e.contains("closed the connection"));
        assert!(q151626(&nobody_closed).is_none());
        // A fixed build's writer clears the octet: the same world shows no such CC at all.
        let fixed = simulate::run(&World::standard(Build::Ex50, Build::Ex50, 1), 0, false);
        assert!(
            fixed.evidence.iter().all(|e| !e.contains("reserved octet")),
            "{:?}",
            fixed.evidence
        );
        assert!(q151626(&fixed).is_none());
    }

    #[test]
    fn a_cell_reproduces_q811406_on_2000_sp3_and_not_on_the_rollup() {
        let dir = std::env::temp_dir().join(format!("mta-lab-kb-{}", std::process::id()));
        let o = Options {
            budget_s: 5.0,
            seed: 1,
            kb: None,
            build: None,
            json: None,
            expected: PathBuf::new(),
            artifacts: dir.clone(),
            no_libfuzzer: true,
            fuzz_built: false,
            jobs: 1,
        };
        let hit = run_cell("Q811406", Build::Ex2000Sp3, "default", &o);
        assert_eq!(hit.outcome, Outcome::Reproduced, "{hit:?}");
        let replay = finding::Finding::load(Path::new(hit.artifact.as_deref().unwrap())).unwrap();
        let r = replay.run(&replay.world(None).unwrap());
        assert!(q811406(&r).is_some(), "the artifact replays the signature");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
