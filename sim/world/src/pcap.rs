//! pcap export of a simulated run: every TCP byte the MTAs wrote, as Ethernet/IPv4/TCP frames with
//! a three-way handshake, sequence and acknowledgement numbers, FINs and correct checksums
//! (etherparse builds the headers, pcap-file writes the file), with each machine's real source
//! addresses — so Wireshark follows the streams and dissects TPKT … P1.

use etherparse::PacketBuilder;
use pcap_file::pcap::{PcapPacket, PcapWriter};
use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

/// One thing that happened on a connection, as the adapter saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Record {
    /// A connection was established (client, server).
    Open(SocketAddr, SocketAddr),
    /// `from` wrote octets to `to`.
    Data(SocketAddr, SocketAddr, Vec<u8>),
    /// `from` closed its sending side.
    Fin(SocketAddr, SocketAddr),
    /// `from` reset the connection (it closed with data unread).
    Rst(SocketAddr, SocketAddr),
}

/// Records with their simulated time (ms), in order.
pub type Capture = Vec<(u64, Record)>;

fn v4(a: &SocketAddr) -> [u8; 4] {
    match a.ip() {
        IpAddr::V4(ip) => ip.octets(),
        IpAddr::V6(_) => [0, 0, 0, 0],
    }
}

fn mac(a: &SocketAddr) -> [u8; 6] {
    let o = v4(a);
    [0x02, 0x00, o[0], o[1], o[2], o[3]]
}

#[derive(Clone, Copy)]
enum Flags {
    Syn,
    SynAck,
    Ack,
    Psh,
    Fin,
    Rst,
}

fn frame(
    from: &SocketAddr,
    to: &SocketAddr,
    seq: u32,
    ack: u32,
    flags: Flags,
    payload: &[u8],
) -> Vec<u8> {
    let b = PacketBuilder::ethernet2(mac(from), mac(to))
        .ipv4(v4(from), v4(to), 64)
        .tcp(from.port(), to.port(), seq, 65535);
    let b = match flags {
        Flags::Syn => b.syn(),
        Flags::SynAck => b.syn().ack(ack),
        Flags::Ack => b.ack(ack),
        Flags::Psh => b.ack(ack).psh(),
        Flags::Fin => b.ack(ack).fin(),
        Flags::Rst => b.ack(ack).rst(),
    };
    let mut out = Vec::with_capacity(payload.len() + 54);
    b.write(&mut out, payload)
        .expect("writing to a Vec cannot fail");
    out
}

/// Write `capture` as a pcap file.
pub fn write(path: &std::path::Path, capture: &Capture) -> Result<usize, String> {
    let file = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = PcapWriter::new(file).map_err(|e| format!("{}: {e}", path.display()))?;
    // Next sequence number each endpoint sends with, per connection (a listening endpoint serves
    // many connections at once): keyed by (sender, receiver).
    let mut next: BTreeMap<(SocketAddr, SocketAddr), u32> = BTreeMap::new();
    let mut packets = 0;
    let mut put = |t: u64, f: Vec<u8>| -> Result<(), String> {
        let ts = Duration::from_millis(t);
        w.write_packet(&PcapPacket::new(ts, f.len() as u32, &f))
            .map_err(|e| e.to_string())?;
        packets += 1;
        Ok(())
    };
    for (t, r) in capture {
        match r {
            Record::Open(c, s) => {
                let (ci, si) = (1_000u32, 5_000u32);
                put(*t, frame(c, s, ci, 0, Flags::Syn, &[]))?;
                put(*t, frame(s, c, si, ci + 1, Flags::SynAck, &[]))?;
                put(*t, frame(c, s, ci + 1, si + 1, Flags::Ack, &[]))?;
                next.insert((*c, *s), ci + 1);
                next.insert((*s, *c), si + 1);
            }
            Record::Data(from, to, bytes) => {
                // Segments of at most 1460 octets; PSH on the last one only, as a sending stack
                // marks the end of one write (RFC 9293 §3.9.1): `import` rebuilds the writes
                // from it.
                let chunks = bytes.len().div_ceil(1460);
                for (i, chunk) in bytes.chunks(1460).enumerate() {
                    let seq = *next.get(&(*from, *to)).unwrap_or(&1);
                    let ack = *next.get(&(*to, *from)).unwrap_or(&1);
                    let flags = if i + 1 == chunks {
                        Flags::Psh
                    } else {
                        Flags::Ack
                    };
                    put(*t, frame(from, to, seq, ack, flags, chunk))?;
                    next.insert((*from, *to), seq.wrapping_add(chunk.len() as u32));
                    put(
                        *t,
                        frame(
                            to,
                            from,
                            ack,
                            seq.wrapping_add(chunk.len() as u32),
                            Flags::Ack,
                            &[],
                        ),
                    )?;
                }
            }
            Record::Rst(from, to) => {
                let seq = *next.get(&(*from, *to)).unwrap_or(&1);
                let ack = *next.get(&(*to, *from)).unwrap_or(&1);
                put(*t, frame(from, to, seq, ack, Flags::Rst, &[]))?;
            }
            Record::Fin(from, to) => {
                let seq = *next.get(&(*from, *to)).unwrap_or(&1);
                let ack = *next.get(&(*to, *from)).unwrap_or(&1);
                put(*t, frame(from, to, seq, ack, Flags::Fin, &[]))?;
                next.insert((*from, *to), seq.wrapping_add(1));
                put(
                    *t,
                    frame(to, from, ack, seq.wrapping_add(1), Flags::Ack, &[]),
                )?;
            }
        }
    }
    Ok(packets)
}
