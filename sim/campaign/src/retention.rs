//! The nightly's retention budget: keep the reports and per-night state of the newest N nights
//! (directories named `YYYY-MM-DD`), delete older ones, and keep everything else — the corpora,
//! sweep cursors and mutation outcomes under the state root, and any directory not named as a
//! night. What a pruned report saw and ran goes to the lifecycle ledger first.

use crate::lifecycle::{LEDGER, NightRecord, load_ledger};
use crate::night::Summary;
use std::path::{Path, PathBuf};

/// Default number of nights kept.
pub const DEFAULT_KEEP_NIGHTS: usize = 14;

/// Whether a directory name is a night's (`YYYY-MM-DD`, the default `--date`).
pub fn is_night(name: &str) -> bool {
    let b = name.as_bytes();
    b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        })
}

/// Night directories directly under `root`, by name (oldest first).
fn night_dirs(root: &Path) -> Vec<(String, PathBuf)> {
    let mut v: Vec<(String, PathBuf)> = std::fs::read_dir(root)
        .map(|r| {
            r.filter_map(Result::ok)
                .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                .filter_map(|e| {
                    let name = e.file_name().to_string_lossy().into_owned();
                    is_night(&name).then(|| (name, e.path()))
                })
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// What a prune removed.
#[derive(Debug, Default, PartialEq)]
pub struct Pruned {
    /// Nights whose report directory was removed.
    pub reports: Vec<String>,
    /// Nights whose state directory was removed.
    pub state: Vec<String>,
    /// Nights added to the lifecycle ledger.
    pub ledgered: Vec<String>,
}

impl Pruned {
    /// One line per kind of removal, or a line saying nothing was pruned.
    pub fn lines(&self, keep: usize) -> Vec<String> {
        if self.reports.is_empty() && self.state.is_empty() {
            return vec![format!(
                "retention: nothing to prune (keeping {keep} nights)"
            )];
        }
        let mut v = Vec::new();
        if !self.reports.is_empty() {
            v.push(format!(
                "retention: pruned the reports of {} night(s) beyond the newest {keep}: {} \
                 (findings kept in the lifecycle ledger {LEDGER})",
                self.reports.len(),
                self.reports.join(", ")
            ));
        }
        if !self.state.is_empty() {
            v.push(format!(
                "retention: pruned the state of {} night(s): {} (corpora, cursors and mutation \
                 outcomes kept)",
                self.state.len(),
                self.state.join(", ")
            ));
        }
        v
    }
}

/// Keep the newest `keep` nights (by name) of both roots, never `tonight`; a pruned night's
/// summary is folded into the ledger before its report is deleted.
pub fn prune(reports: &Path, state: &Path, keep: usize, tonight: &str) -> Result<Pruned, String> {
    let mut out = Pruned::default();
    let old = |dirs: Vec<(String, PathBuf)>| -> Vec<(String, PathBuf)> {
        let n = dirs.len().saturating_sub(keep);
        dirs.into_iter()
            .take(n)
            .filter(|(name, _)| name != tonight)
            .collect()
    };
    let doomed = old(night_dirs(reports));
    if !doomed.is_empty() {
        let mut ledger = load_ledger(reports)?;
        for (name, dir) in &doomed {
            let text = std::fs::read_to_string(dir.join("summary.json")).ok();
            let s = text.and_then(|t| serde_json::from_str::<Summary>(&t).ok());
            if let Some(s) = s
                && !ledger.iter().any(|n| n.date == s.date)
            {
                ledger.push(NightRecord::of(&s));
                out.ledgered.push(name.clone());
            }
        }
        ledger.sort_by(|a, b| a.date.cmp(&b.date));
        let p = reports.join(LEDGER);
        let tmp = p.with_extension("json.partial");
        let text = serde_json::to_string_pretty(&ledger).map_err(|e| e.to_string())?;
        std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
        std::fs::rename(&tmp, &p).map_err(|e| format!("{}: {e}", p.display()))?;
        for (name, dir) in doomed {
            std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            out.reports.push(name);
        }
    }
    for (name, dir) in old(night_dirs(state)) {
        std::fs::remove_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        out.state.push(name);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::night::{SCHEMA, Triaged, UnitRow};

    fn summary(date: &str, signature: &str) -> Summary {
        Summary {
            schema: SCHEMA,
            date: date.into(),
            green: true,
            reasons: Vec::new(),
            budget_s: 60.0,
            unit_seconds: 60.0,
            cells: Vec::new(),
            findings: vec![Triaged {
                kind: "sweep".into(),
                subject: "flood".into(),
                signature: signature.into(),
                found_on: vec!["2000-sp3".into()],
                fires_on: vec!["2000-sp3".into()],
                count: 1,
                input: String::new(),
                minimized: None,
                known: Some("Q811406".into()),
                regression: None,
                replay: String::new(),
                pages: None,
            }],
            units: vec![UnitRow {
                id: "sweep-flood@2000-sp3".into(),
                seconds: 1.0,
                work: 10,
                rate: 10.0,
                cov: 0,
                states: 0,
                corpus: 0,
                error: None,
            }],
            skipped: Vec::new(),
            source_coverage: None,
            goals: std::collections::BTreeMap::new(),
            mutation: None,
            lab: None,
            lifecycle: Vec::new(),
        }
    }

    #[test]
    fn pruning_keeps_the_newest_nights_the_corpora_and_the_first_sightings() {
        let root = std::env::temp_dir().join(format!("mta-lab-retention-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (reports, state) = (root.join("reports"), root.join("state"));
        for d in 1..=5 {
            let date = format!("2026-11-0{d}");
            let sig = if d <= 2 { "old leak" } else { "leak" };
            let dir = reports.join(&date);
            std::fs::create_dir_all(&dir).unwrap();
            let text = serde_json::to_string(&summary(&date, sig)).unwrap();
            std::fs::write(dir.join("summary.json"), text).unwrap();
            std::fs::create_dir_all(state.join(&date).join("done")).unwrap();
        }
        for keep in ["corpus/x25_up/5.5", "cursors", "mutants", "test-night"] {
            std::fs::create_dir_all(state.join(keep)).unwrap();
        }
        std::fs::create_dir_all(reports.join("test-night")).unwrap();

        let p = prune(&reports, &state, 2, "2026-11-05").unwrap();
        assert_eq!(p.reports, ["2026-11-01", "2026-11-02", "2026-11-03"]);
        assert_eq!(p.state, p.reports);
        assert_eq!(p.ledgered, p.reports);
        let lines = p.lines(2).join("\n");
        assert!(
            lines.contains("pruned the reports of 3 night(s) beyond the newest 2: 2026-11-01, 2026-11-02, 2026-11-03"),
            "{lines}"
        );
        for kept in ["2026-11-04", "2026-11-05", "test-night"] {
            assert!(reports.join(kept).exists(), "{kept}");
        }
        for kept in [
            "2026-11-04",
            "2026-11-05",
            "corpus/x25_up/5.5",
            "cursors",
            "mutants",
            "test-night",
        ] {
            assert!(state.join(kept).exists(), "{kept}");
        }
        assert!(!reports.join("2026-11-01").exists() && !state.join("2026-11-03").exists());

        // The lifecycle still knows the pruned nights: "leak" was first seen on the 3rd, "old
        // leak" went on the 3rd.
        let tonight = summary("2026-11-06", "leak");
        let life =
            crate::lifecycle::lifecycle(&crate::lifecycle::records(&reports, &tonight).unwrap());
        let by = |s: &str| {
            life.iter()
                .find(|l| l.signature == s)
                .unwrap()
                .standing_text()
        };
        assert_eq!(by("leak"), "still reproducing (since 2026-11-03)");
        assert_eq!(by("old leak"), "gone since 2026-11-03");

        // Again: nothing left to prune, and the ledger is not doubled.
        let again = prune(&reports, &state, 2, "2026-11-05").unwrap();
        assert_eq!(again, Pruned::default());
        assert!(again.lines(2)[0].contains("nothing to prune"));
        assert_eq!(load_ledger(&reports).unwrap().len(), 3);
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn night_names() {
        assert!(is_night("2026-11-30"));
        for n in ["test-night", "ci", "2026-11-3", "2026_11_30", "corpus"] {
            assert!(!is_night(n), "{n}");
        }
    }
}
