//! The smoke campaign, finding replay and corpus seeding.
//!
//! Every input derives from `(seed, target, build, iteration)` through ChaCha8, so a campaign is
//! reproducible bit for bit; only the exec/s column reads the wall clock. A panic inside a harness is
//! caught and recorded as a finding with its input file and replay command; it never stops the
//! campaign.

use mta_build::Build;
use mta_harness::{Failure, TARGETS, Target, corpora_dir, corpus_files};
use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Campaign options (`mta-lab smoke`'s arguments).
#[derive(clap::Args)]
pub struct Options {
    /// Inputs per target and build.
    #[arg(long, default_value_t = 2000)]
    pub iterations: u64,
    /// Campaign seed (everything derives from it).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Restrict to one build.
    #[arg(long)]
    pub build: Option<Build>,
    /// Restrict to one target.
    #[arg(long)]
    pub target: Option<String>,
    /// Where findings are written.
    #[arg(long, default_value = "target/mta-lab/findings")]
    pub findings: PathBuf,
}

pub(crate) fn target_by_name(name: &str) -> Result<&'static Target, String> {
    crate::targets::by_name(name).ok_or_else(|| {
        format!(
            "unknown target {name:?}; targets: {}",
            crate::targets::all()
                .map(|t| t.name)
                .collect::<Vec<_>>()
                .join(" ")
        )
    })
}

/// Run one input, turning a panic into a failure.
pub(crate) fn run_one(t: &Target, build: Build, input: &[u8]) -> Result<&'static str, Failure> {
    match catch_unwind(AssertUnwindSafe(|| (t.run)(build, input))) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "non-string panic".into());
            Err(Failure {
                target: t.name,
                what: format!("panic: {msg}"),
            })
        }
    }
}

pub(crate) fn mutate(rng: &mut ChaCha8Rng, base: &[u8]) -> Vec<u8> {
    let mut v = base.to_vec();
    for _ in 0..rng.random_range(1..=4) {
        let len = v.len();
        match rng.random_range(0..5) {
            0 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] ^= 1 << rng.random_range(0..8);
            }
            1 if len > 0 => {
                let i = rng.random_range(0..len);
                v[i] = rng.random();
            }
            2 => {
                let i = rng.random_range(0..=len);
                v.insert(i, rng.random());
            }
            3 if len > 0 => {
                let i = rng.random_range(0..len);
                v.remove(i);
            }
            _ if len > 1 => {
                let a = rng.random_range(0..len);
                let b = rng.random_range(a..len);
                let chunk = v[a..=b].to_vec();
                let at = rng.random_range(0..=len);
                v.splice(at..at, chunk);
            }
            _ => v.push(rng.random()),
        }
    }
    v
}

struct Row {
    target: &'static str,
    build: Build,
    corpus: usize,
    inputs: u64,
    secs: f64,
    findings: Vec<(PathBuf, Failure)>,
    classes: BTreeMap<&'static str, u64>,
    /// Findings are expected on this build (a KB defect the target's oracle catches).
    expected: bool,
}

#[allow(clippy::disallowed_types)] // wall clock only for the exec/s column
fn campaign(t: &'static Target, build: Build, o: &Options, ti: usize) -> Result<Row, String> {
    let root = corpora_dir();
    let files = corpus_files(&root, t.name).map_err(|e| format!("reading corpus: {e}"))?;
    let corpus: Vec<Vec<u8>> = files
        .iter()
        .map(|f| std::fs::read(f).map_err(|e| format!("{}: {e}", f.display())))
        .collect::<Result<_, _>>()?;
    let mut row = Row {
        target: t.name,
        build,
        corpus: corpus.len(),
        inputs: 0,
        secs: 0.0,
        findings: Vec::new(),
        classes: BTreeMap::new(),
        expected: !(t.clean_on)(&build.profile()),
    };
    let started = std::time::Instant::now();
    let record = |row: &mut Row, input: &[u8], label: String, f: Failure| -> Result<(), String> {
        std::fs::create_dir_all(&o.findings)
            .map_err(|e| format!("{}: {e}", o.findings.display()))?;
        let path = o
            .findings
            .join(format!("{}-{}-{label}.bin", t.name, build.cli_name()));
        std::fs::write(&path, input).map_err(|e| format!("{}: {e}", path.display()))?;
        row.findings.push((path, f));
        Ok(())
    };
    for (i, input) in corpus.iter().enumerate() {
        row.inputs += 1;
        match run_one(t, build, input) {
            Ok(c) => *row.classes.entry(c).or_default() += 1,
            Err(f) => record(&mut row, input, format!("corpus{i}"), f)?,
        }
    }
    let mix = o.seed.wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ^ ((ti as u64) << 32)
        ^ (build.index() as u64) << 48;
    let mut rng = ChaCha8Rng::seed_from_u64(mix);
    for it in 0..o.iterations {
        let input = if !corpus.is_empty() && rng.random_bool(0.5) {
            let base = &corpus[rng.random_range(0..corpus.len())];
            mutate(&mut rng, base)
        } else {
            let mut v = vec![0u8; rng.random_range(0..=512)];
            rng.fill_bytes(&mut v);
            v
        };
        row.inputs += 1;
        match run_one(t, build, &input) {
            Ok(c) => *row.classes.entry(c).or_default() += 1,
            Err(f) => record(&mut row, &input, format!("seed{}-it{it}", o.seed), f)?,
        }
    }
    row.secs = started.elapsed().as_secs_f64();
    Ok(row)
}

/// The smoke campaign.
pub fn run(o: &Options) -> Result<ExitCode, String> {
    let targets: Vec<&'static Target> = match &o.target {
        Some(name) => vec![target_by_name(name)?],
        // By default the models' targets; a registered one (input_files, whose inputs run
        // simulations) only when named.
        None => TARGETS.iter().collect(),
    };
    let builds: Vec<Build> = o.build.map_or_else(|| Build::ALL.to_vec(), |b| vec![b]);
    println!(
        "SEED={} iterations={} builds={} targets={}",
        o.seed,
        o.iterations,
        builds
            .iter()
            .map(|b| b.cli_name())
            .collect::<Vec<_>>()
            .join(","),
        targets.iter().map(|t| t.name).collect::<Vec<_>>().join(",")
    );
    // Harness panics are findings; keep the default hook's noise out of the table.
    let prev = std::panic::take_hook();
    std::panic::set_hook(Box::new(|_| {}));
    let mut rows = Vec::new();
    for (ti, t) in crate::targets::all().enumerate() {
        if !targets.iter().any(|x| x.name == t.name) {
            continue;
        }
        for &b in &builds {
            rows.push(campaign(t, b, o, ti)?);
        }
    }
    std::panic::set_hook(prev);
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<12} {:<16} {:>7} {:>8} {:>10} {:>8}  outcome classes",
        "target", "build", "corpus", "inputs", "exec/s", "findings"
    );
    let mut total_findings = 0;
    let mut expected_findings = 0;
    for r in &rows {
        let classes: Vec<String> = r.classes.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let rate = if r.secs > 0.0 {
            r.inputs as f64 / r.secs
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "{:<12} {:<16} {:>7} {:>8} {:>10.0} {:>8}{} {}",
            r.target,
            r.build.cli_name(),
            r.corpus,
            r.inputs,
            rate,
            r.findings.len(),
            if r.expected { "*" } else { " " },
            classes.join(" ")
        );
        if r.expected {
            expected_findings += r.findings.len();
        } else {
            total_findings += r.findings.len();
        }
    }
    print!("{out}");
    for r in &rows {
        for (path, f) in r.findings.iter().take(5) {
            println!(
                "\nFINDING {f}\n  replay: cargo run -p mta-lab -- replay {} {} --build {}",
                r.target,
                path.display(),
                r.build
            );
        }
    }
    println!(
        "\n{} passed, {} failed, {} expected findings (* = a build where the target's oracle \
         catches a KB defect)",
        rows.iter().map(|r| r.inputs).sum::<u64>() - (total_findings + expected_findings) as u64,
        total_findings,
        expected_findings
    );
    Ok(if total_findings == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Write the harnesses' seed inputs into `dir/fuzz/<target>/`.
pub fn seed_corpora(dir: &Path) -> Result<ExitCode, String> {
    let dicts = dir.join("dict");
    std::fs::create_dir_all(&dicts).map_err(|e| format!("{}: {e}", dicts.display()))?;
    for t in crate::targets::all() {
        let d = dir.join("fuzz").join(t.name);
        std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        for (name, bytes) in (t.seeds)() {
            let p = d.join(name);
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            println!("wrote {}", p.display());
        }
        // Dictionaries are the models' tokens: the registered targets (input files) have none.
        if !TARGETS.iter().any(|m| m.name == t.name) {
            continue;
        }
        let p = dicts.join(format!("{}.dict", t.name));
        std::fs::write(&p, mta_harness::dict::render(t.name))
            .map_err(|e| format!("{}: {e}", p.display()))?;
        println!("wrote {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}
