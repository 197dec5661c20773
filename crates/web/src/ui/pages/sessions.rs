//! Users > Active sessions: who is logged in to the web interface, from where and since when;
//! read-write administrators may end any session.

use crate::ui::catalog::Menu;
use crate::ui::layout::{level_name, Layout};
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use http::Response;
use std::time::SystemTime;

pub(crate) struct SessionView {
    pub handle: String,
    pub user: String,
    pub level: &'static str,
    pub source: String,
    pub login: String,
    pub last: String,
    pub mine: bool,
}

fn local(t: SystemTime) -> String {
    chrono::DateTime::<chrono::Local>::from(t)
        .format("%Y-%m-%d %H:%M:%S")
        .to_string()
}

#[derive(Template)]
#[template(path = "sessions.html")]
struct Page {
    l: Layout,
    sessions: Vec<SessionView>,
    timeout: String,
}

pub(crate) fn page(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let sessions = shared
        .sessions
        .list()
        .into_iter()
        .map(|s| SessionView {
            mine: s.handle == ctx.session.handle,
            handle: s.handle.clone(),
            user: s.user.clone(),
            level: level_name(s.access()),
            source: s.source.to_string(),
            login: local(s.login_at),
            last: local(s.last_access()),
        })
        .collect();
    let timeout = match ctx.snap.int(crate::ui::session::IDLE) {
        Some(m) if m > 0 => format!("Sessions end after {m} minutes without activity."),
        _ => "Sessions never time out (inactivity timeout 0).".into(),
    };
    render::ok(&Page {
        l: Layout::new(shared, ctx, Menu::Users, "Active sessions"),
        sessions,
        timeout,
    })
}

pub(crate) fn terminate(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let mut own = false;
    for h in ctx
        .form
        .iter()
        .filter(|(k, _)| k == "session")
        .map(|(_, v)| v.as_str())
    {
        if let Some(s) = shared.sessions.terminate(h) {
            own |= s.handle == ctx.session.handle;
            if let Some(hook) = &shared.on_session_end {
                hook(
                    &s.user,
                    &s.source.to_string(),
                    &format!("terminated by {}", ctx.who.user),
                );
            }
            if !own {
                ctx.session.flash(
                    false,
                    format!("Ended the session of {} from {}.", s.user, s.source),
                );
            }
        }
    }
    if own {
        return render::redirect_for(ctx.htmx, "/login");
    }
    render::redirect("/users/sessions")
}
