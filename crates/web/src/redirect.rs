//! The plain-HTTP listener. It serves nothing: with `Administration HTTP Mode: On` it sends
//! every request on to the same path over HTTPS, with `Off` it refuses.
//!
//! The redirect keeps the host name the client used (so that the certificate's name matches
//! what the user typed) and points at the port HTTPS really listens on. GET and HEAD get 301,
//! which browsers remember; other methods 308, which keeps the method and body.

use crate::front::{allow_header, KNOWN};
use crate::tls::{BoxFuture, Handler};
use crate::{headers, reply, Shared};
use axum::body::Body;
use http::uri::Authority;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::str::FromStr as _;
use std::sync::Arc;

pub(crate) struct Redirect {
    shared: Arc<Shared>,
}

impl Redirect {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<Redirect> {
        Arc::new(Redirect { shared })
    }

    fn answer(&self, req: &Request<Body>) -> Response<Body> {
        let method = req.method();
        if !KNOWN.contains(method) {
            let mut r = reply::text(
                StatusCode::METHOD_NOT_ALLOWED,
                &format!("method {method} is not allowed here"),
            );
            r.headers_mut().insert(header::ALLOW, allow_header(KNOWN));
            return r;
        }
        let snap = self.shared.engine.config.snapshot();
        if !headers::on(&snap, headers::HTTPS_MODE) {
            return reply::text(
                StatusCode::FORBIDDEN,
                "web and API access is turned off on this server \
                 (xConfiguration Administration HTTPS Mode)",
            );
        }
        if !headers::on(&snap, headers::HTTP_MODE) {
            return reply::text(
                StatusCode::FORBIDDEN,
                "plain HTTP is turned off on this server (xConfiguration Administration HTTP \
                 Mode); connect with HTTPS",
            );
        }
        let Some(host) = host(req) else {
            return reply::text(
                StatusCode::BAD_REQUEST,
                "the request names no valid host; connect with HTTPS",
            );
        };
        let port = match self.shared.https_port {
            443 => String::new(),
            p => format!(":{p}"),
        };
        let rest = req
            .uri()
            .path_and_query()
            .map(|pq| pq.as_str())
            .unwrap_or("/");
        let location = format!("https://{host}{port}{rest}");
        let Ok(location) = HeaderValue::from_str(&location) else {
            return reply::text(StatusCode::BAD_REQUEST, "the request cannot be redirected");
        };
        let status = if method == Method::GET || method == Method::HEAD {
            StatusCode::MOVED_PERMANENTLY
        } else {
            StatusCode::PERMANENT_REDIRECT
        };
        let mut r = reply::text(status, "this server answers over HTTPS");
        r.headers_mut().insert(header::LOCATION, location);
        r
    }
}

/// The host the client asked for (from the request target or the Host header), without port.
fn host(req: &Request<Body>) -> Option<String> {
    let authority = match req.uri().authority() {
        Some(a) => a.clone(),
        None => Authority::from_str(req.headers().get(header::HOST)?.to_str().ok()?).ok()?,
    };
    // A user-info part has no business in a Host header; refusing it keeps the Location plain.
    if authority.as_str().contains('@') || authority.host().is_empty() {
        return None;
    }
    Some(authority.host().to_string())
}

impl Handler for Redirect {
    fn handle(self: Arc<Self>, req: Request<Body>, _peer: SocketAddr) -> BoxFuture {
        let mut r = self.answer(&req);
        headers::secure(&mut r, false);
        Box::pin(async move { r })
    }
}
