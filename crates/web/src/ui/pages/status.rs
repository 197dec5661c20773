//! Status pages: registrations (by device and by alias, with unregister), calls (with
//! disconnect), search history (with each search's trace), zones and policy services. Lists
//! people watch refresh themselves; every list sorts and filters by query parameters.

use super::{exec, reason};
use crate::ui::catalog::Menu;
use crate::ui::layout::Layout;
use crate::ui::status::{filter_rows, leaves, rows, sort_rows, value, Row};
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_xapi::ErrorKind;
use http::{Response, StatusCode};

/// Seconds between refreshes of the lists that change by themselves.
pub(crate) const REFRESH: u32 = 5;

pub(crate) struct Col {
    pub key: &'static str,
    pub title: &'static str,
}

const fn col(key: &'static str, title: &'static str) -> Col {
    Col { key, title }
}

pub(crate) struct Head {
    pub title: &'static str,
    pub href: String,
    pub arrow: &'static str,
}

pub(crate) struct Line {
    pub n: u32,
    pub cells: Vec<String>,
    /// A link for the first cell.
    pub link: Option<String>,
    /// What the row's action button sends (a registration or call number).
    pub action: Option<String>,
}

/// A sortable, filterable status table, as the template draws it.
pub(crate) struct Table {
    pub base: String,
    pub heads: Vec<Head>,
    pub lines: Vec<Line>,
    pub q: String,
    pub total: usize,
    /// Text on each row's button; `None` for no button.
    pub action: Option<&'static str>,
    pub action_url: String,
    pub action_field: &'static str,
    pub confirm: &'static str,
    /// Where the table body refreshes from; `None` for a table that does not refresh.
    pub refresh: Option<String>,
    pub empty: &'static str,
    pub csrf: String,
}

fn href(base: &str, q: &str, sort: &str, desc: bool, extra: &[(&str, &str)]) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in extra {
        s.append_pair(k, v);
    }
    if !q.is_empty() {
        s.append_pair("q", q);
    }
    s.append_pair("sort", sort);
    if desc {
        s.append_pair("dir", "desc");
    }
    format!("{base}?{}", s.finish())
}

/// Filters, sorts and lays out `rows` for the template.
#[allow(clippy::too_many_arguments)]
fn table(
    ctx: &Ctx,
    base: &str,
    extra: &[(&str, &str)],
    rows: Vec<Row>,
    cols: &[Col],
    default_sort: &'static str,
    link: impl Fn(&Row) -> Option<String>,
    action: Option<(&'static str, &'static str, &'static str, &'static str)>,
    empty: &'static str,
) -> Table {
    let q = ctx.q("q").unwrap_or("").trim().to_string();
    let sort = ctx
        .q("sort")
        .and_then(|s| cols.iter().find(|c| c.key == s))
        .map(|c| c.key)
        .unwrap_or(default_sort);
    let desc = ctx.q("dir") == Some("desc");
    let total = rows.len();
    let mut rows = filter_rows(rows, &q);
    sort_rows(&mut rows, sort, desc);
    let heads = cols
        .iter()
        .map(|c| {
            let this = c.key == sort;
            Head {
                title: c.title,
                href: href(base, &q, c.key, this && !desc, extra),
                arrow: match (this, desc) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
            }
        })
        .collect();
    let writable = ctx.can_write();
    let lines = rows
        .iter()
        .map(|r| Line {
            n: r.n,
            cells: cols.iter().map(|c| r.get(c.key).to_string()).collect(),
            link: link(r),
            action: (writable && action.is_some()).then(|| r.n.to_string()),
        })
        .collect();
    let mut refresh_query: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    refresh_query.extend(ctx.query.iter().filter(|(k, _)| k != "part").cloned());
    let mut s = form_urlencoded::Serializer::new(String::new());
    for (k, v) in &refresh_query {
        s.append_pair(k, v);
    }
    s.append_pair("part", "rows");
    Table {
        base: base.to_string(),
        heads,
        lines,
        q,
        total,
        action: action.filter(|_| writable).map(|a| a.0),
        action_url: action.map(|a| a.1.to_string()).unwrap_or_default(),
        action_field: action.map(|a| a.2).unwrap_or(""),
        confirm: action.map(|a| a.3).unwrap_or(""),
        refresh: Some(format!("{base}?{}", s.finish())),
        empty,
        csrf: ctx.session.csrf.clone(),
    }
}

#[derive(Template)]
#[template(path = "status_table.html")]
struct Page {
    l: Layout,
    intro: String,
    tabs: Vec<(&'static str, String, bool)>,
    t: Table,
    note: Option<String>,
    refresh: u32,
}

#[derive(Template)]
#[template(path = "status_rows.html")]
struct Rows {
    t: Table,
    refresh: u32,
}

/// What a status list page says around its table.
struct Listing {
    title: &'static str,
    intro: &'static str,
    tabs: Vec<(&'static str, String, bool)>,
    note: Option<String>,
    /// Refreshes itself.
    live: bool,
}

/// The page, or only its table (when a refresh asks for it).
fn answer(shared: &Shared, ctx: &Ctx, page: Listing, t: Table) -> Response<Body> {
    let refresh = if page.live { REFRESH } else { 0 };
    if ctx.q("part") == Some("rows") {
        return render::ok(&Rows { t, refresh });
    }
    render::ok(&Page {
        l: Layout::new(shared, ctx, Menu::Status, page.title),
        intro: page.intro.to_string(),
        tabs: page.tabs,
        t,
        note: page.note,
        refresh,
    })
}

/// Reads a status group; a message page when it cannot be read.
async fn group(
    shared: &Shared,
    ctx: &Ctx,
    name: &str,
) -> Result<Vec<(String, String)>, Response<Body>> {
    let r = exec(shared, &ctx.who, format!("xStatus {name}")).await;
    if r.ok {
        return Ok(leaves(&r, name));
    }
    let text = match r.error {
        Some(ErrorKind::Unavailable) => {
            "This needs the call services, which are not running.".to_string()
        }
        _ => reason(&r),
    };
    Err(render::message(
        shared,
        ctx,
        StatusCode::SERVICE_UNAVAILABLE,
        Menu::Status,
        name,
        &text,
    ))
}

const BY_DEVICE: &[Col] = &[
    col("Name", "Name"),
    col("Type", "Type"),
    col("Protocol", "Protocol"),
    col("Address", "Contact address"),
    col("CreationTime", "Registered at"),
    col("Expires", "Expires in (s)"),
];

const BY_ALIAS: &[Col] = &[
    col("Alias", "Alias"),
    col("AliasType", "Alias type"),
    col("Name", "Device"),
    col("Protocol", "Protocol"),
    col("Address", "Contact address"),
];

/// One row per alias: a SIP registration is its address of record; an H.323 one has each of
/// its aliases.
fn by_alias(devices: &[Row]) -> Vec<Row> {
    let mut out = Vec::new();
    for d in devices {
        let mut aliases: Vec<(String, String)> = Vec::new();
        let mut k = 1;
        while let Some(v) = d.cells.get(&format!("Aliases Alias {k} Value")) {
            let t = d
                .cells
                .get(&format!("Aliases Alias {k} Type"))
                .cloned()
                .unwrap_or_default();
            aliases.push((v.clone(), t));
            k += 1;
        }
        if aliases.is_empty() {
            aliases.push((d.get("Name").to_string(), "URI".into()));
        }
        for (alias, kind) in aliases {
            let mut r = d.clone();
            r.cells.insert("Alias".into(), alias);
            r.cells.insert("AliasType".into(), kind);
            out.push(r);
        }
    }
    out
}

pub(crate) async fn registrations(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "Registrations").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let devices = rows(&leaves, "Registration");
    let alias_view = ctx.q("view") == Some("alias");
    let base = "/status/registrations";
    let tabs = vec![
        ("By device", base.to_string(), !alias_view),
        ("By alias", format!("{base}?view=alias"), alias_view),
    ];
    let action = Some((
        "Unregister",
        "/status/registrations/remove",
        "registration",
        "Remove this registration? The device may register again.",
    ));
    let t = if alias_view {
        table(
            ctx,
            base,
            &[("view", "alias")],
            by_alias(&devices),
            BY_ALIAS,
            "Alias",
            |_| None,
            action,
            "Nothing is registered.",
        )
    } else {
        table(
            ctx,
            base,
            &[],
            devices,
            BY_DEVICE,
            "Name",
            |_| None,
            action,
            "Nothing is registered.",
        )
    };
    answer(
        shared,
        ctx,
        Listing {
            title: "Registrations",
            intro: "Devices registered with this system. Unregistering removes the registration; the device may register again.",
            tabs,
            note: None,
            live: true,
        },
        t,
    )
}

pub(crate) async fn unregister(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    for n in ctx
        .form
        .iter()
        .filter(|(k, _)| k == "registration")
        .filter_map(|(_, v)| v.parse::<u32>().ok())
    {
        let r = exec(
            shared,
            &ctx.who,
            format!("xCommand RemoveRegistration Registration: {n}"),
        )
        .await;
        if r.ok {
            ctx.session
                .flash(false, format!("Registration {n} removed."));
        } else {
            ctx.session.flash(true, reason(&r));
        }
    }
    render::redirect(&back(ctx, "/status/registrations"))
}

/// Where to go back to after an action: the page it was made from, if it is one of ours.
fn back(ctx: &Ctx, default: &str) -> String {
    ctx.f("back")
        .filter(|b| b.starts_with("/status/") && !b.starts_with("//"))
        .unwrap_or(default)
        .to_string()
}

const CALLS: &[Col] = &[
    col("StartTime", "Start"),
    col("SourceAlias", "Source"),
    col("DestinationAlias", "Destination"),
    col("Protocol", "Protocol"),
    col("State", "State"),
    col("ConnectTime", "Connected"),
];

pub(crate) async fn calls(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "Calls").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let list = rows(&leaves, "Call");
    let t = table(
        ctx,
        "/status/calls",
        &[],
        list,
        CALLS,
        "StartTime",
        |_| None,
        Some((
            "Disconnect",
            "/status/calls/disconnect",
            "call",
            "Disconnect this call?",
        )),
        "No calls are in progress.",
    );
    let note = value(&leaves, "History Count")
        .map(|h| format!("{h} calls ended since the server started."));
    answer(
        shared,
        ctx,
        Listing {
            title: "Calls",
            intro: "Calls in progress through this system.",
            tabs: Vec::new(),
            note,
            live: true,
        },
        t,
    )
}

pub(crate) async fn disconnect(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    for n in ctx
        .form
        .iter()
        .filter(|(k, _)| k == "call")
        .filter_map(|(_, v)| v.parse::<u32>().ok())
    {
        let r = exec(
            shared,
            &ctx.who,
            format!("xCommand DisconnectCall Call: {n}"),
        )
        .await;
        if r.ok {
            ctx.session.flash(false, format!("Call {n} disconnected."));
        } else {
            ctx.session.flash(true, reason(&r));
        }
    }
    render::redirect(&back(ctx, "/status/calls"))
}

const SEARCHES: &[Col] = &[
    col("StartTime", "Start"),
    col("Type", "Type"),
    col("Source", "Source"),
    col("Destination", "Destination"),
    col("Status", "Status"),
    col("Outcome", "Outcome"),
];

pub(crate) async fn searches(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "SearchHistory").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let list = rows(&leaves, "Search");
    let mut t = table(
        ctx,
        "/status/searches",
        &[],
        list,
        SEARCHES,
        "StartTime",
        |r| Some(format!("/status/searches/{}", r.n)),
        None,
        "No searches since the server started.",
    );
    // Newest first unless asked otherwise.
    if ctx.q("sort").is_none() {
        t.lines.reverse();
        if let Some(h) = t.heads.first_mut() {
            h.arrow = "▼";
        }
    }
    t.refresh = None;
    answer(
        shared,
        ctx,
        Listing {
            title: "Search history",
            intro: "The most recent searches (up to 255) since the server started. Open one to see every decision it made.",
            tabs: Vec::new(),
            note: None,
            live: false,
        },
        t,
    )
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    l: Layout,
    fields: Vec<(String, String)>,
    trace: Vec<String>,
    events: Option<String>,
}

pub(crate) async fn search(shared: &Shared, ctx: &Ctx, id: &str) -> Response<Body> {
    let Ok(n) = id.parse::<u32>() else {
        return render::not_found(shared, ctx);
    };
    let leaves = match group(shared, ctx, "SearchHistory").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let Some(row) = rows(&leaves, "Search").into_iter().find(|r| r.n == n) else {
        return render::message(
            shared,
            ctx,
            StatusCode::NOT_FOUND,
            Menu::Status,
            "Search history",
            "This search is no longer in the history.",
        );
    };
    let mut fields = Vec::new();
    let mut trace = Vec::new();
    for k in &row.order {
        let v = row.get(k).to_string();
        if k.starts_with("Trace ") {
            trace.push(v);
        } else {
            fields.push((k.clone(), v));
        }
    }
    let call = row.get("CallId");
    let events = (!call.is_empty()).then(|| {
        format!(
            "/status/logs/event?q={}",
            form_urlencoded::byte_serialize(call.as_bytes()).collect::<String>()
        )
    });
    render::ok(&SearchPage {
        l: Layout::new(shared, ctx, Menu::Status, format!("Search {n}")),
        fields,
        trace,
        events,
    })
}

const ZONES: &[Col] = &[
    col("Name", "Name"),
    col("Type", "Type"),
    col("SIP Status", "SIP status"),
    col("Peers", "Peers"),
];

pub(crate) async fn zones(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "Zones").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut list = rows(&leaves, "Zone");
    // The Default Zone is always there, first.
    let mut default = Row {
        n: 0,
        ..Row::default()
    };
    for (k, v) in &leaves {
        if let Some(rest) = k.strip_prefix("DefaultZone ") {
            default.cells.insert(rest.to_string(), v.clone());
        }
    }
    default
        .cells
        .entry("Type".into())
        .or_insert_with(|| "Default".into());
    for r in list.iter_mut() {
        let mut peers = Vec::new();
        let mut k = 1;
        while let Some(a) = r.cells.get(&format!("Peer {k} Address")) {
            let s = r.get(&format!("Peer {k} Status"));
            peers.push(format!("{a} ({s})"));
            k += 1;
        }
        r.cells.insert("Peers".into(), peers.join(", "));
    }
    list.insert(0, default);
    let t = table(
        ctx,
        "/status/zones",
        &[],
        list,
        ZONES,
        "Name",
        |_| None,
        None,
        "No zones.",
    );
    answer(
        shared,
        ctx,
        Listing {
            title: "Zones",
            intro: "Each zone and, for neighbours, whether its peers answer.",
            tabs: Vec::new(),
            note: None,
            live: true,
        },
        t,
    )
}

const POLICY: &[Col] = &[
    col("Name", "Name"),
    col("URL", "Server in use"),
    col("Status", "Status"),
    col("LastUsed", "Last used"),
];

pub(crate) async fn policy(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "Policy").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let t = table(
        ctx,
        "/status/policy",
        &[],
        rows(&leaves, "Service"),
        POLICY,
        "Name",
        |_| None,
        None,
        "No policy service is in use.",
    );
    answer(
        shared,
        ctx,
        Listing {
            title: "Policy services",
            intro: "Policy services in use, the server each would ask now, and how it answered its last status check.",
            tabs: Vec::new(),
            note: None,
            live: true,
        },
        t,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn h323_registrations_list_each_alias() {
        let mut d = Row {
            n: 4,
            ..Row::default()
        };
        for (k, v) in [
            ("Name", "room"),
            ("Aliases Alias 1 Type", "H323Id"),
            ("Aliases Alias 1 Value", "room"),
            ("Aliases Alias 2 Type", "E164"),
            ("Aliases Alias 2 Value", "1234"),
        ] {
            d.cells.insert(k.into(), v.into());
        }
        let sip = Row {
            n: 5,
            cells: [("Name".to_string(), "bob@example.com".to_string())].into(),
            order: vec![],
        };
        let a = by_alias(&[d, sip]);
        let aliases: Vec<&str> = a.iter().map(|r| r.get("Alias")).collect();
        assert_eq!(aliases, vec!["room", "1234", "bob@example.com"]);
        assert_eq!(a[1].n, 4);
    }
}
