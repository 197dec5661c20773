/// Branch parameters of RFC 3261 requests start with this, which is what lets a transaction be
/// identified by the branch alone (§8.1.1.7).
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Identifies a transaction (RFC 3261 §17.1.3 and §17.2.3).
///
/// A client transaction is matched by the branch of the top Via and the CSeq method. A server
/// transaction is matched by the branch, the sent-by of the top Via and the method, where an ACK
/// matches the INVITE it acknowledges. Branch comparison is case-sensitive, as the RFC requires;
/// sent-by (a host) is compared ignoring case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub branch: String,
    /// Lower-cased `host[:port]` for server transactions; empty for client transactions.
    pub sent_by: String,
    pub method: String,
}

impl Key {
    pub fn client(branch: &str, cseq_method: &str) -> Key {
        Key {
            branch: branch.to_string(),
            sent_by: String::new(),
            method: cseq_method.to_string(),
        }
    }

    /// The key of a server transaction for a request with this top Via and method. `None` when the
    /// branch lacks the magic cookie: such requests come from RFC 2543 elements and need the
    /// older matching rules, which the caller applies.
    pub fn server(branch: &str, sent_by: &str, method: &str) -> Option<Key> {
        if !branch.starts_with(MAGIC_COOKIE) {
            return None;
        }
        let method = if method == "ACK" { "INVITE" } else { method };
        Some(Key {
            branch: branch.to_string(),
            sent_by: sent_by.to_ascii_lowercase(),
            method: method.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ack_matches_its_invite_and_cancel_does_not() {
        let invite = Key::server("z9hG4bKabc", "Host.example.com:5060", "INVITE").unwrap();
        let ack = Key::server("z9hG4bKabc", "host.example.com:5060", "ACK").unwrap();
        let cancel = Key::server("z9hG4bKabc", "host.example.com:5060", "CANCEL").unwrap();
        assert_eq!(invite, ack);
        assert_ne!(invite, cancel);
        assert_ne!(
            invite,
            Key::server("z9hG4bKABC", "host.example.com:5060", "INVITE").unwrap()
        );
        assert!(Key::server("abc", "h", "INVITE").is_none());
    }
}
