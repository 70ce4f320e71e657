//! What a night leaves behind and what later nights read: the units and their outcomes
//! (`<state>/done/*.json`), the deduplicated findings, the summary (`reports/<date>/summary.json`)
//! and the history across nights drawn from the summaries, plus the known-findings baseline
//! (`corpora/kb/known-findings.toml`) that decides what is new. Data and file formats only: the
//! nightly campaign writes them, the report draws them.

use crate::kb;
use crate::libfuzzer::Point;
use crate::smoke::target_by_name;
use mta_build::Build;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Schema of plan, unit and summary files.
pub const SCHEMA: u32 = 1;

/// One piece of the night's work.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Unit {
    /// The KB matrix rows of one KB.
    Kb {
        /// KB id.
        kb: String,
    },
    /// libFuzzer on one target and build.
    Fuzz {
        /// Target.
        target: String,
        /// Build.
        build: String,
        /// Seconds.
        seconds: u64,
    },
    /// A seed sweep of a world with faults.
    Sweep {
        /// World.
        world: String,
        /// Build of every Exchange machine.
        build: String,
        /// Seconds.
        seconds: f64,
    },
}

impl Unit {
    /// A file-name-safe id.
    pub fn id(&self) -> String {
        match self {
            Unit::Kb { kb } => format!("kb-{kb}"),
            Unit::Fuzz { target, build, .. } => format!("fuzz-{target}@{build}"),
            Unit::Sweep { world, build, .. } => format!("sweep-{world}@{build}"),
        }
    }
}

/// A fuzz unit's outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct FuzzOutcome {
    /// libFuzzer runs (it stops at a crash; the unit restarts it up to [`MAX_RESTARTS`] times).
    pub runs: u32,
    /// Executions.
    pub execs: u64,
    /// Average exec/s.
    pub exec_s: u64,
    /// Final coverage.
    pub cov: u64,
    /// Corpus files before the unit, after fuzzing, after minimisation.
    pub corpus: (usize, usize, usize),
    /// Coverage over executions.
    pub series: Vec<Point>,
    /// Crash inputs written.
    pub crashes: Vec<String>,
    /// Reachability goals the target printed (`GOAL <name>`), in the order first reached.
    #[serde(default)]
    pub goals: Vec<String>,
    /// Protocol-state transitions the target printed (`STATE …`), in the order first taken, with
    /// the executions before (across the unit's restarts).
    #[serde(default)]
    pub states: Vec<(String, u64)>,
}

/// libFuzzer restarts after crashes within one unit.
pub const MAX_RESTARTS: u32 = 5;

/// A sweep unit's outcome.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SweepOutcome {
    /// First seed.
    pub first_seed: u64,
    /// Seeds run.
    pub seeds: u64,
    /// Finding files written.
    pub findings: Vec<String>,
    /// Reachability goals any seed reached, in catalogue order.
    #[serde(default)]
    pub goals: Vec<String>,
    /// Distinct protocol-state transitions the seeds took.
    #[serde(default)]
    pub states: usize,
}

/// A finished unit (`<night>/done/<id>.json`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitResult {
    /// Schema.
    pub schema: u32,
    /// The unit.
    pub unit: Unit,
    /// Wall seconds.
    pub seconds: f64,
    /// KB cells (KB units).
    pub cells: Vec<kb::Cell>,
    /// Fuzz outcome.
    pub fuzz: Option<FuzzOutcome>,
    /// Sweep outcome.
    pub sweep: Option<SweepOutcome>,
    /// Why the unit could not run.
    pub error: Option<String>,
}

/// `corpora/kb/known-findings.toml`: the findings expected on faulty builds.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Known {
    /// KB that explains it.
    pub kb: String,
    /// Fuzz target (or `world`).
    pub target: Option<String>,
    /// World of a sweep finding.
    pub world: Option<String>,
    /// Substring of the signature.
    pub signature: String,
    /// Builds where it is expected.
    pub builds: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KnownFile {
    known: Vec<Known>,
}

/// Load and check the baseline.
pub fn load_baseline(path: &Path) -> Result<Vec<Known>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let f: KnownFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    for k in &f.known {
        if k.target.is_some() == k.world.is_some() {
            return Err(format!(
                "{}: entry for {} needs exactly one of target, world",
                path.display(),
                k.kb
            ));
        }
        if let Some(t) = &k.target {
            target_by_name(t).map_err(|e| format!("{}: {e}", path.display()))?;
        }
        for b in &k.builds {
            b.parse::<Build>()
                .map_err(|e| format!("{}: {e}", path.display()))?;
        }
    }
    Ok(f.known)
}

/// A deduplicated finding of the night.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Triaged {
    /// `fuzz` or `sweep`.
    pub kind: String,
    /// Target or world.
    pub subject: String,
    /// Signature (numbers made N, event ids kept).
    pub signature: String,
    /// Builds whose units found it.
    pub found_on: Vec<String>,
    /// Builds where the representative input fires (linear scan of the catalogue).
    pub fires_on: Vec<String>,
    /// Occurrences.
    pub count: usize,
    /// Representative input / finding file.
    pub input: String,
    /// Minimised input / shrunk finding, when made.
    pub minimized: Option<String>,
    /// The KB that explains it, or none (new).
    pub known: Option<String>,
    /// Regression file written for a new finding.
    pub regression: Option<String>,
    /// Replay command.
    pub replay: String,
    /// Sequence chart and viewer pages (relative to the report), for simulation findings.
    #[serde(default)]
    pub pages: Option<(String, String)>,
}

/// What the mutation phase did tonight and every crate's pass so far.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct MutationSummary {
    /// Why the phase could not run (cargo-mutants missing, a bad exclusion file).
    pub unavailable: Option<String>,
    /// Tonight's shards.
    pub tonight: Vec<crate::mutants::ShardOutcome>,
    /// Per crate, its pass over the newest shard count.
    pub passes: Vec<crate::mutants::Pass>,
    /// Exclusions in `.cargo/mutants.toml`.
    pub exclusions: usize,
    /// Shard errors.
    pub errors: Vec<String>,
}

/// Where a finding stands tonight.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum Standing {
    /// First seen tonight.
    New,
    /// Seen tonight and on an earlier night.
    StillReproducing,
    /// Not seen since `since`, the first night after its last sighting that ran one of its units
    /// (same kind, target or world, and a build it was found on) and did not see it.
    Gone {
        /// The first night it did not reproduce.
        since: String,
    },
    /// Not seen since its last night, and no later night ran any of its units.
    NotLookedFor,
}

/// One finding's life across nights.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Life {
    /// `fuzz` or `sweep`.
    pub kind: String,
    /// Target or world.
    pub subject: String,
    /// Signature.
    pub signature: String,
    /// The KB that explains it on its last night (none: new).
    pub known: Option<String>,
    /// First night seen.
    pub first: String,
    /// Last night seen.
    pub last: String,
    /// Nights seen.
    pub nights: usize,
    /// Tonight's standing.
    pub standing: Standing,
}

impl Life {
    /// The standing in words, as the report shows it.
    pub fn standing_text(&self) -> String {
        match &self.standing {
            Standing::New => "new tonight".into(),
            Standing::StillReproducing => format!("still reproducing (since {})", self.first),
            Standing::Gone { since } => format!("gone since {since}"),
            Standing::NotLookedFor => format!("not looked for since {}", self.last),
        }
    }
}

/// The night's JSON summary (`summary.json`).
#[derive(Debug, Serialize, Deserialize)]
pub struct Summary {
    /// Schema.
    pub schema: u32,
    /// Night.
    pub date: String,
    /// Green: nothing new, the KB matrix as expected, every unit ran.
    pub green: bool,
    /// Why not green.
    pub reasons: Vec<String>,
    /// Budget (s).
    pub budget_s: f64,
    /// Wall seconds of all units.
    pub unit_seconds: f64,
    /// KB matrix.
    pub cells: Vec<kb::Cell>,
    /// Findings.
    pub findings: Vec<Triaged>,
    /// Per unit: id, seconds, execs, exec/s, coverage, corpus after minimisation, seeds.
    pub units: Vec<UnitRow>,
    /// Units left out for lack of budget.
    pub skipped: Vec<String>,
    /// The source-coverage phase (absent when skipped, and in summaries older than the phase).
    #[serde(default)]
    pub source_coverage: Option<crate::coverage::Summary>,
    /// Reachability goals reached tonight: per goal, the units that reached it.
    #[serde(default)]
    pub goals: BTreeMap<String, Vec<String>>,
    /// The mutation phase (absent when skipped, and in summaries older than the phase).
    #[serde(default)]
    pub mutation: Option<MutationSummary>,
    /// The lab's commit, model version and compiler that ran the night (absent in older
    /// summaries).
    #[serde(default)]
    pub lab: Option<mta_lab_world::finding::Provenance>,
    /// Every finding seen on any night up to this one, with where it stands tonight (empty in
    /// older summaries).
    #[serde(default)]
    pub lifecycle: Vec<Life>,
}

/// A unit's row in the summary.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnitRow {
    /// Unit id.
    pub id: String,
    /// Seconds.
    pub seconds: f64,
    /// Executions (fuzz) or seeds (sweep).
    pub work: u64,
    /// exec/s or seeds/s.
    pub rate: f64,
    /// Coverage (fuzz).
    pub cov: u64,
    /// Distinct protocol-state transitions taken (fuzz and sweep).
    #[serde(default)]
    pub states: usize,
    /// Corpus size after minimisation (fuzz).
    pub corpus: usize,
    /// Error.
    pub error: Option<String>,
}

/// Nights, oldest first: (date, per fuzz target (corpus files, coverage)).
pub type History = Vec<(String, BTreeMap<String, (usize, u64)>)>;

/// Nights with a source-coverage phase, oldest first: (date, per crate line coverage in %).
pub type CoverageHistory = Vec<(String, BTreeMap<String, f64>)>;

/// Earlier nights' (and this night's) per-crate line coverage under the reports root.
pub fn coverage_history(reports: &Path) -> CoverageHistory {
    nights(reports)
        .into_iter()
        .filter_map(|s| {
            let c = s.source_coverage?;
            (c.unavailable.is_none()).then(|| {
                let per = c
                    .crates
                    .iter()
                    .map(|(k, n)| (k.clone(), n.lines.percent()))
                    .collect();
                (s.date, per)
            })
        })
        .collect()
}

/// Every night's reached goals under the reports root, oldest first (this night's included once
/// its summary is written).
pub fn goal_history(reports: &Path) -> Vec<(String, BTreeMap<String, Vec<String>>)> {
    nights(reports)
        .into_iter()
        .map(|s| (s.date, s.goals))
        .collect()
}

/// Every night's summary under the reports root, oldest first (unreadable ones left out).
pub fn nights(reports: &Path) -> Vec<Summary> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(reports)
        .map(|r| r.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    dirs.sort();
    dirs.iter()
        .filter_map(|d| std::fs::read_to_string(d.join("summary.json")).ok())
        .filter_map(|text| serde_json::from_str::<Summary>(&text).ok())
        .collect()
}

/// Earlier nights' summaries under the reports root, oldest first: (date, per target corpus, cov).
pub fn history(reports: &Path) -> History {
    nights(reports)
        .into_iter()
        .map(|s| {
            let mut per: BTreeMap<String, (usize, u64)> = BTreeMap::new();
            for u in s.units.iter().filter(|u| u.id.starts_with("fuzz-")) {
                let target = u.id["fuzz-".len()..]
                    .split('@')
                    .next()
                    .unwrap_or("")
                    .to_string();
                let e = per.entry(target).or_default();
                e.0 += u.corpus;
                e.1 = e.1.max(u.cov);
            }
            (s.date, per)
        })
        .collect()
}
