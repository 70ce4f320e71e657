//! `mta-lab import CAPTURE.pcap --out DIR`: the TCP port-102 streams of a capture (a field capture
//! taken at a production MTA, or one `mta-lab run --pcap` wrote) become, per connection, a peer
//! script — the caller's writes with their pauses and how the caller left, replayable against a
//! modelled MTA with `mta-lab hostile --script` — and fuzz seeds: the caller's octets for the
//! `inbound_stack` target, and each direction's octets for `mta-lab decode`.
//!
//! Reassembly follows TCP sequence numbers per direction (retransmitted and overlapping octets are
//! taken once, out-of-order segments wait for the gap), from the SYN when the capture has it.
//! Ethernet and raw-IPv4 link types; IPv4 only.

use etherparse::{NetSlice, SlicedPacket, TransportSlice};
use pcap_file::DataLink;
use pcap_file::pcap::PcapReader;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::path::Path;

/// How a caller's connection ended in the capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Ending {
    /// The caller sent FIN after the server did (or the server never did).
    Close,
    /// The caller sent FIN first and kept reading.
    HalfClose,
    /// A reset.
    Reset,
    /// Still open when the capture ended.
    Open,
}

/// One write of the caller: after `after_ms` since the previous one (or the connect).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Write {
    /// Pause before it.
    pub after_ms: u64,
    /// Octets (hex).
    pub hex: String,
}

/// A caller's side of one connection: what `mta-lab hostile --script` replays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerScript {
    /// Schema.
    pub schema: u32,
    /// Caller address in the capture.
    pub client: String,
    /// Server address in the capture.
    pub server: String,
    /// How the caller left.
    pub end: Ending,
    /// When the connection opened, ms since the capture's first packet (timed replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opened_ms: Option<u64>,
    /// When the caller left (FIN or reset), ms since the capture's first packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_ms: Option<u64>,
    /// The caller's writes.
    pub write: Vec<Write>,
}

#[derive(Default)]
struct Direction {
    next: Option<u32>,
    pending: BTreeMap<u32, Vec<u8>>,
    data: Vec<u8>,
    /// (time, octets) as they became contiguous.
    writes: Vec<(u64, Vec<u8>)>,
    fin_at: Option<u64>,
}

impl Direction {
    fn segment(&mut self, t: u64, seq: u32, syn: bool, payload: &[u8]) {
        if syn {
            self.next = Some(seq.wrapping_add(1));
            return;
        }
        let next = *self.next.get_or_insert(seq);
        if payload.is_empty() {
            return;
        }
        // Offset of this segment relative to what is expected (wrapping arithmetic).
        let off = seq.wrapping_sub(next).cast_signed();
        if off > 0 {
            self.pending.insert(seq, payload.to_vec());
            return;
        }
        let skip = off.unsigned_abs() as usize;
        if skip >= payload.len() {
            return; // a retransmission of what we have
        }
        let mut fresh = payload[skip..].to_vec();
        let mut n = next.wrapping_add(fresh.len() as u32);
        // Drain segments that are now contiguous.
        while let Some((&s, _)) = self.pending.iter().next() {
            let o = s.wrapping_sub(n).cast_signed();
            if o > 0 {
                break;
            }
            let p = self.pending.remove(&s).unwrap_or_default();
            let k = o.unsigned_abs() as usize;
            if k < p.len() {
                fresh.extend_from_slice(&p[k..]);
                n = n.wrapping_add((p.len() - k) as u32);
            }
        }
        self.next = Some(n);
        self.data.extend_from_slice(&fresh);
        self.writes.push((t, fresh));
    }
}

/// One TCP connection to port 102.
pub struct Stream {
    /// Caller.
    pub client: SocketAddr,
    /// Server (port 102).
    pub server: SocketAddr,
    /// When the first packet was seen (ms since the capture's first packet).
    pub opened_ms: u64,
    /// Caller → server octets, as they became contiguous, with their times.
    pub client_writes: Vec<(u64, Vec<u8>)>,
    /// All caller → server octets.
    pub client_data: Vec<u8>,
    /// All server → caller octets.
    pub server_data: Vec<u8>,
    /// How the caller left.
    pub end: Ending,
    /// When the caller left (its FIN, or a reset), ms since the capture's first packet.
    pub closed_ms: Option<u64>,
}

/// A connection being read: first seen, caller → server, server → caller, reset time.
type Conn = (u64, Direction, Direction, Option<u64>);

/// Read the port-102 streams of a capture, in the order their connections appear.
pub fn read(path: &Path) -> Result<Vec<Stream>, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut r =
        PcapReader::new(file).map_err(|e| format!("{}: not a pcap file: {e}", path.display()))?;
    let link = r.header().datalink;
    if !matches!(link, DataLink::ETHERNET | DataLink::RAW | DataLink::IPV4) {
        return Err(format!(
            "{}: link type {link:?} (Ethernet or raw IPv4 only)",
            path.display()
        ));
    }
    let mut order: Vec<(SocketAddr, SocketAddr)> = Vec::new();
    let mut conns: BTreeMap<(SocketAddr, SocketAddr), Conn> = BTreeMap::new();
    let mut t0 = None;
    let mut n = 0usize;
    while let Some(p) = r.next_packet() {
        n += 1;
        let p = p.map_err(|e| format!("{}: packet {n}: {e}", path.display()))?;
        let ts = p.timestamp.as_millis() as u64;
        let t = ts - *t0.get_or_insert(ts);
        let sliced = if link == DataLink::ETHERNET {
            SlicedPacket::from_ethernet(&p.data)
        } else {
            SlicedPacket::from_ip(&p.data)
        };
        let Ok(s) = sliced else { continue };
        let (Some(NetSlice::Ipv4(ip)), Some(TransportSlice::Tcp(tcp))) = (s.net, s.transport)
        else {
            continue;
        };
        let (src, dst): (Ipv4Addr, Ipv4Addr) =
            (ip.header().source_addr(), ip.header().destination_addr());
        let a = SocketAddr::V4(SocketAddrV4::new(src, tcp.source_port()));
        let b = SocketAddr::V4(SocketAddrV4::new(dst, tcp.destination_port()));
        let (client, server, from_client) = if b.port() == 102 {
            (a, b, true)
        } else if a.port() == 102 {
            (b, a, false)
        } else {
            continue;
        };
        let key = (client, server);
        let e = conns.entry(key).or_insert_with(|| {
            order.push(key);
            (t, Direction::default(), Direction::default(), None)
        });
        if tcp.rst() {
            e.3.get_or_insert(t);
        }
        let dir = if from_client { &mut e.1 } else { &mut e.2 };
        dir.segment(t, tcp.sequence_number(), tcp.syn(), tcp.payload());
        if tcp.fin() {
            dir.fin_at.get_or_insert(t);
        }
    }
    Ok(order
        .into_iter()
        .filter_map(|k| conns.remove(&k).map(|v| (k, v)))
        .map(|((client, server), (opened, c, s, rst))| {
            let end = match (rst, c.fin_at, s.fin_at) {
                (Some(_), _, _) => Ending::Reset,
                (None, Some(cf), Some(sf)) if cf < sf => Ending::HalfClose,
                (None, Some(_), None) => Ending::HalfClose,
                (None, Some(_), Some(_)) => Ending::Close,
                (None, None, _) => Ending::Open,
            };
            Stream {
                client,
                server,
                opened_ms: opened,
                client_writes: c.writes,
                client_data: c.data,
                server_data: s.data,
                end,
                closed_ms: rst.or(c.fin_at),
            }
        })
        .collect())
}

impl Stream {
    /// The caller's side as a replayable script.
    pub fn script(&self) -> PeerScript {
        let mut last = self.opened_ms;
        PeerScript {
            schema: 1,
            client: self.client.to_string(),
            server: self.server.to_string(),
            end: self.end,
            opened_ms: Some(self.opened_ms),
            closed_ms: self.closed_ms,
            write: self
                .client_writes
                .iter()
                .map(|(t, b)| {
                    let w = Write {
                        after_ms: t.saturating_sub(last),
                        hex: hex::encode(b),
                    };
                    last = *t;
                    w
                })
                .collect(),
        }
    }
}

impl PeerScript {
    /// Read and check a script file.
    pub fn load(path: &Path) -> Result<PeerScript, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let s: PeerScript = toml::from_str(&text)
            .map_err(|e| format!("{}: not a peer script: {e}", path.display()))?;
        if s.schema != 1 {
            return Err(format!(
                "{}: schema {} (this lab reads 1)",
                path.display(),
                s.schema
            ));
        }
        for (i, w) in s.write.iter().enumerate() {
            hex::decode(&w.hex).map_err(|e| format!("{}: write {}: {e}", path.display(), i + 1))?;
        }
        Ok(s)
    }

    /// As a hostile-peer program (writes with pauses, then the ending).
    pub fn peer(&self, name: &'static str) -> crate::hostile::Peer {
        crate::hostile::Peer {
            name,
            writes: self
                .write
                .iter()
                .map(|w| (w.after_ms, hex::decode(&w.hex).unwrap_or_default()))
                .collect(),
            end: match self.end {
                Ending::HalfClose => crate::hostile::End::HalfClose,
                Ending::Open => crate::hostile::End::Silent(2000),
                Ending::Close | Ending::Reset => crate::hostile::End::Close,
            },
        }
    }
}

/// Write, per connection: `conn-N.peer.toml`, `conn-N.inbound_stack` (caller octets, a fuzz seed),
/// `conn-N.client.bin` and `conn-N.server.bin` (for `mta-lab decode`). Returns the files.
pub fn write(streams: &[Stream], out: &Path) -> Result<Vec<String>, String> {
    std::fs::create_dir_all(out).map_err(|e| format!("{}: {e}", out.display()))?;
    let mut files = Vec::new();
    for (i, s) in streams.iter().enumerate() {
        let base = out.join(format!("conn-{i}"));
        let script = toml::to_string(&s.script()).map_err(|e| e.to_string())?;
        for (ext, bytes) in [
            ("peer.toml", script.as_bytes()),
            ("inbound_stack", &s.client_data[..]),
            ("client.bin", &s.client_data[..]),
            ("server.bin", &s.server_data[..]),
        ] {
            let p = base.with_extension(ext);
            std::fs::write(&p, bytes).map_err(|e| format!("{}: {e}", p.display()))?;
            files.push(p.display().to_string());
        }
    }
    Ok(files)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::simulate::{Record, run_with};
    use crate::world::World;
    use mta_build::Build;

    #[test]
    fn a_simulator_pcap_round_trips_octet_for_octet() {
        let w = World::standard(Build::Ex2000Sp3Rollup, Build::Ex2000Sp3Rollup, 2);
        let (_, rec) = run_with(
            &w,
            1,
            crate::faults::FaultPlan::none(),
            Record {
                pcap: true,
                trace: false,
                until: None,
            },
        );
        let dir = std::env::temp_dir().join(format!("mta-lab-import-{}", std::process::id()));
        let _ = std::fs::create_dir_all(&dir);
        let pcap = dir.join("run.pcap");
        crate::pcap::write(&pcap, &rec.capture).unwrap();
        let streams = read(&pcap).unwrap();
        // Every connection of the capture, with exactly the octets each side wrote.
        let mut want: BTreeMap<(SocketAddr, SocketAddr), Vec<u8>> = BTreeMap::new();
        for (_, r) in &rec.capture {
            if let crate::pcap::Record::Data(from, to, b) = r {
                want.entry((*from, *to)).or_default().extend_from_slice(b);
            }
        }
        assert!(!streams.is_empty());
        for s in &streams {
            assert_eq!(
                s.client_data,
                want.get(&(s.client, s.server)).cloned().unwrap_or_default()
            );
            assert_eq!(
                s.server_data,
                want.get(&(s.server, s.client)).cloned().unwrap_or_default()
            );
            let script = s.script();
            let back: Vec<u8> = script
                .write
                .iter()
                .flat_map(|w| hex::decode(&w.hex).unwrap())
                .collect();
            assert_eq!(back, s.client_data);
        }
        let files = write(&streams, &dir.join("out")).unwrap();
        let first = files.iter().find(|f| f.ends_with(".peer.toml")).unwrap();
        assert_eq!(
            PeerScript::load(Path::new(first)).unwrap(),
            streams[0].script()
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn out_of_order_and_retransmitted_segments_are_taken_once() {
        let mut d = Direction::default();
        d.segment(0, 99, true, &[]);
        d.segment(1, 104, false, b"efg"); // early
        d.segment(2, 100, false, b"abc");
        d.segment(3, 100, false, b"abc"); // retransmission
        d.segment(4, 102, false, b"cde"); // overlap
        assert_eq!(d.data, b"abcdefg");
    }
}
