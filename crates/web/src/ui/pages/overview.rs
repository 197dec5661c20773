//! Status > Overview: what this system is, how long it has run, what it carries now and at
//! most since it started, and how busy the machine is. The page refreshes itself every five
//! seconds, as the reference's does.

use super::exec;
use crate::ui::catalog::Menu;
use crate::ui::layout::{system_name, Layout};
use crate::ui::status::{bytes, duration, leaves, value};
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_observe::AlarmState;
use http::Response;

pub(crate) struct Figure {
    pub name: &'static str,
    pub value: String,
    /// A page with the details, when the user may open it.
    pub href: Option<&'static str>,
}

pub(crate) struct Overview {
    pub system: Vec<Figure>,
    pub usage: Vec<(&'static str, String, String)>,
    pub machine: Vec<Figure>,
    pub alarms_new: usize,
    pub alarms_ack: usize,
    pub restart_pending: Vec<String>,
    pub offline: bool,
}

fn fig(name: &'static str, value: impl Into<String>, href: Option<&'static str>) -> Figure {
    Figure {
        name,
        value: value.into(),
        href,
    }
}

/// Logged-in administrators by surface: `2 web, 1 SSH`.
fn admin_sessions(shared: &Shared) -> String {
    let mut parts = vec![format!("{} web", shared.sessions.list().len())];
    for (surface, n) in &shared.other_sessions {
        parts.push(format!(
            "{} {surface}",
            n.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
    parts.join(", ")
}

async fn gather(shared: &Shared, ctx: &Ctx) -> Overview {
    let unit = exec(shared, &ctx.who, "xStatus SystemUnit".into()).await;
    let res = exec(shared, &ctx.who, "xStatus ResourceUsage".into()).await;
    let unit = leaves(&unit, "SystemUnit");
    let res = leaves(&res, "ResourceUsage");
    let offline = !shared.engine.is_online();
    let editable = !ctx.is_auditor();
    let link = |h: &'static str| editable.then_some(h);

    let snap = &ctx.snap;
    let addresses = |family: &str| {
        let v: Vec<String> = (1..=2)
            .filter_map(|i| {
                let a = snap.get(&format!("Ethernet {i} IP {family} Address"))?;
                (!a.is_empty()).then(|| format!("LAN{i} {a}"))
            })
            .collect();
        if v.is_empty() {
            "not configured".to_string()
        } else {
            v.join(", ")
        }
    };
    let uptime = value(&unit, "Uptime")
        .and_then(|u| u.parse::<u64>().ok())
        .map(duration)
        .unwrap_or_else(|| "unknown".into());
    let system = vec![
        fig("System name", system_name(ctx), link("/config/system-name")),
        fig(
            "Role",
            snap.get("SystemUnit Type").unwrap_or("Core"),
            link("/config/system-name"),
        ),
        fig("Up time", uptime, None),
        fig(
            "Software version",
            format!(
                "causeway {}",
                value(&unit, "Software Version").unwrap_or(env!("CARGO_PKG_VERSION"))
            ),
            None,
        ),
        fig("IPv4 address", addresses("V4"), link("/config/network")),
        fig("IPv6 address", addresses("V6"), link("/config/network")),
        fig(
            "Administrator sessions",
            admin_sessions(shared),
            link("/users/sessions"),
        ),
    ];

    // Current figures come from the resource usage status when it carries them (auditors may
    // read it), otherwise from the registration and call lists.
    let mut usage = Vec::new();
    for (label, group, count) in [
        ("Registrations", "Registrations", "Registrations Current"),
        ("Calls", "Calls", "Calls Current"),
    ] {
        let peak = value(&res, &format!("{group} Peak")).map(str::to_string);
        let current = match value(&res, count) {
            Some(c) => Some(c.to_string()),
            None if !ctx.is_auditor() && !offline => {
                let r = exec(shared, &ctx.who, format!("xStatus {group} Count")).await;
                value(&leaves(&r, group), "Count").map(str::to_string)
            }
            None => None,
        };
        usage.push((
            label,
            current.unwrap_or_else(|| "—".into()),
            peak.unwrap_or_else(|| "—".into()),
        ));
    }

    let num = |k: &str| value(&res, k).and_then(|v| v.parse::<u64>().ok());
    let mut machine = Vec::new();
    if let (Some(used), Some(total)) = (num("Memory Used"), num("Memory Total")) {
        let pct = (used * 100).checked_div(total).unwrap_or(0);
        machine.push(fig(
            "Memory in use",
            format!("{pct}% ({} of {})", bytes(used), bytes(total)),
            None,
        ));
    }
    if let Some(rss) = num("Process Memory Resident") {
        machine.push(fig("Memory of this server", bytes(rss), None));
    }
    if let (Some(a), Some(b), Some(c)) = (
        value(&res, "Load Average1"),
        value(&res, "Load Average5"),
        value(&res, "Load Average15"),
    ) {
        let cores = value(&res, "Cores").unwrap_or("?");
        machine.push(fig(
            "Load (1, 5, 15 min)",
            format!("{a}, {b}, {c} on {cores} cores"),
            None,
        ));
    }
    if let Some(t) = num("Process Threads") {
        machine.push(fig("Threads", t.to_string(), None));
    }
    if let Some(s) = num("ConfigurationStore Size") {
        machine.push(fig("Configuration store", bytes(s), None));
    }

    let alarms = shared.engine.alarms.list();
    Overview {
        system,
        usage,
        machine,
        alarms_new: alarms.iter().filter(|a| a.state == AlarmState::New).count(),
        alarms_ack: alarms
            .iter()
            .filter(|a| a.state == AlarmState::Acknowledged)
            .count(),
        restart_pending: snap.pending_restart.clone(),
        offline,
    }
}

#[derive(Template)]
#[template(path = "overview.html")]
struct Page {
    l: Layout,
    o: Overview,
}

#[derive(Template)]
#[template(path = "overview_body.html")]
struct Fragment {
    o: Overview,
}

pub(crate) async fn page(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let o = gather(shared, ctx).await;
    render::ok(&Page {
        l: Layout::new(shared, ctx, Menu::Status, "Overview"),
        o,
    })
}

pub(crate) async fn fragment(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let o = gather(shared, ctx).await;
    render::ok(&Fragment { o })
}
