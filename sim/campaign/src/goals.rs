//! Reachability goals in the lab (`mta-lab goals`): which committed inputs, random inputs and sweep
//! seeds reach each goal of `mta_reach::CATALOGUE`, at what rate (a goal reached by fewer than 1 %
//! of a target's random executions and of a world's seeds is *rare*), and one committed reproducer
//! per goal under `corpora/goals/` — a fuzz input named `<target>@<build>@<goal slug>`, or a sweep
//! seed in `corpora/goals/sim.toml` — which `cargo test` replays.
//!
//! Deterministic: the random engine is ChaCha8 seeded from (target, build); sweeps run seeds
//! 0..N. It drives the harnesses and the simulation; it never touches the models.

use crate::smoke::{mutate, run_one};
use mta_build::Build;
use mta_harness::{TARGETS, Target, corpora_dir, corpus_files, kb_reproducers};
use mta_lab_world::world::World;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Worlds the sweeps of `mta-lab goals` run.
pub const GOAL_WORLDS: &[&str] = &["standard", "flood", "xot"];

/// `mta-lab goals` options.
#[derive(clap::Args)]
pub struct Args {
    /// Random executions per target and build.
    #[arg(long, default_value_t = 2000)]
    pub iterations: u64,
    /// Sweep seeds per world and build (0..N, with faults).
    #[arg(long, default_value_t = 40)]
    pub seeds: u64,
    /// Write a reproducer for every reached goal that has none yet into corpora/goals/.
    #[arg(long)]
    pub write: bool,
    /// Write the table as JSON here.
    #[arg(long, default_value = "target/mta-lab/goals.json")]
    pub json: PathBuf,
}

/// A committed sweep reproducer (`corpora/goals/sim.toml`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SimGoal {
    /// The goal's name.
    pub goal: String,
    /// World name.
    pub world: String,
    /// Build of every Exchange machine.
    pub build: String,
    /// Seed (with its fault plan).
    pub seed: u64,
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct SimFile {
    #[serde(default)]
    goal: Vec<SimGoal>,
}

/// How one goal was reached.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GoalRow {
    /// Goal name.
    pub goal: String,
    /// Component.
    pub component: String,
    /// Random executions reaching it / executions, in the target where that rate is highest.
    pub fuzz: Option<(String, u64, u64)>,
    /// Sweep seeds reaching it / seeds, in the world where that rate is highest.
    pub sweep: Option<(String, u64, u64)>,
    /// Reached by a committed input (seeds, regressions, KB reproducers, goal reproducers).
    pub committed: bool,
    /// The committed reproducer, if any.
    pub reproducer: Option<String>,
}

impl GoalRow {
    /// The highest rate over engines (0 when unreached).
    pub fn best_rate(&self) -> f64 {
        let r = |x: &Option<(String, u64, u64)>| {
            x.as_ref()
                .map_or(0.0, |(_, k, n)| *k as f64 / (*n).max(1) as f64)
        };
        r(&self.fuzz).max(r(&self.sweep))
    }
    /// Reached at all (by any engine or a committed input).
    pub fn reached(&self) -> bool {
        self.committed || self.best_rate() > 0.0
    }
}

/// The directory of committed goal reproducers.
pub fn goals_dir() -> PathBuf {
    corpora_dir().join("goals")
}

/// The committed sweep reproducers.
pub fn load_sim_goals(dir: &Path) -> Result<Vec<SimGoal>, String> {
    let p = dir.join("sim.toml");
    if !p.is_file() {
        return Ok(Vec::new());
    }
    let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
    let f: SimFile = toml::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
    Ok(f.goal)
}

/// The committed fuzz reproducers: (file, target, build, goal slug).
pub fn fuzz_reproducers(dir: &Path) -> Vec<(PathBuf, &'static Target, Build, String)> {
    crate::libfuzzer::files(dir)
        .into_iter()
        .filter_map(|f| {
            let name = f.file_name()?.to_string_lossy().to_string();
            let mut parts = name.splitn(3, '@');
            let target = parts.next()?;
            let t = TARGETS.iter().find(|t| t.name == target)?;
            let b: Build = parts.next()?.parse().ok()?;
            let goal = parts.next()?.to_string();
            Some((f, t, b, goal))
        })
        .collect()
}

/// The goals one input reaches on one build (a panicking input reaches none).
fn goals_of(t: &'static Target, b: Build, input: &[u8]) -> Vec<&'static str> {
    observe(t, b, input, &mut BTreeSet::new())
}

/// The goals one input reaches on one build; the transitions it takes go into `transitions`.
fn observe(
    t: &'static Target,
    b: Build,
    input: &[u8],
    transitions: &mut BTreeSet<mta_reach::Transition>,
) -> Vec<&'static str> {
    let ((), g, taken) = mta_reach::collect_all(|| {
        let _ = run_one(t, b, input);
    });
    transitions.extend(taken);
    g.names().collect()
}

/// Distinct transitions per machine, as `machine N` pairs.
fn per_machine(t: &BTreeSet<mta_reach::Transition>) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in t {
        *m.entry(x.machine).or_default() += 1;
    }
    m
}

struct Tally {
    rows: BTreeMap<&'static str, GoalRow>,
    /// First input per goal: (target, build, bytes).
    first_input: BTreeMap<&'static str, (&'static str, Build, Vec<u8>)>,
    /// First seed per goal: (world, build, seed).
    first_seed: BTreeMap<&'static str, (String, Build, u64)>,
    /// Protocol-state transitions the committed inputs and random executions took.
    fuzz_transitions: BTreeSet<mta_reach::Transition>,
    /// Protocol-state transitions the sweeps took (as their names).
    sweep_transitions: BTreeSet<String>,
}

fn fuzz_side(tally: &mut Tally, iterations: u64) -> Result<(), String> {
    let root = corpora_dir();
    let kb = kb_reproducers(&root)?;
    for t in TARGETS {
        let mut committed: Vec<Vec<u8>> = corpus_files(&root, t.name)
            .map_err(|e| e.to_string())?
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .collect();
        committed.extend(
            kb.iter()
                .filter(|(_, kt, _)| kt.name == t.name)
                .filter_map(|(f, ..)| std::fs::read(f).ok()),
        );
        for b in Build::ALL {
            for input in &committed {
                for g in observe(t, b, input, &mut tally.fuzz_transitions) {
                    tally.rows.get_mut(g).expect("catalogued").committed = true;
                    tally
                        .first_input
                        .entry(g)
                        .or_insert_with(|| (t.name, b, input.clone()));
                }
            }
            let mut rng = ChaCha8Rng::seed_from_u64(
                0x676f_616c ^ ((b.index() as u64) << 32) ^ (t.name.len() as u64 * 7919),
            );
            let mut reached: BTreeMap<&'static str, u64> = BTreeMap::new();
            for _ in 0..iterations {
                let input = if committed.is_empty() || rng.random_range(0..4) == 0 {
                    let n = rng.random_range(0..256);
                    (0..n).map(|_| rng.random()).collect()
                } else {
                    let base = &committed[rng.random_range(0..committed.len())];
                    mutate(&mut rng, base)
                };
                for g in observe(t, b, &input, &mut tally.fuzz_transitions) {
                    *reached.entry(g).or_default() += 1;
                    tally
                        .first_input
                        .entry(g)
                        .or_insert_with(|| (t.name, b, input.clone()));
                }
            }
            for (g, k) in reached {
                let row = tally.rows.get_mut(g).expect("catalogued");
                let better = row
                    .fuzz
                    .as_ref()
                    .is_none_or(|(_, k0, n0)| k * n0.max(&1) > k0 * iterations);
                if better {
                    row.fuzz = Some((format!("{}@{}", t.name, b.cli_name()), k, iterations));
                }
            }
        }
    }
    Ok(())
}

fn sim_side(tally: &mut Tally, seeds: u64) -> Result<(), String> {
    for w in GOAL_WORLDS {
        for b in Build::ALL {
            let world = World::named(w, Some(b), None)?;
            let mut reached: BTreeMap<&'static str, u64> = BTreeMap::new();
            for seed in 0..seeds {
                let r = mta_lab_world::simulate::run(&world, seed, true);
                tally
                    .sweep_transitions
                    .extend(r.transitions.iter().cloned());
                for g in &r.goals {
                    let Some(g) = mta_reach::CATALOGUE.iter().find(|c| c.name == g) else {
                        continue;
                    };
                    *reached.entry(g.name).or_default() += 1;
                    tally
                        .first_seed
                        .entry(g.name)
                        .or_insert_with(|| ((*w).to_string(), b, seed));
                }
            }
            for (g, k) in reached {
                let row = tally.rows.get_mut(g).expect("catalogued");
                let better = row
                    .sweep
                    .as_ref()
                    .is_none_or(|(_, k0, n0)| k * n0.max(&1) > k0 * seeds);
                if better {
                    row.sweep = Some((format!("{w}@{}", b.cli_name()), k, seeds));
                }
            }
        }
    }
    Ok(())
}

/// Write reproducers for reached goals that have none; returns how many were written.
fn write_reproducers(tally: &Tally, rows: &mut [GoalRow]) -> Result<usize, String> {
    let dir = goals_dir();
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut sims = load_sim_goals(&dir)?;
    let mut written = 0;
    for row in rows.iter_mut().filter(|r| r.reproducer.is_none()) {
        let name = row.goal.as_str();
        if let Some((t, b, input)) = tally.first_input.get(name) {
            let p = dir.join(format!("{t}@{}@{}", b.cli_name(), mta_reach::slug(name)));
            std::fs::write(&p, input).map_err(|e| format!("{}: {e}", p.display()))?;
            row.reproducer = Some(p.display().to_string());
            written += 1;
        } else if let Some((w, b, seed)) = tally.first_seed.get(name) {
            sims.push(SimGoal {
                goal: name.to_string(),
                world: w.clone(),
                build: b.cli_name().to_string(),
                seed: *seed,
            });
            row.reproducer = Some(format!("sim.toml: {w}@{} seed {seed}", b.cli_name()));
            written += 1;
        }
    }
    sims.sort_by(|a, b| a.goal.cmp(&b.goal));
    let text = toml::to_string(&SimFile { goal: sims }).map_err(|e| e.to_string())?;
    let header = "# Sweep seeds that reach a reachability goal no committed fuzz input reaches; written by\n\
                  # `mta-lab goals --write`, replayed by `cargo test` (sim/tests/goals.rs).\n";
    std::fs::write(dir.join("sim.toml"), format!("{header}{text}"))
        .map_err(|e| format!("sim.toml: {e}"))?;
    Ok(written)
}

/// The committed reproducer of each goal, as text.
fn existing_reproducers() -> Result<BTreeMap<String, String>, String> {
    let dir = goals_dir();
    let mut m = BTreeMap::new();
    for (f, ..) in fuzz_reproducers(&dir) {
        let goal_slug = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .rsplit('@')
            .next()
            .unwrap_or_default()
            .to_string();
        if let Some(g) = mta_reach::CATALOGUE
            .iter()
            .find(|g| mta_reach::slug(g.name) == goal_slug)
        {
            m.insert(g.name.to_string(), f.display().to_string());
        }
    }
    for s in load_sim_goals(&dir)? {
        m.entry(s.goal.clone())
            .or_insert_with(|| format!("sim.toml: {}@{} seed {}", s.world, s.build, s.seed));
    }
    Ok(m)
}

/// `mta-lab goals`.
pub fn cli(a: &Args) -> Result<ExitCode, String> {
    let mut tally = Tally {
        rows: mta_reach::CATALOGUE
            .iter()
            .map(|g| {
                (
                    g.name,
                    GoalRow {
                        goal: g.name.into(),
                        component: g.component.into(),
                        ..GoalRow::default()
                    },
                )
            })
            .collect(),
        first_input: BTreeMap::new(),
        first_seed: BTreeMap::new(),
        fuzz_transitions: BTreeSet::new(),
        sweep_transitions: BTreeSet::new(),
    };
    println!(
        "goals: {} catalogued; {} random executions per target and build, {} seeds per world \
         ({}) and build",
        mta_reach::CATALOGUE.len(),
        a.iterations,
        a.seeds,
        GOAL_WORLDS.join(", ")
    );
    for (f, t, b, _) in fuzz_reproducers(&goals_dir()) {
        let input = std::fs::read(&f).map_err(|e| format!("{}: {e}", f.display()))?;
        for g in goals_of(t, b, &input) {
            tally.rows.get_mut(g).expect("catalogued").committed = true;
        }
    }
    fuzz_side(&mut tally, a.iterations)?;
    sim_side(&mut tally, a.seeds)?;
    let existing = existing_reproducers()?;
    let mut rows: Vec<GoalRow> = tally.rows.values().cloned().collect();
    for r in &mut rows {
        r.reproducer = existing.get(&r.goal).cloned();
    }
    if a.write {
        let n = write_reproducers(&tally, &mut rows)?;
        println!("wrote {n} reproducers under {}", goals_dir().display());
    }
    print!("{}", table(&rows));
    let sweeps: BTreeMap<&str, usize> =
        tally
            .sweep_transitions
            .iter()
            .fold(BTreeMap::new(), |mut m, t| {
                *m.entry(t.split(':').next().unwrap_or("")).or_default() += 1;
                m
            });
    println!(
        "protocol-state transitions per machine — fuzz harnesses (committed + random): {:?}; \
         sweeps: {sweeps:?}",
        per_machine(&tally.fuzz_transitions)
    );
    if let Some(d) = a.json.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    std::fs::write(
        &a.json,
        serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?,
    )
    .map_err(|e| format!("{}: {e}", a.json.display()))?;
    println!("JSON: {}", a.json.display());
    Ok(ExitCode::SUCCESS)
}

fn rate(x: Option<&(String, u64, u64)>) -> String {
    x.map_or("-".into(), |(w, k, n)| {
        format!(
            "{:.2} % ({k}/{n} {w})",
            *k as f64 * 100.0 / (*n).max(1) as f64
        )
    })
}

/// The goals table: rates per engine, rare ones marked, reproducers.
pub fn table(rows: &[GoalRow]) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    let _ = writeln!(
        t,
        "{:<58} {:<34} {:<36} {:<4} reproducer",
        "goal", "random engine (best target)", "sweeps (best world)", ""
    );
    for r in rows {
        let mark = if !r.reached() {
            "GAP"
        } else if r.best_rate() < 0.01 {
            "rare"
        } else {
            ""
        };
        let _ = writeln!(
            t,
            "{:<58} {:<34} {:<36} {mark:<4} {}",
            r.goal,
            rate(r.fuzz.as_ref()),
            rate(r.sweep.as_ref()),
            r.reproducer.as_deref().unwrap_or("-")
        );
    }
    let reached = rows.iter().filter(|r| r.reached()).count();
    let rare = rows
        .iter()
        .filter(|r| r.reached() && r.best_rate() < 0.01)
        .count();
    let _ = writeln!(
        t,
        "{reached}/{} goals reached; {rare} rare (below 1 % of executions and of seeds)",
        rows.len()
    );
    t
}

/// Nights a goal may go unreached before the nightly shows it as a gap.
pub const GAP_NIGHTS: usize = 7;

/// One goal across the nightly's nights.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NightGoal {
    /// The goal's name.
    pub name: &'static str,
    /// Its component.
    pub component: &'static str,
    /// The first night that reached it and the units that did that night (`fuzz-<target>@<build>`,
    /// `sweep-<world>@<build>`).
    pub first: Option<(String, Vec<String>)>,
    /// The last night that reached it.
    pub last: Option<String>,
    /// Nights since it was last reached (or since the first night, if never): 0 when tonight did.
    pub unreached_for: usize,
    /// Unreached for [`GAP_NIGHTS`] nights or more.
    pub gap: bool,
}

/// Per catalogued goal, from every night's goals (oldest first: the date and, per goal reached,
/// the units that reached it): the night, engines and builds that first reached it, and whether it
/// is a gap.
pub fn night_goals(nights: &[(String, BTreeMap<String, Vec<String>>)]) -> Vec<NightGoal> {
    mta_reach::CATALOGUE
        .iter()
        .map(|g| {
            let reached: Vec<(&String, &Vec<String>)> = nights
                .iter()
                .filter_map(|(date, goals)| goals.get(g.name).map(|units| (date, units)))
                .collect();
            let last_index = nights
                .iter()
                .rposition(|(_, goals)| goals.contains_key(g.name));
            let unreached_for = match last_index {
                Some(i) => nights.len() - 1 - i,
                None => nights.len(),
            };
            NightGoal {
                name: g.name,
                component: g.component,
                first: reached
                    .first()
                    .map(|(d, units)| ((*d).clone(), (*units).clone())),
                last: reached.last().map(|(d, _)| (*d).clone()),
                unreached_for,
                gap: unreached_for >= GAP_NIGHTS,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn night_goals_give_the_first_night_and_gaps_after_seven_nights() {
        let night = |date: &str, goals: &[(&str, &str)]| {
            let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
            for (g, u) in goals {
                m.entry((*g).to_string())
                    .or_default()
                    .push((*u).to_string());
            }
            (date.to_string(), m)
        };
        let stale = "lpi: stale LPI";
        let full = "driver: pending TPDU queue full at reconnect";
        let mut nights = vec![
            night("2026-11-01", &[(stale, "fuzz-lpi_decode@5.5")]),
            night("2026-11-02", &[(full, "sweep-flood@5.5-sp1")]),
        ];
        for d in 3..=9 {
            nights.push(night(
                &format!("2026-11-0{d}"),
                &[(full, "fuzz-driver_events@5.5-sp1")],
            ));
        }
        let rows = night_goals(&nights);
        assert_eq!(rows.len(), mta_reach::CATALOGUE.len());
        let row = |n: &str| rows.iter().find(|r| r.name == n).unwrap().clone();
        let s = row(stale);
        assert_eq!(
            s.first,
            Some(("2026-11-01".into(), vec!["fuzz-lpi_decode@5.5".into()]))
        );
        assert_eq!(
            (s.unreached_for, s.gap),
            (8, true),
            "reached on night 1 of 9"
        );
        let f = row(full);
        assert_eq!(f.first.unwrap().1, ["sweep-flood@5.5-sp1"]);
        assert_eq!((f.last.as_deref(), f.gap), (Some("2026-11-09"), false));
        let never = row("core: loop detected");
        assert_eq!(
            (never.first, never.unreached_for, never.gap),
            (None, 9, true)
        );
        let short = night_goals(&nights[..3]);
        assert!(
            !short.iter().any(|r| r.gap),
            "three nights are too few for a gap"
        );
    }

    #[test]
    fn slugs_are_file_names_and_distinct() {
        assert_eq!(
            mta_reach::slug("driver: pending TPDU queue full at reconnect"),
            "driver-pending-tpdu-queue-full-at-reconnect"
        );
        let all: std::collections::BTreeSet<String> = mta_reach::CATALOGUE
            .iter()
            .map(|g| mta_reach::slug(g.name))
            .collect();
        assert_eq!(all.len(), mta_reach::CATALOGUE.len());
    }
}
