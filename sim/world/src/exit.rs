//! The lab's exit statuses: one meaning each, the same for every `mta-lab` command, its worker
//! processes and the scripts around it (README, "Exit statuses").
//!
//! A panic of a *model under test* is a finding (caught, recorded with its seed: status 1); a
//! panic of the *lab itself* escapes to `main` and is status 3.

use std::process::{ExitCode, ExitStatus};

/// What a finished `mta-lab` process says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: ran to the end and found nothing (or, for a tool, did what was asked).
    Clean,
    /// 1: ran to the end and found something: an oracle fired, a KB cell disagrees, a fuzz
    /// input crashes its harness, two builds differ (`diff`), the octets are malformed
    /// (`decode`), a probed case was not handled.
    Findings,
    /// 2: did not run: a usage error (clap's own status), a missing, unreadable or malformed
    /// input file, an unwritable output, a tool it needs that failed.
    InputError,
    /// 3: the lab itself panicked: a bug in mta-lab, not a finding about the model.
    InternalError,
}

impl Exit {
    /// The numeric status.
    pub const fn code(self) -> u8 {
        match self {
            Exit::Clean => 0,
            Exit::Findings => 1,
            Exit::InputError => 2,
            Exit::InternalError => 3,
        }
    }

    /// How a child `mta-lab` process ended. A status outside 0–3 (or death by a signal) is
    /// an internal error: no `mta-lab` command exits with it.
    pub fn of(status: ExitStatus) -> Exit {
        match status.code() {
            Some(0) => Exit::Clean,
            Some(1) => Exit::Findings,
            Some(2) => Exit::InputError,
            _ => Exit::InternalError,
        }
    }

    /// One line for an operator.
    pub const fn meaning(self) -> &'static str {
        match self {
            Exit::Clean => "clean",
            Exit::Findings => "finding(s)",
            Exit::InputError => "usage or input error",
            Exit::InternalError => "internal error (the lab itself failed)",
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// Run a command's body and turn what it gives into the process's status: its own status as it
/// chose it, an error as [`Exit::InputError`] (printed as `error: …`), and a panic that escapes
/// it — the lab's own, since a model's is caught where the model runs — as
/// [`Exit::InternalError`] (the panic message has been printed by the panic hook).
///
/// `MTA_LAB_INDUCE_PANIC` set in the environment makes the body panic before it starts: the
/// exit-status test's way to show status 3 on a real process (it is not a model input).
pub fn run(body: impl FnOnce() -> Result<ExitCode, String>) -> ExitCode {
    let guarded = move || {
        assert!(
            std::env::var_os("MTA_LAB_INDUCE_PANIC").is_none(),
            "panic induced by MTA_LAB_INDUCE_PANIC"
        );
        body()
    };
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(guarded)) {
        Ok(Ok(code)) => code,
        Ok(Err(e)) => {
            eprintln!("error: {e}");
            Exit::InputError.into()
        }
        Err(_) => {
            eprintln!(
                "internal error: mta-lab itself panicked (a bug in the lab, not a finding about \
                 the model; the panic is printed above)"
            );
            Exit::InternalError.into()
        }
    }
}

/// The table `mta-lab --help` ends with.
pub const HELP: &str = "Exit status (every command): 0 clean; 1 finding(s) (an oracle fired, a KB \
cell disagrees, a crash input, builds differ, malformed octets); 2 usage or input error (bad \
argument, missing or malformed file, unwritable output); 3 internal error (the lab itself \
panicked; a model's panic is a finding, status 1).";

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(unix)]
    use std::os::unix::process::ExitStatusExt;

    #[test]
    #[cfg(unix)]
    fn statuses_round_trip_and_unknown_ones_are_internal() {
        for e in [
            Exit::Clean,
            Exit::Findings,
            Exit::InputError,
            Exit::InternalError,
        ] {
            let raw = ExitStatus::from_raw(i32::from(e.code()) << 8);
            assert_eq!(Exit::of(raw), e, "{}", e.meaning());
        }
        assert_eq!(
            Exit::of(ExitStatus::from_raw(101 << 8)),
            Exit::InternalError
        );
        assert_eq!(
            Exit::of(ExitStatus::from_raw(9)),
            Exit::InternalError,
            "SIGKILL"
        );
    }
}
