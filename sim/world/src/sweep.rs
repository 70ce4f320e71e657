//! Seed sweeps: run a world over a range (or shard) of seeds, in this process or in worker
//! processes, with a progress bar, findings written atomically, and a journal so that a sweep
//! killed at any point continues with `--resume` where it stopped (nothing is lost: a seed is
//! journalled only after its finding file is renamed into place).

use crate::jobs::SeedResult;
use crate::world::World;
use crate::{finding, simulate};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

/// What a sweep runs.
pub struct SweepPlan<'a> {
    /// The world.
    pub world: &'a World,
    /// Seeds, in order.
    pub seeds: Vec<u64>,
    /// Whether each seed's fault plan applies.
    pub faults: bool,
    /// Findings directory (the journal lives there too).
    pub dir: &'a Path,
    /// 0: in this process; N: N worker processes.
    pub jobs: usize,
    /// Worker wall-clock timeout (s).
    pub timeout_s: u64,
    /// `run` options for workers (world, build, messages, findings…), without `--seed`.
    pub worker_args: Vec<String>,
    /// Continue from the journal instead of starting over.
    pub resume: bool,
}

/// The sweep's totals.
#[derive(Debug, Default)]
pub struct SweepSummary {
    /// Seeds in the sweep.
    pub seeds: usize,
    /// Seeds taken from the journal (already done).
    pub resumed: usize,
    /// Seeds with findings (crashes and hangs of workers included).
    pub failed: usize,
    /// Distinct signatures.
    pub signatures: BTreeSet<String>,
    /// Per machine: (9301 events, inbound connections from world machines).
    pub refused: BTreeMap<String, (usize, u64)>,
    /// Trace hash per seed, in seed order (`-` when none).
    pub hashes: Vec<String>,
}

/// One journal line: seed, status, signature, report line — tab-separated.
fn journal_line(r: &SeedResult, signature: &str) -> String {
    let status = match (&r.crashed, r.clean) {
        (Some(_), _) => "crash",
        (None, true) => "clean",
        (None, false) => "finding",
    };
    format!(
        "{}\t{status}\t{}\t{}\n",
        r.seed,
        signature.replace(['\t', '\n'], " "),
        r.line.as_deref().unwrap_or("-")
    )
}

/// A sweep journal's seeds (see `journal_line`): each seed's result and signature; a torn last
/// line is skipped, so that seed runs again.
pub fn parse_journal(text: &str) -> BTreeMap<u64, (SeedResult, String)> {
    let mut done = BTreeMap::new();
    // A torn last line (kill -9 mid-write) has fewer fields and is skipped: that seed reruns.
    for l in text.lines() {
        let f: Vec<&str> = l.splitn(4, '\t').collect();
        let [seed, status, sig, line] = f[..] else {
            continue;
        };
        let Ok(seed) = seed.parse::<u64>() else {
            continue;
        };
        let r = SeedResult {
            seed,
            line: (line != "-").then(|| line.to_string()),
            clean: status == "clean",
            crashed: (status == "crash").then(|| sig.to_string()),
            output: String::new(),
        };
        done.insert(seed, (r, sig.to_string()));
    }
    done
}

/// The journal's file name: one per (world, builds, faults) — seeds are keyed inside.
pub fn journal_path(dir: &Path, world: &World, faults: bool) -> PathBuf {
    let builds: Vec<&str> = world
        .machines
        .iter()
        .map(crate::world::MachineSpec::build_name)
        .collect();
    dir.join(format!(
        "sweep-{}-{}{}.journal",
        world.name,
        builds.join("+"),
        if faults { "" } else { "-nofaults" }
    ))
}

/// Run the sweep; `report` prints a seed's details (findings, replay command) as they come.
pub fn run(plan: &SweepPlan<'_>, report: &mut dyn FnMut(&str)) -> Result<SweepSummary, String> {
    std::fs::create_dir_all(plan.dir).map_err(|e| format!("{}: {e}", plan.dir.display()))?;
    let path = journal_path(plan.dir, plan.world, plan.faults);
    let mut done = if plan.resume {
        parse_journal(&std::fs::read_to_string(&path).unwrap_or_default())
    } else {
        BTreeMap::new()
    };
    let mut journal = std::fs::OpenOptions::new()
        .create(true)
        .append(plan.resume)
        .write(true)
        .truncate(!plan.resume)
        .open(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let todo: Vec<u64> = plan
        .seeds
        .iter()
        .copied()
        .filter(|s| !done.contains_key(s))
        .collect();
    let resumed = plan.seeds.len() - todo.len();
    let bar = indicatif::ProgressBar::new(plan.seeds.len() as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:40}] {pos}/{len} seeds ({per_sec}, eta {eta}) {msg}",
        )
        .map_err(|e| e.to_string())?
        .progress_chars("=> "),
    );
    bar.set_position(resumed as u64);
    let mut failed_now = 0usize;
    let mut on_done = |r: SeedResult, signature: String| -> Result<(), String> {
        if !r.clean {
            failed_now += 1;
            bar.set_message(format!("{failed_now} with findings"));
            bar.suspend(|| report(&r.output));
        }
        journal
            .write_all(journal_line(&r, &signature).as_bytes())
            .and_then(|()| journal.flush())
            .map_err(|e| format!("{}: {e}", path.display()))?;
        bar.inc(1);
        done.insert(r.seed, (r, signature));
        Ok(())
    };
    if plan.jobs == 0 {
        let prev = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let mut outcome = Ok(());
        for &seed in &todo {
            let r = match std::panic::catch_unwind(|| simulate::run(plan.world, seed, plan.faults))
            {
                Ok(r) => in_process_result(plan, &r),
                Err(_) => Ok((
                    SeedResult {
                        seed,
                        line: None,
                        clean: false,
                        crashed: Some("PANIC in the simulation".into()),
                        output: format!("seed {seed}: PANIC in the simulation (a finding)"),
                    },
                    "PANIC in the simulation".to_string(),
                )),
            };
            outcome = r.and_then(|(r, sig)| on_done(r, sig));
            if outcome.is_err() {
                break;
            }
        }
        std::panic::set_hook(prev);
        outcome?;
    } else {
        let mut outcome = Ok(());
        crate::jobs::run(
            &plan.worker_args,
            &todo,
            (plan.jobs, plan.timeout_s * 100),
            &plan.dir.join("worker-logs"),
            &mut |r: SeedResult| {
                let sig = r
                    .output
                    .lines()
                    .find_map(|l| l.strip_prefix("signature: "))
                    .map(str::to_string)
                    .or_else(|| r.crashed.clone())
                    .unwrap_or_default();
                if outcome.is_ok() {
                    outcome = on_done(r, sig);
                }
            },
        )?;
        outcome?;
    }
    bar.finish_and_clear();
    let mut s = SweepSummary {
        seeds: plan.seeds.len(),
        resumed,
        ..SweepSummary::default()
    };
    for seed in &plan.seeds {
        let Some((r, sig)) = done.get(seed) else {
            continue;
        };
        for (m, x, c) in r.refused() {
            let e = s.refused.entry(m).or_default();
            e.0 += x;
            e.1 += c;
        }
        if !r.clean {
            s.failed += 1;
            s.signatures.insert(sig.clone());
        }
        s.hashes.push(
            r.line
                .as_deref()
                .and_then(|l| l.split(" trace ").nth(1))
                .and_then(|t| t.split_whitespace().next())
                .unwrap_or("-")
                .to_string(),
        );
    }
    Ok(s)
}

fn in_process_result(
    plan: &SweepPlan<'_>,
    r: &simulate::RunReport,
) -> Result<(SeedResult, String), String> {
    let mut output = crate::simulate::report_text(r);
    let mut sig = String::new();
    if !r.findings.is_empty() {
        let f =
            finding::Finding::from_run(plan.world, plan.world.messages_per_flow(), plan.faults, r);
        let path = f.save(plan.dir)?;
        let _ = writeln!(
            output,
            "signature: {}\nreplay: cargo run --release -p mta-lab -- replay {}",
            f.signature,
            path.display()
        );
        sig = f.signature;
    }
    let line = output.lines().next().map(str::to_string);
    Ok((
        SeedResult {
            seed: r.seed,
            line,
            clean: r.findings.is_empty(),
            crashed: None,
            output,
        },
        sig,
    ))
}

impl SweepSummary {
    /// The 9301 rate per machine, as printed.
    pub fn rates(&self) -> Vec<String> {
        self.refused
            .iter()
            .map(|(m, (n, c))| {
                let pct = if *c == 0 {
                    0.0
                } else {
                    *n as f64 * 100.0 / *c as f64
                };
                format!("{m} refused {n} of {c} inbound connections with 9301 ({pct:.0} %)")
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journal_lines_round_trip_and_torn_lines_are_skipped() {
        let r = SeedResult {
            seed: 7,
            line: Some("seed 7: 1 of 1 messages accounted, trace ab (1 events); A: 9301 on 1 of 2 inbound connections".into()),
            clean: false,
            crashed: None,
            output: String::new(),
        };
        let text = journal_line(&r, "A: N control blocks") + "8\tcle";
        let done = parse_journal(&text);
        assert_eq!(done.len(), 1);
        let (back, sig) = &done[&7];
        assert_eq!((back.clean, sig.as_str()), (false, "A: N control blocks"));
        assert_eq!(back.refused(), vec![("A".into(), 1, 2)]);
    }
}
