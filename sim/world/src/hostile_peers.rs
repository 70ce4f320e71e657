//! Hostile callers: small peer programs that connect to an MTA and misbehave at one layer each
//! (TPKT, COTP, session, presentation, RTSE bind, P1, timing, connection patterns, fairness), as
//! data, and [`play`], which runs one over turmoil TCP. The simulator plays [`programs`] as a fault
//! of worlds that ask for it (`hostile_callers`); the hostile runner and `probe` (mta-lab-net) play
//! the whole [`library`], the [`fairness`] cases included. Built by the modelled stack itself
//! ([`crate::caller`]); it holds no MTA.

use crate::caller::{good_bind, opening};
use mta_osi::presentation::Mode;
use mta_osi::tpkt::{SendFlags, Writer};
use mta_p1::Bind;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use turmoil::net::TcpStream;

/// One misbehaviour: octets to write (with pauses), then how to end.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Name.
    pub name: &'static str,
    /// Writes, each after the given pause (ms).
    pub writes: Vec<(u64, Vec<u8>)>,
    /// How the connection ends.
    pub end: End,
    /// Messages it transfers for users of the MTA under attack (each to be delivered once).
    pub messages: usize,
}

impl Peer {
    /// How long playing it takes at most (its pauses and its ending), for a fault's duration.
    pub fn duration_ms(&self) -> u64 {
        let pauses: u64 = self.writes.iter().map(|(p, _)| *p).sum();
        pauses
            + match self.end {
                End::Close => 100,
                End::HalfClose => HALF_CLOSE_WAIT_MS,
                End::Silent(ms) | End::Unread(ms) => ms,
            }
    }
}

/// How long a half-closing peer keeps reading for the MTA's close, at most.
pub const HALF_CLOSE_WAIT_MS: u64 = 10_000;

/// How a peer leaves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Close normally after the writes.
    Close,
    /// Half-close (shutdown write), keep reading until the MTA closes.
    HalfClose,
    /// Stay connected and silent for this long, then drop.
    Silent(u64),
    /// Never read what the MTA sends (not even while writing); after the writes stay connected
    /// this long, then drop.
    Unread(u64),
}

fn tpkt(tpdu: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    Writer::conforming().write(&mut v, tpdu, SendFlags::NONE);
    v
}

/// The whole library (each entry is one peer program): [`programs`], then [`fairness`], as an
/// owned list (for the hostile runner and `probe`).
pub fn library() -> Vec<Peer> {
    programs().iter().chain(fairness()).cloned().collect()
}

/// The programs a world's hostile-callers fault draws from (`first` modulo their number), built
/// once per process (plans drawn per seed only index and name them). The [`fairness`] cases are
/// not among them: appending to this list would change which peers every seed of `standard` and
/// `flood` plays (their traces, sweep rates and KB cells), and the worlds have no setup-time
/// oracle to judge what those cases are for.
pub fn programs() -> &'static [Peer] {
    static LIBRARY: std::sync::OnceLock<Vec<Peer>> = std::sync::OnceLock::new();
    LIBRARY.get_or_init(build_library)
}

/// The fairness cases: callers that keep the MTA busy on one connection (an unterminated TSDU
/// flood, a bind in many small DTs, a pipelining peer that never reads), judged by how long a
/// *different* caller then waits for its CC (the hostile runner's and `probe`'s setup-time
/// oracle).
pub fn fairness() -> &'static [Peer] {
    static FAIRNESS: std::sync::OnceLock<Vec<Peer>> = std::sync::OnceLock::new();
    FAIRNESS.get_or_init(build_fairness)
}

/// DT TPDUs in the unterminated-TSDU flood, and the octets of user data each carries.
pub const TSDU_FLOOD_DTS: usize = 1000;
/// User octets per DT of the unterminated-TSDU flood.
pub const TSDU_FLOOD_DT_OCTETS: usize = 100;
/// Messages the slow reader transfers without reading a confirmation.
pub const SLOW_READER_MESSAGES: usize = 200;
/// Content octets of each of the slow reader's messages.
pub const SLOW_READER_CONTENT: usize = 512;

/// A class-0 DT TPDU in its TPKT: `data`, with the EOT bit when `eot`.
fn dt(data: &[u8], eot: bool) -> Vec<u8> {
    let tpdu: Vec<u8> = [0x02, 0xf0, if eot { 0x80 } else { 0 }]
        .into_iter()
        .chain(data.iter().copied())
        .collect();
    tpkt(&tpdu)
}

/// A P1 message from PEER to a user of BETA (the MTA under attack) with MTS identifier `local`
/// and `content`, with the originating MTA's trace element (X.411: TraceInformation SIZE
/// (1..ub-transfers)).
pub fn peer_message(local: &str, content: Vec<u8>) -> Vec<u8> {
    use mta_p1::{Apdu, ContentType, Envelope, GlobalDomainIdentifier, OrName, Recipient};
    let peer = GlobalDomainIdentifier::new("US", " ", Some("PEER"));
    Apdu::Message {
        envelope: Envelope {
            trace: vec![mta_p1::TraceElement {
                domain: peer.clone(),
                arrival: "261123000000Z".into(),
                routing_action: 0,
                attempted: None,
                other: Vec::new(),
            }],
            ..Envelope::new(
                mta_p1::MtsIdentifier::new(peer, local),
                OrName::simple("US", " ", "PEER", "ORG", "Sender"),
                ContentType::BuiltIn(22),
                vec![Recipient::responsible(
                    OrName::simple("US", " ", "BETA", "ORG", "User"),
                    1,
                )],
            )
        },
        content,
    }
    .emit()
}

/// What a well-behaved initiator writes to bind and then transfer `apdus` back to back, as it
/// would if it never read an answer: the CR, the CN, then every later octet (each transfer with
/// its checkpointing, as the modelled responder confirmed them). Built against a modelled
/// responder that accepts the bind, so an MTA that accepts it sees a valid stream — once it has
/// accepted the bind (the slow reader waits a second before the transfers: data before the
/// bind's answer is a protocol error).
fn pipelined(apdus: Vec<Vec<u8>>) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    use mta_osi::association::{Association, Event, Role};
    let mut a = Association::new(Role::Initiator, crate::caller::peer_config(Mode::Normal));
    let mut b = Association::new(Role::Responder, crate::caller::peer_config(Mode::Normal));
    a.bind(&good_bind());
    let cr = a.transmit();
    b.receive(&cr);
    a.receive(&b.transmit());
    let cn = a.transmit();
    b.receive(&cn);
    if matches!(b.poll_event(), Some(Event::BindRequest { .. })) {
        b.accept_bind(&[]);
    }
    a.receive(&b.transmit());
    for x in apdus {
        a.transfer(x);
    }
    let mut rest = Vec::new();
    // Each round trip moves at least one checkpoint; the bound only stops a broken pair.
    for _ in 0..100_000 {
        let out = a.transmit();
        if out.is_empty() && a.unconfirmed() == 0 {
            break;
        }
        b.receive(&out);
        rest.extend_from_slice(&out);
        a.receive(&b.transmit());
    }
    (cr, cn, rest)
}

fn build_fairness() -> Vec<Peer> {
    let (cr, cn) = opening(&good_bind(), Mode::Normal);
    // 1,000 DTs of 100 octets, none with EOT: a TSDU that never ends.
    let chunk = vec![b'X'; TSDU_FLOOD_DT_OCTETS];
    let flood: Vec<u8> = (0..TSDU_FLOOD_DTS)
        .flat_map(|_| dt(&chunk, false))
        .collect();
    // The same bind, its session CONNECT's TSDU cut into 1-octet DTs (EOT on the last).
    let tsdu = cn.get(7..).unwrap_or_default();
    let small: Vec<u8> = tsdu
        .iter()
        .enumerate()
        .flat_map(|(i, b)| dt(&[*b], i + 1 == tsdu.len()))
        .collect();
    let apdus: Vec<Vec<u8>> = (0..SLOW_READER_MESSAGES)
        .map(|i| {
            peer_message(
                &format!("slow-reader-{i}"),
                vec![(i % 251) as u8; SLOW_READER_CONTENT],
            )
        })
        .collect();
    let (scr, scn, transfers) = pipelined(apdus);
    vec![
        Peer {
            name: "unterminated-tsdu-flood",
            writes: vec![(0, cr.clone()), (20, flood)],
            end: End::Close,
            messages: 0,
        },
        Peer {
            name: "many-small-dts (bind in 1-octet DTs)",
            writes: vec![(0, cr), (20, small)],
            end: End::Close,
            messages: 0,
        },
        Peer {
            name: "slow-reader (pipelines, never reads)",
            writes: vec![(0, scr), (20, scn), (1_000, transfers)],
            end: End::Unread(20_000),
            messages: SLOW_READER_MESSAGES,
        },
    ]
}

/// A peer program that transfers no messages.
fn peer(name: &'static str, writes: Vec<(u64, Vec<u8>)>, end: End) -> Peer {
    Peer {
        name,
        writes,
        end,
        messages: 0,
    }
}

fn build_library() -> Vec<Peer> {
    let (cr, cn) = opening(&good_bind(), Mode::Normal);
    let (cr84, cn84) = opening(&good_bind(), Mode::X410);
    let mut reserved1 = cr.clone();
    reserved1[1] = 1;
    let byte_at_a_time: Vec<(u64, Vec<u8>)> =
        cr.iter().chain(cn.iter()).map(|b| (5, vec![*b])).collect();
    let slowloris: Vec<(u64, Vec<u8>)> = cr.iter().take(20).map(|b| (400, vec![*b])).collect();
    let mut big_tsap = vec![0u8; 0];
    big_tsap.extend_from_slice(&[0xe0, 0, 0, 0, 1, 0, 0xc1, 200]);
    big_tsap.extend(std::iter::repeat_n(b'T', 200));
    let big_tsap_tpdu: Vec<u8> = std::iter::once(big_tsap.len() as u8)
        .chain(big_tsap)
        .collect();
    // A CN whose first PGI claims more than the SPDU holds.
    let mut bad_cn = cn.clone();
    if bad_cn.len() > 14 {
        bad_cn[14] = 0xfe;
    }
    // A CN with a 3-octet length field cut short.
    let cn_bad_len = tpkt(&[0x02, 0xf0, 0x80, 0x0d, 0xff, 0x00]);
    let (_, cn_wrong_pw) = opening(&Bind::simple("PEER", "wrong").emit(), Mode::Normal);
    let (_, cn_wrong_name) = opening(&Bind::simple("INTRUDER", "peer-pw").emit(), Mode::Normal);
    let (_, cn_garbage_bind) = opening(&[0x30, 0x80, 0xff], Mode::X410);
    let bomb: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 5000)
        .flatten()
        .collect();
    let (_, cn_bomb) = opening(&bomb[..bomb.len().min(4000)], Mode::X410);
    vec![
        peer(
            "tpkt-reserved-1 (lenient foreign MTA)",
            vec![(0, reserved1), (20, cn.clone())],
            End::Close,
        ),
        peer("tpkt-length-0", vec![(0, vec![3, 0, 0, 0])], End::Close),
        peer(
            "tpkt-length-below-7",
            vec![(0, vec![3, 0, 0, 5, 2, 0xf0])],
            End::Close,
        ),
        peer(
            "tpkt-length-beyond-data",
            vec![(0, vec![3, 0, 0xff, 0xff, 2, 0xf0, 0x80])],
            End::Close,
        ),
        peer(
            "tpkt-version-4",
            vec![(0, vec![4, 0, 0, 7, 2, 0xf0, 0x80])],
            End::Close,
        ),
        peer("tpkt-byte-at-a-time", byte_at_a_time, End::Close),
        peer(
            "tpkt-coalesced-cr-and-cn",
            vec![(0, [cr.clone(), cn.clone()].concat())],
            End::Close,
        ),
        peer(
            "cotp-li-beyond-tpdu",
            vec![(0, tpkt(&[0x40, 0xe0, 0, 0, 0, 1, 0]))],
            End::Close,
        ),
        peer(
            "cotp-unknown-type-ed",
            vec![(0, tpkt(&[0x04, 0x10, 0, 0, 0]))],
            End::Close,
        ),
        peer(
            "cotp-dt-before-cc",
            vec![(0, tpkt(&[0x02, 0xf0, 0x80, 1, 2, 3]))],
            End::Close,
        ),
        peer(
            "cotp-cr-oversized-tsap",
            vec![(0, tpkt(&big_tsap_tpdu))],
            End::Close,
        ),
        peer(
            "session-cn-parameter-overrun",
            vec![(0, cr.clone()), (20, bad_cn)],
            End::Close,
        ),
        peer(
            "session-cn-truncated-3-octet-length",
            vec![(0, cr.clone()), (20, cn_bad_len)],
            End::Close,
        ),
        peer(
            "rtse-bind-wrong-password",
            vec![(0, cr.clone()), (20, cn_wrong_pw)],
            End::Close,
        ),
        peer(
            "rtse-bind-wrong-mta-name",
            vec![(0, cr.clone()), (20, cn_wrong_name)],
            End::Close,
        ),
        peer(
            "rtse-bind-malformed-ber (1984)",
            vec![(0, cr84.clone()), (20, cn_garbage_bind)],
            End::Close,
        ),
        peer(
            "ber-indefinite-nesting-bomb (1984)",
            vec![(0, cr84.clone()), (20, cn_bomb)],
            End::Close,
        ),
        peer("slowloris", slowloris, End::Close),
        peer("connect-and-go-silent", vec![], End::Silent(5_000)),
        peer("silent-after-cr", vec![(0, cr.clone())], End::Silent(5_000)),
        peer("half-close-after-cr", vec![(0, cr.clone())], End::HalfClose),
        peer(
            "rst-mid-connect",
            vec![(0, cr.clone()), (20, cn[..cn.len() / 2].to_vec())],
            End::Close,
        ),
        peer(
            "x410-bind-then-vanish",
            vec![(0, cr84), (20, cn84)],
            End::Close,
        ),
    ]
}

/// Play `p` against `target`:102 over turmoil TCP: connect, write with its pauses, end as it
/// ends. `Err` names the peer when the connect was refused or timed out.
pub async fn play(target: &str, p: &Peer) -> Result<(), String> {
    let Ok(mut s) = TcpStream::connect((target, 102)).await else {
        return Err(format!("{}: connection refused", p.name));
    };
    for (pause, bytes) in &p.writes {
        tokio::time::sleep(Duration::from_millis(*pause)).await;
        if s.write_all(bytes).await.is_err() {
            break;
        }
    }
    match p.end {
        End::Close => {
            tokio::time::sleep(Duration::from_millis(100)).await;
            drop(s);
        }
        End::HalfClose => {
            let _ = s.shutdown().await;
            let mut buf = [0u8; 1024];
            let wait = Duration::from_millis(HALF_CLOSE_WAIT_MS);
            while let Ok(Ok(n)) = tokio::time::timeout(wait, s.read(&mut buf)).await {
                if n == 0 {
                    break;
                }
            }
        }
        End::Silent(ms) | End::Unread(ms) => {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            drop(s);
        }
    }
    Ok(())
}
