//! The class-0 transport service as a network provider supplies it whole (ISO 8072 service
//! primitives, no ISO 8073 TPDUs of ours on the wire): the third-party X.25 transport of KB
//! Q225157, where a TSDU is one M-bit packet sequence and the virtual call is the transport
//! connection. An association over it exchanges whole TSDUs with its user (the X.25 adapter or a
//! remote DTE) instead of TCP octets; its indications are the same [`cotp::Indication`]s the
//! class-0 protocol machine gives, so the association above does not tell the two apart.

use crate::cotp::{self, Indication, State};
use std::collections::VecDeque;

/// One transport connection over a provider's network connection (see the module doc).
#[derive(Debug, Clone, Default)]
pub struct ProvidedTransport {
    state: State,
    indications: VecDeque<Indication>,
    tsdus: VecDeque<Vec<u8>>,
    clear: bool,
}

impl ProvidedTransport {
    /// A connection whose network call is being placed (initiator) or has just arrived
    /// (responder: the provider reports T-CONNECT indication for `called_tsap` at once).
    pub fn new(incoming_for: Option<&[u8]>) -> Self {
        let mut t = ProvidedTransport::default();
        if let Some(called) = incoming_for {
            t.state = State::AwaitAccept;
            t.indications.push_back(Indication::ConnectIndication {
                calling_tsap: Vec::new(),
                called_tsap: called.to_vec(),
            });
        }
        t
    }

    /// Current state (the class-0 machine's names: the provider's own states are not visible).
    pub fn state(&self) -> State {
        self.state
    }

    /// Whether the network connection should be cleared.
    pub fn wants_close(&self) -> bool {
        self.clear
    }

    /// Next upward indication.
    pub fn poll_indication(&mut self) -> Option<Indication> {
        self.indications.pop_front()
    }

    /// T-CONNECT request: the call is placed by the provider; the connection is open once it is
    /// (the provider's call confirmation is the T-CONNECT confirm).
    pub fn connect(&mut self) {
        self.state = State::Open;
        self.indications.push_back(Indication::Connected {
            tpdu_size_code: cotp::DEFAULT_TPDU_SIZE_CODE,
        });
    }

    /// T-CONNECT response.
    pub fn accept(&mut self) {
        if self.state == State::AwaitAccept {
            self.state = State::Open;
        }
    }

    /// T-DISCONNECT request (also the refusal of a T-CONNECT indication): clear the call.
    pub fn disconnect(&mut self) {
        self.state = State::Closed;
        self.clear = true;
    }

    /// T-DATA request: one TSDU for the provider.
    pub fn send_tsdu(&mut self, tsdu: &[u8]) {
        if self.state == State::Open {
            self.tsdus.push_back(tsdu.to_vec());
        }
    }

    /// The next TSDU to hand the provider.
    pub fn poll_tsdu(&mut self) -> Option<Vec<u8>> {
        self.tsdus.pop_front()
    }

    /// The provider cleared the call: T-DISCONNECT indication.
    pub fn cleared(&mut self) {
        if self.state != State::Closed {
            self.state = State::Closed;
            self.indications.push_back(Indication::Disconnected {
                reason: cotp::reason::NORMAL,
                error: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn responder_is_indicated_at_once_and_initiator_is_confirmed_at_once() {
        let mut r = ProvidedTransport::new(Some(b"MTA"));
        assert!(matches!(
            r.poll_indication(),
            Some(Indication::ConnectIndication { called_tsap, .. }) if called_tsap == b"MTA"
        ));
        r.accept();
        assert_eq!(r.state(), State::Open);
        let mut i = ProvidedTransport::new(None);
        assert_eq!(i.state(), State::Idle);
        i.send_tsdu(b"lost");
        assert_eq!(i.poll_tsdu(), None, "no T-DATA before the connection");
        i.connect();
        assert!(matches!(
            i.poll_indication(),
            Some(Indication::Connected { .. })
        ));
        i.send_tsdu(b"cn");
        assert_eq!(i.poll_tsdu().as_deref(), Some(&b"cn"[..]));
    }

    #[test]
    fn a_clear_from_the_network_is_one_disconnect_and_ours_asks_for_the_clear() {
        let mut t = ProvidedTransport::new(None);
        t.connect();
        let _ = t.poll_indication();
        t.cleared();
        t.cleared();
        assert!(matches!(
            t.poll_indication(),
            Some(Indication::Disconnected { error: None, .. })
        ));
        assert_eq!(t.poll_indication(), None, "one indication");
        assert!(!t.wants_close(), "the network cleared it, nothing to clear");
        let mut u = ProvidedTransport::new(Some(b""));
        u.disconnect();
        assert!(u.wants_close());
        assert_eq!(u.state(), State::Closed);
    }
}
