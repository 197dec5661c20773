//! Headers every answer carries, and the management settings that decide some of them.

use axum::body::Body;
use causeway_config::Snapshot;
use http::{header, HeaderValue, Response};

pub(crate) const HTTP_MODE: &str = "Administration HTTP Mode";
pub(crate) const HTTPS_MODE: &str = "Administration HTTPS Mode";
pub(crate) const HSTS_MODE: &str = "Management Interface HstsMode";

/// The reference's "1 year expiry time", in seconds (365 days).
pub(crate) const HSTS: &str = "max-age=31536000";

/// Whether an On/Off setting is On. These settings are flagged in the reference as applying
/// after a restart; this server re-reads them on every request, so the committed value counts.
pub(crate) fn on(snap: &Snapshot, path: &str) -> bool {
    snap.configured(path)
        .is_some_and(|v| v.eq_ignore_ascii_case("On"))
}

/// Adds the headers that keep browsers from guessing types, framing the pages, leaking the
/// address in referrers or caching API answers (which may hold configuration).
pub(crate) fn secure(r: &mut Response<Body>, api: bool) {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// Adds `Strict-Transport-Security`; only ever on answers sent over TLS (RFC 6797 §7.2).
pub(crate) fn hsts(r: &mut Response<Body>) {
    r.headers_mut().insert(
        header::STRICT_TRANSPORT_SECURITY,
        HeaderValue::from_static(HSTS),
    );
}
