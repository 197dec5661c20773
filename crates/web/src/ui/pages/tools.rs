//! Maintenance tools: Check pattern, Locate and Restart. Check pattern and Locate change
//! nothing, so they are GET forms that read-only administrators may use too, and a result can
//! be linked to.

use super::{arg, exec, reason};
use crate::ui::catalog::Menu;
use crate::ui::layout::Layout;
use crate::ui::status::{leaves, value};
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_xapi::{Field, Item, Response as XResponse};
use http::Response;

pub(crate) struct Input {
    pub name: &'static str,
    pub label: &'static str,
    /// `text`, `number` or `select`.
    pub kind: &'static str,
    pub value: String,
    pub options: Vec<(String, bool)>,
    pub help: &'static str,
}

fn text(
    ctx: &Ctx,
    name: &'static str,
    label: &'static str,
    default: &str,
    help: &'static str,
) -> Input {
    Input {
        name,
        label,
        kind: "text",
        value: ctx.q(name).unwrap_or(default).to_string(),
        options: Vec::new(),
        help,
    }
}

fn select(
    ctx: &Ctx,
    name: &'static str,
    label: &'static str,
    values: &[&str],
    default: &str,
    help: &'static str,
) -> Input {
    let current = ctx.q(name).unwrap_or(default);
    Input {
        name,
        label,
        kind: "select",
        value: current.to_string(),
        options: values
            .iter()
            .map(|v| (v.to_string(), v.eq_ignore_ascii_case(current)))
            .collect(),
        help,
    }
}

#[derive(Template)]
#[template(path = "tool.html")]
struct ToolPage {
    l: Layout,
    intro: &'static str,
    action: &'static str,
    inputs: Vec<Input>,
    submit: &'static str,
    ran: bool,
    ok: bool,
    /// The outcome's headline.
    headline: String,
    result: Vec<(String, String)>,
    trace: Vec<String>,
}

/// The fields of the command's result record.
fn result_fields(r: &XResponse) -> Vec<(String, String)> {
    r.items
        .iter()
        .find_map(|i| match i {
            Item::Result {
                ok: true, fields, ..
            } => Some(
                fields
                    .iter()
                    .map(|(k, v)| {
                        let v = match v {
                            Field::Str(s) | Field::Bare(s) => s.clone(),
                        };
                        (k.clone(), v)
                    })
                    .collect(),
            ),
            _ => None,
        })
        .unwrap_or_default()
}

pub(crate) async fn check_pattern(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let inputs = vec![
        text(ctx, "alias", "Alias", "", "The alias to test, as a caller would dial it."),
        select(
            ctx,
            "type",
            "Pattern type",
            &["Exact", "Prefix", "Suffix", "Regex"],
            "Prefix",
            "How the pattern is compared with the alias.",
        ),
        text(
            ctx,
            "pattern",
            "Pattern string",
            "",
            "The pattern; variables such as %localdomains% may be used.",
        ),
        select(
            ctx,
            "behavior",
            "Pattern behavior",
            &["Strip", "Leave", "Replace", "AddPrefix", "AddSuffix"],
            "Leave",
            "What happens to an alias that matches.",
        ),
        text(
            ctx,
            "replace",
            "Replace string or added text",
            "",
            "For Replace, the new alias (\\1 … \\9 insert regex groups); for AddPrefix and AddSuffix, the text to add.",
        ),
    ];
    let mut page = ToolPage {
        l: Layout::new(shared, ctx, Menu::Maintenance, "Check pattern"),
        intro: "Tests whether an alias matches a pattern, and what the alias becomes.",
        action: "/tools/check-pattern",
        inputs,
        submit: "Check pattern",
        ran: false,
        ok: false,
        headline: String::new(),
        result: Vec::new(),
        trace: Vec::new(),
    };
    if let Some(alias) = ctx.q("alias").filter(|a| !a.is_empty()) {
        let mut line = format!("xCommand CheckPattern{}", arg("Target", alias));
        line.push_str(&arg("Pattern", ctx.q("pattern").unwrap_or("")));
        line.push_str(&format!(" Type: {}", word(ctx.q("type"), "Prefix")));
        line.push_str(&format!(" Behavior: {}", word(ctx.q("behavior"), "Leave")));
        if let Some(r) = ctx.q("replace").filter(|r| !r.is_empty()) {
            line.push_str(&arg("Replace", r));
        }
        let r = exec(shared, &ctx.who, line).await;
        page.ran = true;
        page.ok = r.ok;
        if r.ok {
            let f = result_fields(&r);
            let matched = f.iter().any(|(k, v)| k == "Matched" && v == "Yes");
            let alias = f
                .iter()
                .find(|(k, _)| k == "Alias")
                .map(|(_, v)| v.clone())
                .unwrap_or_default();
            page.headline = if matched {
                format!("The alias matches; it becomes {alias}.")
            } else {
                "The alias does not match; it stays as it is.".into()
            };
            page.result = f;
        } else {
            page.headline = reason(&r);
        }
    }
    render::ok(&page)
}

/// An enum word from a query, or the default when it is not a plain word (so it cannot carry
/// further parameters into the command line).
fn word<'a>(v: Option<&'a str>, default: &'a str) -> &'a str {
    match v {
        Some(w) if !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()) => w,
        _ => default,
    }
}

pub(crate) async fn locate(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    // Zones and subzones a search may be made as if from.
    let snap = &ctx.snap;
    let mut sources = vec!["DefaultZone".to_string(), "DefaultSubZone".to_string()];
    for (table, name) in [
        ("Zones Zone", "Name"),
        ("Zones LocalZone SubZones SubZone", "Name"),
    ] {
        for r in snap.rows(table) {
            if let Some(n) = snap.configured(&format!("{table} {r} {name}")) {
                if !n.is_empty() {
                    sources.push(n.to_string());
                }
            }
        }
    }
    let source_refs: Vec<&str> = sources.iter().map(String::as_str).collect();
    let inputs = vec![
        text(ctx, "alias", "Alias", "", "The alias to search for."),
        Input {
            kind: "number",
            ..text(ctx, "hops", "Hop count", "15", "How many hops the search may take (0 to 255).")
        },
        select(
            ctx,
            "protocol",
            "Protocol",
            &["SIP", "H323"],
            "SIP",
            "The protocol the search is made in; the other is tried after it where interworking allows.",
        ),
        select(
            ctx,
            "source",
            "Source",
            &source_refs,
            "DefaultZone",
            "Where the request comes from: the Default Zone (an unknown system), the Default Subzone (a local registrant) or a zone or subzone.",
        ),
        select(
            ctx,
            "authenticated",
            "Authenticated",
            &["No", "Yes"],
            "No",
            "Whether the request counts as authenticated.",
        ),
        text(
            ctx,
            "source_alias",
            "Source alias",
            "xcom-locate",
            "The caller's alias, for call policy that looks at it.",
        ),
    ];
    let mut page = ToolPage {
        l: Layout::new(shared, ctx, Menu::Maintenance, "Locate"),
        intro: "Runs a search for an alias as if a request had arrived, and shows each transform, rule, policy and zone it went through.",
        action: "/tools/locate",
        inputs,
        submit: "Locate",
        ran: false,
        ok: false,
        headline: String::new(),
        result: Vec::new(),
        trace: Vec::new(),
    };
    if let Some(alias) = ctx.q("alias").filter(|a| !a.is_empty()) {
        let hops = ctx
            .q("hops")
            .and_then(|h| h.trim().parse::<u32>().ok())
            .unwrap_or(15);
        let mut line = format!("xCommand Locate{} HopCount: {hops}", arg("Alias", alias));
        line.push_str(&format!(" Protocol: {}", word(ctx.q("protocol"), "SIP")));
        if let Some(s) = ctx.q("source").filter(|s| !s.is_empty()) {
            line.push_str(&arg("SourceZone", s));
        }
        line.push_str(&format!(
            " Authenticated: {}",
            word(ctx.q("authenticated"), "No")
        ));
        if let Some(s) = ctx.q("source_alias").filter(|s| !s.is_empty()) {
            line.push_str(&arg("SourceAlias", s));
        }
        let r = exec(shared, &ctx.who, line).await;
        page.ran = true;
        page.ok = r.ok;
        if r.ok {
            let mut fields = Vec::new();
            for (k, v) in result_fields(&r) {
                if k.starts_with("Trace ") {
                    page.trace.push(v);
                } else {
                    fields.push((k, v));
                }
            }
            let found = fields.iter().any(|(k, v)| k == "Found" && v == "True");
            page.headline = if found {
                "Search completed: the alias was found.".into()
            } else {
                "Search completed: the alias was not found.".into()
            };
            page.result = fields;
        } else {
            page.headline = reason(&r);
        }
    }
    render::ok(&page)
}

#[derive(Template)]
#[template(path = "restart.html")]
struct RestartPage {
    l: Layout,
    calls: String,
    registrations: String,
    pending: Vec<String>,
    started: bool,
}

async fn count(shared: &Shared, ctx: &Ctx, group: &str) -> String {
    let r = exec(shared, &ctx.who, format!("xStatus {group} Count")).await;
    value(&leaves(&r, group), "Count")
        .unwrap_or("unknown")
        .to_string()
}

pub(crate) async fn restart_page(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    render::ok(&RestartPage {
        l: Layout::new(shared, ctx, Menu::Maintenance, "Restart"),
        calls: count(shared, ctx, "Calls").await,
        registrations: count(shared, ctx, "Registrations").await,
        pending: ctx.snap.pending_restart.clone(),
        started: false,
    })
}

pub(crate) async fn restart(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let r = exec(shared, &ctx.who, "xCommand Restart".into()).await;
    if !r.ok {
        ctx.session.flash(true, reason(&r));
        return render::redirect("/tools/restart");
    }
    render::ok(&RestartPage {
        l: Layout::new(shared, ctx, Menu::Maintenance, "Restart"),
        calls: String::new(),
        registrations: String::new(),
        pending: Vec::new(),
        started: true,
    })
}
