//! Outbound connection credentials (`Authentication UserName` / `Password`): the one identity
//! this node presents to systems that challenge what it forwards. A branch whose destination
//! answers 401 or 407 is sent again once, with a digest answer to the challenge, on a new
//! transaction in the same branch; a second challenge goes back upstream as it is.

use super::proxy::ClientMachine;
use super::util::header_str;
use super::Service;
use causeway_sip::digest::{self, Algorithm, Qop};
use causeway_sip::header::{AuthHeader, Via};
use causeway_sip::transaction::{ClientInvite, ClientNonInvite, Key, Reliability};
use causeway_sip::{Message, Request, Response};
use std::time::Instant;

/// The header that answers a challenge in `resp`, and its value for `sent`; `None` when the
/// challenge is not one we can answer (no digest, an algorithm we lack, `auth-int` only).
pub(super) fn answer(
    resp: &Response,
    sent: &Request,
    user: &str,
    password: &str,
    cnonce: &str,
) -> Option<(&'static str, String)> {
    let (asked, answer) = match resp.status {
        401 => ("WWW-Authenticate", "Authorization"),
        407 => ("Proxy-Authenticate", "Proxy-Authorization"),
        _ => return None,
    };
    let uri = sent.uri.to_string();
    for value in resp.headers.get_all(asked) {
        let Ok(text) = std::str::from_utf8(value) else {
            continue;
        };
        let Ok(h) = AuthHeader::parse(text) else {
            continue;
        };
        if !h.is_digest() {
            continue;
        }
        let Some(alg) = Algorithm::parse(h.param("algorithm").as_deref()) else {
            continue;
        };
        let realm = h.param("realm").unwrap_or_default().into_owned();
        let nonce = h.param("nonce").unwrap_or_default().into_owned();
        let qops = h.param("qop").map(|q| q.into_owned());
        let offers_auth = qops
            .as_deref()
            .map(|q| q.split(',').any(|o| o.trim().eq_ignore_ascii_case("auth")));
        if offers_auth == Some(false) {
            continue;
        }
        let ha1 = digest::ha1(alg, user, &realm, password);
        let qop = offers_auth.map(|_| Qop {
            qop: "auth",
            nc: "00000001",
            cnonce,
        });
        let response =
            digest::response(alg, &ha1, &nonce, sent.method.as_str(), &uri, qop.as_ref());
        let mut v = format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm={}",
            alg.name()
        );
        if qop.is_some() {
            v.push_str(&format!(", qop=auth, nc=00000001, cnonce=\"{cnonce}\""));
        }
        if let Some(opaque) = h.param("opaque") {
            v.push_str(&format!(", opaque=\"{opaque}\""));
        }
        return Some((answer, v));
    }
    None
}

impl Service {
    /// Answers a destination's challenge to branch `key` with the outbound credentials; true
    /// when a new attempt went out (the challenge then goes no further).
    pub(super) async fn answer_challenge(
        &mut self,
        key: &Key,
        resp: &Response,
        now: Instant,
    ) -> bool {
        let user = self
            .snap
            .get("Authentication UserName")
            .unwrap_or("")
            .to_string();
        let password = self
            .snap
            .secret("Authentication Password")
            .unwrap_or_default();
        if user.is_empty() {
            return false;
        }
        let Some((server, i, sent, hop, tls, invite)) = self.proxy.client_branch(key) else {
            return false;
        };
        let wanted = self
            .proxy
            .contexts
            .get(&server)
            .is_some_and(|ctx| !ctx.fork.answered() && ctx.branches.get(i) == Some(key));
        // Once per branch: a request that already carries our answer was refused with it.
        let tried = ["Authorization", "Proxy-Authorization"].iter().any(|h| {
            sent.headers
                .get_all(h)
                .filter_map(|v| std::str::from_utf8(v).ok())
                .any(|v| v.contains(&format!("username=\"{user}\"")))
        });
        if !wanted || tried {
            return false;
        }
        let cnonce = format!("{:016x}", rand::random::<u64>());
        let Some((name, value)) = answer(resp, &sent, &user, &password, &cnonce) else {
            return false;
        };
        let mut out = sent;
        // A new transaction: the same top Via with a branch of its own.
        let Some(top) = header_str(&out.headers, "Via").map(str::to_owned) else {
            return false;
        };
        let Some(old) = Via::parse_lenient(&top)
            .ok()
            .and_then(|v| v.branch().map(str::to_owned))
        else {
            return false;
        };
        let b = format!("{old}.auth");
        let _ = out.headers.remove_first_value("Via");
        let _ = out.headers.insert_top(
            "Via",
            top.replacen(&format!("branch={old}"), &format!("branch={b}"), 1),
        );
        let _ = out.headers.push(name, value);
        let ck = Key::client(&b, out.method.as_str());
        let super::proxy::Hop::Addr(transport, _) = hop;
        let rel = if transport.reliable() {
            Reliability::Reliable
        } else {
            Reliability::Unreliable
        };
        let msg = Message::Request(out);
        let machine = if invite {
            ClientMachine::Invite(ClientInvite::new(msg, rel, self.timers, now))
        } else {
            ClientMachine::NonInvite(ClientNonInvite::new(msg, rel, self.timers, now))
        };
        self.proxy
            .add_attempt(key, ck.clone(), machine, server.clone(), hop, tls, i);
        self.move_timer_c(key, &ck);
        self.drain_client(&ck, now).await;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_sip::parse::parse_message;

    fn msg(text: &str) -> Message {
        parse_message(text.replace('\n', "\r\n").as_bytes()).unwrap()
    }

    /// The answer to RFC 2617's worked example (qop=auth, MD5), computed for a SIP request.
    #[test]
    fn a_digest_challenge_is_answered() {
        let Message::Request(req) = msg(
            "INVITE sip:bob@partner.example SIP/2.0\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\n\
             From: <sip:a@example.com>;tag=1\nTo: <sip:bob@partner.example>\nCall-ID: c\n\
             CSeq: 1 INVITE\nMax-Forwards: 70\nContent-Length: 0\n\n",
        ) else {
            panic!()
        };
        let Message::Response(resp) = msg(
            "SIP/2.0 407 Proxy Authentication Required\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\n\
             From: <sip:a@example.com>;tag=1\nTo: <sip:bob@partner.example>;tag=2\nCall-ID: c\n\
             CSeq: 1 INVITE\nProxy-Authenticate: Digest realm=\"partner\", nonce=\"n1\", \
             qop=\"auth\", opaque=\"o\"\nContent-Length: 0\n\n",
        ) else {
            panic!()
        };
        let (name, value) = answer(&resp, &req, "cw", "secret", "c0ffee").unwrap();
        assert_eq!(name, "Proxy-Authorization");
        let ha1 = digest::ha1(Algorithm::Md5, "cw", "partner", "secret");
        let want = digest::response(
            Algorithm::Md5,
            &ha1,
            "n1",
            "INVITE",
            "sip:bob@partner.example",
            Some(&Qop {
                qop: "auth",
                nc: "00000001",
                cnonce: "c0ffee",
            }),
        );
        assert!(value.contains(&format!("response=\"{want}\"")), "{value}");
        assert!(value.contains("opaque=\"o\""), "{value}");
        assert!(value.contains("uri=\"sip:bob@partner.example\""), "{value}");
        // Nothing to answer in a 403.
        let Message::Response(mut forbidden) = msg(
            "SIP/2.0 403 Forbidden\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx\n\
             From: <sip:a@example.com>;tag=1\nTo: <sip:bob@partner.example>;tag=2\nCall-ID: c\n\
             CSeq: 1 INVITE\nContent-Length: 0\n\n",
        ) else {
            panic!()
        };
        assert!(answer(&forbidden, &req, "cw", "secret", "x").is_none());
        forbidden.status = 401;
        assert!(answer(&forbidden, &req, "cw", "secret", "x").is_none());
    }
}
