//! The transaction machines over this crate's messages.

use super::TxMessage;
use crate::header::CSeq;
use crate::{Message, Method, Request};

impl TxMessage for Message {
    fn status(&self) -> Option<u16> {
        self.as_response().map(|r| r.status)
    }

    /// RFC 3261 §17.1.1.3: the Request-URI, Call-ID, From, CSeq number, top Via and Route
    /// headers of the INVITE, and the To of the response (with its tag).
    fn ack_for(invite: &Self, response: &Self) -> Self {
        let (Some(inv), Some(resp)) = (invite.as_request(), response.as_response()) else {
            return invite.clone();
        };
        let mut ack = Request::new(Method::Ack, inv.uri.clone());
        let h = &mut ack.headers;
        if let Some(via) = inv.headers.values("Via").next() {
            let _ = h.push("Via", via);
        }
        let _ = h.push("Max-Forwards", "70");
        for name in ["From", "Call-ID"] {
            if let Some(v) = inv.headers.get(name) {
                let _ = h.push(name, v);
            }
        }
        if let Some(v) = resp.headers.get("To") {
            let _ = h.push("To", v);
        }
        let seq = inv
            .headers
            .get_str("CSeq")
            .and_then(|c| CSeq::parse(c).ok())
            .map_or(1, |c| c.seq);
        let _ = h.push("CSeq", format!("{seq} ACK"));
        for route in inv.headers.get_all("Route") {
            let _ = h.push("Route", route);
        }
        let _ = h.push("Content-Length", "0");
        Message::Request(ack)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse_message;

    #[test]
    fn ack_for_a_failure_copies_the_right_headers() {
        let invite = parse_message(
            b"INVITE sip:bob@example.com SIP/2.0\r\n\
              Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtop\r\n\
              Via: SIP/2.0/UDP 192.0.2.2:5060;branch=z9hG4bKlower\r\n\
              Max-Forwards: 69\r\n\
              Route: <sip:proxy.example.com;lr>\r\n\
              From: <sip:alice@example.com>;tag=a1\r\n\
              To: <sip:bob@example.com>\r\n\
              Call-ID: c1@192.0.2.1\r\n\
              CSeq: 7 INVITE\r\n\
              Content-Length: 0\r\n\r\n",
        )
        .unwrap();
        let busy = parse_message(
            b"SIP/2.0 486 Busy Here\r\n\
              Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtop\r\n\
              From: <sip:alice@example.com>;tag=a1\r\n\
              To: <sip:bob@example.com>;tag=b2\r\n\
              Call-ID: c1@192.0.2.1\r\n\
              CSeq: 7 INVITE\r\n\
              Content-Length: 0\r\n\r\n",
        )
        .unwrap();
        let ack = Message::ack_for(&invite, &busy);
        let req = ack.as_request().unwrap();
        assert_eq!(req.method, Method::Ack);
        assert_eq!(req.uri.to_string(), "sip:bob@example.com");
        let h = &req.headers;
        assert_eq!(h.count("Via"), 1);
        assert!(h.get_str("Via").unwrap().contains("z9hG4bKtop"));
        assert!(h.get_str("To").unwrap().contains("tag=b2"));
        assert_eq!(h.get_str("CSeq").unwrap(), "7 ACK");
        assert_eq!(h.get_str("Route").unwrap(), "<sip:proxy.example.com;lr>");
        assert_eq!(Message::status(&busy), Some(486));
        assert_eq!(Message::status(&invite), None);
        // It serializes and parses back.
        parse_message(&ack.to_bytes()).unwrap();
    }
}
