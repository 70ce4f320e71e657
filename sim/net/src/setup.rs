//! The setup-time oracle shared by the hostile runner (simulated time) and `probe` (wall time):
//! how long a fresh caller waits from its COTP CR to the CC while a case runs and after it, per
//! case p50/max, and the "delays others" verdict against a threshold (`--max-setup-ms`).

use serde::Serialize;

/// The default threshold: a fresh caller's CR→CC above this (ms) means the case delays others.
pub const DEFAULT_MAX_SETUP_MS: u64 = 1000;

/// How long one setup sample waits for the CC (ms) in the simulated runner; a sample that got no
/// CC in that time reads as "more than" it.
pub const SIM_SETUP_WAIT_MS: u64 = 30_000;

/// One fresh caller's CR→CC time in ms; `None`: no CC within the wait (or no connection).
pub type Sample = Option<u64>;

/// The setup samples of one case.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct CaseSetup {
    /// Case name.
    pub name: String,
    /// Callers started while the case was running (in order).
    pub during: Vec<Sample>,
    /// The caller started right after the case ended.
    pub after: Sample,
    /// How long each caller waited at most (ms).
    pub wait_ms: u64,
}

impl CaseSetup {
    /// A case with no samples yet.
    pub fn new(name: &str, wait_ms: u64) -> Self {
        CaseSetup {
            name: name.to_string(),
            during: Vec::new(),
            after: None,
            wait_ms,
        }
    }

    /// Every sample, during then after, with "no CC" read as the wait (a lower bound).
    fn values(&self) -> Vec<u64> {
        self.during
            .iter()
            .chain(std::iter::once(&self.after))
            .map(|s| s.unwrap_or(self.wait_ms))
            .collect()
    }

    /// The median setup time over every sample (ms; the lower of the two middle ones).
    pub fn p50(&self) -> u64 {
        let mut v = self.values();
        v.sort_unstable();
        v[(v.len() - 1) / 2]
    }

    /// The longest setup time (ms).
    pub fn max(&self) -> u64 {
        self.values().into_iter().max().unwrap_or(0)
    }

    /// The longest setup time of the callers started during the case (ms), if any was.
    pub fn max_during(&self) -> Option<u64> {
        self.during.iter().map(|s| s.unwrap_or(self.wait_ms)).max()
    }

    /// Callers that got no CC within the wait.
    pub fn unanswered(&self) -> usize {
        self.during
            .iter()
            .chain(std::iter::once(&self.after))
            .filter(|s| s.is_none())
            .count()
    }

    /// Whether a fresh caller waited longer than `max_setup_ms` for its CC.
    pub fn delays_others(&self, max_setup_ms: u64) -> bool {
        self.max() > max_setup_ms
    }

    /// "p50 / max" in ms, a max with no CC shown as ">wait".
    pub fn summary(&self) -> String {
        let show = |ms: u64| {
            if self.unanswered() > 0 && ms >= self.wait_ms {
                format!(">{ms}")
            } else {
                ms.to_string()
            }
        };
        format!("{} / {}", show(self.p50()), show(self.max()))
    }

    /// The verdict's word for the table.
    pub fn verdict(&self, max_setup_ms: u64) -> &'static str {
        if self.delays_others(max_setup_ms) {
            "DELAYS OTHERS"
        } else {
            "fair"
        }
    }
}

/// Print the per-case setup table ("case, samples, p50/max ms, verdict").
pub fn print_table(cases: &[CaseSetup], max_setup_ms: u64, clock: &str) {
    println!("setup time of a fresh caller, CR to CC ({clock} ms; threshold {max_setup_ms} ms):");
    println!(
        "  {:<44} {:>7} {:>15} {:>12}  verdict",
        "case", "callers", "p50 / max", "max during"
    );
    for c in cases {
        println!(
            "  {:<44} {:>7} {:>15} {:>12}  {}",
            c.name,
            c.during.len() + 1,
            c.summary(),
            c.max_during().map_or("-".into(), |m| m.to_string()),
            c.verdict(max_setup_ms)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn p50_max_and_the_verdict_read_every_sample_and_count_no_cc_as_the_wait() {
        let mut c = CaseSetup::new("x", 30_000);
        c.during = vec![Some(10), Some(12_000), Some(20)];
        c.after = Some(30);
        assert_eq!(
            (c.p50(), c.max(), c.max_during()),
            (20, 12_000, Some(12_000))
        );
        assert!(c.delays_others(1000));
        assert!(!c.delays_others(12_000));
        assert_eq!(c.summary(), "20 / 12000");
        c.after = None;
        assert_eq!((c.max(), c.unanswered()), (30_000, 1));
        assert_eq!(c.summary(), "20 / >30000");
        let quick = CaseSetup {
            after: Some(15),
            ..CaseSetup::new("y", 30_000)
        };
        assert_eq!(
            (quick.p50(), quick.max(), quick.max_during()),
            (15, 15, None)
        );
        assert_eq!(quick.verdict(1000), "fair");
    }
}
