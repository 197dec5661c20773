//! The call-usage API: call detail records as the reporting tools of this class of product read
//! them, under `/api/external/callusage/`.

use crate::{reply, Shared};
use axum::body::Body;
use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Router};
use causeway_cdr::{csv, parse_time, Filter, Record, Store};
use causeway_xapi::{Access, Principal};
use http::{header, Response, StatusCode, Uri};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

pub(crate) const ROOT: &str = "/api/external/callusage/";

type Reply = Response<Body>;

pub(crate) fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route(&format!("{ROOT}get_all_records"), get(all))
        .route(&format!("{ROOT}get_records_for_interval"), get(interval))
        .route(&format!("{ROOT}get_records_for_filter"), get(filter))
        .route(&format!("{ROOT}get_all_csv_records"), get(all_csv))
        .with_state(shared)
}

fn params(uri: &Uri) -> HashMap<String, String> {
    form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// Runs a query on the record store off the async threads. No store yet means no records.
async fn query(
    s: &Shared,
    who: &Principal,
    q: impl FnOnce(&Store, SystemTime) -> rusqlite::Result<Vec<Record>> + Send + 'static,
) -> Result<Vec<Record>, Reply> {
    // Records name callers and callees: auditors read logs, not these.
    if who.access == Access::Auditor {
        return Err(reply::error(
            StatusCode::FORBIDDEN,
            "Denied",
            "call detail records need read-only or read-write access",
        ));
    }
    let path = s.engine.config.data_dir().join("cdr.db");
    tokio::task::spawn_blocking(move || {
        if !path.exists() {
            return Ok(Vec::new());
        }
        let store = Store::open(&path)?;
        q(&store, SystemTime::now())
    })
    .await
    .map_err(|_| reply::internal())?
    .map_err(|e| {
        reply::error(
            StatusCode::SERVICE_UNAVAILABLE,
            "Unavailable",
            &format!("the call detail records cannot be read: {e}"),
        )
    })
}

fn records(r: Result<Vec<Record>, Reply>) -> Reply {
    match r {
        Ok(v) => reply::json(StatusCode::OK, &serde_json::to_value(v).unwrap_or_default()),
        Err(e) => e,
    }
}

async fn all(State(s): State<Arc<Shared>>, Extension(who): Extension<Principal>) -> Reply {
    records(query(&s, &who, |store, now| store.all(now)).await)
}

async fn interval(
    State(s): State<Arc<Shared>>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Reply {
    let p = params(&uri);
    let bound = |name: &str| p.get(name).and_then(|v| parse_time(v));
    let (Some(from), Some(to)) = (bound("fromtime"), bound("totime")) else {
        return reply::bad_request(
            "fromtime and totime are both needed, as YYYY-MM-DD HH:MM:SS (UTC)",
        );
    };
    records(query(&s, &who, move |store, _| store.interval(from, to)).await)
}

async fn filter(
    State(s): State<Arc<Shared>>,
    Extension(who): Extension<Principal>,
    uri: Uri,
) -> Reply {
    let p = params(&uri);
    let get = |k: &str| p.get(k).filter(|v| !v.is_empty()).cloned();
    let f = Filter {
        uuid: get("uuid"),
        src_alias: get("src_alias"),
        dest_alias: get("dest_alias"),
        protocol: get("protocol"),
    };
    if f == Filter::default() {
        return reply::bad_request("give at least one of uuid, src_alias, dest_alias and protocol");
    }
    records(query(&s, &who, move |store, now| store.filter(&f, now)).await)
}

async fn all_csv(State(s): State<Arc<Shared>>, Extension(who): Extension<Principal>) -> Reply {
    match query(&s, &who, |store, now| store.all(now)).await {
        Ok(v) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "text/csv; charset=utf-8")
            .header(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"call_usage.csv\"",
            )
            .body(Body::from(csv(&v)))
            .unwrap_or_else(|_| reply::internal()),
        Err(e) => e,
    }
}
