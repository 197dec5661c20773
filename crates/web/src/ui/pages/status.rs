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

/// A button on each row of a status table: it posts the row's number as `field` to `url`,
/// after asking `confirm`.
#[derive(Clone, Copy)]
pub(crate) struct Act {
    pub label: &'static str,
    pub url: &'static str,
    pub field: &'static str,
    pub confirm: &'static str,
}

/// A sortable, filterable status table, as the template draws it.
pub(crate) struct Table {
    pub base: String,
    pub heads: Vec<Head>,
    pub lines: Vec<Line>,
    pub q: String,
    pub total: usize,
    /// Text on each row's button; `None` for no button.
    /// The buttons on each row; none for a table without actions or a read-only viewer.
    pub actions: Vec<Act>,
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
    actions: &[Act],
    empty: &'static str,
) -> Table {
    let q = ctx.q("q").unwrap_or("").trim().to_string();
    // `-Key` sorts by Key, descending, until the viewer picks another order.
    let (default_sort, default_desc) = match default_sort.strip_prefix('-') {
        Some(k) => (k, true),
        None => (default_sort, false),
    };
    let asked = ctx
        .q("sort")
        .and_then(|s| cols.iter().find(|c| c.key == s))
        .map(|c| c.key);
    let sort = asked.unwrap_or(default_sort);
    let desc = match asked {
        Some(_) => ctx.q("dir") == Some("desc"),
        None => default_desc,
    };
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
            action: (writable && !actions.is_empty()).then(|| r.n.to_string()),
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
        actions: if writable {
            actions.to_vec()
        } else {
            Vec::new()
        },
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

const REGISTRATION_HISTORY: &[Col] = &[
    col("Name", "Name"),
    col("Protocol", "Protocol"),
    col("Address", "Contact address"),
    col("CreationTime", "Registered at"),
    col("EndTime", "Ended at"),
    col("Duration", "Duration (s)"),
    col("Reason", "Reason"),
];

fn registration_tabs(view: &str) -> Vec<(&'static str, String, bool)> {
    let base = "/status/registrations";
    vec![
        ("By device", base.to_string(), view == "device"),
        ("By alias", format!("{base}?view=alias"), view == "alias"),
        ("History", format!("{base}?view=history"), view == "history"),
    ]
}

/// Registrations that have ended since the server started, newest first by default.
async fn registration_history(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "Registrations History").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let t = table(
        ctx,
        "/status/registrations",
        &[("view", "history")],
        rows(&leaves, "Registration"),
        REGISTRATION_HISTORY,
        "-EndTime",
        |_| None,
        &[],
        "No registration has ended since the server started.",
    );
    answer(
        shared,
        ctx,
        Listing {
            title: "Registrations",
            intro: "Registrations that have ended since the server started, and why.",
            tabs: registration_tabs("history"),
            note: None,
            live: false,
        },
        t,
    )
}

pub(crate) async fn registrations(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if ctx.q("view") == Some("history") {
        return registration_history(shared, ctx).await;
    }
    let leaves = match group(shared, ctx, "Registrations").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let devices = rows(&leaves, "Registration");
    let alias_view = ctx.q("view") == Some("alias");
    let base = "/status/registrations";
    let tabs = registration_tabs(if alias_view { "alias" } else { "device" });
    let mut actions = vec![Act {
        label: "Unregister",
        url: "/status/registrations/remove",
        field: "registration",
        confirm: "Remove this registration? The device may register again.",
    }];
    // Blocking adds to the deny list, which only matters while the deny list is the policy.
    if ctx.snap.get("Registration RestrictionPolicy Mode") == Some("DenyList") {
        actions.push(Act {
            label: "Unregister and block",
            url: "/status/registrations/block",
            field: "registration",
            confirm: "Remove this registration and add its aliases to the deny list, so that the device cannot register again?",
        });
    }
    let t = if alias_view {
        table(
            ctx,
            base,
            &[("view", "alias")],
            by_alias(&devices),
            BY_ALIAS,
            "Alias",
            |_| None,
            &actions,
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
            &actions,
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

/// Unregister and block: each alias of the registration goes on the deny list (so that the
/// device cannot simply register again), then the registration is removed.
pub(crate) async fn block(shared: &Shared, ctx: &Ctx) -> Response<Body> {
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
            format!("xStatus Registrations Registration {n}"),
        )
        .await;
        let leaves = leaves(&r, "Registrations");
        let at = |leaf: &str| value(&leaves, &format!("Registration {n} {leaf}"));
        let mut aliases: Vec<String> = (1..)
            .map_while(|k| at(&format!("Aliases Alias {k} Value")))
            .map(str::to_string)
            .collect();
        if aliases.is_empty() {
            aliases.extend(at("Name").map(str::to_string));
        }
        if aliases.is_empty() {
            ctx.session
                .flash(true, format!("Registration {n} is no longer there."));
            continue;
        }
        let mut blocked = Vec::new();
        for a in &aliases {
            let line = format!(
                "xCommand DenyListAdd{}{}{}",
                super::arg("PatternString", a),
                " PatternType: Exact",
                super::arg("Description", "blocked from the registrations page"),
            );
            let r = exec(shared, &ctx.who, line).await;
            if r.ok {
                blocked.push(a.as_str());
            } else {
                ctx.session.flash(true, format!("{a}: {}", reason(&r)));
            }
        }
        let r = exec(
            shared,
            &ctx.who,
            format!("xCommand RemoveRegistration Registration: {n}"),
        )
        .await;
        if r.ok {
            ctx.session.flash(
                false,
                format!(
                    "Registration {n} removed; {} added to the deny list.",
                    blocked.join(", ")
                ),
            );
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

const CALL_HISTORY: &[Col] = &[
    col("StartTime", "Start"),
    col("SourceAlias", "Source"),
    col("DestinationAlias", "Destination"),
    col("Protocol", "Protocol"),
    col("EndTime", "Ended at"),
    col("Duration", "Duration (s)"),
    col("Reason", "Reason"),
];

fn call_tabs(history: bool) -> Vec<(&'static str, String, bool)> {
    vec![
        ("Current", "/status/calls".to_string(), !history),
        ("History", "/status/calls?view=history".to_string(), history),
    ]
}

/// Calls that have ended since the server started (the most recent ones), newest first by
/// default.
async fn call_history(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "Calls History").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let t = table(
        ctx,
        "/status/calls",
        &[("view", "history")],
        rows(&leaves, "Call"),
        CALL_HISTORY,
        "-StartTime",
        |_| None,
        &[],
        "No call has ended since the server started.",
    );
    answer(
        shared,
        ctx,
        Listing {
            title: "Calls",
            intro: "Calls that have ended since the server started, and why.",
            tabs: call_tabs(true),
            note: None,
            live: false,
        },
        t,
    )
}

pub(crate) async fn calls(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if ctx.q("view") == Some("history") {
        return call_history(shared, ctx).await;
    }
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
        &[Act {
            label: "Disconnect",
            url: "/status/calls/disconnect",
            field: "call",
            confirm: "Disconnect this call?",
        }],
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
            tabs: call_tabs(false),
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
        &[],
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
        &[],
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
        &[],
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

const TURN: &[Col] = &[
    col("Client", "Client"),
    col("Protocol", "Protocol"),
    col("Address", "Relay address"),
    col("RelayProtocol", "Relay protocol"),
    col("Username", "User"),
    col("Lifetime", "Expires in (s)"),
    col("Permissions", "Permissions"),
    col("Channels", "Channels"),
    col("Connections", "Connections"),
    col("Counters PacketsToPeers", "Packets to peers"),
    col("Counters PacketsToClient", "Packets to client"),
];

/// The TURN relays in use: one row per allocation, with how many permissions, channels and
/// (for a TCP relay) peer connections it holds, and what it has relayed.
pub(crate) async fn turn(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let leaves = match group(shared, ctx, "TURN").await {
        Ok(l) => l,
        Err(r) => return r,
    };
    let mut relays = rows(&leaves, "Relay");
    for r in &mut relays {
        let count = |word: &str, leaf: &str| {
            r.cells
                .keys()
                .filter(|k| k.starts_with(word) && k.ends_with(leaf))
                .count()
                .to_string()
        };
        let (p, c, k) = (
            count("Permission ", " Address"),
            count("Channel ", " Number"),
            count("Connection ", " Id"),
        );
        r.cells.insert("Permissions".into(), p);
        r.cells.insert("Channels".into(), c);
        r.cells.insert("Connections".into(), k);
    }
    let t = table(
        ctx,
        "/status/turn",
        &[],
        relays,
        TURN,
        "Client",
        |_| None,
        &[],
        "No relay is allocated.",
    );
    let note = match value(&leaves, "Status") {
        Some("Active") => Some(format!(
            "The TURN server listens on port {} ({}); {} of {} relays in use.",
            value(&leaves, "Port").unwrap_or("?"),
            value(&leaves, "Protocols").unwrap_or("?"),
            value(&leaves, "Relays Active").unwrap_or("0"),
            value(&leaves, "Relays Capacity").unwrap_or("?"),
        )),
        _ => Some(format!(
            "The TURN server is not running: {}.",
            value(&leaves, "Detail").unwrap_or("it is off")
        )),
    };
    answer(
        shared,
        ctx,
        Listing {
            title: "TURN relay usage",
            intro: "Relays the TURN server has allocated, by client, with their permissions, channels and traffic.",
            tabs: Vec::new(),
            note,
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
