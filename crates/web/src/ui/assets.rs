//! The static files the pages use, built into the binary. Their URLs carry a hash of their
//! content, so browsers may keep them for a year and still never use a stale copy after an
//! upgrade.

use axum::body::Body;
use http::{header, HeaderValue, Response, StatusCode};
use std::sync::OnceLock;

pub(crate) struct Asset {
    /// `htmx` → served as `/static/htmx-<hash>.js`.
    stem: &'static str,
    ext: &'static str,
    content_type: &'static str,
    bytes: &'static [u8],
}

/// htmx 2.0.11 from the npm package `htmx.org` (Zero-Clause BSD, see static/htmx.LICENSE).
const HTMX: Asset = Asset {
    stem: "htmx",
    ext: "js",
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../static/htmx.min.js"),
};

const CSS: Asset = Asset {
    stem: "causeway",
    ext: "css",
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("../../static/causeway.css"),
};

const APP: Asset = Asset {
    stem: "causeway",
    ext: "js",
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../static/causeway.js"),
};

const ALL: [&Asset; 3] = [&HTMX, &CSS, &APP];

fn url_of(a: &Asset) -> String {
    let d = ring::digest::digest(&ring::digest::SHA256, a.bytes);
    let hash: String = d.as_ref()[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("/static/{}-{hash}.{}", a.stem, a.ext)
}

fn urls() -> &'static [String; 3] {
    static U: OnceLock<[String; 3]> = OnceLock::new();
    U.get_or_init(|| ALL.map(url_of))
}

pub(crate) fn htmx_url() -> &'static str {
    &urls()[0]
}

pub(crate) fn css_url() -> &'static str {
    &urls()[1]
}

pub(crate) fn js_url() -> &'static str {
    &urls()[2]
}

/// The answer for `/static/…`: the file if the URL names its current content, 404 otherwise.
pub(crate) fn serve(path: &str) -> Response<Body> {
    let found = urls()
        .iter()
        .zip(ALL)
        .find(|(url, _)| url.as_str() == path)
        .map(|(_, a)| a);
    let Some(a) = found else {
        return crate::reply::text(StatusCode::NOT_FOUND, "not found");
    };
    let mut r = Response::new(Body::from(a.bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(a.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_content() {
        assert!(htmx_url().starts_with("/static/htmx-"));
        assert!(css_url().ends_with(".css"));
        assert_ne!(css_url(), js_url());
        assert_eq!(serve(htmx_url()).status(), StatusCode::OK);
        assert_eq!(serve("/static/htmx.min.js").status(), StatusCode::NOT_FOUND);
    }
}
