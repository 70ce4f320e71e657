//! Mutation score of the lab's own oracles (`mta-lab mutants` and the nightly's mutation phase):
//! cargo-mutants plants small bugs in one model crate (`--package C`) and runs that crate's tests
//! and the harness's (`--test-package C,mta-harness`: the properties and canaries live there); a
//! mutant no test notices is a gap in the oracles. Exclusions live only in `.cargo/mutants.toml`,
//! each with a reason, and are counted here. The nightly runs one rotating shard per crate
//! (`--shard k/n`, k = night number mod n) and keeps each shard's outcome under
//! `<state>/mutants/<crate>/`; once every shard of a crate has an outcome, that is a complete pass,
//! shown with its commits and date.
//!
//! It runs cargo-mutants as a child process and reads its `outcomes.json`; it never touches the
//! models.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates the nightly mutates, most important first (the issue's order).
pub const CRATES: &[&str] = &["mta-bufmgr", "mta-lpi", "mta-ber", "mta-osi", "mta-mta"];

/// `mta-lab mutants` options.
#[derive(clap::Args)]
pub struct Args {
    /// The crate to mutate (a workspace package name).
    #[arg(long = "crate", default_value = "mta-bufmgr")]
    pub krate: String,
    /// Only shard k of n (`k/n`, k from 0).
    #[arg(long)]
    pub shard: Option<String>,
    /// Keep cargo-mutants' output and this shard's outcome under this directory.
    #[arg(long, default_value = "target/mta-lab/mutants")]
    pub out: PathBuf,
    /// Only list the mutants (cargo mutants --list), with the exclusions applied.
    #[arg(long)]
    pub list: bool,
}

/// One shard's outcome (`<dir>/<crate>/shard-<k>-of-<n>.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardOutcome {
    /// The mutated crate.
    pub krate: String,
    /// Shard k (from 0) of n.
    pub shard: (u32, u32),
    /// `git rev-parse --short HEAD` of the tree mutated.
    pub commit: String,
    /// The night (or the day of a manual run).
    pub date: String,
    /// What the shard's mutants did.
    #[serde(flatten)]
    pub counts: Counts,
}

/// What a shard's or a pass's mutants did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    /// Mutants the tests caught.
    pub caught: u32,
    /// Mutants no test noticed.
    pub missed: u32,
    /// Mutants whose tests ran past the timeout (counted as caught: the hang was noticed).
    pub timeout: u32,
    /// Mutants that did not build.
    pub unviable: u32,
    /// Wall seconds (each shard's baseline included).
    pub seconds: f64,
    /// The missed mutants' names (`file:line:col: replace … with …`).
    pub missed_names: Vec<String>,
}

impl Counts {
    /// Add another shard's counts.
    pub fn add(&mut self, o: &Counts) {
        self.caught += o.caught;
        self.missed += o.missed;
        self.timeout += o.timeout;
        self.unviable += o.unviable;
        self.seconds += o.seconds;
        self.missed_names.extend(o.missed_names.iter().cloned());
    }

    /// Caught (timeouts included) over viable mutants, in %.
    pub fn score(&self) -> f64 {
        let viable = self.caught + self.missed + self.timeout;
        if viable == 0 {
            0.0
        } else {
            f64::from(self.caught + self.timeout) * 100.0 / f64::from(viable)
        }
    }

    /// Seconds per mutant (viable and unviable).
    pub fn seconds_per_mutant(&self) -> f64 {
        self.seconds / f64::from((self.caught + self.missed + self.timeout + self.unviable).max(1))
    }
}

/// The parts of cargo-mutants' `outcomes.json` this reads.
#[derive(Debug, Deserialize)]
struct OutcomesFile {
    caught: u32,
    missed: u32,
    timeout: u32,
    unviable: u32,
    #[serde(default)]
    outcomes: Vec<Outcome>,
}

#[derive(Debug, Deserialize)]
struct Outcome {
    scenario: serde_json::Value,
    summary: String,
}

/// Read a cargo-mutants `outcomes.json` into a shard outcome.
pub fn parse_outcomes(
    text: &str,
    krate: &str,
    shard: (u32, u32),
    commit: &str,
    date: &str,
    seconds: f64,
) -> Result<ShardOutcome, String> {
    let o: OutcomesFile = serde_json::from_str(text).map_err(|e| format!("outcomes.json: {e}"))?;
    let missed_names = o
        .outcomes
        .iter()
        .filter(|x| x.summary == "MissedMutant")
        .filter_map(|x| {
            x.scenario
                .pointer("/Mutant/name")?
                .as_str()
                .map(str::to_string)
        })
        .collect();
    Ok(ShardOutcome {
        krate: krate.to_string(),
        shard,
        commit: commit.to_string(),
        date: date.to_string(),
        counts: Counts {
            caught: o.caught,
            missed: o.missed,
            timeout: o.timeout,
            unviable: o.unviable,
            seconds,
            missed_names,
        },
    })
}

/// Parse `k/n` (k < n).
pub fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let bad = || format!("--shard {s:?}: expected k/n with 0 <= k < n");
    let (k, n) = s.split_once('/').ok_or_else(bad)?;
    let (k, n): (u32, u32) = (k.parse().map_err(|_| bad())?, n.parse().map_err(|_| bad())?);
    if k < n { Ok((k, n)) } else { Err(bad()) }
}

/// The exclusions of `.cargo/mutants.toml`: (regex, reason) — the reason is the comment line(s)
/// just above each `exclude_re` entry. An entry without a reason is an error.
pub fn exclusions(root: &Path) -> Result<Vec<(String, String)>, String> {
    let path = root.join(".cargo/mutants.toml");
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let parsed: toml::Value = text
        .parse()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let entries: Vec<String> = parsed
        .get("exclude_re")
        .and_then(toml::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    let mut reason = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(c) = line.strip_prefix('#') {
            if !reason.is_empty() {
                reason.push(' ');
            }
            reason.push_str(c.trim());
        } else if let Some(re) = entries.iter().find(|e| line.starts_with(&format!("{e:?}"))) {
            if reason.is_empty() {
                return Err(format!(
                    "{}: exclusion {re:?} has no reason",
                    path.display()
                ));
            }
            out.push((re.clone(), std::mem::take(&mut reason)));
        } else if !line.is_empty() && !line.starts_with("exclude_re") && line != "]" {
            reason.clear();
        }
    }
    if out.len() != entries.len() {
        return Err(format!(
            "{}: {} exclusions, {} with a reason comment above them",
            path.display(),
            entries.len(),
            out.len()
        ));
    }
    Ok(out)
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn git_commit(root: &Path) -> String {
    Command::new("git")
        .current_dir(root)
        .args(["rev-parse", "--short", "HEAD"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map_or_else(
            || "unknown".to_string(),
            |o| String::from_utf8_lossy(&o.stdout).trim().to_string(),
        )
}

/// Whether `cargo mutants` runs here; the reason when not.
pub fn available() -> Result<(), String> {
    match Command::new("cargo")
        .args(["mutants", "--version"])
        .output()
    {
        Ok(o) if o.status.success() => Ok(()),
        _ => Err("cargo-mutants is not installed (cargo install cargo-mutants --locked)".into()),
    }
}

/// Run one shard of `krate` and keep its outcome under `dir/<crate>/`.
#[allow(clippy::disallowed_types)] // wall clock: the time per mutant is what is reported
pub fn run_shard(
    krate: &str,
    shard: (u32, u32),
    date: &str,
    dir: &Path,
) -> Result<ShardOutcome, String> {
    available()?;
    let root = workspace_root();
    let out = dir
        .join(krate)
        .join(format!("shard-{}-of-{}.out", shard.0, shard.1));
    std::fs::create_dir_all(&out).map_err(|e| format!("{}: {e}", out.display()))?;
    // The commit cargo-mutants copies now (HEAD may move while it runs).
    let commit = git_commit(&root);
    let started = std::time::Instant::now();
    let status = Command::new("cargo")
        .current_dir(&root)
        .args(["mutants", "--package", krate, "--test-package"])
        .arg(format!("{krate},mta-harness"))
        .arg("--shard")
        .arg(format!("{}/{}", shard.0, shard.1))
        .arg("--output")
        .arg(&out)
        .args(["--no-shuffle", "--colors", "never"])
        .status()
        .map_err(|e| format!("cargo mutants: {e}"))?;
    // Exit 2 = some mutants missed, 3 = some timed out: results, not failures.
    if !matches!(status.code(), Some(0 | 2 | 3)) {
        return Err(format!("cargo mutants on {krate} failed ({status})"));
    }
    let outcomes = out.join("mutants.out/outcomes.json");
    let text =
        std::fs::read_to_string(&outcomes).map_err(|e| format!("{}: {e}", outcomes.display()))?;
    let s = parse_outcomes(
        &text,
        krate,
        shard,
        &commit,
        date,
        started.elapsed().as_secs_f64(),
    )?;
    let file = dir
        .join(krate)
        .join(format!("shard-{}-of-{}.json", shard.0, shard.1));
    let json = serde_json::to_string_pretty(&s).map_err(|e| e.to_string())?;
    std::fs::write(&file, json).map_err(|e| format!("{}: {e}", file.display()))?;
    Ok(s)
}

/// One crate's last complete pass (every shard of the newest shard count has an outcome).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pass {
    /// The crate.
    pub krate: String,
    /// Shards in the pass.
    pub shards: u32,
    /// Shards with an outcome (equal to `shards` when complete).
    pub done: u32,
    /// Commits the shards ran on, in shard order without repeats.
    pub commits: Vec<String>,
    /// The newest shard's date.
    pub date: String,
    /// Totals over the shards.
    #[serde(flatten)]
    pub counts: Counts,
}

impl Pass {
    /// Whether every shard has an outcome.
    pub fn complete(&self) -> bool {
        self.done == self.shards
    }
}

/// Per crate under `dir`, its pass over the newest shard count (complete or in progress).
pub fn passes(dir: &Path) -> Vec<Pass> {
    let mut out = Vec::new();
    for krate in CRATES {
        let mut shards: BTreeMap<u32, Vec<ShardOutcome>> = BTreeMap::new();
        let files = std::fs::read_dir(dir.join(krate))
            .map(|r| {
                r.filter_map(|e| e.ok().map(|e| e.path()))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        for f in files
            .iter()
            .filter(|f| f.extension().is_some_and(|x| x == "json"))
        {
            if let Some(s) = std::fs::read_to_string(f)
                .ok()
                .and_then(|t| serde_json::from_str::<ShardOutcome>(&t).ok())
            {
                shards.entry(s.shard.1).or_default().push(s);
            }
        }
        let Some((&n, list)) = shards.iter_mut().next_back() else {
            continue;
        };
        list.sort_by_key(|s| s.shard.0);
        let mut p = Pass {
            krate: (*krate).to_string(),
            shards: n,
            done: list.len() as u32,
            commits: Vec::new(),
            date: list
                .iter()
                .map(|s| s.date.clone())
                .max()
                .unwrap_or_default(),
            counts: Counts::default(),
        };
        for s in list.iter() {
            if !p.commits.contains(&s.commit) {
                p.commits.push(s.commit.clone());
            }
            p.counts.add(&s.counts);
        }
        out.push(p);
    }
    out
}

/// The passes as text.
pub fn text(passes: &[Pass], exclusions: usize) -> String {
    use std::fmt::Write as _;
    let mut t = format!("mutation score (exclusions in .cargo/mutants.toml: {exclusions})\n");
    for p in passes {
        let _ = writeln!(
            t,
            "{:<12} {:>5.1}%  caught {} missed {} timeout {} unviable {}  {:.0} s/mutant  {} of {} shards  commit {}  {}",
            p.krate,
            p.counts.score(),
            p.counts.caught,
            p.counts.missed,
            p.counts.timeout,
            p.counts.unviable,
            p.counts.seconds_per_mutant(),
            p.done,
            p.shards,
            p.commits.join(","),
            p.date
        );
    }
    t
}

/// `mta-lab mutants`.
pub fn cli(a: &Args) -> Result<std::process::ExitCode, String> {
    let root = workspace_root();
    let excl = exclusions(&root)?;
    if !CRATES.contains(&a.krate.as_str()) {
        return Err(format!("--crate {}: one of {}", a.krate, CRATES.join(", ")));
    }
    if a.list {
        available()?;
        let st = Command::new("cargo")
            .current_dir(&root)
            .args(["mutants", "--list", "--package", &a.krate])
            .status()
            .map_err(|e| format!("cargo mutants: {e}"))?;
        return Ok(if st.success() {
            std::process::ExitCode::SUCCESS
        } else {
            std::process::ExitCode::FAILURE
        });
    }
    let shard = a.shard.as_deref().map_or(Ok((0, 1)), parse_shard)?;
    let s = run_shard(&a.krate, shard, &crate::date::today(), &a.out)?;
    println!(
        "{} shard {}/{}: caught {} missed {} timeout {} unviable {} in {:.0} s",
        s.krate,
        s.shard.0,
        s.shard.1,
        s.counts.caught,
        s.counts.missed,
        s.counts.timeout,
        s.counts.unviable,
        s.counts.seconds
    );
    for m in &s.counts.missed_names {
        println!("  MISSED {m}");
    }
    print!("{}", text(&passes(&a.out), excl.len()));
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OUTCOMES: &str = r#"{
      "total_mutants": 4, "missed": 1, "caught": 2, "timeout": 0, "unviable": 1, "success": 0,
      "cargo_mutants_version": "27.0.0",
      "outcomes": [
        {"scenario": "Baseline", "summary": "Success"},
        {"scenario": {"Mutant": {"name": "models/bufmgr/src/pool.rs:418:9: replace == with != in BufferManager::request", "package": "mta-bufmgr"}}, "summary": "CaughtMutant"},
        {"scenario": {"Mutant": {"name": "models/bufmgr/src/pool.rs:625:20: replace > with >= in BufferManager::write", "package": "mta-bufmgr"}}, "summary": "MissedMutant"},
        {"scenario": {"Mutant": {"name": "models/bufmgr/src/pool.rs:1:1: x", "package": "mta-bufmgr"}}, "summary": "CaughtMutant"},
        {"scenario": {"Mutant": {"name": "models/bufmgr/src/pool.rs:2:1: y", "package": "mta-bufmgr"}}, "summary": "Unviable"}
      ]
    }"#;

    #[test]
    fn outcomes_parse_and_passes_add_up_over_shards() {
        let s = parse_outcomes(
            OUTCOMES,
            "mta-bufmgr",
            (0, 2),
            "abc1234",
            "2026-11-30",
            40.0,
        )
        .unwrap();
        let c = &s.counts;
        assert_eq!((c.caught, c.missed, c.timeout, c.unviable), (2, 1, 0, 1));
        assert_eq!(
            c.missed_names,
            ["models/bufmgr/src/pool.rs:625:20: replace > with >= in BufferManager::write"]
        );
        let dir = std::env::temp_dir().join(format!("mta-lab-mutants-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("mta-bufmgr")).unwrap();
        let write = |s: &ShardOutcome| {
            std::fs::write(
                dir.join("mta-bufmgr")
                    .join(format!("shard-{}-of-{}.json", s.shard.0, s.shard.1)),
                serde_json::to_string(s).unwrap(),
            )
            .unwrap();
        };
        write(&s);
        let p = passes(&dir);
        assert_eq!((p[0].done, p[0].shards, p[0].complete()), (1, 2, false));
        let second = ShardOutcome {
            shard: (1, 2),
            commit: "def5678".into(),
            date: "2026-12-01".into(),
            ..s.clone()
        };
        write(&second);
        let p = passes(&dir);
        assert!(p[0].complete());
        assert_eq!(p[0].commits, ["abc1234", "def5678"]);
        assert_eq!(p[0].date, "2026-12-01");
        assert!((p[0].counts.score() - 66.666).abs() < 0.01);
        // 80 s over 8 mutants (4 caught, 2 missed, 2 unviable).
        assert!((p[0].counts.seconds_per_mutant() - 10.0).abs() < 1e-9);
        let t = text(&p, 3);
        assert!(
            t.contains("mta-bufmgr    66.7%") && t.contains("commit abc1234,def5678"),
            "{t}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn shards_and_exclusions_are_checked() {
        assert_eq!(parse_shard("3/8"), Ok((3, 8)));
        assert!(parse_shard("8/8").is_err() && parse_shard("x").is_err());
        let dir = std::env::temp_dir().join(format!("mta-lab-excl-{}", std::process::id()));
        std::fs::create_dir_all(dir.join(".cargo")).unwrap();
        std::fs::write(
            dir.join(".cargo/mutants.toml"),
            "exclude_re = [\n  # Display only: texts are checked where rendered.\n  \"fmt\",\n  \"Debug\",\n]\n",
        )
        .unwrap();
        let e = exclusions(&dir).unwrap_err();
        assert!(e.contains("exclusion \"Debug\" has no reason"), "{e}");
        std::fs::write(
            dir.join(".cargo/mutants.toml"),
            "exclude_re = [\n  # Display only.\n  \"fmt\",\n  # Derived.\n  \"Debug\",\n]\n",
        )
        .unwrap();
        assert_eq!(
            exclusions(&dir).unwrap(),
            [
                ("fmt".to_string(), "Display only.".to_string()),
                ("Debug".to_string(), "Derived.".to_string())
            ]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
