//! Worker processes for sweeps: each seed runs as `mta-lab run --seed S …` in its own process with a
//! wall-clock timeout, so a panic, an abort or a hang inside one seed becomes a finding and never
//! kills the sweep. Results are reported in seed order whatever the completion order, so
//! `--jobs 1` and `--jobs N` print the same thing. A worker writes its stdout and stderr to files
//! in the sweep's log directory, never to a pipe nobody reads while it runs (a chatty worker, e.g.
//! `MTA_LAB_LOG=debug`, would fill the pipe, block and look like a hang); the files of a clean
//! seed are removed, those of a seed with a finding or a crash are kept.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// What one worker reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SeedResult {
    /// Seed.
    pub seed: u64,
    /// The run's report line (`seed S: … trace H …`), if it printed one.
    pub line: Option<String>,
    /// Exit status 0 (no finding).
    pub clean: bool,
    /// Why the worker itself failed (crash, abort, timeout), if it did.
    pub crashed: Option<String>,
    /// Everything the worker printed.
    pub output: String,
}

impl SeedResult {
    /// (machine, 9301 count, inbound connections) parsed from the report line.
    pub fn refused(&self) -> Vec<(String, usize, u64)> {
        let Some(line) = &self.line else {
            return Vec::new();
        };
        let Some((_, tail)) = line.split_once("events); ") else {
            return Vec::new();
        };
        tail.split("; ")
            .filter_map(|part| {
                let (m, rest) = part.split_once(": 9301 on ")?;
                let (n, rest) = rest.split_once(" of ")?;
                let c = rest.split_whitespace().next()?;
                Some((m.to_string(), n.parse().ok()?, c.parse().ok()?))
            })
            .collect()
    }
}

/// Where worker `seed` writes its stdout and stderr.
fn log_paths(logs: &Path, seed: u64) -> (PathBuf, PathBuf) {
    (
        logs.join(format!("seed-{seed}.out")),
        logs.join(format!("seed-{seed}.err")),
    )
}

fn finish(seed: u64, mut child: Child, timed_out: bool, logs: &Path) -> SeedResult {
    let status = child.wait();
    let (out, err) = log_paths(logs, seed);
    let read =
        |p: &Path| String::from_utf8_lossy(&std::fs::read(p).unwrap_or_default()).into_owned();
    let (text, errors) = (read(&out), read(&err));
    match status {
        Ok(status) => {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("seed {seed}:")))
                .map(str::to_string);
            // The simulated-time bound (`max_sim_ms`) decides a model's hang; this timeout is
            // the last resort against a worker process that stopped making progress.
            let crashed = if timed_out {
                Some("wall-clock timeout (hang; last resort)".to_string())
            } else {
                match crate::exit::Exit::of(status) {
                    crate::exit::Exit::Clean | crate::exit::Exit::Findings => None,
                    e => Some(format!(
                        "worker ended with status {} ({}; {status}): {}",
                        e.code(),
                        e.meaning(),
                        errors.lines().last().unwrap_or("")
                    )),
                }
            };
            let mut output = text;
            if status.success() && crashed.is_none() {
                let _ = std::fs::remove_file(&out);
                let _ = std::fs::remove_file(&err);
            } else {
                let _ = writeln!(
                    output,
                    "worker logs kept: {} {}",
                    out.display(),
                    err.display()
                );
            }
            SeedResult {
                seed,
                line,
                clean: status.success(),
                crashed,
                output,
            }
        }
        Err(e) => SeedResult {
            seed,
            line: None,
            clean: false,
            crashed: Some(format!("worker lost: {e}")),
            output: String::new(),
        },
    }
}

/// Run `seeds` with `jobs` workers; `args` are the `run` options other than `--seed`. A worker
/// still running after `timeout_polls` polls of 10 ms is killed. Workers write their output to
/// files under `logs` (created). `on_done` gets each result as its worker ends (completion order).
pub fn run(
    args: &[String],
    seeds: &[u64],
    (jobs, timeout_polls): (usize, u64),
    logs: &Path,
    on_done: &mut dyn FnMut(SeedResult),
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    std::fs::create_dir_all(logs).map_err(|e| format!("{}: {e}", logs.display()))?;
    let file =
        |p: &Path| std::fs::File::create(p).map_err(|e| format!("worker log {}: {e}", p.display()));
    let mut pending = seeds.iter().copied();
    let mut running: BTreeMap<u64, (Child, u64)> = BTreeMap::new();
    loop {
        while running.len() < jobs.max(1) {
            let Some(seed) = pending.next() else { break };
            let (out, err) = log_paths(logs, seed);
            let child = Command::new(&exe)
                .arg("run")
                .arg("--seed")
                .arg(seed.to_string())
                .args(args)
                .stdin(Stdio::null())
                .stdout(file(&out)?)
                .stderr(file(&err)?)
                .spawn()
                .map_err(|e| format!("cannot start a worker: {e}"))?;
            running.insert(seed, (child, 0));
        }
        if running.is_empty() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
        let mut finished = Vec::new();
        for (seed, (child, polls)) in &mut running {
            *polls += 1;
            match child.try_wait() {
                Ok(None) if *polls > timeout_polls => {
                    let _ = child.kill();
                    finished.push((*seed, true));
                }
                Ok(None) => {}
                Ok(Some(_)) | Err(_) => finished.push((*seed, false)),
            }
        }
        for (seed, timed_out) in finished {
            let (child, _) = running.remove(&seed).expect("running");
            on_done(finish(seed, child, timed_out, logs));
        }
    }
    // Only the logs of seeds with findings or crashes are kept; no such seed, no directory.
    let _ = std::fs::remove_dir(logs);
    Ok(())
}

/// Parse `i/n`.
pub fn parse_shard(s: &str) -> Result<(u64, u64), String> {
    let (i, n) = s
        .split_once('/')
        .and_then(|(i, n)| Some((i.parse::<u64>().ok()?, n.parse::<u64>().ok()?)))
        .ok_or_else(|| format!("--shard {s:?}: expected i/n"))?;
    if n == 0 || i >= n {
        return Err(format!("--shard {s:?}: need 0 <= i < n"));
    }
    Ok((i, n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_and_report_lines_parse() {
        assert_eq!(parse_shard("1/4"), Ok((1, 4)));
        assert!(parse_shard("4/4").is_err());
        assert!(parse_shard("x").is_err());
        let r = SeedResult {
            seed: 3,
            line: Some(
                "seed 3: 40 of 40 messages accounted, 4800 ms simulated, trace 1 (2 events); ALPHA: 9301 on 0 of 1 inbound connections; BETA: 9301 on 5 of 9 inbound connections".into(),
            ),
            clean: true,
            crashed: None,
            output: String::new(),
        };
        assert_eq!(
            r.refused(),
            vec![("ALPHA".into(), 0, 1), ("BETA".into(), 5, 9)]
        );
    }
}
