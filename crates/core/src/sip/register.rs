//! REGISTER: the SIP front end of the registrar.

use super::auth;
use super::util::{self, header_str, lists, values};
use super::{Service, TimerRef};
use crate::transport::Flow;
use causeway_registrar::table::RemovalReason;
use causeway_registrar::{ContactReq, Refusal, Request as RegRequest};
use causeway_sip::header::{parse_delta_seconds, Contact, NameAddr};
use causeway_sip::transaction::Key;
use causeway_sip::{Request, Response};
use std::time::Instant;

impl Service {
    pub(super) async fn on_register(
        &mut self,
        key: &Key,
        req: &Request,
        flow: &Flow,
        now: Instant,
    ) {
        // Someone else's domain: proxied on by the dial plan when the mode allows it.
        let mode = self
            .snap
            .get("SIP Registration Proxy Mode")
            .unwrap_or("Off");
        let foreign = header_str(&req.headers, "To")
            .and_then(|t| NameAddr::parse(t).ok())
            .and_then(|t| util::aor_of(t.uri()))
            .and_then(|aor| aor.rsplit_once('@').map(|(_, h)| h.to_string()))
            .is_some_and(|host| !self.derived.domains.is_local(&host));
        if foreign && mode != "Off" {
            return self
                .proxy_request(key.clone(), req.clone(), *flow, now)
                .await;
        }
        let resp = match self.register(req, flow, now, false) {
            Ok(resp) => resp,
            Err(authenticated) => {
                return self.ask_registration_policy(key, req, flow, authenticated);
            }
        };
        self.respond(key, resp, now).await;
        let next = self.shared.registrar.lock().unwrap().poll_timeout();
        self.schedule(TimerRef::Registrar, next);
    }

    /// Registers, or refuses; `Err(authenticated)` when the registration policy service must
    /// be asked first (`policy_said_yes` is false and the request adds bindings).
    pub(super) fn register(
        &mut self,
        req: &Request,
        flow: &Flow,
        now: Instant,
        policy_said_yes: bool,
    ) -> Result<Response, bool> {
        let reject = |status: u16, reason: &str| {
            let mut r = Response::for_request(req, status, "");
            if !reason.is_empty() {
                r.reason = causeway_sip::ByteStr::from(reason.to_string());
            }
            Ok(r)
        };
        let to = header_str(&req.headers, "To").and_then(|t| NameAddr::parse(t).ok());
        let Some(aor) = to.as_ref().and_then(|t| util::aor_of(t.uri())) else {
            return reject(400, "Bad Request (the To header has no address of record)");
        };
        let host = aor.rsplit_once('@').map(|(_, h)| h).unwrap_or("");
        if !self.derived.domains.is_local(host) {
            // Registration proxying (Proxy Mode other than Off) needs zones to proxy to.
            self.log_registration(
                "Registration Rejected",
                req,
                flow,
                &aor,
                "not a local domain",
            );
            return reject(403, "Forbidden (not a local domain)");
        }
        // A registration a neighbor proxied to us (it passed through another proxy) is
        // accepted only when that zone accepts proxied registrations.
        let proxied = values(&req.headers, "Via").count() > 1;
        if proxied {
            let ip = flow.remote.ip();
            let deny = self
                .derived
                .zones
                .values()
                .filter(|z| z.addrs.contains(&ip))
                .filter_map(|z| self.derived.dialplan.zone(&z.name).and_then(|d| d.row))
                .any(|r| {
                    self.snap
                        .get(&format!("Zones Zone {r} Neighbor Registrations"))
                        == Some("Deny")
                });
            if deny {
                self.log_registration(
                    "Registration Rejected",
                    req,
                    flow,
                    &aor,
                    "the zone does not accept proxied registrations",
                );
                return reject(403, "Forbidden (proxied registrations are not accepted)");
            }
        }
        // The membership rules place the registrant in a subzone, whose policy decides whether
        // it may register at all and whether it must prove who it is.
        let subzones = &self.derived.subzones;
        let subzone = subzones.member(flow.remote.ip(), &[aor.as_str()]);
        if !subzones.registrations_allowed(&subzone) {
            self.log_registration(
                "Registration Rejected",
                req,
                flow,
                &aor,
                &format!("registrations are not allowed in subzone {subzone}"),
            );
            return reject(403, "Forbidden (registrations are not allowed here)");
        }
        let policy = auth::Policy::from_config(Some(subzones.authentication_mode(&subzone)));
        let realm = host.to_string();
        let outcome = self.authenticate(req, policy, false, true, &realm, now);
        let authenticated = matches!(outcome, auth::Outcome::Authenticated(..));
        if let auth::Outcome::Answer(r) = outcome {
            if r.status == 403 {
                self.log_registration(
                    "Registration Rejected",
                    req,
                    flow,
                    &aor,
                    "authentication failed",
                );
            }
            return Ok(r);
        }
        let mut star = false;
        let mut contacts = Vec::new();
        for v in values(&req.headers, "Contact") {
            match Contact::parse(v) {
                Ok(Contact::Star) => star = true,
                Ok(c) => {
                    let Some(na) = c.addr() else { continue };
                    let expires = match na.expires() {
                        Ok(e) => e,
                        Err(_) => return reject(400, "Bad Request (Contact expires)"),
                    };
                    contacts.push(ContactReq {
                        uri: na.uri().to_string(),
                        key: util::contact_key(na.uri()),
                        expires,
                        q: na.param("q").flatten().map(str::to_owned),
                        instance: na.sip_instance().map(|s| s.into_owned()),
                        reg_id: na.reg_id().ok().flatten(),
                    });
                }
                Err(e) => return reject(400, &format!("Bad Request ({e})")),
            }
        }
        let expires = match header_str(&req.headers, "Expires") {
            Some(v) => match parse_delta_seconds(v, "Expires") {
                Ok(e) => Some(e),
                Err(_) => return reject(400, "Bad Request (Expires)"),
            },
            None => None,
        };
        let call_id = header_str(&req.headers, "Call-ID")
            .unwrap_or("")
            .to_string();
        let cseq = util::cseq(&req.headers).map_or(0, |c| c.seq);
        let regreq = RegRequest {
            aor: aor.clone(),
            aliases: vec![aor.clone()],
            contacts: if star { None } else { Some(contacts) },
            expires,
            call_id,
            cseq,
            source: flow.remote,
            transport: flow.transport.name().to_string(),
            outbound: lists(&req.headers, "Supported", "outbound"),
            gruu: lists(&req.headers, "Supported", "gruu"),
            path: values(&req.headers, "Path").map(str::to_owned).collect(),
            user_agent: header_str(&req.headers, "User-Agent")
                .unwrap_or("")
                .to_string(),
        };
        // A policy service decides on registrations that add bindings, once the registrant
        // has authenticated as far as its subzone asks.
        let adds = !star
            && regreq.contacts.as_ref().is_some_and(|c| {
                c.iter()
                    .any(|c| c.expires.or(regreq.expires).is_none_or(|e| e > 0))
            });
        if adds
            && !policy_said_yes
            && matches!(
                self.derived.restriction,
                causeway_registrar::Restriction::Decided
            )
        {
            return Err(authenticated);
        }
        let decision = {
            let mut reg = self.shared.registrar.lock().unwrap();
            reg.register(
                &regreq,
                &self.derived.registrar,
                &self.derived.restriction,
                now,
                Service::now_wall(),
                &mut self.rng,
            )
        };
        match decision {
            Ok(d) => {
                for r in &d.removed {
                    self.shared.reg_history.push(crate::history::Ended::sip(
                        &r.binding,
                        "Unregistered by the endpoint",
                    ));
                    self.log_registration(
                        "Unregistration Accepted",
                        req,
                        flow,
                        &aor,
                        &r.binding.contact,
                    );
                    self.drop_calls_of(&r.binding.key, "Registration removed");
                }
                for _ in &d.added {
                    self.log_registration("Registration Accepted", req, flow, &aor, "");
                }
                if !d.refreshed.is_empty() && self.log.enabled(3) {
                    self.log_registration_at(
                        3,
                        "Registration Refresh Accepted",
                        req,
                        flow,
                        &aor,
                        "",
                    );
                }
                let mut r = Response::for_request(req, 200, "OK");
                let _ = r.set_to_tag(&short_tag(&mut self.rng));
                for b in &d.bindings {
                    let mut c = format!("<{}>;expires={}", b.contact, b.remaining(now));
                    if let Some(g) = &b.pub_gruu {
                        c.push_str(&format!(";pub-gruu=\"{g}\""));
                    }
                    if let Some(inst) = &b.instance {
                        c.push_str(&format!(";+sip.instance=\"{inst}\""));
                    }
                    if let Some(id) = b.reg_id {
                        c.push_str(&format!(";reg-id={id}"));
                    }
                    let _ = r.headers.push("Contact", c);
                }
                for p in &regreq.path {
                    let _ = r.headers.push("Path", p);
                }
                if let Some(ft) = d.flow_timer {
                    let _ = r.headers.push("Flow-Timer", ft.to_string());
                }
                if d.bindings.iter().any(|b| b.outbound) {
                    let _ = r.headers.push("Require", "outbound");
                }
                let _ = r.headers.push("Supported", super::SUPPORTED);
                Ok(r)
            }
            Err(Refusal::TooBrief { min_expires }) => {
                self.log_registration(
                    "Registration Rejected",
                    req,
                    flow,
                    &aor,
                    "interval too brief",
                );
                let mut r = Response::for_request(req, 423, "Interval Too Brief");
                let _ = r.headers.push("Min-Expires", min_expires.to_string());
                Ok(r)
            }
            Err(Refusal::Forbidden(why)) => {
                self.log_registration("Registration Rejected", req, flow, &aor, &why);
                reject(403, "Forbidden")
            }
            Err(Refusal::BadRequest(why)) => {
                self.log_registration("Registration Rejected", req, flow, &aor, &why);
                reject(400, &format!("Bad Request ({why})"))
            }
            Err(Refusal::OutOfOrder) => {
                reject(500, "Server Internal Error (out of order REGISTER)")
            }
        }
    }

    pub(super) fn log_registration(
        &self,
        event: &str,
        req: &Request,
        flow: &Flow,
        aor: &str,
        detail: &str,
    ) {
        self.log_registration_at(1, event, req, flow, aor, detail)
    }

    fn log_registration_at(
        &self,
        level: u8,
        event: &str,
        req: &Request,
        flow: &Flow,
        aor: &str,
        detail: &str,
    ) {
        let contact = header_str(&req.headers, "Contact")
            .unwrap_or("")
            .to_string();
        let fields = vec![("AOR", aor.to_string()), ("Contact", contact)];
        self.log_request(level, event, req, flow, fields, detail);
    }

    pub(super) fn expire_registrations(&mut self, now: Instant) {
        let (gone, next) = {
            let mut reg = self.shared.registrar.lock().unwrap();
            let gone = reg.expire(now);
            (gone, reg.poll_timeout())
        };
        for r in gone {
            self.shared.reg_history.push(crate::history::Ended::sip(
                &r.binding,
                "Registration expired",
            ));
            self.drop_calls_of(&r.binding.key, "Registration expired");
            if r.reason == RemovalReason::Expired {
                self.log.event(
                    1,
                    "tvcs",
                    "Registration Removed",
                    &[
                        ("AOR", &r.binding.aor),
                        ("Contact", &r.binding.contact),
                        ("Reason", "Registration expired"),
                    ],
                );
            }
        }
        self.schedule(TimerRef::Registrar, next);
    }
}

/// A short random token for To tags and branches.
pub(super) fn short_tag(rng: &mut impl rand::Rng) -> String {
    format!("{:016x}", rng.gen::<u64>())
}
