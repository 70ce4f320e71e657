//! The eight modelled Exchange Server MTA builds (4.0 … 2000 SP3 + March 2003 rollup) and the one
//! table of every per-build constant and defect switch, each with its source.
//!
//! Everything in the lab that differs between builds reads it from [`Profile`]; nothing else may
//! match on [`Build`] to change behaviour. Defect switches are named after what the *fixed* build adds
//! (a check, a release, a split, honouring a key): the faulty code path is the plain path without that
//! addition (see ARCHITECTURE.md, "How defects must be built").

mod table;

pub use table::{
    EventEra, OverrideError, Profile, Range, Row, RowKind, SourceAddressRule, TUNABLE_RANGES,
    tunable_range,
};

use std::fmt;
use std::str::FromStr;

/// One modelled build of the Exchange MTA (`emsmta.exe`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Build {
    /// Exchange Server 4.0 (RTM).
    Ex40,
    /// Exchange Server 5.0 (RTM).
    Ex50,
    /// Exchange Server 5.5 (RTM).
    Ex55,
    /// Exchange Server 5.5 Service Pack 1.
    Ex55Sp1,
    /// Exchange Server 5.5 Service Pack 2.
    Ex55Sp2,
    /// Exchange Server 5.5 Service Pack 3.
    Ex55Sp3,
    /// Exchange 2000 Server Service Pack 3.
    Ex2000Sp3,
    /// Exchange 2000 Server SP3 with the March 2003 post-SP3 rollup (KB 813840).
    Ex2000Sp3Rollup,
}

/// Number of modelled builds; every column of the build table has this many cells.
pub const BUILD_COUNT: usize = 8;

impl Build {
    /// Every build, oldest first (the column order of the build table).
    pub const ALL: [Build; BUILD_COUNT] = [
        Build::Ex40,
        Build::Ex50,
        Build::Ex55,
        Build::Ex55Sp1,
        Build::Ex55Sp2,
        Build::Ex55Sp3,
        Build::Ex2000Sp3,
        Build::Ex2000Sp3Rollup,
    ];

    /// Column index of this build in the build table.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The spelling used on the command line and in files (`5.5-sp1`).
    pub const fn cli_name(self) -> &'static str {
        match self {
            Build::Ex40 => "4.0",
            Build::Ex50 => "5.0",
            Build::Ex55 => "5.5",
            Build::Ex55Sp1 => "5.5-sp1",
            Build::Ex55Sp2 => "5.5-sp2",
            Build::Ex55Sp3 => "5.5-sp3",
            Build::Ex2000Sp3 => "2000-sp3",
            Build::Ex2000Sp3Rollup => "2000-sp3-rollup",
        }
    }

    /// The product name as Microsoft writes it.
    pub const fn product_name(self) -> &'static str {
        match self {
            Build::Ex40 => "Exchange Server 4.0",
            Build::Ex50 => "Exchange Server 5.0",
            Build::Ex55 => "Exchange Server 5.5",
            Build::Ex55Sp1 => "Exchange Server 5.5 SP1",
            Build::Ex55Sp2 => "Exchange Server 5.5 SP2",
            Build::Ex55Sp3 => "Exchange Server 5.5 SP3",
            Build::Ex2000Sp3 => "Exchange 2000 Server SP3",
            Build::Ex2000Sp3Rollup => "Exchange 2000 Server SP3 + March 2003 rollup",
        }
    }

    /// File version of `Emsmta.exe` in this build.
    ///
    /// Sources:
    /// - Release builds 4.0.837, 5.0.1457, 5.5.1960, 5.5.2232 (SP1), 5.5.2448 (SP2), 5.5.2650 (SP3)
    ///   and 6.0.6249 (2000 SP3): Microsoft Learn, "Exchange Server build numbers and release
    ///   dates" (the Exchange 4.0/5.0/5.5/2000 tables). Recalled from that page, not re-fetched in
    ///   this session; the hotfix builds below fall between them exactly as the KBs require, which
    ///   `hotfix_builds_fall_between_faulty_and_fixed_service_packs` checks.
    /// - 6.0.6394.0: KB 811406's file table (Emsmta.exe of the fix, shipped in the March 2003
    ///   rollup, KB 813840).
    /// - Hotfix builds named by the KBs but not modelled as separate builds: 5.5.2431.0 (Q197378,
    ///   first shipped in SP2) and 5.5.2586.0 (Q225157, first shipped in SP3); see [`HOTFIXES`].
    pub const fn emsmta_version(self) -> EmsmtaVersion {
        match self {
            Build::Ex40 => EmsmtaVersion::new(4, 0, 837, 0),
            Build::Ex50 => EmsmtaVersion::new(5, 0, 1457, 0),
            Build::Ex55 => EmsmtaVersion::new(5, 5, 1960, 0),
            Build::Ex55Sp1 => EmsmtaVersion::new(5, 5, 2232, 0),
            Build::Ex55Sp2 => EmsmtaVersion::new(5, 5, 2448, 0),
            Build::Ex55Sp3 => EmsmtaVersion::new(5, 5, 2650, 0),
            Build::Ex2000Sp3 => EmsmtaVersion::new(6, 0, 6249, 0),
            Build::Ex2000Sp3Rollup => EmsmtaVersion::new(6, 0, 6394, 0),
        }
    }

    /// The per-build constants and defect switches (registry defaults), see [`Profile`].
    pub const fn profile(self) -> Profile {
        Profile::of(self)
    }
}

impl fmt::Display for Build {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.cli_name())
    }
}

/// A build spelling that names no modelled build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown build {given:?}; valid builds: {}", valid_build_names())]
pub struct UnknownBuild {
    /// What was given.
    pub given: String,
}

/// The valid CLI spellings, space separated, oldest first.
pub fn valid_build_names() -> String {
    Build::ALL.map(Build::cli_name).join(" ")
}

impl FromStr for Build {
    type Err = UnknownBuild;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let wanted = s.trim().to_ascii_lowercase();
        Build::ALL
            .into_iter()
            .find(|b| b.cli_name() == wanted)
            .ok_or_else(|| UnknownBuild {
                given: s.to_owned(),
            })
    }
}

/// A four-part Windows file version, e.g. `5.5.2448.0`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EmsmtaVersion {
    /// Major version (4, 5, 6).
    pub major: u16,
    /// Minor version.
    pub minor: u16,
    /// Build number.
    pub build: u16,
    /// Revision.
    pub revision: u16,
}

impl EmsmtaVersion {
    /// A version from its four parts.
    pub const fn new(major: u16, minor: u16, build: u16, revision: u16) -> Self {
        EmsmtaVersion {
            major,
            minor,
            build,
            revision,
        }
    }
}

impl fmt::Display for EmsmtaVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{}.{}.{}",
            self.major, self.minor, self.build, self.revision
        )
    }
}

/// A hotfix build named by a KB: the fix shipped first as this `Emsmta.exe` and then in
/// `first_fixed_in`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hotfix {
    /// The KB article that names it.
    pub kb: &'static str,
    /// `Emsmta.exe` version of the hotfix.
    pub emsmta: EmsmtaVersion,
    /// Last modelled build that still has the defect.
    pub last_faulty: Build,
    /// First modelled build that contains the fix.
    pub first_fixed_in: Build,
}

/// The hotfix builds the KBs name (file tables of Q197378, Q225157, KB 811406).
pub const HOTFIXES: [Hotfix; 3] = [
    Hotfix {
        kb: "Q197378",
        emsmta: EmsmtaVersion::new(5, 5, 2431, 0),
        last_faulty: Build::Ex55Sp1,
        first_fixed_in: Build::Ex55Sp2,
    },
    Hotfix {
        kb: "Q225157",
        emsmta: EmsmtaVersion::new(5, 5, 2586, 0),
        last_faulty: Build::Ex55Sp2,
        first_fixed_in: Build::Ex55Sp3,
    },
    Hotfix {
        kb: "Q811406",
        emsmta: EmsmtaVersion::new(6, 0, 6394, 0),
        last_faulty: Build::Ex2000Sp3,
        first_fixed_in: Build::Ex2000Sp3Rollup,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cli_spellings_round_trip_and_are_the_documented_ones() {
        assert_eq!(
            valid_build_names(),
            "4.0 5.0 5.5 5.5-sp1 5.5-sp2 5.5-sp3 2000-sp3 2000-sp3-rollup"
        );
        for b in Build::ALL {
            assert_eq!(b.cli_name().parse::<Build>(), Ok(b));
            assert_eq!(b.to_string().parse::<Build>(), Ok(b));
        }
        assert_eq!("5.5-SP1".parse::<Build>(), Ok(Build::Ex55Sp1));
    }

    #[test]
    fn unknown_spelling_lists_the_valid_ones() {
        let err = "5.5sp1".parse::<Build>().unwrap_err();
        let msg = err.to_string();
        assert!(msg.contains("\"5.5sp1\""), "{msg}");
        for b in Build::ALL {
            assert!(msg.contains(b.cli_name()), "{msg} lacks {b}");
        }
    }

    #[test]
    fn index_is_position_in_all() {
        for (i, b) in Build::ALL.into_iter().enumerate() {
            assert_eq!(b.index(), i);
        }
    }

    #[test]
    fn versions_increase_with_builds() {
        for w in Build::ALL.windows(2) {
            assert!(w[0].emsmta_version() < w[1].emsmta_version(), "{w:?}");
        }
    }

    #[test]
    fn hotfix_builds_fall_between_faulty_and_fixed_service_packs() {
        for h in HOTFIXES {
            assert!(h.last_faulty.emsmta_version() < h.emsmta, "{h:?}");
            // The rollup *is* the hotfix build (same Emsmta.exe); SPs come after their hotfixes.
            assert!(h.emsmta <= h.first_fixed_in.emsmta_version(), "{h:?}");
            assert_eq!(h.last_faulty.index() + 1, h.first_fixed_in.index());
        }
        assert_eq!(Build::Ex55Sp2.emsmta_version().to_string(), "5.5.2448.0");
    }
}
