//! `mta-lab merge`: fold the results of sharded sweeps (CI matrix jobs, Kubernetes Indexed Job
//! pods — each a directory with its sweep journals and finding files) into one report: seeds
//! counted once whatever the overlap, findings deduplicated by signature and checked against the
//! known-findings baseline, 9301 rates summed, one representative finding file per signature.

use crate::night::Known;
use mta_lab_look::html::esc;
use mta_lab_world::finding::Finding;
use mta_lab_world::sweep::parse_journal;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// One signature across all shards.
#[derive(Debug, Clone, Serialize)]
pub struct MergedSignature {
    /// Signature.
    pub signature: String,
    /// Journal (world + builds) it came from.
    pub sweeps: BTreeSet<String>,
    /// Seeds with it (all of them).
    pub seeds: BTreeSet<u64>,
    /// KB that explains it, or none (new).
    pub known: Option<String>,
    /// Representative finding file (copied into the output).
    pub finding: Option<String>,
    /// Replay command.
    pub replay: Option<String>,
}

/// The merged report (`merged.json`).
#[derive(Debug, Serialize)]
pub struct Merged {
    /// Schema.
    pub schema: u32,
    /// Shard directories read.
    pub shards: Vec<String>,
    /// Per sweep (journal name): seeds run, seeds with findings, seeds seen in more than one shard.
    pub sweeps: BTreeMap<String, (usize, usize, usize)>,
    /// Signatures.
    pub signatures: Vec<MergedSignature>,
    /// Per sweep and machine: (9301 events, inbound connections).
    pub refused: BTreeMap<String, BTreeMap<String, (usize, u64)>>,
    /// The lab commit, model version and compiler of the binary that merged.
    pub lab: mta_lab_world::finding::Provenance,
}

fn entries(dir: &Path) -> Result<Vec<PathBuf>, String> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    v.sort();
    Ok(v)
}

/// A journalled seed: (clean, signature, 9301 refusals per machine).
type Row = (bool, String, Vec<(String, usize, u64)>);

/// Merge shard directories.
pub fn merge(dirs: &[PathBuf], baseline: &[Known]) -> Result<(Merged, Vec<PathBuf>), String> {
    if dirs.is_empty() {
        return Err("no shard directories given".into());
    }
    let mut seeds: BTreeMap<String, BTreeMap<u64, Row>> = BTreeMap::new();
    let mut dup: BTreeMap<String, usize> = BTreeMap::new();
    let mut findings: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut finding_builds: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for d in dirs {
        if !d.is_dir() {
            return Err(format!("{}: not a directory", d.display()));
        }
        let mut journals = 0;
        for p in entries(d)? {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if let Some(j) = name.strip_suffix(".journal") {
                journals += 1;
                let text =
                    std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
                let per = seeds.entry(j.to_string()).or_default();
                for (seed, (r, sig)) in parse_journal(&text) {
                    let row = (r.clean, sig, r.refused());
                    if per.insert(seed, row).is_some() {
                        *dup.entry(j.to_string()).or_default() += 1;
                    }
                }
            } else if p
                .extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("toml"))
            {
                let f = Finding::load(&p)?;
                finding_builds
                    .entry(f.signature.clone())
                    .or_default()
                    .extend(f.builds.values().cloned());
                // The smallest seed's file represents the signature (stable across runs).
                let keep = findings
                    .get(&f.signature)
                    .and_then(|q| Finding::load(q).ok())
                    .is_none_or(|q| f.seed < q.seed);
                if keep {
                    findings.insert(f.signature.clone(), p.clone());
                }
            }
        }
        if journals == 0 {
            return Err(format!(
                "{}: no sweep journal (sweep-*.journal) — not a sweep's findings directory",
                d.display()
            ));
        }
    }
    let mut sigs: BTreeMap<String, MergedSignature> = BTreeMap::new();
    let mut sweeps = BTreeMap::new();
    let mut refused: BTreeMap<String, BTreeMap<String, (usize, u64)>> = BTreeMap::new();
    for (j, per) in &seeds {
        let failed = per.values().filter(|r| !r.0).count();
        sweeps.insert(
            j.clone(),
            (per.len(), failed, dup.get(j).copied().unwrap_or(0)),
        );
        // sweep-<world>-<builds>[-nofaults]
        let world = j
            .strip_prefix("sweep-")
            .and_then(|w| w.split('-').next())
            .unwrap_or("")
            .to_string();
        for (seed, (clean, sig, r)) in per {
            for (m, n, c) in r {
                let e = refused
                    .entry(j.clone())
                    .or_default()
                    .entry(m.clone())
                    .or_default();
                e.0 += n;
                e.1 += c;
            }
            if *clean {
                continue;
            }
            let builds = finding_builds.get(sig).cloned().unwrap_or_default();
            let known = baseline
                .iter()
                .find(|k| {
                    k.world.as_deref() == Some(world.as_str())
                        && sig.contains(&k.signature)
                        && k.builds.iter().any(|b| builds.contains(b))
                })
                .map(|k| k.kb.clone());
            let e = sigs.entry(sig.clone()).or_insert_with(|| MergedSignature {
                signature: sig.clone(),
                sweeps: BTreeSet::new(),
                seeds: BTreeSet::new(),
                known: known.clone(),
                finding: None,
                replay: None,
            });
            if known.is_none() {
                e.known = None;
            }
            e.sweeps.insert(j.clone());
            e.seeds.insert(*seed);
        }
    }
    let mut reps = Vec::new();
    for (sig, m) in &mut sigs {
        if let Some(p) = findings.get(sig) {
            m.finding = Some(p.display().to_string());
            reps.push(p.clone());
            // Known only if the representative finding, replayed, shows the KB's mechanism.
            if m.known
                .as_deref()
                .is_some_and(|kb| !crate::kb::finding_shows_mechanism(kb, p))
            {
                m.known = None;
            }
        }
    }
    Ok((
        Merged {
            schema: 1,
            shards: dirs.iter().map(|d| d.display().to_string()).collect(),
            sweeps,
            signatures: sigs.into_values().collect(),
            refused,
            lab: mta_lab_world::finding::Provenance::current(),
        },
        reps,
    ))
}

/// Write `merged.json`, `index.html` and `findings/` (one file per signature) into `out`.
pub fn write(m: &mut Merged, reps: &[PathBuf], out: &Path) -> Result<(), String> {
    let fdir = out.join("findings");
    std::fs::create_dir_all(&fdir).map_err(|e| format!("{}: {e}", fdir.display()))?;
    for s in &mut m.signatures {
        let Some(src) = s.finding.as_ref().map(PathBuf::from) else {
            continue;
        };
        if !reps.contains(&src) {
            continue;
        }
        let Some(name) = src.file_name() else {
            continue;
        };
        let dest = fdir.join(name);
        let tmp = dest.with_extension("partial");
        std::fs::copy(&src, &tmp).map_err(|e| format!("{}: {e}", src.display()))?;
        std::fs::rename(&tmp, &dest).map_err(|e| format!("{}: {e}", dest.display()))?;
        s.replay = Some(format!("mta-lab replay {}", dest.display()));
        s.finding = Some(dest.display().to_string());
    }
    let json = serde_json::to_string_pretty(m).map_err(|e| e.to_string())?;
    let path = out.join("merged.json");
    std::fs::write(path.with_extension("partial"), json).map_err(|e| e.to_string())?;
    std::fs::rename(path.with_extension("partial"), &path).map_err(|e| e.to_string())?;
    let mut h = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>mta-lab merged sweeps</title>\
<style>body{font:13px sans-serif}td,th{border:1px solid #ccc;padding:2px 6px}table{border-collapse:collapse}\
.new{background:#fbe3e3;font-weight:bold}</style></head><body><h1>Merged sweeps</h1>",
    );
    let _ = write!(
        h,
        "<p>{}</p><table><tr><th>sweep</th><th>seeds</th><th>with findings</th>\
<th>in several shards</th></tr>",
        esc(&m.lab.line())
    );
    for (j, (n, f, d)) in &m.sweeps {
        let _ = write!(
            h,
            "<tr><td>{}</td><td>{n}</td><td>{f}</td><td>{d}</td></tr>",
            esc(j)
        );
    }
    h.push_str("</table><h2>Signatures</h2><table><tr><th>status</th><th>signature</th><th>seeds</th><th>sweeps</th><th>replay</th></tr>");
    for s in &m.signatures {
        let _ = write!(
            h,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            if s.known.is_some() { "" } else { "new" },
            esc(s.known.as_deref().unwrap_or("NEW")),
            esc(&s.signature),
            s.seeds.len(),
            esc(&s.sweeps.iter().cloned().collect::<Vec<_>>().join(", ")),
            esc(s.replay.as_deref().unwrap_or("-"))
        );
    }
    h.push_str("</table></body></html>\n");
    std::fs::write(out.join("index.html"), h).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_lab_world::sweep::{SweepPlan, run};
    use mta_lab_world::world::World;

    #[test]
    fn shards_fold_into_one_report_with_seeds_counted_once() {
        let root = std::env::temp_dir().join(format!("mta-lab-merge-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let w = World::flood(mta_build::Build::Ex2000Sp3, 2);
        // Two shards of 0..8 plus an overlapping re-run of seed 0 in the second shard.
        for (i, seeds) in [(0, vec![0, 2, 4, 6]), (1, vec![0, 1, 3, 5, 7])] {
            let dir = root.join(format!("shard-{i}"));
            let plan = SweepPlan {
                world: &w,
                seeds,
                faults: true,
                dir: &dir,
                jobs: 0,
                timeout_s: 60,
                worker_args: Vec::new(),
                resume: false,
            };
            run(&plan, &mut |_| {}).unwrap();
        }
        let dirs = vec![root.join("shard-0"), root.join("shard-1")];
        let baseline = crate::night::load_baseline(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../corpora/kb/known-findings.toml"),
        )
        .unwrap();
        let (mut m, reps) = merge(&dirs, &baseline).unwrap();
        let (n, failed, dup) = m.sweeps.values().next().copied().unwrap();
        assert_eq!((n, dup), (8, 1));
        let with: usize = m.signatures.iter().map(|s| s.seeds.len()).sum();
        assert_eq!(with, failed);
        assert!(
            failed > 0,
            "the flood world finds Q811406 on 2000 SP3 within 8 seeds"
        );
        assert!(
            m.signatures
                .iter()
                .all(|s| s.known.as_deref() == Some("Q811406"))
        );
        write(&mut m, &reps, &root.join("out")).unwrap();
        assert!(root.join("out/merged.json").is_file());
        let html = std::fs::read_to_string(root.join("out/index.html")).unwrap();
        assert!(html.contains(&format!(
            "lab commit {}",
            mta_lab_world::finding::short(mta_lab_world::finding::LAB_COMMIT)
        )));
        assert_eq!(
            libfile_count(&root.join("out/findings")),
            m.signatures.len()
        );
        assert!(
            merge(&[root.join("out")], &baseline).is_err(),
            "not a shard"
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    fn libfile_count(d: &Path) -> usize {
        std::fs::read_dir(d).map_or(0, Iterator::count)
    }
}
