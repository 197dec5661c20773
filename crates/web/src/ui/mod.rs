//! The web interface: server-rendered pages (askama templates) that htmx makes feel like an
//! application — links and forms swap the page body, lists that change on their own refresh
//! themselves — while every page also works as plain HTML without scripts.
//!
//! Every request outside `/api/` and `/static/` passes [`guard`]: it finds the session, checks
//! the form token of every POST, sends accounts that must change their password to that page,
//! and keeps auditors to the pages the reference opens to them. Pages then act through the xAPI
//! engine as the session's principal, so the engine's access checks apply here as everywhere.

mod assets;
mod catalog;
mod form;
mod layout;
mod logread;
mod pages;
mod render;
pub(crate) mod session;
mod status;
mod throttle;

use crate::Shared;
use axum::body::Body;
use causeway_config::Snapshot;
use causeway_xapi::{Access, Principal};
use http::{header, HeaderMap, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt as _, Limited};
use session::Session;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

pub(crate) use session::Sessions;
pub(crate) use throttle::Throttle;

/// Form bodies larger than this are refused; the largest form (a zone with every setting, or a
/// CPL script) is far smaller.
const FORM_LIMIT: usize = 1 << 20;

const CSRF_HEADER: &str = "x-csrf-token";
pub(crate) const CSRF_FIELD: &str = "csrf";

/// What a page handler knows about the request.
pub(crate) struct Ctx {
    pub session: Arc<Session>,
    pub snap: Arc<Snapshot>,
    pub who: Principal,
    pub method: Method,
    pub path: String,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    /// Sent by htmx (a partial page may be answered).
    pub htmx: bool,
}

impl Ctx {
    /// The first value of a query parameter.
    pub fn q(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first value of a form field.
    pub fn f(&self, name: &str) -> Option<&str> {
        self.form
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn can_write(&self) -> bool {
        self.who.access == Access::ReadWrite
    }

    pub fn is_auditor(&self) -> bool {
        self.who.access == Access::Auditor
    }
}

pub(crate) fn parse_pairs(s: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(s)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v.to_string())
}

pub(crate) fn session_cookie(value: &str) -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}={value}; Path=/; Secure; HttpOnly; SameSite=Strict",
        session::COOKIE
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

pub(crate) fn clear_cookie() -> HeaderValue {
    HeaderValue::from_str(&format!(
        "{}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0",
        session::COOKIE
    ))
    .unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// Whether a POST comes from one of this server's own pages. Browsers say where a request comes
/// from (`Sec-Fetch-Site`, `Origin`); a request that says it comes from elsewhere is refused
/// before its form token is even looked at.
fn same_origin(headers: &HeaderMap, host: &str) -> bool {
    // Browsers that send Sec-Fetch-Site say exactly this; with our no-referrer policy their
    // Origin is "null" on form posts, so it is of no use to them.
    if let Some(site) = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok()) {
        return matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
        .filter(|o| *o != "null")
    else {
        return true;
    };
    origin
        .strip_prefix("https://")
        .is_some_and(|o| !host.is_empty() && o.eq_ignore_ascii_case(host))
}

async fn read_form(body: Body) -> Result<Vec<(String, String)>, Response<Body>> {
    match Limited::new(body, FORM_LIMIT).collect().await {
        Ok(c) => Ok(parse_pairs(&c.to_bytes())),
        Err(_) => Err(render::plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "the form is too large",
        )),
    }
}

/// The page to come back to after logging in: the address asked for, or for htmx the page the
/// request was made from (a region's own address is no page to land on).
fn come_back_to(headers: &HeaderMap, htmx: bool, path: &str, query: Option<&str>) -> String {
    if !htmx {
        return match query {
            Some(q) if !q.is_empty() => format!("{path}?{q}"),
            _ => path.to_string(),
        };
    }
    headers
        .get("hx-current-url")
        .and_then(|v| v.to_str().ok())
        .and_then(|u| u.strip_prefix("https://"))
        .and_then(|u| u.find('/').map(|i| u[i..].to_string()))
        .filter(|p| !p.contains("part=rows") && !p.starts_with("/fragment/"))
        .unwrap_or_else(|| "/".into())
}

/// Sends the browser to the login page: a plain redirect, or for htmx a whole-page redirect
/// (a region refreshing itself must not show the login form inside a table).
fn to_login(htmx: bool, path: &str) -> Response<Body> {
    let target = if path == "/" || path.is_empty() {
        "/login".to_string()
    } else {
        format!(
            "/login?next={}",
            form_urlencoded::byte_serialize(path.as_bytes()).collect::<String>()
        )
    };
    render::redirect_for(htmx, &target)
}

fn ended(shared: &Shared, e: session::Ended) {
    if let Some(hook) = &shared.on_session_end {
        hook(&e.user, &e.source, &e.why);
    }
}

/// Pages an auditor may open (the reference: overview, alarms, event and configuration logs),
/// plus their own password and logging out.
fn auditor_may(path: &str) -> bool {
    matches!(
        path,
        "/" | "/overview"
            | "/status/alarms"
            | "/status/logs/event"
            | "/status/logs/config"
            | "/password"
            | "/logout"
            | "/fragment/alarm-indicator"
            | "/fragment/overview"
    )
}

/// Answers a request for a page; HEAD as GET without the body.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    req: Request<Body>,
    peer: SocketAddr,
) -> Response<Body> {
    let head = req.method() == Method::HEAD;
    let r = answer(shared, req, peer).await;
    if !head {
        return r;
    }
    let (mut parts, _) = r.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::empty())
}

async fn answer(shared: Arc<Shared>, req: Request<Body>, peer: SocketAddr) -> Response<Body> {
    let path = req.uri().path().to_string();
    if path.starts_with("/static/") {
        return assets::serve(&path);
    }
    if path == "/favicon.ico" {
        return render::no_content();
    }
    let method = req.method().clone();
    let headers = req.headers().clone();
    let htmx = headers.contains_key("hx-request");
    let raw_query = req.uri().query().map(str::to_string);
    let query = raw_query
        .as_deref()
        .map(|q| parse_pairs(q.as_bytes()))
        .unwrap_or_default();
    // HTTP/2 carries the host in the request's authority instead of a Host header.
    let host = req
        .uri()
        .authority()
        .map(|a| a.as_str().to_string())
        .or_else(|| {
            headers
                .get(header::HOST)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .unwrap_or_default();
    if method == Method::POST && !same_origin(&headers, &host) {
        return render::plain(
            StatusCode::FORBIDDEN,
            "this form was sent from another site; open the page on this server and send it again",
        );
    }
    let form = if method == Method::POST {
        match read_form(req.into_body()).await {
            Ok(f) => f,
            Err(r) => return r,
        }
    } else {
        Vec::new()
    };
    if path == "/login" {
        return pages::login::login(&shared, &method, &query, &form, peer).await;
    }

    let snap = shared.engine.config.snapshot();
    let now = Instant::now();
    // Regions that refresh themselves ask for /fragment/… or for a list's rows: such requests
    // are not activity, so that a page left open does not keep its session alive.
    let poll =
        path.starts_with("/fragment/") || query.iter().any(|(k, v)| k == "part" && v == "rows");
    let back = come_back_to(&headers, htmx, &path, raw_query.as_deref());
    let Some(c) = cookie(&headers, session::COOKIE) else {
        return to_login(htmx, &back);
    };
    let session = match shared.sessions.find(&c, &snap, now, !poll) {
        Ok(s) => s,
        Err(e) => {
            if let Some(e) = e {
                ended(&shared, e);
            }
            let mut r = to_login(htmx, &back);
            r.headers_mut().append(header::SET_COOKIE, clear_cookie());
            return r;
        }
    };
    if let Err(e) = shared.sessions.follow_account(&session, &snap) {
        ended(&shared, e);
        let mut r = to_login(htmx, "/");
        r.headers_mut().append(header::SET_COOKIE, clear_cookie());
        return r;
    }
    if method == Method::POST {
        let token = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .or_else(|| {
                form.iter()
                    .find(|(k, _)| k == CSRF_FIELD)
                    .map(|(_, v)| v.as_str())
            })
            .unwrap_or("");
        if !session.csrf_ok(token) {
            return render::plain(
                StatusCode::FORBIDDEN,
                "this form has expired (it was opened in an earlier session); reload the page and send it again",
            );
        }
    }
    if session.must_change_password() && path != "/password" && path != "/logout" {
        return render::redirect_for(htmx, "/password");
    }
    let who = Principal {
        user: session.user.clone(),
        source: peer.ip().to_string(),
        access: session.access(),
    };
    if who.access == Access::Auditor && !auditor_may(&path) {
        let ctx = Ctx {
            session,
            snap,
            who,
            method,
            path,
            query,
            form,
            htmx,
        };
        return render::forbidden(&shared, &ctx);
    }
    let ctx = Ctx {
        session,
        snap,
        who,
        method,
        path,
        query,
        form,
        htmx,
    };
    pages::route(&shared, &ctx).await
}

/// Ends sessions that went idle, so that their end is logged when it happens rather than at
/// their next request. Runs until the server is dropped.
pub(crate) fn spawn_sweeper(shared: std::sync::Weak<Shared>) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(std::time::Duration::from_secs(15));
        loop {
            tick.tick().await;
            let Some(s) = shared.upgrade() else { return };
            let snap = s.engine.config.snapshot();
            for e in s.sessions.expire(&snap, Instant::now()) {
                ended(&s, e);
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut m = HeaderMap::new();
        for (k, v) in pairs {
            m.insert(
                http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        m
    }

    #[test]
    fn cross_site_posts_are_recognised() {
        assert!(same_origin(&h(&[]), ""));
        assert!(same_origin(
            &h(&[
                ("origin", "https://vcs.example:8443"),
                ("sec-fetch-site", "same-origin"),
            ]),
            "vcs.example:8443"
        ));
        assert!(!same_origin(&h(&[("sec-fetch-site", "cross-site")]), "a"));
        assert!(!same_origin(&h(&[("sec-fetch-site", "same-site")]), "a"));
        assert!(!same_origin(
            &h(&[("origin", "https://evil.example")]),
            "vcs.example"
        ));
        assert!(!same_origin(
            &h(&[("origin", "http://vcs.example")]),
            "vcs.example"
        ));
        assert!(!same_origin(&h(&[("origin", "https://vcs.example")]), ""));
        // With no referrer policy, form posts carry Origin: null; Sec-Fetch-Site decides.
        assert!(same_origin(
            &h(&[("origin", "null"), ("sec-fetch-site", "same-origin")]),
            "vcs.example"
        ));
    }

    #[test]
    fn cookies_are_found_among_others() {
        let m = h(&[("cookie", "a=1; __Host-causeway_session=xyz; b=2")]);
        assert_eq!(cookie(&m, session::COOKIE).as_deref(), Some("xyz"));
        assert_eq!(cookie(&h(&[]), session::COOKIE), None);
    }
}
