//! The REST API: configuration, status and commands as JSON, each call one xAPI request run as
//! the caller.
//!
//! Paths name configuration elements by their words separated by `/`
//! (`/api/configuration/Zones/Zone/3/Name`); bodies and answers name them as the command line
//! prints them (`"Zones Zone 3 Name"`), so what a GET returns can be sent back with a PUT.

use crate::front::KNOWN;
use crate::{openapi, reply, Shared};
use axum::body::Body;
use axum::extract::State;
use axum::routing::{get, post};
use axum::{Extension, Router};
use causeway_config::schema::{element_of, resolve, PathError, Resolved, Valuespace};
use causeway_xapi::{Engine, Field, Item, Out, Principal, Response as XResponse};
use http::{header, HeaderMap, Method, Response, StatusCode, Uri};
use http_body_util::{BodyExt as _, Limited};
use serde_json::{Map, Value};
use std::sync::Arc;

/// Request bodies larger than this are refused (413): the largest legitimate body, a PUT of
/// every element at once, is well under it.
pub(crate) const BODY_LIMIT: usize = 1 << 20;

/// What a secret element reads as; writing it back leaves the secret as it is.
const MASK: &str = "***";

const CONFIG_ROOT: &str = "/api/configuration";
const STATUS_ROOT: &str = "/api/status";
const COMMAND_ROOT: &str = "/api/command/";
pub(crate) const DOCUMENT: &str = "/api/openapi.json";

const READ: &[Method] = &[Method::GET, Method::HEAD, Method::OPTIONS];
const CONFIG: &[Method] = &[Method::GET, Method::HEAD, Method::PUT, Method::OPTIONS];
const CONFIG_PATH: &[Method] = &[
    Method::GET,
    Method::HEAD,
    Method::PUT,
    Method::DELETE,
    Method::OPTIONS,
];
const RUN: &[Method] = &[Method::POST, Method::OPTIONS];

/// The methods an API path answers to (unknown paths: all of them, and then 404).
pub(crate) fn allowed(path: &str) -> &'static [Method] {
    if path == DOCUMENT
        || path == STATUS_ROOT
        || under(path, STATUS_ROOT)
        || path.starts_with(crate::callusage::ROOT)
    {
        READ
    } else if path == CONFIG_ROOT {
        CONFIG
    } else if under(path, CONFIG_ROOT) {
        CONFIG_PATH
    } else if path == "/api/xapi" || path.starts_with(COMMAND_ROOT) {
        RUN
    } else {
        KNOWN
    }
}

fn under(path: &str, root: &str) -> bool {
    path.strip_prefix(root).is_some_and(|r| r.starts_with('/'))
}

/// Everything under `/api/` needs a login except the description of the API itself.
pub(crate) fn needs_login(path: &str) -> bool {
    path != DOCUMENT
}

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(DOCUMENT, get(document))
        .route(CONFIG_ROOT, get(config_all).put(config_put_many))
        .route(
            "/api/configuration/{*path}",
            get(config_get).put(config_put).delete(config_delete),
        )
        .route(STATUS_ROOT, get(status))
        .route("/api/status/{*path}", get(status))
        .route("/api/command/{name}", post(command))
        .route("/api/xapi", post(xapi))
        .fallback(fallback)
        .with_state(shared)
}

type Reply = Response<Body>;
type St = State<Arc<Shared>>;

async fn fallback() -> Reply {
    reply::not_found("no such API resource (see /api/openapi.json)")
}

async fn document() -> Reply {
    reply::json(StatusCode::OK, openapi::document())
}

/// Runs a command-layer call off the async threads: it may hash a password or wait for the
/// services to take a change in.
async fn run(
    s: &Shared,
    f: impl FnOnce(&Engine) -> XResponse + Send + 'static,
) -> Result<XResponse, Reply> {
    let engine = s.engine.clone();
    tokio::task::spawn_blocking(move || f(&engine))
        .await
        .map_err(|_| reply::internal())
}

/// The words after `root/` in a request path, percent-decoded.
fn words(uri: &Uri, root: &str) -> Option<Vec<String>> {
    let rest = uri.path().strip_prefix(root)?;
    rest.split('/')
        .filter(|w| !w.is_empty())
        .map(percent_decode)
        .collect()
}

fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Reads a JSON body. POST and PUT must say `Content-Type: application/json`: a browser sends
/// that type across sites only after a CORS preflight, which this server never grants, so a
/// hostile page cannot make a logged-in browser change anything with a plain form.
async fn read_json(headers: &HeaderMap, body: Body) -> Result<Option<Value>, Reply> {
    let json_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| {
            let t = t.trim().to_ascii_lowercase();
            t == "application/json" || (t.starts_with("application/") && t.ends_with("+json"))
        })
        .unwrap_or(false);
    if !json_type {
        return Err(reply::error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "UnsupportedMediaType",
            "send the body as JSON, with Content-Type: application/json",
        ));
    }
    let too_large = || {
        reply::error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "PayloadTooLarge",
            &format!("the body is larger than {BODY_LIMIT} bytes"),
        )
    };
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > BODY_LIMIT as u64) {
        return Err(too_large());
    }
    let bytes = match Limited::new(body, BODY_LIMIT).collect().await {
        Ok(c) => c.to_bytes(),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => return Err(too_large()),
        Err(_) => return Err(reply::bad_request("the body could not be read")),
    };
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| reply::bad_request(&format!("the body is not valid JSON: {e}")))
}

async fn read_object(headers: &HeaderMap, body: Body) -> Result<Map<String, Value>, Reply> {
    match read_json(headers, body).await? {
        None => Ok(Map::new()),
        Some(Value::Object(m)) => Ok(m),
        Some(_) => Err(reply::bad_request("the body must be a JSON object")),
    }
}

/// A configuration value from JSON: text or a number; `null` returns the element to its
/// default.
fn config_value(v: &Value) -> Result<Option<String>, String> {
    match v {
        Value::Null => Ok(None),
        Value::String(s) => Ok(Some(s.clone())),
        Value::Number(n) => Ok(Some(n.to_string())),
        _ => Err("a value must be a string, a number or null".into()),
    }
}

/// Element values as JSON: integers as numbers, an element with no value as `null`, the rest
/// as text (secrets masked, as on the command line).
fn typed_configuration(r: &XResponse) -> Value {
    let mut out = Map::new();
    for i in &r.items {
        let Item::Config { path, value } = i else {
            continue;
        };
        let vs = element_of(path).map(|e| e.valuespace);
        let v = match vs {
            Some(Valuespace::Int { .. }) => match value.parse::<i64>() {
                Ok(n) => Value::from(n),
                Err(_) if value.is_empty() => Value::Null,
                Err(_) => Value::String(value.clone()),
            },
            Some(Valuespace::Enum { .. }) if value.is_empty() => Value::Null,
            _ => Value::String(value.clone()),
        };
        out.insert(path.clone(), v);
    }
    Value::Object(out)
}

fn status_values(r: &XResponse) -> Value {
    let mut out = Map::new();
    for i in &r.items {
        if let Item::Status { path, value } = i {
            let v = match value {
                Field::Str(s) | Field::Bare(s) => s.clone(),
            };
            out.insert(path.clone(), Value::String(v));
        }
    }
    Value::Object(out)
}

/// A path in the tree in canonical spelling, and whether it names one element.
fn canonical(words: &[String]) -> Result<(String, bool), PathError> {
    match resolve(words)? {
        Resolved::Leaf { path, .. } => Ok((path, true)),
        Resolved::Subtree { path, .. } => Ok((path, false)),
    }
}

fn no_such_path(e: PathError) -> Reply {
    reply::error_at(StatusCode::NOT_FOUND, "NotFound", &e.reason, &e.path)
}

fn is_masked_secret(path: &str, value: &Option<String>) -> bool {
    value.as_deref() == Some(MASK) && element_of(path).is_some_and(|e| e.valuespace.is_secret())
}

async fn config_all(State(s): St, Extension(who): Extension<Principal>) -> Reply {
    config_read(&s, who, String::new()).await
}

async fn config_get(State(s): St, Extension(who): Extension<Principal>, uri: Uri) -> Reply {
    let Some(words) = words(&uri, CONFIG_ROOT) else {
        return reply::not_found("the path is not valid");
    };
    match canonical(&words) {
        Ok((path, _)) => config_read(&s, who, path).await,
        Err(e) => no_such_path(e),
    }
}

async fn config_read(s: &Shared, who: Principal, path: String) -> Reply {
    let line = format!("xConfiguration {path}");
    match run(s, move |e| e.execute(line.trim_end(), &who)).await {
        Ok(r) => reply::engine(&r, typed_configuration),
        Err(r) => r,
    }
}

/// Applies `(path, value)` pairs in one commit, leaving out secrets written back masked.
async fn configure(s: &Shared, who: Principal, sets: Vec<(String, Option<String>)>) -> Reply {
    let sets: Vec<_> = sets
        .into_iter()
        .filter(|(p, v)| !is_masked_secret(p, v))
        .collect();
    if sets.is_empty() {
        return reply::full(&Out::default().ok());
    }
    match run(s, move |e| e.configure(&sets, &who)).await {
        Ok(r) => reply::full(&r),
        Err(r) => r,
    }
}

async fn config_put(
    State(s): St,
    Extension(who): Extension<Principal>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let Some(words) = words(&uri, CONFIG_ROOT) else {
        return reply::not_found("the path is not valid");
    };
    let path = match canonical(&words) {
        Ok((path, true)) => path,
        Ok((path, false)) => {
            return reply::error_at(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "this path names a group of elements; PUT one element, or PUT an object of \
                 paths and values to /api/configuration",
                &path,
            )
        }
        Err(e) => return no_such_path(e),
    };
    let body = match read_object(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(v) = body.get("value") else {
        return reply::bad_request(
            "expected {\"value\": …} (null returns the element to its default)",
        );
    };
    if body.len() != 1 {
        return reply::bad_request("the body holds only \"value\"");
    }
    let value = match config_value(v) {
        Ok(v) => v,
        Err(m) => return reply::error_at(StatusCode::BAD_REQUEST, "BadRequest", &m, &path),
    };
    configure(&s, who, vec![(path, value)]).await
}

async fn config_put_many(
    State(s): St,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let body = match read_object(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut sets = Vec::with_capacity(body.len());
    for (key, v) in &body {
        let words: Vec<&str> = key.split_whitespace().collect();
        let path = match resolve(&words) {
            Ok(Resolved::Leaf { path, .. }) => path,
            Ok(Resolved::Subtree { .. }) => {
                return reply::error_at(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "this path names a group of elements, not one element",
                    key,
                )
            }
            Err(e) => {
                return reply::error_at(StatusCode::BAD_REQUEST, "BadRequest", &e.reason, key)
            }
        };
        match config_value(v) {
            Ok(value) => sets.push((path, value)),
            Err(m) => return reply::error_at(StatusCode::BAD_REQUEST, "BadRequest", &m, key),
        }
    }
    configure(&s, who, sets).await
}

async fn config_delete(State(s): St, Extension(who): Extension<Principal>, uri: Uri) -> Reply {
    let Some(words) = words(&uri, CONFIG_ROOT) else {
        return reply::not_found("the path is not valid");
    };
    let path = match canonical(&words) {
        Ok((path, false)) => path,
        Ok((path, true)) => return not_a_row(&path),
        Err(e) => return no_such_path(e),
    };
    let Some((table, index)) = path
        .rsplit_once(' ')
        .and_then(|(t, i)| Some((t, i.parse::<u32>().ok()?)))
    else {
        return not_a_row(&path);
    };
    if !s.engine.config.snapshot().rows(table).contains(&index) {
        return reply::error_at(
            StatusCode::NOT_FOUND,
            "NotFound",
            "this row holds no values",
            &path,
        );
    }
    match run(&s, move |e| e.delete_row(&path, &who)).await {
        Ok(r) => reply::full(&r),
        Err(r) => r,
    }
}

fn not_a_row(path: &str) -> Reply {
    reply::error_at(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        "DELETE takes one row of a table: the table's path and a row number",
        path,
    )
}

async fn status(State(s): St, Extension(who): Extension<Principal>, uri: Uri) -> Reply {
    let words = if uri.path() == STATUS_ROOT {
        Some(Vec::new())
    } else {
        words(&uri, STATUS_ROOT)
    };
    // Each word must stay one word of the line.
    let Some(words) = words.filter(|ws| {
        ws.iter().all(|w| {
            !w.is_empty()
                && w.chars()
                    .all(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
    }) else {
        return reply::not_found("no such status path");
    };
    let line = format!("xStatus {}", words.join(" "));
    let r = match run(&s, move |e| e.execute(line.trim_end(), &who)).await {
        Ok(r) => r,
        Err(r) => return r,
    };
    if !r.ok && r.error == Some(causeway_xapi::ErrorKind::Refused) {
        // A status read is refused only when the path names nothing.
        let mut body = reply::error_fields(&r);
        body.insert("error".into(), Value::String("NotFound".into()));
        return reply::json(StatusCode::NOT_FOUND, &Value::Object(body));
    }
    reply::engine(&r, status_values)
}

async fn command(
    State(s): St,
    Extension(who): Extension<Principal>,
    uri: Uri,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let name = uri
        .path()
        .strip_prefix(COMMAND_ROOT)
        .and_then(percent_decode)
        .unwrap_or_default();
    let Some(spec) = causeway_xapi::spec::find(&name) else {
        return reply::not_found(&format!("no command {name} (see /api/openapi.json)"));
    };
    let body = match read_object(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let mut line = format!("xCommand {}", spec.name);
    for (k, v) in &body {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return reply::error_at(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "a parameter name is letters and digits only",
                k,
            );
        }
        let shown = match v {
            Value::Null => continue,
            Value::String(s) => Field::str(s.as_str()).to_string(),
            Value::Number(n) => n.to_string(),
            _ => {
                return reply::error_at(
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "a parameter value must be a string or a number",
                    k,
                )
            }
        };
        line.push_str(&format!(" {k}: {shown}"));
    }
    match run(&s, move |e| e.execute(&line, &who)).await {
        Ok(r) => reply::full(&r),
        Err(r) => r,
    }
}

async fn xapi(
    State(s): St,
    Extension(who): Extension<Principal>,
    headers: HeaderMap,
    body: Body,
) -> Reply {
    let body = match read_object(&headers, body).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let Some(Value::String(line)) = body.get("command") else {
        return reply::bad_request("expected {\"command\": \"<one xAPI line>\"}");
    };
    if line.contains(['\n', '\r']) {
        return reply::bad_request("one line per request: the command holds a line break");
    }
    let line = line.clone();
    match run(&s, move |e| e.execute(&line, &who)).await {
        Ok(r) => reply::full(&r),
        Err(r) => r,
    }
}
