//! A plain iterative validating BER walker — the yardstick `mta-lab bench ber` measures
//! [`crate::walk`] against, and an independent oracle for it (X.690 8.1.2–8.1.5).
//!
//! One function, one loop, one fixed frame stack on the machine stack, no allocation, no
//! callbacks; the same checks as [`crate::walk`]: minimal high-tag-number form, the length forms
//! (short, long, indefinite only on constructed, 0xFF reserved, overflow), every child inside its
//! parent, end-of-contents exactly `00 00` and only inside an indefinite element, the depth and
//! length limits, nothing after the element. It says only whether the input is valid and how many
//! elements it holds; the harness `ber_decode` checks on every input that it agrees with
//! [`crate::walk`] on exactly that.

use crate::Limits;

/// The deepest nesting this walker supports (its frame stack has one more entry).
pub const MAX_DEPTH: usize = 64;

/// Validate that `input` is exactly one BER element under `limits` (whose `max_depth` is capped at
/// [`MAX_DEPTH`]); `Some(number of elements)` (end-of-contents octets not counted), or `None`.
#[allow(clippy::too_many_lines)] // one loop on purpose: the yardstick
pub fn walk(input: &[u8], limits: &Limits) -> Option<u64> {
    #[derive(Clone, Copy)]
    struct Frame {
        bound: usize,
        indefinite: bool,
    }
    let max_depth = limits.max_depth.min(MAX_DEPTH);
    let mut stack = [Frame {
        bound: 0,
        indefinite: false,
    }; MAX_DEPTH + 1];
    let (n, mut depth, mut pos, mut count) = (input.len(), 0usize, 0usize, 0u64);
    loop {
        while depth > 0 && !stack[depth - 1].indefinite && pos == stack[depth - 1].bound {
            depth -= 1;
        }
        if depth == 0 && count > 0 {
            return (pos == n).then_some(count);
        }
        let bound = if depth == 0 {
            n
        } else {
            stack[depth - 1].bound
        };
        if pos >= bound {
            return None;
        }
        // Identifier octets (8.1.2).
        let b0 = input[pos];
        let constructed = b0 & 0x20 != 0;
        let mut number = u32::from(b0 & 0x1f);
        let mut p = pos + 1;
        if number == 0x1f {
            number = 0;
            loop {
                let b = *input.get(p)?;
                if (p == pos + 1 && b == 0x80) || number > u32::MAX >> 7 {
                    return None;
                }
                number = (number << 7) | u32::from(b & 0x7f);
                p += 1;
                if b & 0x80 == 0 {
                    break;
                }
            }
            if number < 31 {
                return None;
            }
        }
        // Length octets (8.1.3).
        let l0 = *input.get(p)?;
        p += 1;
        let mut len = usize::from(l0);
        let indefinite = l0 == 0x80;
        if indefinite && !constructed || l0 == 0xff {
            return None;
        }
        if l0 > 0x80 {
            let k = usize::from(l0 & 0x7f);
            let octets = input.get(p..p + k)?;
            let mut v: u64 = 0;
            for &b in octets {
                if v >> 56 != 0 {
                    return None;
                }
                v = (v << 8) | u64::from(b);
            }
            len = usize::try_from(v).ok()?;
            p += k;
        }
        // End-of-contents (8.1.5): exactly `00 00`, closing the innermost indefinite element.
        if b0 >> 6 == 0 && number == 0 {
            if b0 != 0 || l0 != 0 || p - pos != 2 || p > bound {
                return None;
            }
            if depth == 0 || !stack[depth - 1].indefinite {
                return None;
            }
            depth -= 1;
            pos = p;
            continue;
        }
        if p > bound || depth > max_depth {
            return None;
        }
        count += 1;
        if indefinite {
            stack[depth] = Frame {
                bound,
                indefinite: true,
            };
            depth += 1;
            pos = p;
            continue;
        }
        let end = p.saturating_add(len);
        if len > limits.max_length || end > bound {
            return None;
        }
        if constructed {
            stack[depth] = Frame {
                bound: end,
                indefinite: false,
            };
            depth += 1;
            pos = p;
        } else {
            pos = end;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn agrees_with_the_walker_on_small_cases() {
        let l = Limits::default();
        for case in [
            &[0x30, 0x03, 0x02, 0x01, 0x05][..],
            &[0x30, 0x80, 0x02, 0x01, 0x05, 0x00, 0x00],
            &[0x30, 0x80, 0x02, 0x01, 0x05],
            &[0x02, 0x80],
            &[0x00, 0x00],
            &[0x1f, 0x80, 0x01, 0x00],
            &[0x1f, 0x1e, 0x00],
            &[0x30, 0x02, 0x02, 0x05],
            &[0x04, 0x82, 0x00, 0x01, 0x5a],
            &[0x04, 0xff],
            &[0x30, 0x00, 0x00],
            &[],
        ] {
            assert_eq!(
                walk(case, &l),
                crate::walk(case, &l, &mut ()).ok(),
                "{case:02x?}"
            );
        }
    }
}
