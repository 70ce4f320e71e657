//! Reading user input (`<file|->`, binary or `--hex`, schema-versioned TOML, durations) with clear
//! errors.

use std::io::Read as _;
use std::path::Path;

/// Read a TOML file of kind `what` ("a finding", "a peer script", …) whose `schema` field must be
/// `want`.
pub fn load_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    what: &str,
    want: u32,
    schema: impl Fn(&T) -> u32,
) -> Result<T, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_toml(path, &text, what, want, schema)
}

/// [`load_toml`] on text already read from `path` (which errors name).
pub fn parse_toml<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
    what: &str,
    want: u32,
    schema: impl Fn(&T) -> u32,
) -> Result<T, String> {
    let v: T = toml::from_str(text).map_err(|e| format!("{}: not {what}: {e}", path.display()))?;
    if schema(&v) != want {
        return Err(format!(
            "{}: schema {} (this lab reads {want})",
            path.display(),
            schema(&v)
        ));
    }
    Ok(v)
}

/// Read a file or standard input; with `hex`, decode hex text (whitespace and `0x`-free).
pub fn read(file: &str, hex: bool) -> Result<Vec<u8>, String> {
    let raw = if file == "-" {
        let mut v = Vec::new();
        std::io::stdin()
            .read_to_end(&mut v)
            .map_err(|e| format!("reading standard input: {e}"))?;
        v
    } else {
        std::fs::read(file).map_err(|e| format!("reading {file}: {e}"))?
    };
    if !hex {
        return Ok(raw);
    }
    let name = if file == "-" { "standard input" } else { file };
    let text = String::from_utf8(raw).map_err(|e| {
        format!(
            "{name}: --hex input is not text (invalid UTF-8 at offset {})",
            e.utf8_error().valid_up_to()
        )
    })?;
    let digits: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    hex::decode(&digits).map_err(|e| match e {
        hex::FromHexError::InvalidHexCharacter { c, index } => {
            format!("{name}: --hex input: invalid hex digit {c:?} at digit {index}")
        }
        hex::FromHexError::OddLength => {
            format!(
                "{name}: --hex input: odd number of hex digits ({})",
                digits.len()
            )
        }
        hex::FromHexError::InvalidStringLength => format!("{name}: --hex input: invalid length"),
    })
}

/// Parse a duration: `900`, `900s`, `15m`, `1h`.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    let t = s.trim();
    let (num, mult) = match t.char_indices().last() {
        Some((i, 's')) => (&t[..i], 1.0),
        Some((i, 'm')) => (&t[..i], 60.0),
        Some((i, 'h')) => (&t[..i], 3600.0),
        _ => (t, 1.0),
    };
    match num.parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v * mult),
        _ => Err(format!(
            "{s:?}: expected a positive duration such as 900, 900s, 15m or 1h"
        )),
    }
}

/// Write a file via a temporary file and a rename (readers never see half a file).
pub fn write_atomically(path: &std::path::Path, text: &str) -> Result<(), String> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).map_err(|e| format!("{}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert!((parse_duration("15m").unwrap() - 900.0).abs() < 1e-9);
        assert!((parse_duration("90").unwrap() - 90.0).abs() < 1e-9);
        assert!((parse_duration("1h").unwrap() - 3600.0).abs() < 1e-9);
        assert!(parse_duration("-3m").is_err());
        assert!(parse_duration("soon").is_err());
    }
}
