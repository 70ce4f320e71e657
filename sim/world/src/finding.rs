//! Simulation findings: a failing run as a schema-versioned TOML file with everything needed to
//! replay it bit-identically on the same model version — world, builds per machine, seed, fault
//! plan, timer profile — plus its signature (to deduplicate, and for regression tests that must
//! survive model changes) and its trace hash (for bit-identical replay).

use crate::simulate::RunReport;
use crate::world::World;
use mta_build::Build;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Current schema.
pub const SCHEMA: u32 = 1;

/// The model version a finding records and a replay compares: this crate's version (the
/// workspace's), bumped when a change alters the runs' traces.
pub const MODEL_VERSION: &str = env!("CARGO_PKG_VERSION");

/// The lab's git commit this binary was built from (`git rev-parse HEAD` at build time, "unknown"
/// outside a git checkout). Metadata only: never part of a trace hash or a determinism check.
pub const LAB_COMMIT: &str = env!("MTA_LAB_COMMIT");

/// The compiler this binary was built with (`rustc --version` at build time). Metadata only.
pub const RUSTC_VERSION: &str = env!("MTA_LAB_RUSTC");

/// What a finding or a report records about the binary that made it, and what a replay compares
/// with the running binary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// The lab's git commit.
    pub lab_commit: String,
    /// Model version.
    pub model_version: String,
    /// `rustc --version`.
    pub rustc_version: String,
}

impl Provenance {
    /// The running binary's.
    pub fn current() -> Self {
        Provenance {
            lab_commit: LAB_COMMIT.into(),
            model_version: MODEL_VERSION.into(),
            rustc_version: RUSTC_VERSION.into(),
        }
    }

    /// One line: commit (12 digits), model and compiler.
    pub fn line(&self) -> String {
        format!(
            "lab commit {}, model {}, {}",
            short(&self.lab_commit),
            self.model_version,
            self.rustc_version
        )
    }
}

/// A commit hash cut to 12 digits (other text unchanged).
pub fn short(commit: &str) -> &str {
    if commit.len() == 40 && commit.bytes().all(|b| b.is_ascii_hexdigit()) {
        &commit[..12]
    } else {
        commit
    }
}

/// A finding file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Finding {
    /// Schema version.
    pub schema: u32,
    /// Model version (the lab's crate version).
    pub model_version: String,
    /// World name.
    pub world: String,
    /// Build per machine.
    pub builds: BTreeMap<String, String>,
    /// Messages per flow.
    pub messages: usize,
    /// Seed.
    pub seed: u64,
    /// Whether the seed's fault plan was applied.
    pub faults: bool,
    /// The fault plan as printed.
    pub fault_plan: String,
    /// The fault plan itself (replays use it; a shrunk finding differs from its seed's plan).
    #[serde(default)]
    pub plan: Option<crate::faults::FaultPlan>,
    /// Whether `mta-lab shrink` reduced this finding's plan or workload.
    #[serde(default)]
    pub shrunk: bool,
    /// The world and timer profile as printed.
    pub world_description: String,
    /// The world file's text, when the world came from a file (built-in worlds are rebuilt by
    /// name).
    #[serde(default)]
    pub world_file: Option<String>,
    /// Signature: the oracle that fired, numbers removed (what deduplicates and what regression
    /// tests assert).
    pub signature: String,
    /// Every finding line of the run.
    pub findings: Vec<String>,
    /// Trace hash (hex): replay on the same model version must reproduce it exactly.
    pub trace_hash: String,
    /// The lab's git commit that recorded it (absent in findings older than this field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lab_commit: Option<String>,
    /// `rustc --version` of the binary that recorded it (absent in older findings).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rustc_version: Option<String>,
}

/// A message with every run of digits replaced by `N`, except event ids (digits after "event "):
/// counts, offsets and handles vary between occurrences of one defect, event ids do not.
pub fn numbers_out(text: &str) -> String {
    let mut line = String::new();
    let mut keep = false;
    for c in text.chars() {
        if !c.is_ascii_digit() {
            keep = false;
            line.push(c);
        } else if keep || line.ends_with("event ") {
            keep = true;
            line.push(c);
        } else if !line.ends_with('N') {
            line.push('N');
        }
    }
    line
}

/// A finding's signature (what deduplicates and what regression tests assert): its first oracle
/// line with numbers made `N` ([`numbers_out`]), then the Error events (id and component) of the machine that
/// line names — of every machine when it names none.
pub fn signature(r: &RunReport) -> String {
    let Some(first) = r.findings.first() else {
        return String::new();
    };
    let line = numbers_out(first);
    let named = first.split_once(": ").map(|(m, _)| m);
    let events: Vec<String> = r
        .alerts
        .iter()
        .filter(|(m, _)| named.is_none_or(|n| !r.alerts.contains_key(n) || n == m.as_str()))
        .flat_map(|(m, set)| set.iter().map(move |(id, c)| format!("{m} {id} {c}")))
        .collect();
    if events.is_empty() {
        line
    } else {
        format!("{line} | events: {}", events.join(", "))
    }
}

impl Finding {
    /// The finding of a failed run.
    pub fn from_run(world: &World, messages: usize, faults: bool, r: &RunReport) -> Self {
        Finding {
            schema: SCHEMA,
            model_version: MODEL_VERSION.to_string(),
            world: world.name.clone(),
            builds: world
                .machines
                .iter()
                .map(|m| (m.name.clone(), m.build_name().to_string()))
                .collect(),
            messages,
            seed: r.seed,
            faults,
            fault_plan: r.plan.to_string(),
            plan: Some(r.plan.clone()),
            shrunk: false,
            world_description: world.describe(),
            world_file: world.file.clone(),
            signature: signature(r),
            findings: r.findings.clone(),
            trace_hash: format!("{:016x}", r.trace_hash),
            lab_commit: Some(LAB_COMMIT.to_string()),
            rustc_version: Some(RUSTC_VERSION.to_string()),
        }
    }

    /// How the binary that recorded this finding differs from the running one: one line per
    /// field that differs or was not recorded (empty when commit, model and compiler match).
    /// The model-version note is the replay's own (the trace is only held to on the same model).
    pub fn provenance_warnings(&self) -> Vec<String> {
        let now = Provenance::current();
        let mut w = Vec::new();
        let mut check = |what: &str, recorded: Option<&str>, running: &str| match recorded {
            None => w.push(format!(
                "warning: {what} unknown (the finding predates that field), replaying on {running}"
            )),
            Some(r) if r != running => {
                w.push(format!(
                    "warning: recorded on {what} {r}, replaying on {running}"
                ));
            }
            Some(_) => {}
        };
        check("lab commit", self.lab_commit.as_deref(), &now.lab_commit);
        check(
            "compiler",
            self.rustc_version.as_deref(),
            &now.rustc_version,
        );
        w
    }

    /// Read and validate a finding file.
    pub fn load(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        Finding::parse(path, &text)
    }

    /// Parse and validate a finding file's text read from `path` (which errors name): its world
    /// builds (world file, a build for every Exchange machine), its workload is within a world
    /// file's bounds and its fault plan names machines of that world with sizes a run can take.
    pub fn parse(path: &Path, text: &str) -> Result<Self, String> {
        let f: Finding =
            crate::input::parse_toml(path, text, "a finding", SCHEMA, |f: &Finding| f.schema)?;
        let at = |e: String| format!("{}: {e}", path.display());
        if f.messages > crate::world::MAX_FLOW_MESSAGES {
            return Err(at(format!(
                "messages: {} exceeds {}",
                f.messages,
                crate::world::MAX_FLOW_MESSAGES
            )));
        }
        let w = f.world(None).map_err(at)?;
        if let Some(plan) = &f.plan {
            plan.check(&w).map_err(|e| at(format!("plan: {e}")))?;
        }
        Ok(f)
    }

    /// Write atomically into `dir` (temp file + rename); returns the path.
    pub fn save(&self, dir: &Path) -> Result<PathBuf, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let builds: Vec<&str> = self.builds.values().map(String::as_str).collect();
        let name = format!(
            "{}-{}-seed{}{}.toml",
            self.world,
            builds.join("+"),
            self.seed,
            if self.shrunk { "-shrunk" } else { "" }
        );
        let path = dir.join(name);
        let tmp = path.with_extension("toml.tmp");
        let text = toml::to_string(self).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &path).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }

    /// Shrink: drop faults, then halve the workload, while the same signature still fires.
    /// Returns the reduced finding and the steps taken.
    pub fn shrink(&self) -> Result<(Finding, Vec<String>), String> {
        let mut plan = match &self.plan {
            Some(p) => p.clone(),
            None if self.faults => {
                crate::faults::FaultPlan::from_seed(self.seed, &self.world(None)?)
            }
            None => crate::faults::FaultPlan::none(),
        };
        let mut messages = self.messages;
        let mut steps = Vec::new();
        let fires = |plan: &crate::faults::FaultPlan,
                     messages: usize|
         -> Result<Option<RunReport>, String> {
            let r = crate::simulate::run_plan(
                &self.world_with(None, messages)?,
                self.seed,
                plan.clone(),
            );
            Ok((signature(&r) == self.signature).then_some(r))
        };
        let mut last =
            fires(&plan, messages)?.ok_or("the finding does not reproduce; nothing to shrink")?;
        let mut i = 0;
        while i < plan.faults.len() {
            let mut p = plan.clone();
            let (t, f) = p.faults.remove(i);
            if let Some(r) = fires(&p, messages)? {
                steps.push(format!("dropped fault [{t} ms: {f}]"));
                plan = p;
                last = r;
            } else {
                i += 1;
            }
        }
        while messages > 1 {
            let m = messages / 2;
            match fires(&plan, m)? {
                Some(r) => {
                    steps.push(format!("messages per flow {messages} -> {m}"));
                    messages = m;
                    last = r;
                }
                None => break,
            }
        }
        let world = self.world_with(None, messages)?;
        let mut f = Finding::from_run(&world, messages, !plan.faults.is_empty(), &last);
        f.plan = Some(plan);
        f.shrunk = true;
        Ok((f, steps))
    }

    /// Replay: the recorded plan if there is one, else the seed's.
    pub fn run(&self, world: &World) -> RunReport {
        crate::simulate::run_plan(world, self.seed, self.fault_plan(world))
    }

    /// The fault plan this finding ran with.
    pub fn fault_plan(&self, world: &World) -> crate::faults::FaultPlan {
        match &self.plan {
            Some(p) => p.clone(),
            None if self.faults => crate::faults::FaultPlan::from_seed(self.seed, world),
            None => crate::faults::FaultPlan::none(),
        }
    }

    /// Replay recording the `--trace` records (schema 2).
    pub fn trace(&self, world: &World) -> (RunReport, Vec<String>) {
        let (r, rec) = crate::simulate::run_with(
            world,
            self.seed,
            self.fault_plan(world),
            crate::simulate::Record {
                pcap: false,
                trace: true,
                until: None,
                every_tick: false,
            },
        );
        (r, rec.trace)
    }

    /// The world this finding ran, with `build` replacing every machine's build if given.
    pub fn world(&self, build: Option<Build>) -> Result<World, String> {
        self.world_with(build, self.messages)
    }

    /// The world with another workload size (flows of built-in worlds are rebuilt for it; a
    /// world file's flows are capped at it).
    pub fn world_with(&self, build: Option<Build>, messages: usize) -> Result<World, String> {
        let base = Build::Ex2000Sp3Rollup;
        let mut w = match (self.world.as_str(), &self.world_file) {
            (_, Some(text)) => {
                let mut w = World::from_toml(text).map_err(|e| format!("world_file: {e}"))?;
                for f in &mut w.flows {
                    f.count = f.count.min(messages);
                }
                w
            }
            (name, None) => World::builtin(name, base, messages)
                .ok_or_else(|| format!("world: unknown built-in world {name:?}"))?,
        };
        for m in w.machines.iter_mut().filter(|m| m.foreign.is_none()) {
            m.build = match build {
                Some(b) => b,
                None => self
                    .builds
                    .get(&m.name)
                    .ok_or_else(|| format!("builds: no build for machine {}", m.name))?
                    .parse()
                    .map_err(|e| format!("builds: {}: {e}", m.name))?,
            };
        }
        Ok(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `corpora/regressions/sim/*.toml`: each finding's signature still fires on its recorded
    /// builds (asserting the signature, not the trace hash, so model changes do not break it) and
    /// the same seed is clean with every machine on 2000 SP3 + rollup.
    #[test]
    fn regression_findings_reproduce_and_fixed_builds_are_clean() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/regressions/sim");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_none_or(|x| x != "toml") {
                continue;
            }
            let f = Finding::load(&p).unwrap();
            let r = f.run(&f.world(None).unwrap());
            assert_eq!(signature(&r), f.signature, "{}", p.display());
            let fixed = f.run(&f.world(Some(Build::Ex2000Sp3Rollup)).unwrap());
            assert!(
                fixed.findings.is_empty(),
                "{}: {:?}",
                p.display(),
                fixed.findings
            );
            n += 1;
        }
        assert!(n >= 1);
    }

    #[test]
    fn shrinking_keeps_the_signature_and_replays_bit_identically() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/regressions/sim");
        let f =
            Finding::load(&dir.join("q197378-sp1-refusal-streak-after-partition.toml")).unwrap();
        let (small, steps) = f.shrink().unwrap();
        assert!(!steps.is_empty() && small.messages < f.messages && small.shrunk);
        assert_eq!(small.signature, f.signature);
        let r = small.run(&small.world(None).unwrap());
        assert_eq!(format!("{:016x}", r.trace_hash), small.trace_hash);
    }

    #[test]
    fn bad_finding_files_are_clear_errors() {
        let dir = std::env::temp_dir().join(format!("mta-lab-finding-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("bad.toml");
        std::fs::write(&p, "schema = 99\n").unwrap();
        assert!(Finding::load(&p).unwrap_err().contains("not a finding"));
        std::fs::write(&p, "not toml [").unwrap();
        assert!(Finding::load(&p).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
