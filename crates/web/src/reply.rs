//! Building answers: JSON bodies, error bodies, and the HTTP status of an xAPI response.
//!
//! Every error under `/api/` has the same shape, `{"error": <code>, "message": <text>}`, with
//! `path`, `valuespace` or `parameter` added when the command layer named them and `text` with
//! the records a terminal would print. Codes are single words: the command layer's own kinds
//! (`Refused`, `Denied`, `Unavailable`, `NotImplemented`) and this surface's (`Unauthorized`,
//! `Forbidden`, `NotFound`, `MethodNotAllowed`, `BadRequest`, `PayloadTooLarge`,
//! `UnsupportedMediaType`, `Internal`).

use axum::body::Body;
use causeway_xapi::{ErrorKind, Item, Response as XResponse};
use http::{header, HeaderValue, Response, StatusCode};
use serde_json::{json, Map, Value};

pub(crate) fn json(status: StatusCode, body: &Value) -> Response<Body> {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}

pub(crate) fn text(status: StatusCode, body: &str) -> Response<Body> {
    let mut r = Response::new(Body::from(format!("{body}\n")));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    let mut r = Response::new(Body::empty());
    *r.status_mut() = status;
    r
}

/// An error found by this surface (not by the command layer).
pub(crate) fn error(status: StatusCode, code: &str, message: &str) -> Response<Body> {
    json(status, &json!({ "error": code, "message": message }))
}

/// The same, naming the configuration path or parameter it is about.
pub(crate) fn error_at(
    status: StatusCode,
    code: &str,
    message: &str,
    path: &str,
) -> Response<Body> {
    json(
        status,
        &json!({ "error": code, "message": message, "path": path }),
    )
}

pub(crate) fn not_found(message: &str) -> Response<Body> {
    error(StatusCode::NOT_FOUND, "NotFound", message)
}

pub(crate) fn bad_request(message: &str) -> Response<Body> {
    error(StatusCode::BAD_REQUEST, "BadRequest", message)
}

pub(crate) fn internal() -> Response<Body> {
    error(
        StatusCode::INTERNAL_SERVER_ERROR,
        "Internal",
        "the request failed inside the server; the event log may say more",
    )
}

/// The HTTP status for a command-layer answer.
pub(crate) fn status_of(r: &XResponse) -> StatusCode {
    match (r.ok, r.error) {
        (true, _) => StatusCode::OK,
        (false, Some(ErrorKind::Denied)) => StatusCode::FORBIDDEN,
        (false, Some(ErrorKind::Unavailable)) => StatusCode::SERVICE_UNAVAILABLE,
        (false, Some(ErrorKind::NotImplemented)) => StatusCode::NOT_IMPLEMENTED,
        (false, _) => StatusCode::BAD_REQUEST,
    }
}

fn kind_name(r: &XResponse) -> String {
    match r.error {
        Some(k) => serde_json::to_value(k)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_else(|| "Refused".into()),
        None => "Refused".into(),
    }
}

/// `{"error", "message", …}` for a failed command-layer answer: the fields of its error record
/// (`Reason` becomes `message`, the others keep their names in lower case), and its text.
pub(crate) fn error_fields(r: &XResponse) -> Map<String, Value> {
    let mut out = Map::new();
    out.insert("error".into(), Value::String(kind_name(r)));
    let record = r.items.iter().rev().find_map(|i| match i {
        Item::Result {
            ok: false, fields, ..
        } => Some(fields),
        _ => None,
    });
    let mut message = String::from("the request was refused");
    for (k, v) in record.into_iter().flatten() {
        let v = match v {
            causeway_xapi::Field::Str(s) | causeway_xapi::Field::Bare(s) => s.clone(),
        };
        if k == "Reason" {
            message = v;
            continue;
        }
        let key = k.to_ascii_lowercase();
        match out.get_mut(&key) {
            Some(Value::Array(a)) => a.push(Value::String(v)),
            Some(prev) => *prev = Value::Array(vec![prev.take(), Value::String(v)]),
            None => {
                out.insert(key, Value::String(v));
            }
        }
    }
    out.insert("message".into(), Value::String(message));
    out.insert("text".into(), Value::String(r.text.clone()));
    out
}

/// The answer for a command-layer response: `ok_body` when it succeeded, the error shape when
/// it did not.
pub(crate) fn engine(r: &XResponse, ok_body: impl FnOnce(&XResponse) -> Value) -> Response<Body> {
    if r.ok {
        json(StatusCode::OK, &ok_body(r))
    } else {
        json(status_of(r), &Value::Object(error_fields(r)))
    }
}

/// The answer for a command-layer response in its full JSON form. A failure also carries the
/// error shape's `message` (and `path`, `valuespace`, … where named), so that every error body
/// reads the same way.
pub(crate) fn full(r: &XResponse) -> Response<Body> {
    let mut body = r.to_json();
    if let (false, Value::Object(m)) = (r.ok, &mut body) {
        for (k, v) in error_fields(r) {
            m.entry(k).or_insert(v);
        }
    }
    json(status_of(r), &body)
}
