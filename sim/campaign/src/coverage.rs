//! Source coverage (`mta-lab coverage` and the nightly's coverage phase): each fuzz target built with
//! `-C instrument-coverage` and run over its corpora by `cargo fuzz coverage` (stable; LLVM's
//! profile tools from rustup's `llvm-tools` component, which matches the compiler — Debian's
//! llvm-cov is too old for rustc's profile format), the targets' profiles merged, per-file and
//! per-crate line/region/function coverage from `llvm-cov export`, an HTML tree from `llvm-cov
//! show`, and the functions of the buffer manager, the LPI decoder, the MTA core and the OSI stack
//! that no target executed.
//!
//! Why `cargo fuzz coverage` rather than cargo-llvm-cov: it builds exactly the fuzz targets the
//! campaign runs (same harness entry points, same `--cfg fuzzing`) and replays a corpus in one
//! process per target; cargo-llvm-cov would need a replay binary of its own and a second install.
//! It drives processes and reads their JSON; it never touches the models.

use crate::libfuzzer;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The crates whose never-executed functions the report lists.
pub const LISTED_CRATES: &[&str] = &["bufmgr", "lpi", "mta", "osi"];

/// Covered and total of one measure.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Count {
    /// Covered.
    pub covered: u64,
    /// In all.
    pub count: u64,
}

impl Count {
    /// Percent covered (100 when there is nothing to cover).
    pub fn percent(self) -> f64 {
        if self.count == 0 {
            100.0
        } else {
            self.covered as f64 * 100.0 / self.count as f64
        }
    }
    fn add(&mut self, o: Count) {
        self.covered += o.covered;
        self.count += o.count;
    }
}

/// Lines, regions and functions of a file or a crate.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    /// Lines.
    pub lines: Count,
    /// Regions.
    pub regions: Count,
    /// Functions.
    pub functions: Count,
}

/// What a coverage run found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Targets whose corpora were replayed.
    pub targets: Vec<String>,
    /// Why there is no coverage (tools missing, build failed…); then everything else is empty.
    pub unavailable: Option<String>,
    /// Targets that could not be measured, with why.
    pub failed: Vec<(String, String)>,
    /// Per crate under `models/` (directory name): the merged counts.
    pub crates: BTreeMap<String, Counts>,
    /// Per file under `models/`, path relative to the repository.
    pub files: BTreeMap<String, Counts>,
    /// Per listed crate, the functions no target executed (demangled, sorted).
    pub uncovered: BTreeMap<String, Vec<String>>,
    /// The HTML tree's index, relative to the output directory.
    pub html: Option<String>,
}

/// The LLVM profile tools of the toolchain that builds the targets.
pub struct Tools {
    llvm_cov: PathBuf,
    llvm_profdata: PathBuf,
}

fn rustc_line(args: &[&str], prefix: &str) -> Option<String> {
    let out = Command::new("rustc").args(args).output().ok()?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix(prefix).map(|s| s.trim().to_string()))
}

fn tool_dir() -> Result<PathBuf, String> {
    let sysroot = rustc_line(&["--print", "sysroot"], "").ok_or("rustc --print sysroot failed")?;
    let host = rustc_line(&["-vV"], "host:").ok_or("rustc -vV names no host")?;
    Ok(Path::new(&sysroot)
        .join("lib/rustlib")
        .join(host)
        .join("bin"))
}

/// Find llvm-cov and llvm-profdata; if they are missing, add rustup's `llvm-tools` once.
pub fn tools() -> Result<Tools, String> {
    let dir = tool_dir()?;
    let found = |d: &Path| {
        let t = Tools {
            llvm_cov: d.join("llvm-cov"),
            llvm_profdata: d.join("llvm-profdata"),
        };
        (t.llvm_cov.is_file() && t.llvm_profdata.is_file()).then_some(t)
    };
    if let Some(t) = found(&dir) {
        return Ok(t);
    }
    let added = Command::new("rustup")
        .args(["component", "add", "llvm-tools"])
        .output()
        .map_err(|e| format!("llvm-tools missing and rustup not runnable: {e}"))?;
    found(&dir).ok_or_else(|| {
        format!(
            "llvm-tools missing in {} and `rustup component add llvm-tools` did not add them: {}",
            dir.display(),
            String::from_utf8_lossy(&added.stderr).trim()
        )
    })
}

/// Where `cargo fuzz coverage` leaves a target's instrumented binary.
fn coverage_binary(target: &str) -> Option<PathBuf> {
    let root = libfuzzer::fuzz_dir().join("target");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&root)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path().join("coverage")))
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("release").join(target)))
        .filter(|p| p.is_file())
        .collect();
    found.sort();
    found.pop()
}

/// Build `target` with coverage instrumentation and replay `corpora` (directories with files);
/// returns (binary, profile).
fn measure_target(target: &str, corpora: &[PathBuf]) -> Result<(PathBuf, PathBuf), String> {
    let build = crate::libfuzzer::ci_build(target);
    let out = Command::new("cargo")
        .current_dir(libfuzzer::fuzz_dir())
        .env("MTA_LAB_BUILD", build.cli_name())
        .args(["fuzz", "coverage", "--sanitizer", "none", target])
        .args(corpora)
        .output()
        .map_err(|e| format!("cargo fuzz coverage: {e}"))?;
    let profile = libfuzzer::fuzz_dir()
        .join("coverage")
        .join(target)
        .join("coverage.profdata");
    let bin = coverage_binary(target);
    if let (true, Some(bin)) = (out.status.success() && profile.is_file(), bin) {
        return Ok((bin, profile));
    }
    let err = String::from_utf8_lossy(&out.stderr);
    let tail: Vec<&str> = err.lines().rev().take(3).collect();
    Err(format!(
        "cargo fuzz coverage {target}: {}",
        tail.join(" / ")
    ))
}

/// The corpora of a target that hold files: the committed ones (unless `committed` is false) and
/// `extra`.
pub fn corpora_of(target: &str, committed: bool, extra: &[PathBuf]) -> Vec<PathBuf> {
    let root = mta_harness::corpora_dir();
    let mut v: Vec<PathBuf> = Vec::new();
    if committed {
        v.push(root.join("fuzz").join(target));
        v.push(root.join("regressions").join(target));
    }
    v.extend(extra.iter().cloned());
    v.into_iter()
        .filter(|d| !libfuzzer::files(d).is_empty())
        .map(|d| std::fs::canonicalize(&d).unwrap_or(d))
        .collect()
}

const IGNORE: &str = r"(/\.cargo/|/rustc/|/library/|/fuzz/)";

/// Measure `targets` over their corpora (`corpora(target)`), writing `coverage.json`, the merged
/// profile and `html/` under `out`. Never fails: what could not be done is in the summary.
pub fn run(targets: &[&str], corpora: &dyn Fn(&str) -> Vec<PathBuf>, out: &Path) -> Summary {
    let mut s = Summary {
        targets: targets.iter().map(|t| (*t).to_string()).collect(),
        ..Summary::default()
    };
    if let Err(e) = measure(targets, corpora, out, &mut s) {
        s = Summary {
            targets: s.targets,
            unavailable: Some(e),
            failed: s.failed,
            ..Summary::default()
        };
    }
    let _ = std::fs::create_dir_all(out);
    if let Ok(text) = serde_json::to_string_pretty(&s) {
        let _ = std::fs::write(out.join("coverage.json"), text);
    }
    s
}

fn measure(
    targets: &[&str],
    corpora: &dyn Fn(&str) -> Vec<PathBuf>,
    out: &Path,
    s: &mut Summary,
) -> Result<(), String> {
    let tools = tools()?;
    libfuzzer::available()?;
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut objects = Vec::new();
    let mut profiles = Vec::new();
    for t in targets {
        let dirs = corpora(t);
        match measure_target(t, &dirs) {
            Ok((bin, profile)) => {
                objects.push(bin);
                profiles.push(profile);
            }
            Err(e) => s.failed.push(((*t).to_string(), e)),
        }
    }
    if objects.is_empty() {
        return Err("no target could be measured".into());
    }
    let merged = out.join("merged.profdata");
    let st = Command::new(&tools.llvm_profdata)
        .args(["merge", "-sparse", "-o"])
        .arg(&merged)
        .args(&profiles)
        .status()
        .map_err(|e| format!("llvm-profdata: {e}"))?;
    if !st.success() {
        return Err("llvm-profdata merge failed".into());
    }
    let object_args: Vec<String> = objects
        .iter()
        .enumerate()
        .flat_map(|(i, o)| {
            let o = o.display().to_string();
            if i == 0 {
                vec![o]
            } else {
                vec!["-object".into(), o]
            }
        })
        .collect();
    let export = Command::new(&tools.llvm_cov)
        .arg("export")
        .arg(format!("-instr-profile={}", merged.display()))
        .arg(format!("--ignore-filename-regex={IGNORE}"))
        .args(&object_args)
        .output()
        .map_err(|e| format!("llvm-cov export: {e}"))?;
    if !export.status.success() {
        return Err(format!(
            "llvm-cov export: {}",
            String::from_utf8_lossy(&export.stderr).trim()
        ));
    }
    let json: Export =
        serde_json::from_slice(&export.stdout).map_err(|e| format!("llvm-cov export JSON: {e}"))?;
    summarise(&json, s);
    let html = out.join("html");
    let shown = Command::new(&tools.llvm_cov)
        .arg("show")
        .args(["-format=html", "-show-line-counts-or-regions"])
        .arg(format!("-output-dir={}", html.display()))
        .arg(format!("-instr-profile={}", merged.display()))
        .arg(format!("--ignore-filename-regex={IGNORE}"))
        .args(&object_args)
        .output()
        .map_err(|e| format!("llvm-cov show: {e}"))?;
    if shown.status.success() {
        s.html = Some("html/index.html".into());
    }
    Ok(())
}

#[derive(Deserialize)]
struct Export {
    data: Vec<ExportData>,
}

#[derive(Deserialize)]
struct ExportData {
    files: Vec<ExportFile>,
    functions: Vec<ExportFunction>,
}

#[derive(Deserialize)]
struct ExportFile {
    filename: String,
    summary: ExportSummary,
}

#[derive(Deserialize)]
struct ExportSummary {
    lines: Count,
    regions: Count,
    functions: Count,
}

#[derive(Deserialize)]
struct ExportFunction {
    name: String,
    count: u64,
    filenames: Vec<String>,
}

/// `models/<crate>/…` of an absolute source path, if it is one of the models'.
fn model_path(file: &str) -> Option<(&str, &str)> {
    let i = file.find("/models/")?;
    let rel = &file[i + 1..];
    let krate = rel["models/".len()..].split('/').next()?;
    Some((rel, krate))
}

/// Fold llvm-cov's export into per-file and per-crate counts and the never-executed functions.
fn summarise(json: &Export, s: &mut Summary) {
    for d in &json.data {
        for f in &d.files {
            let Some((rel, krate)) = model_path(&f.filename) else {
                continue;
            };
            let c = Counts {
                lines: f.summary.lines,
                regions: f.summary.regions,
                functions: f.summary.functions,
            };
            s.files.insert(rel.to_string(), c);
            let e = s.crates.entry(krate.to_string()).or_default();
            e.lines.add(c.lines);
            e.regions.add(c.regions);
            e.functions.add(c.functions);
        }
        // A function is executed when any of its instantiations (in any target) is.
        let mut hits: BTreeMap<(String, String), u64> = BTreeMap::new();
        for f in &d.functions {
            let Some((_, krate)) = f.filenames.first().and_then(|p| model_path(p)) else {
                continue;
            };
            if !LISTED_CRATES.contains(&krate) {
                continue;
            }
            let name = format!("{:#}", rustc_demangle::demangle(&f.name));
            *hits.entry((krate.to_string(), name)).or_default() += f.count;
        }
        for ((krate, name), n) in hits {
            if n == 0 {
                s.uncovered.entry(krate).or_default().push(name);
            }
        }
    }
    for v in s.uncovered.values_mut() {
        v.sort();
        v.dedup();
    }
}

/// `mta-lab coverage` options.
#[derive(clap::Args)]
pub struct Args {
    /// Targets to measure (default: every fuzz target).
    #[arg(long = "target", value_name = "T")]
    pub targets: Vec<String>,
    /// More corpus directories to replay (for every target measured).
    #[arg(long = "corpus", value_name = "DIR")]
    pub corpora: Vec<PathBuf>,
    /// Only the given `--corpus` directories, not the committed corpora.
    #[arg(long)]
    pub no_committed: bool,
    /// Output directory (coverage.json, merged.profdata, html/).
    #[arg(long, default_value = "target/mta-lab/coverage")]
    pub out: PathBuf,
}

/// `mta-lab coverage`.
pub fn cli(a: &Args) -> Result<std::process::ExitCode, String> {
    let targets: Vec<&str> = if a.targets.is_empty() {
        mta_harness::TARGETS.iter().map(|t| t.name).collect()
    } else {
        a.targets
            .iter()
            .map(|t| crate::smoke::target_by_name(t).map(|t| t.name))
            .collect::<Result<_, _>>()?
    };
    let corpora = |t: &str| corpora_of(t, !a.no_committed, &a.corpora);
    let s = run(&targets, &corpora, &a.out);
    print!("{}", text(&s));
    println!("JSON: {}", a.out.join("coverage.json").display());
    if let Some(h) = &s.html {
        println!("HTML: {}", a.out.join(h).display());
    }
    Ok(if s.unavailable.is_some() {
        std::process::ExitCode::FAILURE
    } else {
        std::process::ExitCode::SUCCESS
    })
}

/// The summary as text: per crate, then the never-executed functions per listed crate.
pub fn text(s: &Summary) -> String {
    use std::fmt::Write as _;
    let mut t = String::new();
    if let Some(why) = &s.unavailable {
        let _ = writeln!(t, "source coverage unavailable: {why}");
        return t;
    }
    for (target, why) in &s.failed {
        let _ = writeln!(t, "not measured: {target}: {why}");
    }
    let _ = writeln!(
        t,
        "{:<10} {:>15} {:>8} {:>15} {:>8} {:>12}",
        "crate", "lines", "", "regions", "", "functions"
    );
    for (k, c) in &s.crates {
        let _ = writeln!(
            t,
            "{k:<10} {:>7}/{:<7} {:>6.1}% {:>7}/{:<7} {:>6.1}% {:>5}/{:<6}",
            c.lines.covered,
            c.lines.count,
            c.lines.percent(),
            c.regions.covered,
            c.regions.count,
            c.regions.percent(),
            c.functions.covered,
            c.functions.count
        );
    }
    for (k, fs) in &s.uncovered {
        let _ = writeln!(t, "never executed in models/{k}: {} functions", fs.len());
        for f in fs.iter().take(12) {
            let _ = writeln!(t, "  {f}");
        }
        if fs.len() > 12 {
            let _ = writeln!(t, "  … {} more (coverage.json)", fs.len() - 12);
        }
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exported_counts_fold_by_crate_and_instantiations_by_name() {
        let json: Export = serde_json::from_str(
            r#"{"data":[{"files":[
              {"filename":"/r/models/lpi/src/decoder.rs","summary":{"lines":{"covered":5,"count":10},"regions":{"covered":1,"count":2},"functions":{"covered":1,"count":2}}},
              {"filename":"/r/models/lpi/src/message.rs","summary":{"lines":{"covered":5,"count":10},"regions":{"covered":1,"count":2},"functions":{"covered":1,"count":1}}},
              {"filename":"/r/sim/src/main.rs","summary":{"lines":{"covered":0,"count":9},"regions":{"covered":0,"count":9},"functions":{"covered":0,"count":9}}}],
             "functions":[
              {"name":"_RNvNtCs5m4DdAf7gic_7mta_lpi7decoder6decode","count":3,"filenames":["/r/models/lpi/src/decoder.rs"]},
              {"name":"_RNvNtCs5m4DdAf7gic_7mta_lpi7decoder13decode_buffer","count":0,"filenames":["/r/models/lpi/src/decoder.rs"]},
              {"name":"_RNvNtCs5m4DdAf7gic_7mta_lpi7decoder13decode_buffer","count":2,"filenames":["/r/models/lpi/src/decoder.rs"]},
              {"name":"_RNvNtCs5m4DdAf7gic_7mta_lpi7decoder6encode","count":0,"filenames":["/r/models/lpi/src/decoder.rs"]}]}]}"#,
        )
        .unwrap();
        let mut s = Summary::default();
        summarise(&json, &mut s);
        assert_eq!(
            s.crates["lpi"].lines,
            Count {
                covered: 10,
                count: 20
            }
        );
        assert!(!s.crates.contains_key("sim"), "only the models are counted");
        assert_eq!(s.uncovered["lpi"], ["mta_lpi::decoder::encode"]);
        assert!(text(&s).contains("never executed in models/lpi: 1 functions"));
    }
}
