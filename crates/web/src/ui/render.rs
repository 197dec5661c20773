//! Turning templates into answers, and the answers every page shares (redirects, refusals).

use super::catalog::Menu;
use super::layout::Layout;
use super::Ctx;
use crate::Shared;
use askama::Template;
use axum::body::Body;
use http::{header, HeaderValue, Response, StatusCode};

pub(crate) fn html(status: StatusCode, body: String) -> Response<Body> {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    // Pages show configuration and who is logged in: never keep them.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // htmx asks for fragments and whole pages at the same URL.
    h.insert(header::VARY, HeaderValue::from_static("HX-Request"));
    r
}

pub(crate) fn page<T: Template>(status: StatusCode, t: &T) -> Response<Body> {
    match t.render() {
        Ok(body) => html(status, body),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("the page could not be drawn: {e}"),
        ),
    }
}

pub(crate) fn ok<T: Template>(t: &T) -> Response<Body> {
    page(StatusCode::OK, t)
}

pub(crate) fn plain(status: StatusCode, text: &str) -> Response<Body> {
    let mut r = crate::reply::text(status, text);
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

pub(crate) fn no_content() -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::NO_CONTENT;
    r
}

/// After a POST: see the result with a GET (so reloading the page does not send the form
/// again). htmx follows the redirect itself and swaps in the page it leads to.
pub(crate) fn redirect(to: &str) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::SEE_OTHER;
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A redirect that replaces the whole page even when htmx asked for a part of it.
pub(crate) fn redirect_for(htmx: bool, to: &str) -> Response<Body> {
    if !htmx {
        return redirect(to);
    }
    let mut r = Response::new(Body::empty());
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert("hx-redirect", v);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

#[derive(Template)]
#[template(path = "message.html")]
struct Message {
    l: Layout,
    text: String,
}

/// A page that only says something (not found, not allowed, needs a running server).
pub(crate) fn message(
    shared: &Shared,
    ctx: &Ctx,
    status: StatusCode,
    menu: Menu,
    heading: &str,
    text: &str,
) -> Response<Body> {
    page(
        status,
        &Message {
            l: Layout::new(shared, ctx, menu, heading),
            text: text.to_string(),
        },
    )
}

pub(crate) fn forbidden(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    message(
        shared,
        ctx,
        StatusCode::FORBIDDEN,
        Menu::Status,
        "Not available",
        "Your account has auditor access, which opens the overview, the alarms and the logs only.",
    )
}

pub(crate) fn not_found(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    message(
        shared,
        ctx,
        StatusCode::NOT_FOUND,
        Menu::Status,
        "Not found",
        "There is no page at this address. Use the menus above to find what you are looking for.",
    )
}

/// Refuses a change from an account that may not make one (the controls are hidden, but a
/// form can still be sent by hand; the engine would refuse it too).
pub(crate) fn read_only(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    message(
        shared,
        ctx,
        StatusCode::FORBIDDEN,
        Menu::Status,
        "Read-only access",
        "Your account may look at everything but change nothing.",
    )
}
