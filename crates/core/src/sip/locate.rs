//! `xCommand Locate`: a search run as if a request for an alias had arrived from a given zone,
//! with every decision shown to the operator. It asks what a call would ask (local
//! registrations, neighbor zones by an OPTIONS request, DNS and ENUM zones, policy services)
//! and answers nobody on the wire. Local registrations are found from the registrar, without
//! ringing them.

use super::proxy::{Ctx, BRANCH_MARK};
use super::Service;
use crate::search_history::SearchRecord;
use causeway_routing::Source;
use causeway_sip::fork::{ResponseContext, TIMER_C};
use causeway_sip::transaction::Key;
use causeway_sip::{Message, Request};
use causeway_xapi::LocateRequest;
use std::sync::mpsc::SyncSender;
use std::time::Instant;

/// Where a located search ended.
#[derive(Debug, Clone)]
pub struct Located {
    pub found: bool,
    /// Where it was found, or why not.
    pub detail: String,
    pub trace: Vec<String>,
}

/// What the operator gets back: the search, or why none could run.
pub type LocateOutcome = Result<Located, String>;

impl Service {
    /// Where a Locate's search comes from: the Local Zone (a subzone), a configured zone, or
    /// the Default Zone.
    fn locate_source(&self, zone: Option<&str>) -> Result<Source, String> {
        let Some(zone) = zone.map(str::trim).filter(|z| !z.is_empty()) else {
            return Ok(Source::DefaultZone);
        };
        let subzones = &self.derived.subzones;
        if zone.eq_ignore_ascii_case(causeway_routing::dialplan::LOCAL_ZONE) {
            return Ok(Source::local());
        }
        if zone.eq_ignore_ascii_case(causeway_routing::dialplan::DEFAULT_ZONE) {
            return Ok(Source::DefaultZone);
        }
        if let Some(sz) = subzones.lookup(zone) {
            return Ok(Source::LocalZone { subzone: sz.name });
        }
        match self.derived.dialplan.zone(zone) {
            Some(z) => Ok(Source::Zone(z.name.clone())),
            None => Err(format!("there is no zone or subzone called {zone:?}")),
        }
    }

    /// Starts the search of `xCommand Locate`; its outcome goes to `reply` when it ends.
    pub(super) async fn locate(
        &mut self,
        request: LocateRequest,
        reply: SyncSender<LocateOutcome>,
        now: Instant,
    ) {
        if !request.protocol.eq_ignore_ascii_case("SIP") {
            let _ = reply.send(Err(
                "the SIP service locates SIP searches only; H.323 ones are the H.323 service's"
                    .into(),
            ));
            return;
        }
        let source = match self.locate_source(request.source_zone.as_deref()) {
            Ok(s) => s,
            Err(e) => {
                let _ = reply.send(Err(e));
                return;
            }
        };
        let n: u64 = rand::random();
        let branch = format!("{BRANCH_MARK}locate{n:016x}");
        let alias = request.alias.trim();
        let uri = if alias.contains(':')
            && !alias.starts_with('[')
            && alias.parse::<std::net::SocketAddr>().is_err()
        {
            alias.to_string()
        } else {
            format!("sip:{alias}")
        };
        let from = request.source_alias.trim();
        let from = if from.contains(':') {
            from.to_string()
        } else {
            format!("sip:{from}")
        };
        let text = format!(
            "OPTIONS {uri} SIP/2.0\r\nVia: SIP/2.0/UDP locate.invalid;branch={branch}\r\n\
             Max-Forwards: {}\r\nFrom: <{from}>;tag=locate{n:x}\r\nTo: <{uri}>\r\n\
             Call-ID: locate-{n:016x}\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n",
            request.hop_count
        );
        let req: Request = match causeway_sip::parse::parse_message(text.as_bytes()) {
            Ok(Message::Request(r)) => r,
            _ => {
                let _ = reply.send(Err(format!(
                    "{alias:?} cannot be searched for as a SIP URI"
                )));
                return;
            }
        };
        let Some(key) = Key::server(&branch, "locate.invalid", "OPTIONS") else {
            return;
        };
        let user = request.authenticated.then_some(None);
        let search = self.search_for(&req, source, user, u32::from(request.hop_count));
        let record = SearchRecord {
            id: self.shared.searches.lock().unwrap().next_id(),
            started: std::time::SystemTime::now(),
            kind: "Locate".into(),
            source: from.clone(),
            destination: uri.clone(),
            found: false,
            outcome: String::new(),
            call_id: format!("locate-{n:016x}"),
            trace: Vec::new(),
        };
        self.log.event(
            1,
            "tvcs",
            "Search Attempted",
            &[
                ("Protocol", "SIP"),
                ("Src-alias", &from),
                ("Dst-alias", &uri),
                ("Method", "Locate"),
            ],
        );
        let (mut fork, _) = ResponseContext::new(false, 0, now, TIMER_C, self.timers.t1 * 64);
        fork.hold();
        let mut fwd = req;
        let _ = fwd.headers.replace(
            "Max-Forwards",
            request.hop_count.saturating_sub(1).to_string(),
        );
        self.proxy.contexts.insert(
            key.clone(),
            Box::new(Ctx::for_locate(fwd, branch, search, record, fork)),
        );
        self.locates.insert(key.clone(), reply);
        self.advance_search(&key, now).await;
    }
}
