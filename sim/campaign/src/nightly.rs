//! `mta-lab nightly`: the nightly campaign. The KB matrix first (so an expected reproduction that
//! disappears is seen every night), then every fuzz target and seed sweep across the machine's
//! cores for the rest of the budget, then triage — crashes deduplicated by signature, scanned
//! across builds, minimised, new ones written as regression files — and a report
//! (`reports/<date>/index.html` with SVG plots, `summary.json`).
//!
//! Resumable after `kill -9`: the plan and every finished unit are written atomically under the
//! night's state directory; a restart reruns only unfinished units (corpora and crash files of a
//! killed unit stay where libFuzzer wrote them). Green unless something *new* appears (a finding no
//! entry of the known-findings baseline explains) or the KB matrix disagrees with its expectations.

use crate::date::night_number;
use crate::kb;
use crate::libfuzzer::{self, BUILD_TARGETS, Point, ci_build};
use crate::night::{
    FuzzOutcome, Known, MAX_RESTARTS, MutationSummary, SCHEMA, Summary, SweepOutcome, Triaged,
    Unit, UnitResult, UnitRow, coverage_history, goal_history, history, load_baseline,
};
use crate::smoke::{run_one, target_by_name};
use mta_build::Build;
use mta_lab_world::world::World;
use mta_lab_world::{finding, simulate};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Worlds swept on every build.
pub const SWEEP_WORLDS: &[&str] = &["standard", "flood", "xot"];

/// Options.
pub struct Options {
    /// Total wall-clock budget (s).
    pub budget_s: f64,
    /// Units run at once (cores).
    pub jobs: usize,
    /// The night (directory name), `YYYY-MM-DD`.
    pub date: String,
    /// Reports root (`reports/`).
    pub reports: PathBuf,
    /// State root (plans, unit results, corpora, artifacts).
    pub state: PathBuf,
    /// Per-cell budget of the KB matrix (s).
    pub kb_budget_s: f64,
    /// Only this KB in the matrix.
    pub kb: Option<String>,
    /// Skip libFuzzer (fuzz units and libFuzzer KB cells).
    pub no_libfuzzer: bool,
    /// Shortest time slice worth running a unit for (s).
    pub min_slice_s: f64,
    /// The known-findings baseline.
    pub baseline: PathBuf,
    /// The KB matrix expectations.
    pub expected: PathBuf,
    /// Where new findings become regression files (`corpora/regressions`).
    pub regressions: PathBuf,
    /// Targets of the source-coverage phase (empty: every target; `none`: skip the phase).
    pub coverage_targets: Vec<String>,
    /// Shards of the mutation phase (0: skip the phase).
    pub mutants_shards: u32,
    /// Nights (named `YYYY-MM-DD`) whose reports and state are kept; older ones are pruned.
    pub keep_nights: usize,
}

/// The night's plan: KB units first, the campaign once the KB matrix is done.
#[derive(Debug, Serialize, Deserialize)]
pub struct Plan {
    /// Schema.
    pub schema: u32,
    /// Night.
    pub date: String,
    /// Budget (s) the plan was made for.
    pub budget_s: f64,
    /// Cores.
    pub jobs: usize,
    /// KB matrix units.
    pub kb: Vec<Unit>,
    /// Campaign units with their slices (made when the KB units are done).
    pub campaign: Option<Vec<Unit>>,
    /// Units left out because the budget had no slice for them.
    pub skipped: Vec<String>,
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), String> {
    if let Some(d) = path.parent() {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let tmp = path.with_extension("partial");
    std::fs::write(&tmp, bytes).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

fn write_json<T: Serialize>(path: &Path, v: &T) -> Result<(), String> {
    let text = serde_json::to_string_pretty(v).map_err(|e| e.to_string())?;
    write_atomically(path, text.as_bytes())
}

/// The campaign's units, most important first: every target on its CI build and sweeps on the
/// newest fixed build, then the build-dependent targets and sweeps on every other build.
pub fn campaign_units() -> Vec<(String, Option<String>, String)> {
    let fixed = Build::ALL[Build::ALL.len() - 1].cli_name();
    let mut v: Vec<(String, Option<String>, String)> = Vec::new();
    for t in crate::targets::all() {
        v.push((
            "fuzz".into(),
            Some(t.name.into()),
            ci_build(t.name).cli_name().into(),
        ));
    }
    for w in SWEEP_WORLDS {
        v.push(("sweep".into(), Some((*w).into()), fixed.into()));
    }
    for b in Build::ALL.iter().rev().skip(1) {
        for t in BUILD_TARGETS {
            v.push(("fuzz".into(), Some((*t).into()), b.cli_name().into()));
        }
        for w in SWEEP_WORLDS {
            v.push(("sweep".into(), Some((*w).into()), b.cli_name().into()));
        }
    }
    v
}

/// Slice `seconds × jobs` over the units in order; units that would get less than `min_slice`
/// are left out (returned second).
pub fn slice(
    seconds: f64,
    jobs: usize,
    min_slice: f64,
    no_libfuzzer: bool,
) -> (Vec<Unit>, Vec<String>) {
    let all: Vec<_> = campaign_units()
        .into_iter()
        .filter(|(k, ..)| !(no_libfuzzer && k == "fuzz"))
        .collect();
    let core_s = (seconds * jobs.max(1) as f64).max(0.0);
    let n = ((core_s / min_slice.max(0.1)).floor() as usize).min(all.len());
    let each = if n == 0 { 0.0 } else { core_s / n as f64 };
    let mut units = Vec::new();
    let mut skipped = Vec::new();
    for (i, (kind, subject, build)) in all.into_iter().enumerate() {
        let subject = subject.unwrap_or_default();
        let u = if kind == "fuzz" {
            Unit::Fuzz {
                target: subject,
                build,
                seconds: each.floor().max(1.0) as u64,
            }
        } else {
            Unit::Sweep {
                world: subject,
                build,
                seconds: each,
            }
        };
        if i < n {
            units.push(u);
        } else {
            skipped.push(u.id());
        }
    }
    (units, skipped)
}

/// One nightly per state directory: a lock file holding the owner's pid. A lock whose process is
/// gone (killed with -9) is taken over.
struct Lock(PathBuf);

impl Lock {
    fn take(path: &Path) -> Result<Lock, String> {
        for _ in 0..2 {
            if let Ok(mut f) = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                use std::io::Write as _;
                let _ = writeln!(f, "{}", std::process::id());
                return Ok(Lock(path.to_path_buf()));
            }
            let owner = std::fs::read_to_string(path).unwrap_or_default();
            let pid = owner.trim();
            let alive = !pid.is_empty() && Path::new("/proc").join(pid).exists();
            if alive && pid != std::process::id().to_string() {
                return Err(format!(
                    "{} is held by process {pid}: another nightly runs on this state",
                    path.display()
                ));
            }
            let _ = std::fs::remove_file(path);
        }
        Err(format!("{}: cannot take the lock", path.display()))
    }
}

impl Drop for Lock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

struct Night {
    dir: PathBuf,
    report: PathBuf,
}

impl Night {
    fn done_path(&self, u: &Unit) -> PathBuf {
        self.dir.join("done").join(format!("{}.json", u.id()))
    }
    fn load_done(&self, u: &Unit) -> Option<UnitResult> {
        let text = std::fs::read_to_string(self.done_path(u)).ok()?;
        serde_json::from_str::<UnitResult>(&text)
            .ok()
            .filter(|r| r.schema == SCHEMA && r.unit.id() == u.id())
    }
}

/// Run the night; prints progress; returns whether it is green.
pub fn run(o: &Options) -> Result<bool, String> {
    let baseline = load_baseline(&o.baseline)?;
    let night = Night {
        dir: o.state.join(&o.date),
        report: o.reports.join(&o.date),
    };
    std::fs::create_dir_all(&night.dir).map_err(|e| format!("{}: {e}", night.dir.display()))?;
    let _lock = Lock::take(&night.dir.join("lock"))?;
    let plan_path = night.dir.join("plan.json");
    let mut plan = load_or_make_plan(o, &night, &plan_path)?;
    let jobs = plan.jobs;
    let fuzz_ok = if o.no_libfuzzer {
        Err("libFuzzer skipped (--no-libfuzzer)".to_string())
    } else {
        libfuzzer::build(&[])
    };
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut results: Vec<UnitResult> = Vec::new();
    let mut resumed = 0;
    // 1. The KB matrix, one KB at a time (each uses every core).
    kb_phase(
        &plan,
        o,
        &night,
        fuzz_ok.is_err(),
        (&mut results, &mut resumed),
    )?;
    // 2. The campaign, sliced from what the KB matrix left of the budget.
    if plan.campaign.is_none() {
        slice_campaign(&mut plan, &results, o, fuzz_ok.is_err());
        write_json(&plan_path, &plan)?;
    }
    let campaign = plan.campaign.clone().unwrap_or_default();
    let todo: Vec<&Unit> = campaign
        .iter()
        .filter(|u| match night.load_done(u) {
            Some(r) => {
                resumed += 1;
                results.push(r);
                false
            }
            None => true,
        })
        .collect();
    if resumed > 0 {
        println!("resumed: {resumed} units already done");
    }
    let done = run_units(&todo, o, &night, jobs);
    std::panic::set_hook(prev);
    results.extend(done?);
    // 3. Triage, 4. source coverage and 5. the report.
    let triaged = triage(&results, &baseline, o, &night)?;
    let coverage = coverage_phase(o, &night);
    let mutation = mutation_phase(o, &plan.date);
    let green = report(
        &plan,
        &results,
        &triaged,
        (coverage, mutation),
        o,
        &night,
        &fuzz_ok,
    )?;
    // 6. The retention budget, once tonight's report is written.
    let pruned = crate::retention::prune(&o.reports, &o.state, o.keep_nights, &plan.date)?;
    for line in pruned.lines(o.keep_nights) {
        println!("{line}");
    }
    Ok(green)
}

/// The night's plan: the one a killed run left (resumed), else a new one of KB units.
fn load_or_make_plan(o: &Options, night: &Night, plan_path: &Path) -> Result<Plan, String> {
    Ok(if let Ok(text) = std::fs::read_to_string(plan_path) {
        {
            let p: Plan = serde_json::from_str(&text).map_err(|e| {
                format!(
                    "{}: {e} (delete it to start the night over)",
                    plan_path.display()
                )
            })?;
            println!(
                "nightly {}: resuming the plan made for {:.0} s on {} cores ({})",
                p.date,
                p.budget_s,
                p.jobs,
                plan_path.display()
            );
            p
        }
    } else {
        {
            let kbs: Vec<Unit> = kb::KBS
                .iter()
                .filter(|(k, _)| o.kb.as_deref().is_none_or(|x| x.eq_ignore_ascii_case(k)))
                .map(|(k, _)| Unit::Kb { kb: (*k).into() })
                .collect();
            if kbs.is_empty() {
                return Err(format!("--kb {:?}: no such KB", o.kb));
            }
            let p = Plan {
                schema: SCHEMA,
                date: o.date.clone(),
                budget_s: o.budget_s,
                jobs: o.jobs.max(1),
                kb: kbs,
                campaign: None,
                skipped: Vec::new(),
            };
            write_json(plan_path, &p)?;
            println!(
                "nightly {}: budget {:.0} s on {} cores, KB cells {} s each; state {}, report {}",
                p.date,
                p.budget_s,
                p.jobs,
                o.kb_budget_s,
                night.dir.display(),
                night.report.display()
            );
            p
        }
    })
}

/// The KB matrix units not done yet, one KB at a time (each uses every core); every unit's
/// result (resumed or run) goes into `results`.
#[allow(clippy::disallowed_types)] // wall clock: unit time
fn kb_phase(
    plan: &Plan,
    o: &Options,
    night: &Night,
    no_libfuzzer: bool,
    (results, resumed): (&mut Vec<UnitResult>, &mut usize),
) -> Result<(), String> {
    let jobs = plan.jobs;
    for u in &plan.kb {
        if let Some(r) = night.load_done(u) {
            *resumed += 1;
            results.push(r);
            continue;
        }
        let Unit::Kb { kb: id } = u else { continue };
        let started = std::time::Instant::now();
        let ko = kb::Options {
            budget_s: o.kb_budget_s,
            seed: 1,
            kb: Some(id.clone()),
            build: None,
            json: None,
            expected: o.expected.clone(),
            artifacts: night.dir.join("kb"),
            no_libfuzzer,
            jobs,
            fuzz_built: true,
        };
        let (cells, error) = match kb::run(&ko, &mut |c| println!("{}", kb::line(c))) {
            Ok(c) => (c, None),
            Err(e) => (Vec::new(), Some(e)),
        };
        let r = UnitResult {
            schema: SCHEMA,
            unit: u.clone(),
            seconds: started.elapsed().as_secs_f64(),
            cells,
            fuzz: None,
            sweep: None,
            error,
        };
        write_json(&night.done_path(u), &r)?;
        results.push(r);
    }
    Ok(())
}

/// Slice what the KB matrix left of the budget over the campaign's units.
fn slice_campaign(plan: &mut Plan, results: &[UnitResult], o: &Options, no_libfuzzer: bool) {
    let jobs = plan.jobs;
    let spent: f64 = results.iter().map(|r| r.seconds).sum();
    let reserve = (plan.budget_s * 0.05).max(10.0);
    let left = (plan.budget_s - spent - reserve).max(0.0);
    let (units, skipped) = slice(left, jobs, o.min_slice_s, no_libfuzzer);
    println!(
        "campaign: {:.0} s left on {jobs} cores → {} units of {:.1} s{}",
        left,
        units.len(),
        units.first().map_or(0.0, |u| match u {
            Unit::Fuzz { seconds, .. } => *seconds as f64,
            Unit::Sweep { seconds, .. } => *seconds,
            Unit::Kb { .. } => 0.0,
        }),
        if skipped.is_empty() {
            String::new()
        } else {
            format!(" ({} left out for lack of budget)", skipped.len())
        }
    );
    plan.campaign = Some(units);
    plan.skipped = skipped;
}

/// Run `todo` on `jobs` threads, each taking the next unit; every result is written as it
/// finishes (a kill loses only the units in flight).
fn run_units(
    todo: &[&Unit],
    o: &Options,
    night: &Night,
    jobs: usize,
) -> Result<Vec<UnitResult>, String> {
    let next = AtomicUsize::new(0);
    let out = Mutex::new(Vec::new());
    let failure = Mutex::new(None);
    std::thread::scope(|scope| {
        for _ in 0..jobs {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(u) = todo.get(i) else { break };
                    let r = run_unit(u, o, night);
                    println!("{}", unit_line(&r));
                    if let Err(e) = write_json(&night.done_path(u), &r)
                        && let Ok(mut f) = failure.lock()
                    {
                        *f = Some(e);
                    }
                    if let Ok(mut v) = out.lock() {
                        v.push(r);
                    }
                }
            });
        }
    });
    if let Some(e) = failure.into_inner().map_err(|e| e.to_string())? {
        return Err(e);
    }
    out.into_inner().map_err(|e| e.to_string())
}

/// One shard (night number mod N) of every crate in [`crate::mutants::CRATES`], kept under
/// `<state>/mutants/`. `None` when the phase is skipped.
fn mutation_phase(o: &Options, date: &str) -> Option<MutationSummary> {
    if o.mutants_shards == 0 {
        return None;
    }
    let dir = o.state.join("mutants");
    let mut m = MutationSummary::default();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    match crate::mutants::exclusions(&root).and_then(|e| {
        crate::mutants::available()?;
        Ok(e)
    }) {
        Err(e) => {
            println!("mutation phase unavailable: {e}");
            m.unavailable = Some(e);
        }
        Ok(e) => {
            m.exclusions = e.len();
            let k = (night_number(date) % u64::from(o.mutants_shards)) as u32;
            for krate in crate::mutants::CRATES {
                println!("mutation: {krate} shard {k}/{}", o.mutants_shards);
                match crate::mutants::run_shard(krate, (k, o.mutants_shards), date, &dir) {
                    Ok(s) => m.tonight.push(s),
                    Err(e) => m.errors.push(format!("{krate}: {e}")),
                }
            }
        }
    }
    m.passes = crate::mutants::passes(&dir);
    Some(m)
}

/// Source coverage of the chosen targets over their committed corpora and the night's corpus on
/// their CI build, into `<report>/coverage/`. `None` when the phase is skipped.
fn coverage_phase(o: &Options, night: &Night) -> Option<crate::coverage::Summary> {
    if o.coverage_targets.iter().any(|t| t == "none") {
        return None;
    }
    let targets: Vec<&str> = if o.coverage_targets.is_empty() {
        crate::targets::all().map(|t| t.name).collect()
    } else {
        crate::targets::all()
            .map(|t| t.name)
            .filter(|n| o.coverage_targets.iter().any(|t| t == n))
            .collect()
    };
    println!("source coverage: {} targets", targets.len());
    let corpora = |t: &str| {
        let night_corpus = corpus_dir(o, t, ci_build(t).cli_name());
        crate::coverage::corpora_of(t, true, &[night_corpus])
    };
    let s = crate::coverage::run(&targets, &corpora, &night.report.join("coverage"));
    print!("{}", crate::coverage::text(&s));
    Some(s)
}

fn corpus_dir(o: &Options, target: &str, build: &str) -> PathBuf {
    o.state.join("corpus").join(target).join(build)
}

#[allow(clippy::disallowed_types)] // wall clock: unit time
fn run_unit(u: &Unit, o: &Options, night: &Night) -> UnitResult {
    let started = std::time::Instant::now();
    let mut r = UnitResult {
        schema: SCHEMA,
        unit: u.clone(),
        seconds: 0.0,
        cells: Vec::new(),
        fuzz: None,
        sweep: None,
        error: None,
    };
    let outcome = match u {
        Unit::Fuzz {
            target,
            build,
            seconds,
        } => fuzz_unit(target, build, *seconds, o, night).map(|f| r.fuzz = Some(f)),
        Unit::Sweep {
            world,
            build,
            seconds,
        } => sweep_unit(world, build, *seconds, o, night).map(|s| r.sweep = Some(s)),
        Unit::Kb { .. } => Ok(()),
    };
    r.error = outcome.err();
    r.seconds = started.elapsed().as_secs_f64();
    r
}

#[allow(clippy::disallowed_types)] // wall clock: the slice
fn fuzz_unit(
    target: &str,
    build: &str,
    seconds: u64,
    o: &Options,
    night: &Night,
) -> Result<FuzzOutcome, String> {
    let b: Build = build.parse().map_err(|e| format!("{e}"))?;
    let t = target_by_name(target)?;
    let corpus = corpus_dir(o, target, build);
    libfuzzer::recover(&corpus)?;
    let mut corpora = vec![corpus.clone()];
    // Committed inputs may reproduce a KB on its build; there the night starts from its own corpus.
    if (t.clean_on)(&b.profile()) {
        let root = mta_harness::corpora_dir();
        corpora.push(root.join("fuzz").join(target));
        corpora.push(root.join("regressions").join(target));
    }
    let artifacts = night
        .dir
        .join("artifacts")
        .join(format!("{target}@{build}"));
    let mut f = FuzzOutcome {
        corpus: (libfuzzer::files(&corpus).len(), 0, 0),
        ..FuzzOutcome::default()
    };
    let started = std::time::Instant::now();
    let mut offset = 0;
    while f.runs <= MAX_RESTARTS {
        let left = seconds.saturating_sub(started.elapsed().as_secs());
        if left == 0 {
            break;
        }
        let job = libfuzzer::Job {
            target,
            build: b,
            corpora: corpora.clone(),
            artifacts: artifacts.clone(),
            seconds: left,
            seed: u64::from(f.runs) * 7919 + b.index() as u64 * 104_729 + 1,
            flags: libfuzzer::campaign_flags(target, true),
            binary: None,
            state_feed: true,
        };
        let s = libfuzzer::run(&job)?;
        f.runs += 1;
        f.execs += s.execs;
        f.cov = f.cov.max(s.cov);
        f.series.extend(s.series.iter().map(|p| Point {
            execs: p.execs + offset,
            ..*p
        }));
        offset += s.execs;
        for (g, _) in s.goals {
            if !f.goals.contains(&g) {
                f.goals.push(g);
            }
        }
        for (t, at) in s.states {
            if f.states.iter().all(|(n, _)| *n != t) {
                f.states.push((t, at + offset - s.execs));
            }
        }
        if !s.crashed {
            break;
        }
    }
    let secs = started.elapsed().as_secs_f64().max(0.001);
    f.exec_s = (f.execs as f64 / secs) as u64;
    f.corpus.1 = libfuzzer::files(&corpus).len();
    f.corpus.2 = match libfuzzer::cmin(target, b, &corpus) {
        Ok((_, after)) => after,
        Err(_) => f.corpus.1,
    };
    f.crashes = libfuzzer::files(&artifacts)
        .iter()
        .map(|p| p.display().to_string())
        .collect();
    // Keep the series small: at most 200 points.
    let step = f.series.len() / 200 + 1;
    f.series = f
        .series
        .iter()
        .enumerate()
        .filter(|(i, _)| i % step == 0 || *i + 1 == f.series.len())
        .map(|(_, p)| *p)
        .collect();
    Ok(f)
}

fn world_for(world: &str, build: Build) -> Result<World, String> {
    World::named(world, Some(build), None)
}

#[allow(clippy::disallowed_types)] // wall clock: the slice
fn sweep_unit(
    world: &str,
    build: &str,
    seconds: f64,
    o: &Options,
    night: &Night,
) -> Result<SweepOutcome, String> {
    let b: Build = build.parse().map_err(|e| format!("{e}"))?;
    let w = world_for(world, b)?;
    // Each night continues where the last one stopped: new seeds every night.
    let cursor = o.state.join("cursors").join(format!("{world}@{build}"));
    let first_seed = std::fs::read_to_string(&cursor)
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let dir = night.dir.join("findings").join(format!("{world}@{build}"));
    let mut s = SweepOutcome {
        first_seed,
        ..SweepOutcome::default()
    };
    let mut seen = std::collections::BTreeSet::new();
    let mut goals = std::collections::BTreeSet::new();
    let mut transitions = std::collections::BTreeSet::new();
    let started = std::time::Instant::now();
    let mut seed = first_seed;
    while started.elapsed().as_secs_f64() < seconds {
        let r = std::panic::catch_unwind(|| simulate::run(&w, seed, true));
        s.seeds += 1;
        if let Ok(r) = &r {
            goals.extend(r.goals.iter().cloned());
            transitions.extend(r.transitions.iter().cloned());
        }
        match r {
            Ok(r) if !r.findings.is_empty() => {
                let f = finding::Finding::from_run(&w, w.messages_per_flow(), true, &r);
                // One file per signature per unit is enough for triage; the rest are counted.
                if seen.insert(f.signature.clone()) {
                    s.findings.push(f.save(&dir)?.display().to_string());
                } else {
                    s.findings.push(format!("seed {seed}: {}", f.signature));
                }
            }
            Ok(_) => {}
            Err(_) => s
                .findings
                .push(format!("seed {seed}: PANIC in the simulation")),
        }
        seed += 1;
    }
    write_atomically(&cursor, seed.to_string().as_bytes())?;
    s.goals = mta_reach::CATALOGUE
        .iter()
        .filter(|g| goals.contains(g.name))
        .map(|g| g.name.to_string())
        .collect();
    s.states = transitions.len();
    Ok(s)
}

fn unit_line(r: &UnitResult) -> String {
    let what = if let Some(e) = &r.error {
        format!("ERROR {e}")
    } else if let Some(f) = &r.fuzz {
        format!(
            "{} execs, {} exec/s, cov {}, corpus {}→{}→{}, {} crash inputs, {} runs",
            f.execs,
            f.exec_s,
            f.cov,
            f.corpus.0,
            f.corpus.1,
            f.corpus.2,
            f.crashes.len(),
            f.runs
        )
    } else if let Some(s) = &r.sweep {
        format!(
            "seeds {}..{}, {} with findings",
            s.first_seed,
            s.first_seed + s.seeds,
            s.findings.len()
        )
    } else {
        String::new()
    };
    format!("{:<36} {:>6.1} s  {what}", r.unit.id(), r.seconds)
}

fn known_for<'a>(
    baseline: &'a [Known],
    kind: &str,
    subject: &str,
    signature: &str,
    build: &str,
) -> Option<&'a Known> {
    baseline.iter().find(|k| {
        let s = if kind == "fuzz" { &k.target } else { &k.world };
        s.as_deref() == Some(subject)
            && signature.contains(&k.signature)
            && k.builds.iter().any(|b| b == build)
    })
}

fn short_hash(bytes: &[u8]) -> String {
    let h = bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{:08x}", h >> 32)
}

/// Count one occurrence of a finding in its group (created on first sight). A group stays known
/// only if the baseline explains it on every build it was found on.
fn note<'a>(
    groups: &'a mut BTreeMap<(String, String, String), Triaged>,
    key: (String, String, String),
    build: &str,
    known: Option<String>,
) -> &'a mut Triaged {
    let first = !groups.contains_key(&key);
    let (kind, subject, signature) = key.clone();
    let g = groups.entry(key).or_insert_with(|| Triaged {
        kind,
        subject,
        signature,
        found_on: Vec::new(),
        fires_on: Vec::new(),
        count: 0,
        input: String::new(),
        minimized: None,
        known: None,
        regression: None,
        replay: String::new(),
        pages: None,
    });
    if first {
        g.known = known;
    } else if known.is_none() {
        g.known = None;
    }
    g.count += 1;
    if !g.found_on.iter().any(|b| b == build) {
        g.found_on.push(build.to_string());
    }
    g
}

/// A libFuzzer artefact's signature (numbers made N) and the harness's raw failure text (empty
/// when it does not fail in-process: a timeout, an out-of-memory, or a flaky input).
fn crash_signature(
    t: &mta_harness::Target,
    b: Build,
    path: &Path,
    bytes: &[u8],
) -> (String, String) {
    let name = path.file_name().map_or(String::new(), |n| {
        n.to_string_lossy()
            .split('-')
            .next()
            .unwrap_or("")
            .to_string()
    });
    match run_one(t, b, bytes) {
        Err(fail) => (finding::numbers_out(&fail.what), fail.what),
        Ok(_) if name == "timeout" => ("timeout (libFuzzer -timeout=10)".into(), String::new()),
        Ok(_) if name == "oom" => (
            "out of memory (libFuzzer -rss_limit_mb=2048)".into(),
            String::new(),
        ),
        Ok(class) => (
            format!("{name} not reproducible in-process (outcome {class})"),
            String::new(),
        ),
    }
}

fn triage(
    results: &[UnitResult],
    baseline: &[Known],
    o: &Options,
    night: &Night,
) -> Result<Vec<Triaged>, String> {
    let mut groups: BTreeMap<(String, String, String), Triaged> = BTreeMap::new();
    let mut inputs: BTreeMap<(String, String, String), (usize, PathBuf, Build)> = BTreeMap::new();
    for r in results {
        match (&r.unit, &r.fuzz, &r.sweep) {
            (Unit::Fuzz { target, build, .. }, Some(f), _) => {
                let t = target_by_name(target)?;
                let b: Build = build.parse().map_err(|e| format!("{e}"))?;
                for c in &f.crashes {
                    let path = PathBuf::from(c);
                    let Ok(bytes) = std::fs::read(&path) else {
                        continue;
                    };
                    let (sig, what) = crash_signature(t, b, &path, &bytes);
                    // Known only with the KB's mechanism in the failure itself (the harness's
                    // KB reader), not on the signature substring alone.
                    let known = known_for(baseline, "fuzz", target, &sig, build)
                        .filter(|k| mta_harness::kb::signature(&k.kb, &what).is_some())
                        .map(|k| k.kb.clone());
                    let key = ("fuzz".to_string(), target.clone(), sig.clone());
                    let g = note(&mut groups, key.clone(), build, known);
                    if g.input.is_empty() {
                        g.input.clone_from(c);
                    }
                    let e = inputs.entry(key).or_insert((usize::MAX, path.clone(), b));
                    if bytes.len() < e.0 {
                        *e = (bytes.len(), path.clone(), b);
                        g.input.clone_from(c);
                    }
                }
            }
            (Unit::Sweep { world, build, .. }, _, Some(s)) => {
                for f in &s.findings {
                    let path = PathBuf::from(f);
                    let (sig, input) = match finding::Finding::load(&path) {
                        Ok(found) => (found.signature, f.clone()),
                        Err(_) => match f.split_once(": ") {
                            Some((_, sig)) => (sig.to_string(), String::new()),
                            None => continue,
                        },
                    };
                    // Known only if the replayed finding shows the KB's mechanism.
                    let known = known_for(baseline, "sweep", world, &sig, build)
                        .filter(|k| {
                            input.is_empty()
                                || crate::kb::finding_shows_mechanism(&k.kb, Path::new(&input))
                        })
                        .map(|k| k.kb.clone());
                    let key = ("sweep".to_string(), world.clone(), sig.clone());
                    let g = note(&mut groups, key, build, known);
                    if g.input.is_empty() && !input.is_empty() {
                        g.input = input;
                    }
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (key, mut g) in groups {
        if g.kind == "fuzz" {
            let (_, path, b) = &inputs[&key];
            let t = target_by_name(&g.subject)?;
            let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for scan in Build::ALL {
                if run_one(t, scan, &bytes)
                    .err()
                    .is_some_and(|f| finding::numbers_out(&f.what) == g.signature)
                {
                    g.fires_on.push(scan.cli_name().into());
                }
            }
            // Minimise (cached by input hash); keep it only if the same signature still fires.
            let min = night.dir.join("minimized").join(format!(
                "{}@{}-{}",
                g.subject,
                b.cli_name(),
                short_hash(&bytes)
            ));
            if !min.is_file() {
                let _ = libfuzzer::minimize(&g.subject, *b, path, &min, 2000);
            }
            let min_ok = std::fs::read(&min).ok().filter(|m| {
                run_one(t, *b, m)
                    .err()
                    .is_some_and(|f| finding::numbers_out(&f.what) == g.signature)
            });
            let best = min_ok.clone().unwrap_or(bytes);
            if min_ok.is_some() {
                g.minimized = Some(min.display().to_string());
            }
            let file = g.minimized.clone().unwrap_or_else(|| g.input.clone());
            g.replay = format!(
                "mta-lab replay {} {file} --build {}",
                g.subject,
                b.cli_name()
            );
            g.pages = crate::harness_trace::harness_records(&g.subject, *b, &best)
                .and_then(|recs| {
                    let title = format!("{} on {b}: {}", g.subject, g.signature);
                    write_pages(&title, &recs, out.len(), night)
                })
                .ok();
            if g.known.is_none() {
                let dest = o.regressions.join(&g.subject).join(format!(
                    "nightly-{}-{}-{}",
                    o.date,
                    b.cli_name(),
                    short_hash(&best)
                ));
                write_atomically(&dest, &best)?;
                g.regression = Some(dest.display().to_string());
            }
        } else if !g.input.is_empty() {
            let f = finding::Finding::load(Path::new(&g.input))?;
            for scan in Build::ALL {
                let w = f.world(Some(scan))?;
                if finding::signature(&f.run(&w)) == g.signature {
                    g.fires_on.push(scan.cli_name().into());
                }
            }
            g.replay = format!("mta-lab replay {}", g.input);
            g.pages = pages(&f, out.len(), night).ok();
            if g.known.is_none() {
                let kept = match f.shrink() {
                    Ok((s, _)) => s,
                    Err(_) => f,
                };
                let dest = kept.save(&o.regressions.join("sim"))?;
                g.minimized = Some(dest.display().to_string());
                g.regression = Some(dest.display().to_string());
            }
        }
        out.push(g);
    }
    write_json(&night.dir.join("triage.json"), &out)?;
    Ok(out)
}

/// A simulation finding's sequence chart (SVG) and viewer page, written next to the report.
fn pages(f: &finding::Finding, n: usize, night: &Night) -> Result<(String, String), String> {
    let w = f.world(None)?;
    let (_, lines) = f.trace(&w);
    let recs = mta_lab_look::chart::load(&lines.join("\n"))?;
    let title = format!("{} seed {}: {}", f.world, f.seed, f.signature);
    write_pages(&title, &recs, n, night)
}

/// Chart and viewer of finding `n` next to the report.
fn write_pages(
    title: &str,
    recs: &[mta_lab_look::chart::Rec],
    n: usize,
    night: &Night,
) -> Result<(String, String), String> {
    let svg = mta_lab_look::chart::svg(recs, mta_lab_look::chart::Layer::Session);
    let (c, v) = (format!("finding-{n}.svg"), format!("finding-{n}.html"));
    write_atomically(&night.report.join(&c), svg.as_bytes())?;
    write_atomically(
        &night.report.join(&v),
        mta_lab_look::viewer::page(title, recs, &svg).as_bytes(),
    )?;
    Ok((c, v))
}

fn report(
    plan: &Plan,
    results: &[UnitResult],
    triaged: &[Triaged],
    (coverage, mutation): (Option<crate::coverage::Summary>, Option<MutationSummary>),
    o: &Options,
    night: &Night,
    fuzz_ok: &Result<(), String>,
) -> Result<bool, String> {
    let mut cells: Vec<kb::Cell> = plan
        .kb
        .iter()
        .filter_map(|u| results.iter().find(|r| &r.unit == u))
        .flat_map(|r| r.cells.clone())
        .collect();
    copy_cell_pages(&mut cells, night);
    let mut reasons = Vec::new();
    for c in cells.iter().filter(|c| !c.agrees) {
        reasons.push(format!(
            "KB matrix: {} {} {} disagrees with {} (expected {})",
            c.kb,
            c.build,
            c.config,
            o.expected.display(),
            c.expected.as_deref().unwrap_or("-")
        ));
    }
    for f in triaged.iter().filter(|f| f.known.is_none()) {
        reasons.push(format!(
            "NEW {} finding in {} on {}: {}",
            f.kind,
            f.subject,
            f.found_on.join(","),
            f.signature
        ));
    }
    for r in results.iter().filter(|r| r.error.is_some()) {
        reasons.push(format!(
            "{}: {}",
            r.unit.id(),
            r.error.as_deref().unwrap_or("")
        ));
    }
    if let Err(e) = fuzz_ok {
        reasons.push(format!("fuzz units not run: {e}"));
    }
    let units: Vec<UnitRow> = results
        .iter()
        .filter(|r| !matches!(r.unit, Unit::Kb { .. }))
        .map(|r| {
            let (work, cov, corpus, states) = match (&r.fuzz, &r.sweep) {
                (Some(f), _) => (f.execs, f.cov, f.corpus.2, f.states.len()),
                (_, Some(s)) => (s.seeds, 0, 0, s.states),
                _ => (0, 0, 0, 0),
            };
            UnitRow {
                id: r.unit.id(),
                seconds: r.seconds,
                work,
                rate: work as f64 / r.seconds.max(0.001),
                cov,
                states,
                corpus,
                error: r.error.clone(),
            }
        })
        .collect();
    let mut summary = Summary {
        schema: SCHEMA,
        date: plan.date.clone(),
        green: reasons.is_empty(),
        reasons,
        budget_s: plan.budget_s,
        unit_seconds: results.iter().map(|r| r.seconds).sum(),
        cells,
        findings: triaged.to_vec(),
        units,
        skipped: plan.skipped.clone(),
        source_coverage: coverage,
        goals: goals_reached(results),
        mutation,
        lab: Some(finding::Provenance::current()),
        lifecycle: Vec::new(),
    };
    summary.lifecycle =
        crate::lifecycle::lifecycle(&crate::lifecycle::records(&o.reports, &summary)?);
    write_json(&night.report.join("summary.json"), &summary)?;
    let history = history(&o.reports);
    let goals = crate::goals::night_goals(&goal_history(&o.reports));
    let html = crate::report::html(
        &summary,
        results,
        &history,
        &coverage_history(&o.reports),
        &goals,
    );
    write_atomically(&night.report.join("index.html"), html.as_bytes())?;
    println!();
    for f in triaged {
        println!(
            "{} {:<5} {:<14} x{:<4} found on {:<24} fires on {:<40} {}",
            f.known
                .as_deref()
                .map_or("NEW    ".to_string(), |k| format!("{k:<7}")),
            f.kind,
            f.subject,
            f.count,
            f.found_on.join(","),
            f.fires_on.join(","),
            f.signature
        );
        println!("        replay: {}", f.replay);
        if let Some(r) = &f.regression {
            println!("        regression file: {r}");
        }
    }
    for r in &summary.reasons {
        println!("NOT GREEN: {r}");
    }
    println!(
        "nightly {}: {} — report {}",
        summary.date,
        if summary.green { "GREEN" } else { "RED" },
        night.report.join("index.html").display()
    );
    Ok(summary.green)
}

/// Each KB cell's chart and viewer (written under the state directory by the matrix) copied
/// next to the report as `kb/<kb>-<build>-<config>.{svg,html}`, the cell pointing at the copies
/// (relative to the report) so that the page's links work wherever the report is opened; a cell
/// whose pages cannot be copied keeps none.
fn copy_cell_pages(cells: &mut [kb::Cell], night: &Night) {
    for c in cells.iter_mut() {
        let Some((chart, viewer)) = c.pages.take() else {
            continue;
        };
        let stem = format!("kb/{}-{}-{}", c.kb, c.build, c.config);
        let (svg, html) = (format!("{stem}.svg"), format!("{stem}.html"));
        let copied = [(&chart, &svg), (&viewer, &html)].iter().all(|(from, to)| {
            std::fs::read(from)
                .ok()
                .is_some_and(|b| write_atomically(&night.report.join(to), &b).is_ok())
        });
        if copied {
            c.pages = Some((svg, html));
        }
    }
}

/// Per goal reached by a unit tonight, the units (ids) that reached it.
fn goals_reached(results: &[UnitResult]) -> BTreeMap<String, Vec<String>> {
    let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in results {
        let goals = match (&r.fuzz, &r.sweep) {
            (Some(f), _) => &f.goals,
            (_, Some(s)) => &s.goals,
            _ => continue,
        };
        for g in goals {
            m.entry(g.clone()).or_default().push(r.unit.id());
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_campaign_covers_every_target_and_world_and_slices_fit_the_budget() {
        let all = campaign_units();
        for t in mta_harness::TARGETS {
            assert!(all.iter().any(|(_, s, _)| s.as_deref() == Some(t.name)));
        }
        for t in BUILD_TARGETS {
            for b in Build::ALL {
                assert!(all.iter().any(|(k, s, bb)| k == "fuzz"
                    && s.as_deref() == Some(*t)
                    && bb == b.cli_name()));
            }
        }
        let (units, skipped) = slice(600.0, 2, 8.0, false);
        assert_eq!(units.len() + skipped.len(), all.len());
        let total: f64 = units
            .iter()
            .map(|u| match u {
                Unit::Fuzz { seconds, .. } => *seconds as f64,
                Unit::Sweep { seconds, .. } => *seconds,
                Unit::Kb { .. } => 0.0,
            })
            .sum();
        assert!(total <= 1200.0 + 1e-6, "{total}");
        let (few, rest) = slice(40.0, 2, 8.0, true);
        assert_eq!(few.len(), 10);
        assert!(few.iter().all(|u| matches!(u, Unit::Sweep { .. })));
        assert!(!rest.is_empty());
        assert_eq!(few[0].id(), "sweep-standard@2000-sp3-rollup");
    }

    #[test]
    fn the_baseline_loads() {
        let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/kb/known-findings.toml");
        let k = load_baseline(&p).unwrap();
        for kb in ["Q182619", "Q811406", "Q225157"] {
            assert!(k.iter().any(|e| e.kb == kb), "{kb} missing");
        }
        assert!(
            known_for(
                &k,
                "fuzz",
                "driver_events",
                "[driver_events] fatal event 9404: A fatal MTA error has occurred. An illegal buffer request has been made. The request was for N headers and N elements.",
                "5.5"
            )
            .is_some()
        );
        assert!(
            known_for(&k, "fuzz", "driver_events", "fatal event 9404", "5.5-sp2").is_none(),
            "a fixed build's crash is new"
        );
    }
}
