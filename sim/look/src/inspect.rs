//! The byte-inspection commands of `mta-lab`: `decode` (a port-102 stream dissected layer by
//! layer), `ber dump`, `p1 decode`, `lpi decode`, and `builds` (the build table). What a protocol
//! analyser shows, printed; each returns its exit status.

use mta_build::Build;
use std::process::ExitCode;

/// Which way a `decode` stream flows.
#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DirectionArg {
    /// Initiator → responder.
    Out,
    /// Responder → initiator.
    In,
}

/// `mta-lab decode`: a port-102 byte stream layer by layer, like a protocol analyser's tree; exit
/// 1 when something is malformed or a TPKT is incomplete.
pub fn decode(file: &str, hex: bool, direction: DirectionArg) -> Result<ExitCode, String> {
    use mta_osi::dissect::{Direction, dissect};
    let bytes = mta_lab_world::input::read(file, hex)?;
    let dir = match direction {
        DirectionArg::Out => Direction::Out,
        DirectionArg::In => Direction::In,
    };
    let (text, streams) = dissect(&[(dir, bytes.clone())]);
    print!("{text}");
    let pending = bytes.len() as u64 - streams[dir as usize].consumed();
    if pending > 0 {
        println!("({pending} trailing octets: an incomplete TPKT)");
    }
    Ok(if text.contains("!! malformed") || pending > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// `mta-lab p1 decode`: an MTS-APDU, MTA bind or bind error; exit 1 if it is none of them.
pub fn p1_decode(file: &str, hex: bool) -> Result<ExitCode, String> {
    let bytes = mta_lab_world::input::read(file, hex)?;
    let apdu_err = match mta_p1::Apdu::parse(&bytes) {
        Ok(apdu) => {
            let kind = match &apdu {
                mta_p1::Apdu::Message { .. } => "message",
                mta_p1::Apdu::Report(_) => "report",
                mta_p1::Apdu::Probe(_) => "probe",
            };
            println!("{kind} {}\n{apdu:#?}", apdu.id());
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => e,
    };
    if let Ok(b) = mta_p1::Bind::parse(&bytes) {
        println!("MTA bind\n{b:#?}");
        return Ok(ExitCode::SUCCESS);
    }
    if let Ok(code) = mta_p1::parse_bind_error(&bytes) {
        println!("MTA bind error {code}");
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("error: not a valid MTS-APDU: {apdu_err}");
    Ok(ExitCode::FAILURE)
}

/// `mta-lab ber dump`: asn1parse-style dump; exit 1 at malformed BER, with its offset.
pub fn ber_dump(file: &str, hex: bool) -> Result<ExitCode, String> {
    let bytes = mta_lab_world::input::read(file, hex)?;
    let (text, err) = mta_ber::dump(&bytes, &mta_ber::Limits::default());
    print!("{text}");
    match err {
        None => Ok(ExitCode::SUCCESS),
        Some(e) => {
            eprintln!("error: malformed BER at offset {}: {}", e.offset, e.kind);
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `mta-lab lpi decode`: an NSI/POP4 internal message's fields; exit 1 if it is malformed.
pub fn lpi_decode(file: &str, hex: bool) -> Result<ExitCode, String> {
    let bytes = mta_lab_world::input::read(file, hex)?;
    match mta_lpi::MessageRepr::parse_header(&bytes, bytes.len()) {
        Ok(r) => {
            let m = mta_lpi::InternalMessage::new_unchecked(&bytes[..]);
            println!("{r}");
            println!("  type         {}", r.message_type);
            println!("  header len   {}", m.header_len());
            let iface = match mta_lpi::Interface::from_number(r.lpi.interface) {
                Some(mta_lpi::Interface::TcpIp) => "TCP/IP",
                Some(mta_lpi::Interface::X25) => "X.25",
                None => "unknown interface",
            };
            println!(
                "  lpi          {} (interface {} {iface}, generation {}, control block {})",
                r.lpi, r.lpi.interface, r.lpi.generation, r.lpi.index
            );
            println!(
                "  flags        0x{:04x}{}",
                m.flags(),
                if r.more { " (more)" } else { "" }
            );
            println!("  data         {} octets", r.data_len);
            for (i, chunk) in m.data().chunks(16).enumerate() {
                println!("    {:04x}  {}", i * 16, hex::encode(chunk));
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!(
                "error: malformed internal message at offset {}: {e}",
                e.offset()
            );
            Ok(ExitCode::FAILURE)
        }
    }
}

/// `mta-lab builds`: the build table (every per-build constant and defect switch with its
/// source), after `--set` overrides.
pub fn builds(set: &[String], only: Option<Build>) -> Result<ExitCode, String> {
    let mut profiles = Build::ALL.map(Build::profile);
    for kv in set {
        for p in &mut profiles {
            p.set_override(kv).map_err(|e| e.to_string())?;
        }
    }
    let cols: Vec<Build> = only.map_or_else(|| Build::ALL.to_vec(), |b| vec![b]);
    println!("Emsmta versions:");
    for b in &cols {
        println!(
            "  {:<16} {:<12} {}",
            b.cli_name(),
            b.emsmta_version().to_string(),
            b.product_name()
        );
    }
    println!();
    print!("{:<38} {:<8}", "parameter", "kind");
    for b in &cols {
        print!(" {:>16}", b.cli_name());
    }
    println!();
    let rows = mta_build::Profile::rows();
    for r in &rows {
        print!("{:<38} {:<8}", r.name, r.kind.to_string());
        for b in &cols {
            let v = profiles[b.index()].value(r.name).unwrap_or_default();
            print!(" {v:>16}");
        }
        println!();
    }
    println!("\nSources:");
    for r in &rows {
        println!(
            "  {:<38} {}",
            r.name,
            r.source.split_whitespace().collect::<Vec<_>>().join(" ")
        );
    }
    println!("\nValid ranges of the tunables (--set and world files' `set` refuse others):");
    for r in mta_build::TUNABLE_RANGES {
        println!("  {:<38} {}..={}: {}", r.name, r.min, r.max, r.why);
    }
    Ok(ExitCode::SUCCESS)
}
