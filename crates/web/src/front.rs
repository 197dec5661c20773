//! What every HTTPS request goes through before it reaches a route: the method filter, the
//! `Administration HTTPS Mode` switch, authentication for the API, and the headers on the way
//! out. Paths outside `/api/` belong to the web interface.

use crate::tls::{BoxFuture, Handler};
use crate::{api, auth, headers, reply, ui, Shared};
use axum::body::Body;
use axum::Router;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::sync::Arc;
use tower::ServiceExt as _;

/// Every method the server knows; the guide's list, plus HEAD, answered as GET without a body.
pub(crate) const KNOWN: &[Method] = &[
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
];

/// Outside the API only what a browser's pages use.
pub(crate) const PAGES: &[Method] = &[Method::GET, Method::HEAD, Method::POST];

pub(crate) fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The methods a path answers to.
pub(crate) fn allowed(path: &str) -> &'static [Method] {
    if is_api(path) {
        api::allowed(path)
    } else {
        PAGES
    }
}

pub(crate) fn allow_header(methods: &[Method]) -> HeaderValue {
    let list: Vec<&str> = methods.iter().map(Method::as_str).collect();
    HeaderValue::from_str(&list.join(", ")).unwrap_or_else(|_| HeaderValue::from_static("GET"))
}

pub(crate) fn method_not_allowed(api: bool, methods: &[Method], method: &Method) -> Response<Body> {
    let message = format!("method {method} is not allowed here");
    let mut r = if api {
        reply::error(StatusCode::METHOD_NOT_ALLOWED, "MethodNotAllowed", &message)
    } else {
        reply::text(StatusCode::METHOD_NOT_ALLOWED, &message)
    };
    r.headers_mut().insert(header::ALLOW, allow_header(methods));
    r
}

pub(crate) struct App {
    shared: Arc<Shared>,
    router: Router,
}

impl App {
    pub(crate) fn new(shared: Arc<Shared>) -> Arc<App> {
        Arc::new(App {
            router: api::router(shared.clone()).merge(crate::callusage::router(shared.clone())),
            shared,
        })
    }

    async fn dispatch(
        &self,
        mut req: Request<Body>,
        peer: SocketAddr,
        https_on: bool,
    ) -> Response<Body> {
        let path = req.uri().path().to_string();
        let api = is_api(&path);
        let methods = allowed(&path);
        let method = req.method().clone();
        // Unknown methods (TRACE, PATCH, CONNECT, WebDAV…) are refused before anything else, even
        // when HTTPS is switched off, so that scanners see the same answer either way.
        if !KNOWN.contains(&method) {
            return method_not_allowed(api, methods, &method);
        }
        if !https_on {
            let msg = "web and API access over HTTPS is turned off on this server \
                       (xConfiguration Administration HTTPS Mode)";
            return if api {
                reply::error(StatusCode::FORBIDDEN, "Forbidden", msg)
            } else {
                reply::text(StatusCode::FORBIDDEN, msg)
            };
        }
        if api && method == Method::OPTIONS {
            let mut r = reply::empty(StatusCode::NO_CONTENT);
            r.headers_mut().insert(header::ALLOW, allow_header(methods));
            return r;
        }
        if !methods.contains(&method) {
            return method_not_allowed(api, methods, &method);
        }
        if !api {
            return ui::handle(self.shared.clone(), req, peer).await;
        }
        if api && api::needs_login(&path) {
            match auth::authenticate(&self.shared, req.headers(), peer).await {
                Ok(principal) => {
                    req.extensions_mut().insert(principal);
                }
                Err(r) => return r,
            }
        }
        match self.router.clone().oneshot(req).await {
            Ok(r) => r,
            Err(never) => match never {},
        }
    }
}

impl Handler for App {
    fn handle(self: Arc<Self>, req: Request<Body>, peer: SocketAddr) -> BoxFuture {
        Box::pin(async move {
            // One snapshot per request: the switches and the header agree with each other.
            let snap = self.shared.engine.config.snapshot();
            let api = is_api(req.uri().path());
            let mut r = self
                .dispatch(req, peer, headers::on(&snap, headers::HTTPS_MODE))
                .await;
            headers::secure(&mut r, api);
            if headers::on(&snap, headers::HSTS_MODE) {
                headers::hsts(&mut r);
            }
            r
        })
    }
}
