//! Worker processes for sweeps: each seed runs as `mta-lab run --seed S …` in its own process with a
//! wall-clock timeout, so a panic, an abort or a hang inside one seed becomes a finding and never
//! kills the sweep. Results are reported in seed order whatever the completion order, so
//! `--jobs 1` and `--jobs N` print the same thing.

use std::collections::BTreeMap;
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

fn finish(seed: u64, child: Child, timed_out: bool) -> SeedResult {
    let out = child.wait_with_output();
    match out {
        Ok(o) => {
            let text = String::from_utf8_lossy(&o.stdout).into_owned();
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("seed {seed}:")))
                .map(str::to_string);
            let crashed = if timed_out {
                Some("wall-clock timeout (hang)".to_string())
            } else if o.status.code().is_none_or(|c| c > 1) {
                Some(format!(
                    "worker died ({}): {}",
                    o.status,
                    String::from_utf8_lossy(&o.stderr)
                        .lines()
                        .last()
                        .unwrap_or("")
                ))
            } else {
                None
            };
            SeedResult {
                seed,
                line,
                clean: o.status.success(),
                crashed,
                output: text,
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
/// still running after `timeout_polls` polls of 10 ms is killed. `on_done` gets each result as
/// its worker ends (completion order).
pub fn run(
    args: &[String],
    seeds: &[u64],
    jobs: usize,
    timeout_polls: u64,
    on_done: &mut dyn FnMut(SeedResult),
) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find my own executable: {e}"))?;
    let mut pending = seeds.iter().copied();
    let mut running: BTreeMap<u64, (Child, u64)> = BTreeMap::new();
    loop {
        while running.len() < jobs.max(1) {
            let Some(seed) = pending.next() else { break };
            let child = Command::new(&exe)
                .arg("run")
                .arg("--seed")
                .arg(seed.to_string())
                .args(args)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
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
            on_done(finish(seed, child, timed_out));
        }
    }
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
