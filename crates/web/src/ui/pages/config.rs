//! Configuration pages, generated from the tree: every element of the page's subtrees with its
//! input and help. A save commits every changed field in one commit, all or nothing; a refused
//! commit shows the form again as it was sent, with the message next to the field it is about.

use super::{reason, run};
use crate::ui::catalog::config_page;
use crate::ui::form::{self, Meta, SectionView};
use crate::ui::layout::Layout;
use crate::ui::session::Flash;
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_xapi::{Field, Item, Response as XResponse};
use http::{Response, StatusCode};
use std::collections::HashMap;

/// A form page: a configuration page, or a table row's page (see `table`).
#[derive(Template)]
#[template(path = "config.html")]
pub(crate) struct Page {
    pub l: Layout,
    pub intro: &'static str,
    pub action: String,
    pub sections: Vec<SectionView>,
    /// Text for the save button.
    pub submit: &'static str,
    /// Where "cancel" leads, if anywhere.
    pub back: Option<String>,
    pub extra: Option<String>,
    pub delete: Option<String>,
    /// (label, value) of the status shown under the form: the directory's connection on the
    /// LDAP page.
    pub status: Vec<(String, String)>,
}

/// The fields a refused commit names, each with the reason; and the reason itself.
pub(crate) fn field_errors(r: &XResponse) -> (HashMap<String, String>, String) {
    let why = reason(r);
    let mut at = HashMap::new();
    for i in &r.items {
        if let Item::Result {
            ok: false, fields, ..
        } = i
        {
            for (k, v) in fields {
                if k == "Path" {
                    let p = match v {
                        Field::Str(s) | Field::Bare(s) => s.clone(),
                    };
                    at.insert(p, why.clone());
                }
            }
        }
    }
    (at, why)
}

/// The submitted form as one value per field (the first, should a name repeat).
pub(crate) fn submitted(ctx: &Ctx) -> HashMap<String, String> {
    let mut m = HashMap::new();
    for (k, v) in &ctx.form {
        m.entry(k.clone()).or_insert_with(|| v.clone());
    }
    m
}

/// Commits `sets` as the session's principal.
pub(crate) async fn commit(
    shared: &Shared,
    ctx: &Ctx,
    sets: Vec<(String, Option<String>)>,
) -> XResponse {
    let who = ctx.who.clone();
    run(shared, move |e| e.configure(&sets, &who)).await
}

/// What the information bar says after a good commit.
pub(crate) fn saved(shared: &Shared, ctx: &Ctx, what: &str) {
    ctx.session.flash(false, what.to_string());
    let snap = shared.engine.config.snapshot();
    if !snap.pending_restart.is_empty() {
        ctx.session.flash(
            false,
            format!(
                "Restart required: {} take effect after a restart.",
                snap.pending_restart.join(", ")
            ),
        );
    }
}

fn fields_of(
    slug: &str,
) -> Option<(
    &'static crate::ui::catalog::ConfigPage,
    std::sync::Arc<Vec<Meta>>,
)> {
    let p = config_page(slug)?;
    let f = form::cached(&format!("page:{slug}"), || {
        form::page_fields(p.roots, p.skip)
    });
    Some((p, f))
}

fn render_page(
    shared: &Shared,
    ctx: &Ctx,
    slug: &str,
    sub: Option<&HashMap<String, String>>,
    errors: &HashMap<String, String>,
    general: Option<String>,
) -> Response<Body> {
    let Some((p, fields)) = fields_of(slug) else {
        return render::not_found(shared, ctx);
    };
    let sections = form::view(&fields, "", &ctx.snap, sub, errors);
    let mut l = Layout::new(shared, ctx, p.menu, p.title);
    if let Some(g) = general {
        l.flash.push(Flash {
            error: true,
            text: g,
        });
    }
    let status = if errors.is_empty() && sub.is_none() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    render::page(
        status,
        &Page {
            l,
            intro: p.intro,
            action: format!("/config/{slug}"),
            sections,
            submit: "Save",
            back: None,
            extra: None,
            delete: None,
            status: page_status_rows(shared, ctx, slug),
        },
    )
}

/// The page's status leaves, read as the session's principal. Times (Unix seconds in the
/// status) are shown as local time.
fn page_status_rows(shared: &Shared, ctx: &Ctx, slug: &str) -> Vec<(String, String)> {
    let Some((group, prefix)) = crate::ui::catalog::page_status(slug) else {
        return Vec::new();
    };
    let r = shared.engine.execute(&format!("xStatus {group}"), &ctx.who);
    crate::ui::status::leaves(&r, group)
        .into_iter()
        .filter_map(|(k, v)| {
            let k = k.strip_prefix(prefix)?.to_string();
            let v = match (k.ends_with("Checked"), v.parse::<u64>()) {
                (true, Ok(secs)) => chrono::DateTime::<chrono::Local>::from(
                    std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
                )
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
                _ => v,
            };
            Some((k, v))
        })
        .collect()
}

pub(crate) fn page(shared: &Shared, ctx: &Ctx, slug: &str) -> Response<Body> {
    render_page(shared, ctx, slug, None, &HashMap::new(), None)
}

pub(crate) async fn save(shared: &Shared, ctx: &Ctx, slug: &str) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let Some((_, fields)) = fields_of(slug) else {
        return render::not_found(shared, ctx);
    };
    let sub = submitted(ctx);
    let sets = form::changes(&fields, "", &ctx.snap, &sub);
    if sets.is_empty() {
        ctx.session.flash(false, "Nothing changed.");
        return render::redirect(&format!("/config/{slug}"));
    }
    let r = commit(shared, ctx, sets).await;
    if r.ok {
        saved(shared, ctx, "Saved.");
        return render::redirect(&format!("/config/{slug}"));
    }
    let (errors, why) = field_errors(&r);
    let on_page = fields.iter().any(|m| errors.contains_key(m.rel.as_str()));
    let general = (!on_page).then(|| why.clone()).or_else(|| {
        Some("Nothing was saved: correct the field marked below and save again.".into())
    });
    render_page(shared, ctx, slug, Some(&sub), &errors, general)
}
