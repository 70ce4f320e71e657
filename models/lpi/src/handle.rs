//! The LPI handle `a-b-c`.
//!
//! Our definition (the KBs show only values): `a` is the NSI interface the connection runs on
//! ([`Interface`]: 1 = TCP/IP, 2 = X.25), `b` is the generation of the control block — how many
//! times its slot has been allocated, so a handle to an earlier connection on the same slot is
//! detectably stale — and `c` is the control-block index (KB Q319936 pairs "cb 12" with
//! "LPI 1-15-12"). Both KB examples (Q811406 "1-15-12", Q266792 "1-15-4") show interface 1 and
//! generation 15: a block on its fifteenth use.

use std::fmt;
use std::str::FromStr;

/// The NSI interface an LPI belongs to (its first number).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Interface {
    /// 1: RFC 1006 over TCP/IP.
    TcpIp,
    /// 2: class 0 over X.25.
    X25,
}

impl Interface {
    /// The number printed as the LPI's first part.
    pub const fn number(self) -> u16 {
        match self {
            Interface::TcpIp => 1,
            Interface::X25 => 2,
        }
    }
    /// From the LPI's first part.
    pub const fn from_number(n: u16) -> Option<Interface> {
        match n {
            1 => Some(Interface::TcpIp),
            2 => Some(Interface::X25),
            _ => None,
        }
    }
}

/// An internal connection handle, printed `interface-generation-index`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Lpi {
    /// First number: interface.
    pub interface: u16,
    /// Second number: control-block generation.
    pub generation: u16,
    /// Third number: control-block index.
    pub index: u16,
}

impl Lpi {
    /// An LPI from its three numbers.
    pub const fn new(interface: u16, generation: u16, index: u16) -> Lpi {
        Lpi {
            interface,
            generation,
            index,
        }
    }

    /// The three numbers, for event texts.
    pub const fn parts(self) -> (u16, u16, u16) {
        (self.interface, self.generation, self.index)
    }
}

impl fmt::Display for Lpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}-{}", self.interface, self.generation, self.index)
    }
}

/// Text that is not `a-b-c` with three 16-bit numbers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad LPI {0:?}: expected three numbers 0-65535 as a-b-c, e.g. 1-15-12")]
pub struct ParseLpiError(pub String);

impl FromStr for Lpi {
    type Err = ParseLpiError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || ParseLpiError(s.to_owned());
        let mut it = s.trim().split('-').map(|p| p.trim().parse::<u16>());
        let (Some(Ok(a)), Some(Ok(b)), Some(Ok(c)), None) =
            (it.next(), it.next(), it.next(), it.next())
        else {
            return Err(bad());
        };
        Ok(Lpi::new(a, b, c))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        let l: Lpi = "1-15-12".parse().unwrap();
        assert_eq!(l, Lpi::new(1, 15, 12));
        assert_eq!(l.to_string(), "1-15-12");
        for bad in ["", "1-15", "1-15-12-3", "a-b-c", "1-15-70000", "1--12"] {
            assert!(bad.parse::<Lpi>().is_err(), "{bad}");
        }
    }

    #[test]
    fn an_lpis_first_number_names_its_interface() {
        let iface = |s: &str| Interface::from_number(s.parse::<Lpi>().unwrap().interface);
        assert_eq!(iface("1-15-12"), Some(Interface::TcpIp));
        assert_eq!(iface("2-3-4"), Some(Interface::X25));
        assert_eq!(iface("0-1-1"), None);
        assert_eq!(iface("3-1-1"), None);
        for i in [Interface::TcpIp, Interface::X25] {
            assert_eq!(Interface::from_number(i.number()), Some(i));
        }
    }
}
