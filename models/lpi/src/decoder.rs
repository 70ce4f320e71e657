//! The LPI decoder: parse an internal message's header and resolve its LPI against the control-block
//! table. A live LPI names the connection; a stale, reused or unknown one is a "Bad LPI"
//! (KB Q811406 event 4283, KB 306959 event 1209).

use crate::{HEADER_LEN, Interface, Lpi, MalformedKind, MessageRepr, MessageType};
use mta_bufmgr::{
    BufferError, BufferHandle, BufferManager, Component, ControlBlockTable, Direction,
    ReleaseError, Resolution,
};
use mta_eventlog::{Event, catalogue};

/// What the LPI of a well-formed message refers to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LpiStatus {
    /// A live control block with the same generation.
    Live(Direction),
    /// The control block is free: the connection the LPI named has been released.
    Stale,
    /// The control block is live but belongs to another (later) connection.
    Reused {
        /// Generation of the block now.
        current_generation: u16,
    },
    /// Not an LPI of this interface's table: wrong interface, the listener, or no such index.
    Unknown,
}

impl LpiStatus {
    /// A "Bad LPI" in the KBs' sense (anything but live).
    pub fn is_bad(self) -> bool {
        !matches!(self, LpiStatus::Live(_))
    }
}

/// Why a message could not be decoded at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// The header is malformed.
    #[error("malformed internal message: {0}")]
    Malformed(#[from] MalformedKind),
    /// The buffer handle is not live.
    #[error(transparent)]
    Buffer(#[from] ReleaseError),
}

/// A decoded message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decoded {
    /// The header.
    pub repr: MessageRepr,
    /// What its LPI refers to.
    pub status: LpiStatus,
}

impl Decoded {
    /// The IDs of the events [`Decoded::report_events`] gives, without rendering them: none for a
    /// live LPI, 4258 and 4283 for a stale or unknown one, 4258 and 1209 for a reused one.
    pub fn report_event_ids(&self) -> &'static [u32] {
        match self.status {
            LpiStatus::Live(_) => &[],
            LpiStatus::Stale | LpiStatus::Unknown => &[4258, 4283],
            LpiStatus::Reused { .. } => &[4258, 1209],
        }
    }

    /// The events POP4 logs for this message: none for a live LPI; for a stale or unknown one, 4258
    /// (the message it got) then 4283 "Bad LPIs in message"; for a reused one, 4258 then 1209 (the
    /// LPI does not match its control block). The mapping is ours; the texts are the KBs'.
    pub fn report_events(&self, p: &mta_build::Profile, at_ms: u64) -> Vec<Event> {
        let lpi = self.repr.lpi;
        let received = || {
            catalogue::message_received_at_nsi(
                p,
                lpi.index,
                lpi.parts(),
                self.repr.message_type.name(),
                at_ms,
            )
        };
        match self.status {
            LpiStatus::Live(_) => Vec::new(),
            LpiStatus::Stale | LpiStatus::Unknown => {
                vec![received(), catalogue::bad_lpi(p, lpi.parts(), at_ms)]
            }
            LpiStatus::Reused { .. } => vec![
                received(),
                catalogue::incorrect_lpi(p, lpi.parts(), lpi.index, at_ms),
            ],
        }
    }
}

fn resolve(lpi: Lpi, table: &ControlBlockTable, interface: Interface) -> LpiStatus {
    if lpi.interface != interface.number() {
        return LpiStatus::Unknown;
    }
    match table.resolve(lpi.index, lpi.generation) {
        Resolution::Live(d) => LpiStatus::Live(d),
        Resolution::Free => {
            mta_reach::reach!("lpi: stale LPI");
            LpiStatus::Stale
        }
        Resolution::Reused { current } => {
            mta_reach::reach!("lpi: reused LPI");
            LpiStatus::Reused {
                current_generation: current,
            }
        }
        Resolution::Listener => {
            mta_reach::reach!("lpi: LPI of the listener");
            LpiStatus::Unknown
        }
        Resolution::OutOfRange => LpiStatus::Unknown,
    }
}

/// Decode a contiguous message and resolve its LPI for the NSI of `interface`.
///
/// Both decoders share one out-of-line header parser ([`MessageRepr::parse_header`]), so a
/// fuzzer's comparison tracing sees one set of header checks, not one per caller.
pub fn decode(
    bytes: &[u8],
    table: &ControlBlockTable,
    interface: Interface,
) -> Result<Decoded, DecodeError> {
    let repr = MessageRepr::parse_header(bytes, bytes.len())?;
    Ok(Decoded {
        repr,
        status: resolve(repr.lpi, table, interface),
    })
}

/// Decode the message held in a buffer-manager buffer: the header from the first element
/// (zero-copy), the data length checked against the whole chain.
pub fn decode_buffer(
    mgr: &BufferManager,
    handle: BufferHandle,
    table: &ControlBlockTable,
    interface: Interface,
) -> Result<Decoded, DecodeError> {
    let total = mgr.len(handle)?;
    let head = mgr.head(handle)?;
    if total > head.len() {
        mta_reach::reach!("lpi: data beyond the first element");
        if total % head.len() == 0 {
            mta_reach::reach!("lpi: message ends at an element boundary");
        }
    }
    let repr = MessageRepr::parse_header(head, total)?;
    Ok(Decoded {
        repr,
        status: resolve(repr.lpi, table, interface),
    })
}

/// Lay a message out in a fresh buffer owned by `component`: header at the start of the first
/// element, data after it across the chain.
pub fn encode_into_buffer(
    mgr: &mut BufferManager,
    component: Component,
    message_type: MessageType,
    lpi: Lpi,
    more: bool,
    data: &[u8],
) -> Result<BufferHandle, BufferError> {
    let repr = MessageRepr {
        message_type,
        lpi,
        more,
        data_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
    };
    let handle = mgr.request_for_len(component, HEADER_LEN + data.len())?;
    let mut header = [0u8; HEADER_LEN];
    repr.emit(&mut crate::InternalMessage::new_unchecked(&mut header[..]));
    let written = mgr
        .write_at(handle, 0, &header)
        .and_then(|()| mgr.write_at(handle, HEADER_LEN, data))
        .and_then(|()| mgr.set_len(handle, HEADER_LEN + data.len()));
    if let Err(e) = written {
        let _ = mgr.release(handle);
        return Err(e);
    }
    Ok(handle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use mta_build::Build;

    fn setup() -> (BufferManager, ControlBlockTable) {
        let p = Build::Ex2000Sp3.profile();
        (
            BufferManager::for_profile(&p),
            ControlBlockTable::for_profile(&p),
        )
    }

    #[test]
    fn live_stale_reused_unknown() {
        let (mut mgr, mut t) = setup();
        let cb = t.allocate(Direction::Inbound).unwrap();
        let lpi = Lpi::new(1, cb.generation, cb.index);
        let msg = |lpi| {
            MessageRepr {
                message_type: MessageType::CloseRequest,
                lpi,
                more: false,
                data_len: 0,
            }
            .to_bytes(&[])
        };
        let status =
            |t: &ControlBlockTable, lpi| decode(&msg(lpi), t, Interface::TcpIp).unwrap().status;
        assert_eq!(status(&t, lpi), LpiStatus::Live(Direction::Inbound));
        assert_eq!(
            status(&t, Lpi::new(2, cb.generation, cb.index)),
            LpiStatus::Unknown
        );
        assert_eq!(status(&t, Lpi::new(1, 0, 0)), LpiStatus::Unknown);
        // The same block addressed through the X.25 interface: only an LPI whose first number
        // is X.25's (2) resolves there, and a TCP/IP LPI (1) does not.
        let on_x25 = |lpi| decode(&msg(lpi), &t, Interface::X25).unwrap().status;
        assert_eq!(
            on_x25(Lpi::new(2, cb.generation, cb.index)),
            LpiStatus::Live(Direction::Inbound)
        );
        assert_eq!(on_x25(lpi), LpiStatus::Unknown);
        assert_eq!(status(&t, Lpi::new(1, 1, 999)), LpiStatus::Unknown);
        t.release(cb).unwrap();
        assert_eq!(status(&t, lpi), LpiStatus::Stale);
        let again = t.allocate(Direction::Inbound).unwrap();
        assert_eq!(again.index, cb.index);
        assert_eq!(
            status(&t, lpi),
            LpiStatus::Reused {
                current_generation: again.generation
            }
        );
        // The same through a buffer-manager buffer.
        let h = encode_into_buffer(
            &mut mgr,
            Component::Nsi,
            MessageType::DataIndication,
            lpi,
            false,
            &[7; 5000],
        )
        .unwrap();
        assert_eq!(mgr.element_count(h).unwrap(), 3);
        let d = decode_buffer(&mgr, h, &t, Interface::TcpIp).unwrap();
        assert_eq!(d.repr.data_len, 5000);
        assert!(d.status.is_bad());
        mgr.release(h).unwrap();
        assert!(matches!(
            decode_buffer(&mgr, h, &t, Interface::TcpIp),
            Err(DecodeError::Buffer(ReleaseError::DoubleRelease(_)))
        ));
    }

    #[test]
    fn bad_lpi_events_on_2000() {
        let p = Build::Ex2000Sp3.profile();
        let d = Decoded {
            repr: MessageRepr {
                message_type: MessageType::CloseRequest,
                lpi: Lpi::new(1, 15, 12),
                more: false,
                data_len: 0,
            },
            status: LpiStatus::Stale,
        };
        let ev = d.report_events(&p, 0);
        let ids: Vec<u32> = ev.iter().map(|e| e.id).collect();
        assert_eq!(ids, [4258, 4283]);
        assert_eq!(
            ev[0].lines.join(" / "),
            "Message received at NSI: cb 12 / LPI 1-15-12 / Message type Close Request"
        );
        assert_eq!(
            ev[1].description(p.event_era, 0),
            "(POP4 POP4 UP(7) Proc 228)\nBad LPIs in message\nBad LPI 1-15-12\nError code = 8464"
        );
        let reused = Decoded {
            status: LpiStatus::Reused {
                current_generation: 16,
            },
            ..d
        };
        assert_eq!(reused.report_events(&p, 0)[1].id, 1209);
        // The IDs without rendering agree with the events, for every status.
        for status in [
            LpiStatus::Live(Direction::Inbound),
            LpiStatus::Stale,
            LpiStatus::Unknown,
            LpiStatus::Reused {
                current_generation: 2,
            },
        ] {
            let d = Decoded { status, ..d };
            let ids: Vec<u32> = d.report_events(&p, 0).iter().map(|e| e.id).collect();
            assert_eq!(ids, d.report_event_ids(), "{status:?}");
        }
    }
}
