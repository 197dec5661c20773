//! Status > Event log and Configuration log: newest first, a thousand lines a page, filtered
//! by words, and every value a link that filters on it. The event log page refreshes itself
//! while it shows the newest lines.

use crate::ui::catalog::Menu;
use crate::ui::layout::Layout;
use crate::ui::logread::{self, parse, tone, Mode};
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_observe::LogKind;
use http::Response;

/// Lines per page (as the reference's log pages).
const PAGE: usize = 1000;

pub(crate) struct Detail {
    pub key: String,
    pub value: String,
    pub href: String,
}

pub(crate) struct LineView {
    pub time: String,
    pub event: String,
    pub event_href: String,
    pub tone: &'static str,
    pub details: Vec<Detail>,
}

#[derive(Template)]
#[template(path = "log.html")]
struct Page {
    l: Layout,
    base: String,
    q: String,
    mode: &'static str,
    lines: Vec<LineView>,
    page: usize,
    newer: Option<String>,
    older: Option<String>,
    truncated: bool,
    refresh: Option<String>,
}

#[derive(Template)]
#[template(path = "log_rows.html")]
struct Rows {
    lines: Vec<LineView>,
    refresh: Option<String>,
}

fn filter_href(base: &str, value: &str) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("q", value);
    s.append_pair("mode", "phrase");
    format!("{base}?{}", s.finish())
}

fn page_href(base: &str, q: &str, mode: &str, page: usize) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        s.append_pair("q", q);
        s.append_pair("mode", mode);
    }
    if page > 1 {
        s.append_pair("page", &page.to_string());
    }
    let q = s.finish();
    if q.is_empty() {
        base.to_string()
    } else {
        format!("{base}?{q}")
    }
}

pub(crate) async fn page(shared: &Shared, ctx: &Ctx, kind: &str) -> Response<Body> {
    let (kind, title) = match kind {
        "event" => (LogKind::Event, "Event log"),
        "config" => (LogKind::Config, "Configuration log"),
        _ => return render::not_found(shared, ctx),
    };
    let base = format!(
        "/status/logs/{}",
        if kind == LogKind::Event {
            "event"
        } else {
            "config"
        }
    );
    let q = ctx.q("q").unwrap_or("").to_string();
    let mode_text = match ctx.q("mode").unwrap_or("all") {
        "any" => "any",
        "phrase" => "phrase",
        "none" => "none",
        _ => "all",
    };
    let mode = Mode::parse(mode_text);
    let page: usize = ctx
        .q("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);
    let dir = shared.logs.clone();
    let filter = q.clone();
    let found = tokio::task::spawn_blocking(move || {
        logread::read(&dir, kind, &filter, mode, (page - 1) * PAGE, PAGE)
    })
    .await
    .unwrap_or_default();
    let lines: Vec<LineView> = found
        .lines
        .iter()
        .map(|l| {
            let e = parse(l);
            LineView {
                event_href: filter_href(&base, &e.event),
                tone: tone(&e.event),
                details: e
                    .fields
                    .into_iter()
                    .map(|(key, value)| Detail {
                        href: filter_href(&base, &value),
                        key,
                        value,
                    })
                    .collect(),
                time: e.time,
                event: e.event,
            }
        })
        .collect();
    // Only the newest page of the event log follows new lines.
    let refresh = (kind == LogKind::Event && page == 1).then(|| {
        let h = page_href(&base, &q, mode_text, 1);
        let sep = if h.contains('?') { '&' } else { '?' };
        format!("{h}{sep}part=rows")
    });
    if ctx.q("part") == Some("rows") {
        return render::ok(&Rows { lines, refresh });
    }
    render::ok(&Page {
        l: Layout::new(shared, ctx, Menu::Status, title),
        newer: (page > 1).then(|| page_href(&base, &q, mode_text, page - 1)),
        older: found
            .more
            .then(|| page_href(&base, &q, mode_text, page + 1)),
        base,
        q,
        mode: mode_text,
        lines,
        page,
        truncated: found.truncated,
        refresh,
    })
}
