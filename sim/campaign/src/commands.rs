//! The campaign commands of `mta-lab`: `kb` (the KB matrix), `nightly`, `merge`, and the pictures
//! of a run or a fuzz input (`chart`, `view`, `diff`), which replay a finding or run a harness
//! before drawing. Each prints its report and returns the exit status.

use crate::{date, harness_trace, kb, merge, night, nightly};
use mta_build::Build;
use mta_lab_look::{chart, diff, viewer};
use mta_lab_world::{faults, finding, input, simulate};
use std::path::PathBuf;
use std::process::ExitCode;

/// `mta-lab nightly`'s options.
#[derive(clap::Args)]
pub struct NightlyArgs {
    /// Total wall-clock budget: 900, 900s, 15m, 1h.
    #[arg(long, default_value = "15m")]
    budget: String,
    /// Units at once [default: the machine's cores].
    #[arg(long)]
    jobs: Option<usize>,
    /// The night's name (YYYY-MM-DD) [default: today, UTC]; the same date resumes.
    #[arg(long)]
    date: Option<String>,
    /// Reports root.
    #[arg(long, default_value = "reports")]
    reports: PathBuf,
    /// State root (plans, unit results, corpora, crash inputs).
    #[arg(long, default_value = "target/mta-lab/nightly")]
    state: PathBuf,
    /// Per-cell budget of the KB matrix (s).
    #[arg(long, default_value_t = 10.0)]
    kb_budget: f64,
    /// Only this KB in the matrix.
    #[arg(long)]
    kb: Option<String>,
    /// Skip libFuzzer.
    #[arg(long)]
    no_libfuzzer: bool,
    /// Shortest slice a campaign unit gets (s); units beyond the budget are left out.
    #[arg(long, default_value_t = 8.0)]
    min_slice: f64,
    /// Known findings (the KB reproductions expected on faulty builds).
    #[arg(long, default_value = "corpora/kb/known-findings.toml")]
    baseline: PathBuf,
    /// The KB matrix expectations.
    #[arg(long, default_value = "corpora/kb/expected.toml")]
    expected: PathBuf,
    /// Where new findings become regression files.
    #[arg(long, default_value = "corpora/regressions")]
    regressions: PathBuf,
    /// Targets of the source-coverage phase (comma-separated) [default: every target];
    /// `none` skips the phase.
    #[arg(long, value_delimiter = ',')]
    coverage_targets: Vec<String>,
    /// Shards of the mutation phase: each night mutates shard (night number mod N) of every
    /// crate of `mta-lab mutants` with cargo-mutants [default: 0, the phase is skipped; the
    /// scheduled nightly uses 32].
    #[arg(long, default_value_t = 0)]
    mutants_shards: u32,
    /// Retention: keep the reports and per-night state of the newest N nights (directories
    /// named YYYY-MM-DD) and prune older ones, saying which; corpora, sweep cursors and mutation
    /// outcomes are always kept, and pruned nights' findings stay in the lifecycle ledger.
    #[arg(long, default_value_t = crate::retention::DEFAULT_KEEP_NIGHTS,
          value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    keep_nights: usize,
}

/// `mta-lab nightly`'s options from its arguments (the budget must parse).
pub fn nightly_args(a: NightlyArgs) -> Result<nightly::Options, String> {
    Ok(nightly::Options {
        budget_s: input::parse_duration(&a.budget).map_err(|e| format!("--budget {e}"))?,
        jobs: a
            .jobs
            .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, usize::from)),
        date: a.date.unwrap_or_else(date::today),
        reports: a.reports,
        state: a.state,
        kb_budget_s: a.kb_budget,
        kb: a.kb,
        no_libfuzzer: a.no_libfuzzer,
        min_slice_s: a.min_slice,
        baseline: a.baseline,
        expected: a.expected,
        regressions: a.regressions,
        coverage_targets: a.coverage_targets,
        mutants_shards: a.mutants_shards,
        keep_nights: a.keep_nights,
    })
}

/// `mta-lab kb`: the KB matrix, printed cell by cell, compared with its expectations (exit 1
/// if a cell disagrees).
#[allow(clippy::disallowed_types)] // wall clock: total time printed
pub fn kb_matrix(o: &kb::Options) -> Result<ExitCode, String> {
    if !o.budget_s.is_finite() || o.budget_s <= 0.0 {
        return Err(format!(
            "--budget {}: a positive number of seconds",
            o.budget_s
        ));
    }
    let started = std::time::Instant::now();
    println!(
        "KB matrix: budget {} s per cell (libFuzzer {} s), seed {}, {} at once; expected: {}",
        o.budget_s,
        o.budget_s * 4.0,
        o.seed,
        o.jobs,
        o.expected.display()
    );
    println!(
        "{:<8} {:<16} {:<9} {:<28} {:<9} {:>8} {:>9} {:>8}  expected",
        "KB", "build", "config", "outcome", "engine", "time", "spent", "trigger"
    );
    let cells = kb::run(o, &mut |c| println!("{}", kb::line(c)))?;
    let bad: Vec<&kb::Cell> = cells.iter().filter(|c| !c.agrees).collect();
    println!();
    for c in cells
        .iter()
        .filter(|c| c.artifact.is_some() || c.replay.is_some())
    {
        println!(
            "  {} {} {}: {}",
            c.kb,
            c.build,
            c.config,
            c.replay.as_deref().unwrap_or("-")
        );
        if let Some((chart, viewer)) = &c.pages {
            println!("      chart {chart}  viewer {viewer}");
        }
    }
    for c in &bad {
        println!(
            "DISAGREES: {} {} {} computed {:?}, expected {}; other findings: {:?}",
            c.kb,
            c.build,
            c.config,
            c.outcome,
            c.expected.as_deref().unwrap_or("-"),
            c.other
        );
    }
    println!(
        "{} cells in {:.0} s: {} agree with {}, {} disagree",
        cells.len(),
        started.elapsed().as_secs_f64(),
        cells.len() - bad.len(),
        o.expected.display(),
        bad.len()
    );
    if let Some(j) = &o.json {
        println!("json: {}", j.display());
    }
    Ok(if bad.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The trace of a finding (replayed) or of a JSONL file, with a title.
pub fn trace_of(
    input: &std::path::Path,
    harness: Option<(&str, Build)>,
) -> Result<(String, Vec<chart::Rec>), String> {
    if let Some((t, b)) = harness {
        let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let title = format!("{t} on {b}: {}", input.display());
        return Ok((title, harness_trace::harness_records(t, b, &bytes)?));
    }
    let is_toml = input
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("toml"));
    if is_toml {
        let f = finding::Finding::load(input)?;
        let w = f.world(None)?;
        let (_, lines) = f.trace(&w);
        let title = format!(
            "{} — world {} seed {}: {}",
            input.display(),
            f.world,
            f.seed,
            f.signature
        );
        Ok((title, chart::load(&lines.join("\n"))?))
    } else {
        let text =
            std::fs::read_to_string(input).map_err(|e| format!("{}: {e}", input.display()))?;
        let recs = chart::load(&text).map_err(|e| format!("{}: {e}", input.display()))?;
        Ok((input.display().to_string(), recs))
    }
}

/// `mta-lab chart` (with a layer) and `mta-lab view` (without): a finding replayed or a trace
/// file drawn as a sequence chart or the viewer page.
pub fn chart_cmd(
    source: &TraceSource,
    output: &std::path::Path,
    layer: Option<chart::Layer>,
) -> Result<ExitCode, String> {
    let harness = source.target.as_deref().map(|t| (t, source.build));
    let (title, recs) = trace_of(&source.input, harness)?;
    let svg = chart::svg(&recs, layer.unwrap_or(chart::Layer::Session));
    let html_out = output
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("html") || e.eq_ignore_ascii_case("htm"));
    let text = match layer {
        None => viewer::page(&title, &recs, &svg),
        Some(_) if html_out => chart::html(&title, &svg),
        Some(_) => svg,
    };
    input::write_atomically(output, &text)?;
    println!("{} records → {}", recs.len(), output.display());
    Ok(ExitCode::SUCCESS)
}

/// What `chart` and `view` draw.
#[derive(clap::Args)]
pub struct TraceSource {
    /// FINDING.toml or TRACE.jsonl (or a fuzz input with --target).
    input: PathBuf,
    /// The input is a fuzz input of this target (its run's event log and model events).
    #[arg(long)]
    target: Option<String>,
    /// Build for --target.
    #[arg(long, default_value = "5.5")]
    build: Build,
}

/// `mta-lab diff`'s options.
#[derive(clap::Args)]
pub struct DiffArgs {
    /// Two builds, comma-separated (e.g. 5.5-sp1,5.5-sp2).
    #[arg(long)]
    builds: String,
    /// A simulation finding (its world, seed and fault plan).
    #[arg(long)]
    finding: Option<PathBuf>,
    /// A world (with --seed).
    #[arg(long)]
    world: Option<String>,
    /// Seed of --world.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Messages per flow of --world.
    #[arg(long)]
    messages: Option<usize>,
    /// --world without its seed's fault plan.
    #[arg(long)]
    no_faults: bool,
    /// A fuzz target (with --input): compares the models' tracing events.
    #[arg(long)]
    target: Option<String>,
    /// The fuzz input.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Layer PDUs are compared at.
    #[arg(long, value_enum, default_value = "session")]
    layer: chart::Layer,
    /// Steps of context around the divergence.
    #[arg(long, default_value_t = 4)]
    context: usize,
    /// Write the divergence and both charts side by side (.html).
    #[arg(short, long)]
    output: Option<PathBuf>,
}

/// `mta-lab diff`: the first divergence of two builds on the same world and seed or fuzz input
/// (exit 1 when they differ).
pub fn diff_cmd(a: &DiffArgs) -> Result<ExitCode, String> {
    let pair: Vec<&str> = a.builds.split(',').map(str::trim).collect();
    let [x, y] = pair[..] else {
        return Err(format!(
            "--builds {:?}: two builds, comma-separated",
            a.builds
        ));
    };
    let (bx, by): (Build, Build) = (
        x.parse().map_err(|e| format!("--builds: {e}"))?,
        y.parse().map_err(|e| format!("--builds: {e}"))?,
    );
    let names = (bx.cli_name(), by.cli_name());
    let (sa, sb, charts, title) = match (&a.finding, &a.world, &a.target, &a.input) {
        (_, _, Some(t), Some(file)) => {
            let bytes = std::fs::read(file).map_err(|e| format!("{}: {e}", file.display()))?;
            (
                harness_trace::harness_steps(t, bx, &bytes)?,
                harness_trace::harness_steps(t, by, &bytes)?,
                None,
                format!("{t} {}", file.display()),
            )
        }
        (Some(path), None, None, None) => {
            let f = finding::Finding::load(path)?;
            let run = |b: Build| -> Result<Vec<chart::Rec>, String> {
                let w = f.world(Some(b))?;
                chart::load(&f.trace(&w).1.join("\n"))
            };
            let (ra, rb) = (run(bx)?, run(by)?);
            (
                diff::sim_steps(&ra, a.layer),
                diff::sim_steps(&rb, a.layer),
                Some((chart::svg(&ra, a.layer), chart::svg(&rb, a.layer))),
                format!("{} (seed {})", path.display(), f.seed),
            )
        }
        (None, Some(w), None, None) => {
            let run = |b: Build| -> Result<Vec<chart::Rec>, String> {
                let world = mta_lab_world::world::World::named(w, Some(b), a.messages)?;
                let plan = if a.no_faults {
                    faults::FaultPlan::none()
                } else {
                    faults::FaultPlan::from_seed(a.seed, &world)
                };
                let (_, rec) = simulate::run_with(
                    &world,
                    a.seed,
                    plan,
                    simulate::Record {
                        pcap: false,
                        trace: true,
                        until: None,
                        every_tick: false,
                    },
                );
                chart::load(&rec.trace.join("\n"))
            };
            let (ra, rb) = (run(bx)?, run(by)?);
            (
                diff::sim_steps(&ra, a.layer),
                diff::sim_steps(&rb, a.layer),
                Some((chart::svg(&ra, a.layer), chart::svg(&rb, a.layer))),
                format!("world {w} seed {}", a.seed),
            )
        }
        _ => {
            return Err(
                "give --finding F, or --world W [--seed S], or --target T --input FILE".into(),
            );
        }
    };
    let Some(index) = diff::first_divergence(&sa, &sb) else {
        println!(
            "{title}: {} and {} behave the same ({} steps)",
            names.0,
            names.1,
            sa.len()
        );
        return Ok(ExitCode::SUCCESS);
    };
    let d = diff::Divergence {
        index,
        a: sa,
        b: sb,
    };
    let text = diff::describe(names, &d, a.context);
    println!("{title}\n{text}");
    for (n, st) in [(names.0, &d.a), (names.1, &d.b)] {
        if let Some(last) = st
            .iter()
            .rev()
            .find(|s| s.key.starts_with("outcome:") || s.key.starts_with("ORACLE"))
        {
            println!("  {n} ends: {}", last.key);
        } else {
            println!("  {n} ends: no finding");
        }
    }
    if let Some(o) = &a.output {
        let page = match &charts {
            Some((ca, cb)) => diff::html(&title, &text, (ca, cb), names),
            None => diff::html(&title, &text, ("", ""), names),
        };
        input::write_atomically(o, &page)?;
        println!("written: {}", o.display());
    }
    // Like diff(1): 1 when the builds behave differently.
    Ok(ExitCode::FAILURE)
}

/// `mta-lab merge`: sharded sweep results folded into one deduplicated report (exit 1 on a
/// signature the baseline does not know).
pub fn merge_cmd(
    shards: &[PathBuf],
    out: &std::path::Path,
    baseline: &std::path::Path,
) -> Result<ExitCode, String> {
    let known = night::load_baseline(baseline)?;
    let (mut m, reps) = merge::merge(shards, &known)?;
    merge::write(&mut m, &reps, out)?;
    for (j, (n, f, d)) in &m.sweeps {
        println!("{j}: {n} seeds, {f} with findings, {d} run in more than one shard");
    }
    for (j, per) in &m.refused {
        for (machine, (n, c)) in per {
            if *c > 0 {
                println!(
                    "{j}: {machine} refused {n} of {c} inbound connections with 9301 ({:.1} %)",
                    *n as f64 * 100.0 / *c as f64
                );
            }
        }
    }
    let mut new = 0;
    for s in &m.signatures {
        if s.known.is_none() {
            new += 1;
        }
        println!(
            "{} x{:<5} {}  {}",
            s.known.as_deref().unwrap_or("NEW    "),
            s.seeds.len(),
            s.signature,
            s.replay.as_deref().unwrap_or("")
        );
    }
    println!(
        "{} shards, {} signatures ({new} new); report {}",
        m.shards.len(),
        m.signatures.len(),
        out.join("index.html").display()
    );
    Ok(if new == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `mta-lab nightly`: run the night; exit 1 unless it is green.
pub fn nightly_cmd(o: &nightly::Options) -> Result<ExitCode, String> {
    if o.date.is_empty()
        || !o
            .date
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!(
            "--date {:?}: letters, digits, '-' and '_' only (it names directories)",
            o.date
        ));
    }
    if !o.kb_budget_s.is_finite() || o.kb_budget_s <= 0.0 {
        return Err(format!(
            "--kb-budget {}: a positive number of seconds",
            o.kb_budget_s
        ));
    }
    if o.jobs == 0 {
        return Err("--jobs 0: at least one".into());
    }
    Ok(if nightly::run(o)? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
