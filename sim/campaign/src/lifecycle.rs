//! Findings across nights: for every finding any night saw (keyed by kind, target or world, and
//! signature), the first and last night it was seen and where it stands tonight — new, still
//! reproducing, or gone since the first later night that ran its units without seeing it. Read
//! from the nights' summaries and from the ledger of nights the retention budget pruned.

use crate::night::{Life, Standing, Summary};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The ledger of pruned nights under the reports root: what they saw and ran, kept when their
/// reports are deleted so that first nights stay true.
pub const LEDGER: &str = "pruned-nights.json";

/// A finding's identity across nights: (kind, target or world, signature).
pub type Key = (String, String, String);

/// What one night saw and ran (all the lifecycle needs of a summary).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NightRecord {
    /// Night.
    pub date: String,
    /// Findings seen: key, the KB that explains it (none: new), builds found on.
    pub seen: Vec<(Key, Option<String>, Vec<String>)>,
    /// Units that ran without an error: (kind, target or world, build).
    pub ran: BTreeSet<(String, String, String)>,
}

impl NightRecord {
    /// The record of a night's summary.
    pub fn of(s: &Summary) -> Self {
        let seen = s
            .findings
            .iter()
            .map(|f| {
                (
                    (f.kind.clone(), f.subject.clone(), f.signature.clone()),
                    f.known.clone(),
                    f.found_on.clone(),
                )
            })
            .collect();
        let ran = s
            .units
            .iter()
            .filter(|u| u.error.is_none())
            .filter_map(|u| {
                let (kind, rest) = u.id.split_once('-')?;
                let (subject, build) = rest.split_once('@')?;
                Some((kind.to_string(), subject.to_string(), build.to_string()))
            })
            .collect();
        NightRecord {
            date: s.date.clone(),
            seen,
            ran,
        }
    }
}

/// The lifecycle of every finding over `nights` (oldest first; the last one is tonight).
pub fn lifecycle(nights: &[NightRecord]) -> Vec<Life> {
    // Per key: nights seen (indices), the last KB verdict, every build it was found on.
    type Sightings<'a> = (Vec<usize>, Option<String>, BTreeSet<&'a str>);
    let mut seen: BTreeMap<&Key, Sightings> = BTreeMap::new();
    for (i, n) in nights.iter().enumerate() {
        for (key, known, builds) in &n.seen {
            let e = seen.entry(key).or_default();
            if e.0.last() != Some(&i) {
                e.0.push(i);
            }
            e.1.clone_from(known);
            e.2.extend(builds.iter().map(String::as_str));
        }
    }
    seen.into_iter()
        .map(|(key, (at, known, builds))| {
            let (first, last) = (at[0], at[at.len() - 1]);
            let looked = |n: &NightRecord| {
                builds.iter().any(|b| {
                    n.ran
                        .contains(&(key.0.clone(), key.1.clone(), (*b).to_string()))
                })
            };
            let standing = if last + 1 == nights.len() {
                if first == last {
                    Standing::New
                } else {
                    Standing::StillReproducing
                }
            } else {
                nights[last + 1..]
                    .iter()
                    .find(|n| looked(n))
                    .map_or(Standing::NotLookedFor, |n| Standing::Gone {
                        since: n.date.clone(),
                    })
            };
            Life {
                kind: key.0.clone(),
                subject: key.1.clone(),
                signature: key.2.clone(),
                known,
                first: nights[first].date.clone(),
                last: nights[last].date.clone(),
                nights: at.len(),
                standing,
            }
        })
        .collect()
}

/// The ledger of pruned nights (empty when there is none; an unreadable one is an error naming
/// the file).
pub fn load_ledger(reports: &Path) -> Result<Vec<NightRecord>, String> {
    let p = reports.join(LEDGER);
    match std::fs::read_to_string(&p) {
        Ok(text) => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(format!("{}: {e}", p.display())),
    }
}

/// Every night up to and including `tonight` (by name): the pruned ones from the ledger, the
/// others from their summaries under the reports root, then tonight's summary in memory.
pub fn records(reports: &Path, tonight: &Summary) -> Result<Vec<NightRecord>, String> {
    let mut v = load_ledger(reports)?;
    v.extend(
        crate::night::nights(reports)
            .iter()
            .filter(|s| s.date != tonight.date)
            .map(NightRecord::of),
    );
    v.retain(|n| n.date < tonight.date);
    v.sort_by(|a, b| a.date.cmp(&b.date));
    v.dedup_by(|a, b| a.date == b.date);
    v.push(NightRecord::of(tonight));
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn night(date: &str, seen: &[(&str, &str)], ran: &[(&str, &str)]) -> NightRecord {
        NightRecord {
            date: date.into(),
            seen: seen
                .iter()
                .map(|(sig, b)| {
                    (
                        ("sweep".into(), "flood".into(), (*sig).into()),
                        Some("Q811406".into()),
                        vec![(*b).into()],
                    )
                })
                .collect(),
            ran: ran
                .iter()
                .map(|(w, b)| ("sweep".into(), (*w).into(), (*b).into()))
                .collect(),
        }
    }

    #[test]
    fn findings_are_new_still_reproducing_gone_or_not_looked_for() {
        let sp3 = ("flood", "2000-sp3");
        let rollup = ("flood", "2000-sp3-rollup");
        let nights = vec![
            night(
                "2026-11-01",
                &[("leak", "2000-sp3"), ("old", "2000-sp3")],
                &[sp3],
            ),
            night(
                "2026-11-02",
                &[("leak", "2000-sp3"), ("rare", "5.5")],
                &[sp3],
            ),
            // Ran only the rollup: "old" (found on 2000-sp3) was not looked for tonight.
            night("2026-11-03", &[("leak", "2000-sp3")], &[rollup]),
            night("2026-11-04", &[("leak", "2000-sp3")], &[sp3, rollup]),
            night(
                "2026-11-05",
                &[("leak", "2000-sp3"), ("fresh", "2000-sp3")],
                &[sp3],
            ),
        ];
        let l = lifecycle(&nights);
        let by = |sig: &str| l.iter().find(|x| x.signature == sig).unwrap();
        assert_eq!(by("leak").standing, Standing::StillReproducing);
        assert_eq!(
            by("leak").standing_text(),
            "still reproducing (since 2026-11-01)"
        );
        assert_eq!(by("leak").nights, 5);
        assert_eq!(by("fresh").standing, Standing::New);
        assert_eq!(by("fresh").first, "2026-11-05");
        assert_eq!(
            by("old").standing,
            Standing::Gone {
                since: "2026-11-02".into()
            }
        );
        assert_eq!(by("old").last, "2026-11-01");
        // Found on 5.5, and no later night swept flood on 5.5.
        assert_eq!(by("rare").standing, Standing::NotLookedFor);
        assert_eq!(
            by("rare").standing_text(),
            "not looked for since 2026-11-02"
        );
        assert_eq!(l.len(), 4);
        assert!(lifecycle(&[]).is_empty());
    }
}
