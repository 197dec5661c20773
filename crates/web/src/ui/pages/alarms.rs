//! Status > Alarms, and the alarm indicator every page carries.

use super::{exec, reason};
use crate::ui::catalog::Menu;
use crate::ui::layout::{new_alarms, Layout};
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_observe::AlarmState;
use http::Response;
use std::time::SystemTime;

pub(crate) struct AlarmView {
    pub id: u32,
    pub title: String,
    pub severity: String,
    pub detail: String,
    pub new: bool,
    pub first: String,
    pub last: String,
    /// The event log filtered on this alarm.
    pub events: String,
}

fn local(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[derive(Template)]
#[template(path = "alarms.html")]
struct Page {
    l: Layout,
    alarms: Vec<AlarmView>,
}

pub(crate) fn page(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let alarms = shared
        .engine
        .alarms
        .list()
        .into_iter()
        .map(|a| AlarmView {
            events: format!("/status/logs/event?q=Alarm+{}", a.id),
            id: a.id,
            title: a.title,
            severity: a.severity,
            detail: a.detail,
            new: a.state == AlarmState::New,
            first: local(a.first_raised),
            last: local(a.last_raised),
        })
        .collect();
    render::ok(&Page {
        l: Layout::new(shared, ctx, Menu::Status, "Alarms"),
        alarms,
    })
}

pub(crate) async fn acknowledge(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let ids: Vec<u32> = ctx
        .form
        .iter()
        .filter(|(k, _)| k == "id")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    for id in ids {
        let r = exec(
            shared,
            &ctx.who,
            format!("xCommand AlarmAcknowledge Id: {id}"),
        )
        .await;
        if r.ok {
            ctx.session
                .flash(false, format!("Alarm {id} acknowledged."));
        } else {
            ctx.session.flash(true, reason(&r));
        }
    }
    render::redirect("/status/alarms")
}

#[derive(Template)]
#[template(path = "alarm_indicator.html")]
struct Indicator {
    count: usize,
}

pub(crate) fn indicator(shared: &Shared) -> Response<Body> {
    render::ok(&Indicator {
        count: new_alarms(shared),
    })
}
