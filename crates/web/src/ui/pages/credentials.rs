//! Configuration > Authentication > Local authentication database: the names and passwords
//! registering devices authenticate with. They live beside the tree, not in it, so this page
//! uses the commands that manage them; passwords are never shown.

use super::{arg, exec, reason};
use crate::ui::catalog::Menu;
use crate::ui::layout::Layout;
use crate::ui::session::Flash;
use crate::ui::status::compare;
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use http::{Response, StatusCode};

#[derive(Template)]
#[template(path = "credentials.html")]
struct Page {
    l: Layout,
    names: Vec<String>,
    q: String,
    total: usize,
    name: String,
    desc: bool,
    sort_href: String,
}

pub(crate) fn page(shared: &Shared, ctx: &Ctx, error: Option<(String, String)>) -> Response<Body> {
    let engine = shared.engine.clone();
    let mut names = engine.config.credential_names();
    let total = names.len();
    let q = ctx.q("q").unwrap_or("").trim().to_string();
    let ql = q.to_lowercase();
    names.retain(|n| n.to_lowercase().contains(&ql));
    let desc = ctx.q("dir") == Some("desc");
    names.sort_by(|a, b| {
        let o = compare(a, b);
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let mut l = Layout::new(
        shared,
        ctx,
        Menu::Configuration,
        "Local authentication database",
    );
    let (status, name) = match error {
        Some((name, why)) => {
            l.flash.push(Flash {
                error: true,
                text: why,
            });
            (StatusCode::UNPROCESSABLE_ENTITY, name)
        }
        None => (StatusCode::OK, String::new()),
    };
    let mut s = form_urlencoded::Serializer::new(String::new());
    s.append_pair("dir", if desc { "asc" } else { "desc" });
    if !q.is_empty() {
        s.append_pair("q", &q);
    }
    let sort_href = format!("/credentials?{}", s.finish());
    render::page(
        status,
        &Page {
            l,
            names,
            q,
            total,
            name,
            desc,
            sort_href,
        },
    )
}

pub(crate) async fn add(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let name = ctx.f("name").unwrap_or("").trim().to_string();
    let password = ctx.f("password").unwrap_or("");
    if name.is_empty() || password.is_empty() {
        return page(
            shared,
            ctx,
            Some((name, "Give a name and a password.".into())),
        );
    }
    let line = format!(
        "xCommand CredentialAdd{}{}",
        arg("Name", &name),
        arg("Password", password)
    );
    let r = exec(shared, &ctx.who, line).await;
    if !r.ok {
        return page(shared, ctx, Some((name, reason(&r))));
    }
    ctx.session
        .flash(false, format!("Saved the credential of {name}."));
    render::redirect("/credentials")
}

pub(crate) async fn delete(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let names: Vec<String> = ctx
        .form
        .iter()
        .filter(|(k, _)| k == "name")
        .map(|(_, v)| v.clone())
        .collect();
    for n in names {
        let r = exec(
            shared,
            &ctx.who,
            format!("xCommand CredentialDelete{}", arg("Name", &n)),
        )
        .await;
        if r.ok {
            ctx.session
                .flash(false, format!("Deleted the credential of {n}."));
        } else {
            ctx.session.flash(true, reason(&r));
        }
    }
    render::redirect("/credentials")
}
