//! What `mta-lab bench p1` measures: the criterion benchmark `models/p1/benches/envelope.rs`
//! (mta-p1's decode of one P1 message into its owned types, its checked zero-copy view with every
//! field the rasn model decodes read, the BER validation of the same octets, and the rasn model of
//! the same envelope — unchanged), run through cargo and read back from criterion's estimates.
//! The `bench` module prints the table.
//!
//! It runs `cargo bench`, so it needs the source tree and a toolchain (as `bench fuzz` needs
//! cargo-fuzz); it reads no wall clock itself.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The benchmark group and its functions in `models/p1/benches/envelope.rs`.
pub const GROUP: &str = "p1_envelope_decode";
/// mta-p1's typed decode into its owned types.
pub const MTA_P1: &str = "mta_p1";
/// mta-p1's checked zero-copy view, every field the rasn model decodes read.
pub const MTA_P1_VIEW: &str = "mta_p1_view";
/// mta-ber's validation of the same octets.
pub const VALIDATE: &str = "mta_ber_validate_only";
/// The rasn model.
pub const RASN: &str = "rasn";

/// Mean time per decode (ns) of each function, as criterion estimated it.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct P1Times {
    /// mta-p1, owned.
    pub mta_p1_ns: f64,
    /// mta-p1's view.
    pub mta_p1_view_ns: f64,
    /// Validation only.
    pub validate_ns: f64,
    /// rasn.
    pub rasn_ns: f64,
}

/// Run the criterion benchmark (`seconds` of measurement per function) and read its estimates.
pub fn run(seconds: u32) -> Result<P1Times, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .args([
            "bench", "-p", "mta-p1", "--bench", "envelope", "--", "--noplot",
        ])
        .args([
            "--warm-up-time",
            "1",
            "--measurement-time",
            &seconds.to_string(),
        ])
        .status()
        .map_err(|e| format!("cargo bench: {e} (bench p1 runs from the source tree)"))?;
    if !status.success() {
        return Err(format!("cargo bench -p mta-p1 --bench envelope: {status}"));
    }
    read(&criterion_dir())
}

/// Where criterion writes: `$CARGO_TARGET_DIR/criterion`, else `target/criterion`.
fn criterion_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| PathBuf::from("target"), PathBuf::from)
        .join("criterion")
}

/// The four functions' mean estimates under `dir` (criterion's layout:
/// `GROUP/FUNCTION/new/estimates.json`).
pub fn read(dir: &Path) -> Result<P1Times, String> {
    let mean = |f: &str| -> Result<f64, String> {
        let p = dir.join(GROUP).join(f).join("new").join("estimates.json");
        let text = std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", p.display()))?;
        v["mean"]["point_estimate"]
            .as_f64()
            .filter(|x| *x > 0.0)
            .ok_or_else(|| format!("{}: no mean.point_estimate", p.display()))
    };
    Ok(P1Times {
        mta_p1_ns: mean(MTA_P1)?,
        mta_p1_view_ns: mean(MTA_P1_VIEW)?,
        validate_ns: mean(VALIDATE)?,
        rasn_ns: mean(RASN)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_criterion_estimates_and_names_a_missing_one() {
        let dir = std::env::temp_dir().join(format!("mta-lab-bench-p1-{}", std::process::id()));
        for (f, ns) in [
            (MTA_P1, 6800.0),
            (MTA_P1_VIEW, 3500.0),
            (VALIDATE, 1150.0),
            (RASN, 10_000.0),
        ] {
            let d = dir.join(GROUP).join(f).join("new");
            std::fs::create_dir_all(&d).unwrap();
            let json = format!(r#"{{"mean":{{"point_estimate":{ns},"standard_error":1.0}}}}"#);
            std::fs::write(d.join("estimates.json"), json).unwrap();
        }
        let t = read(&dir).unwrap();
        assert_eq!(
            (t.mta_p1_ns, t.mta_p1_view_ns, t.validate_ns, t.rasn_ns),
            (6800.0, 3500.0, 1150.0, 10_000.0)
        );
        for f in [RASN, MTA_P1_VIEW] {
            std::fs::remove_file(dir.join(GROUP).join(f).join("new/estimates.json")).unwrap();
            assert!(read(&dir).unwrap_err().contains(f));
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
