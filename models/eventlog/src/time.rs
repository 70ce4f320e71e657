//! Calendar formatting for 4.0 event timestamps ("04-10-96 05:52:10pm"), from simulated time only.

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `MM-DD-YY hh:mm:ss[am|pm]`, the form of KB Q151626's NMI events.
pub fn format_nt40_timestamp(unix_s: i64) -> String {
    let (y, mo, d) = civil_from_days(unix_s.div_euclid(86_400));
    let secs = unix_s.rem_euclid(86_400);
    let (h, mi, s) = (secs / 3600, secs / 60 % 60, secs % 60);
    let (h12, ampm) = match h {
        0 => (12, "am"),
        1..=11 => (h, "am"),
        12 => (12, "pm"),
        _ => (h - 12, "pm"),
    };
    format!(
        "{mo:02}-{d:02}-{:02} {h12:02}:{mi:02}:{s:02}{ampm}",
        y.rem_euclid(100)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kb_q151626_timestamp() {
        // 1996-04-10 17:52:10 (the KB's local time, taken as the simulation's clock).
        assert_eq!(format_nt40_timestamp(829_158_730), "04-10-96 05:52:10pm");
        assert_eq!(format_nt40_timestamp(0), "01-01-70 12:00:00am");
        assert_eq!(format_nt40_timestamp(951_782_400), "02-29-00 12:00:00am");
    }
}
