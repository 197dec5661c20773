//! Dialog identification (RFC 3261 §12): Call-ID plus the two tags, seen from one side.

use crate::{Headers, Request, Response};

/// A dialog as one of its two ends names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DialogId {
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: String,
}

fn to_tag(h: &Headers) -> Option<String> {
    h.to_addr()?.ok()?.tag().map(str::to_owned)
}

fn from_tag(h: &Headers) -> Option<String> {
    h.from_addr()?.ok()?.tag().map(str::to_owned)
}

fn call_id(h: &Headers) -> Option<String> {
    h.call_id()?.ok().map(str::to_owned)
}

impl DialogId {
    /// The dialog a request belongs to, from the side that receives it (the UAS): local is the
    /// To tag, remote the From tag. `None` outside a dialog (no To tag).
    pub fn for_uas(req: &Request) -> Option<DialogId> {
        Some(DialogId {
            call_id: call_id(&req.headers)?,
            local_tag: to_tag(&req.headers)?,
            remote_tag: from_tag(&req.headers)?,
        })
    }

    /// The dialog a response creates or belongs to, from the side that sent the request (the
    /// UAC): local is the From tag, remote the To tag.
    pub fn for_uac(resp: &Response) -> Option<DialogId> {
        Some(DialogId {
            call_id: call_id(&resp.headers)?,
            local_tag: from_tag(&resp.headers)?,
            remote_tag: to_tag(&resp.headers)?,
        })
    }

    /// The same dialog named from the other end.
    pub fn reversed(&self) -> DialogId {
        DialogId {
            call_id: self.call_id.clone(),
            local_tag: self.remote_tag.clone(),
            remote_tag: self.local_tag.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_message, Message};

    #[test]
    fn both_ends_name_the_same_dialog() {
        let Ok(Message::Response(ok)) = parse_message(
            b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\
              From: <sip:a@x>;tag=aaa\r\nTo: \"Bob\" <sip:b@x>;tag=bbb\r\n\
              Call-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n",
        ) else {
            panic!()
        };
        let Ok(Message::Request(bye)) = parse_message(
            b"BYE sip:a@h SIP/2.0\r\nVia: SIP/2.0/UDP h2;branch=z9hG4bK2\r\n\
              From: <sip:b@x>;tag=bbb\r\nTo: <sip:a@x>;tag=aaa\r\n\
              Call-ID: c1\r\nCSeq: 9 BYE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        ) else {
            panic!()
        };
        let uac = DialogId::for_uac(&ok).unwrap();
        assert_eq!(uac.local_tag, "aaa");
        // The caller receives the callee's BYE: as UAS of that request it names the same dialog.
        assert_eq!(DialogId::for_uas(&bye).unwrap(), uac);
        assert_eq!(uac.reversed().local_tag, "bbb");
        let Ok(Message::Request(invite)) = parse_message(
            b"INVITE sip:b@x SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK3\r\n\
              From: <sip:a@x>;tag=aaa\r\nTo: <sip:b@x>\r\n\
              Call-ID: c2\r\nCSeq: 1 INVITE\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n",
        ) else {
            panic!()
        };
        assert_eq!(
            DialogId::for_uas(&invite),
            None,
            "no To tag: not in a dialog"
        );
    }
}
