//! The pages, by address.

pub(crate) mod alarms;
pub(crate) mod backup;
pub(crate) mod config;
pub(crate) mod credentials;
pub(crate) mod login;
pub(crate) mod logs;
pub(crate) mod overview;
pub(crate) mod sessions;
pub(crate) mod status;
pub(crate) mod table;
pub(crate) mod tools;

use super::{render, Ctx};
use crate::Shared;
use axum::body::Body;
use causeway_xapi::{Engine, Principal, Response as XResponse};
use http::{Method, Response};

/// Runs a command-layer call off the async threads: it may hash a password, wait for the
/// services to take a change in, or wait for a search to finish.
pub(crate) async fn run(
    shared: &Shared,
    f: impl FnOnce(&Engine) -> XResponse + Send + 'static,
) -> XResponse {
    let engine = shared.engine.clone();
    match tokio::task::spawn_blocking(move || f(&engine)).await {
        Ok(r) => r,
        Err(_) => {
            causeway_xapi::Out::default().error("Web", "the request failed inside the server", &[])
        }
    }
}

/// Runs one xAPI line as the session's principal. A value with a line break in it could end
/// the line early, so such a line is refused whole.
pub(crate) async fn exec(shared: &Shared, who: &Principal, line: String) -> XResponse {
    if line.contains(['\n', '\r']) {
        return causeway_xapi::Out::default().error(
            "Web",
            "values may not contain line breaks",
            &[],
        );
    }
    let who = who.clone();
    run(shared, move |e| e.execute(&line, &who)).await
}

/// `Name: value` for an xCommand line, the value quoted as the command line reads it.
pub(crate) fn arg(name: &str, value: &str) -> String {
    format!(" {name}: {}", causeway_xapi::Field::str(value))
}

/// The reason of a failed response, as one line.
pub(crate) fn reason(r: &XResponse) -> String {
    for i in r.items.iter().rev() {
        if let causeway_xapi::Item::Result {
            ok: false, fields, ..
        } = i
        {
            if let Some((_, v)) = fields.iter().find(|(k, _)| k == "Reason") {
                return match v {
                    causeway_xapi::Field::Str(s) | causeway_xapi::Field::Bare(s) => s.clone(),
                };
            }
        }
    }
    "the request was refused".into()
}

pub(crate) async fn route(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let path = ctx.path.trim_end_matches('/');
    let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
    let get = ctx.method == Method::GET || ctx.method == Method::HEAD;
    let post = ctx.method == Method::POST;
    match (get, post, parts.as_slice()) {
        (true, _, []) | (true, _, ["overview"]) => overview::page(shared, ctx).await,
        (true, _, ["fragment", "overview"]) => overview::fragment(shared, ctx).await,
        (true, _, ["fragment", "alarm-indicator"]) => alarms::indicator(shared),
        (true, _, ["fragment", "alive"]) => render::no_content(),
        (_, true, ["logout"]) => login::logout(shared, ctx),
        (true, _, ["password"]) => login::password_page(shared, ctx, None),
        (_, true, ["password"]) => login::password_change(shared, ctx).await,
        (true, _, ["config", slug]) => config::page(shared, ctx, slug),
        (_, true, ["config", slug]) => config::save(shared, ctx, slug).await,
        (true, _, ["table", slug]) => table::list(shared, ctx, slug),
        (_, true, ["table", slug, "delete"]) => table::delete_selected(shared, ctx, slug).await,
        (true, _, ["table", slug, "new"]) => table::row_page(shared, ctx, slug, None),
        (_, true, ["table", slug, "new"]) => table::add(shared, ctx, slug).await,
        (true, _, ["table", slug, row]) => match row.parse() {
            Ok(n) => table::row_page(shared, ctx, slug, Some(n)),
            Err(_) => render::not_found(shared, ctx),
        },
        (_, true, ["table", slug, row]) => match row.parse() {
            Ok(n) => table::save(shared, ctx, slug, n).await,
            Err(_) => render::not_found(shared, ctx),
        },
        (_, true, ["table", slug, row, "delete"]) => match row.parse() {
            Ok(n) => table::delete(shared, ctx, slug, n).await,
            Err(_) => render::not_found(shared, ctx),
        },
        (_, true, ["table", slug, row, "toggle"]) => match row.parse() {
            Ok(n) => table::toggle(shared, ctx, slug, n).await,
            Err(_) => render::not_found(shared, ctx),
        },
        (true, _, ["status", "registrations"]) => status::registrations(shared, ctx).await,
        (_, true, ["status", "registrations", "remove"]) => status::unregister(shared, ctx).await,
        (_, true, ["status", "registrations", "block"]) => status::block(shared, ctx).await,
        (true, _, ["status", "calls"]) => status::calls(shared, ctx).await,
        (_, true, ["status", "calls", "disconnect"]) => status::disconnect(shared, ctx).await,
        (true, _, ["status", "searches"]) => status::searches(shared, ctx).await,
        (true, _, ["status", "searches", id]) => status::search(shared, ctx, id).await,
        (true, _, ["status", "zones"]) => status::zones(shared, ctx).await,
        (true, _, ["status", "policy"]) => status::policy(shared, ctx).await,
        (true, _, ["status", "turn"]) => status::turn(shared, ctx).await,
        (true, _, ["status", "alarms"]) => alarms::page(shared, ctx),
        (_, true, ["status", "alarms", "acknowledge"]) => alarms::acknowledge(shared, ctx).await,
        (true, _, ["status", "logs", kind]) => logs::page(shared, ctx, kind).await,
        (true, _, ["credentials"]) => credentials::page(shared, ctx, None),
        (_, true, ["credentials"]) => credentials::add(shared, ctx).await,
        (_, true, ["credentials", "delete"]) => credentials::delete(shared, ctx).await,
        (true, _, ["users", "sessions"]) => sessions::page(shared, ctx),
        (_, true, ["users", "sessions", "terminate"]) => sessions::terminate(shared, ctx),
        (true, _, ["tools", "check-pattern"]) => tools::check_pattern(shared, ctx).await,
        (true, _, ["tools", "locate"]) => tools::locate(shared, ctx).await,
        (true, _, ["tools", "backup"]) => backup::page(shared, ctx),
        (_, true, ["tools", "backup", "create"]) => backup::create(shared, ctx).await,
        (_, true, ["tools", "backup", "restore"]) => backup::restore(shared, ctx).await,
        (true, _, ["tools", "restart"]) => tools::restart_page(shared, ctx).await,
        (_, true, ["tools", "restart"]) => tools::restart(shared, ctx).await,
        _ => render::not_found(shared, ctx),
    }
}
