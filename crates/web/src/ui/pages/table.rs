//! List pages over the tree's large tables (search rules, zones, domains, …): sort by any
//! column, filter, add, edit, delete, and switch rows on and off where a row has a switch.
//! Sorting and filtering are query parameters handled here, so they work without scripts and
//! links to a filtered list can be shared.

use super::config::{commit, field_errors, saved, submitted};
use super::{reason, run};
use crate::ui::catalog::{table_page, TablePage};
use crate::ui::form::{self, Input, Meta};
use crate::ui::layout::Layout;
use crate::ui::session::Flash;
use crate::ui::status::compare;
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_config::schema::{resolve, Resolved};
use causeway_config::Snapshot;
use http::{Response, StatusCode};
use std::collections::HashMap;
use std::sync::Arc;

/// Rows per page of a list.
const PAGE_ROWS: usize = 200;

fn fields(t: &TablePage) -> Arc<Vec<Meta>> {
    form::cached(&format!("row:{}", t.slug), || form::row_fields(t.table))
}

/// The row element that switches a row on and off, with its on and off values.
struct Switch {
    rel: String,
    on: &'static str,
    off: &'static str,
}

fn switch(fields: &[Meta]) -> Option<Switch> {
    fields.iter().find_map(|m| {
        let Input::Select { values, .. } = &m.input else {
            return None;
        };
        let has = |v: &str| values.contains(&v);
        match m.rel.as_str() {
            "State" if has("Enabled") && has("Disabled") => Some(Switch {
                rel: m.rel.clone(),
                on: "Enabled",
                off: "Disabled",
            }),
            "Enabled" if has("On") && has("Off") => Some(Switch {
                rel: m.rel.clone(),
                on: "On",
                off: "Off",
            }),
            _ => None,
        }
    })
}

/// The highest row number a table allows.
fn max_row(table: &str) -> u32 {
    let words: Vec<&str> = table.split(' ').collect();
    match resolve(&words) {
        Ok(Resolved::Subtree { node, .. }) => node.index.as_ref().map_or(0, |i| i.1),
        _ => 0,
    }
}

fn free_row(snap: &Snapshot, table: &str) -> Option<u32> {
    let used = snap.rows(table);
    (1..=max_row(table)).find(|n| used.binary_search(n).is_err())
}

pub(crate) struct Head {
    pub name: String,
    pub href: String,
    /// `▲`, `▼` or nothing.
    pub arrow: &'static str,
}

pub(crate) struct RowView {
    pub n: u32,
    pub cells: Vec<String>,
    pub edit: String,
    /// Whether the row is on, for tables with a switch.
    pub on: Option<bool>,
}

pub(crate) struct PageLink {
    pub n: usize,
    pub href: String,
    pub current: bool,
}

#[derive(Template)]
#[template(path = "table.html")]
struct ListPage {
    l: Layout,
    slug: &'static str,
    intro: &'static str,
    noun: &'static str,
    heads: Vec<Head>,
    rows: Vec<RowView>,
    q: String,
    total: usize,
    matched: usize,
    pages: Vec<PageLink>,
    has_switch: bool,
    can_add: bool,
}

fn list_href(slug: &str, q: &str, sort: &str, desc: bool, page: usize) -> String {
    let mut s = form_urlencoded::Serializer::new(String::new());
    if !q.is_empty() {
        s.append_pair("q", q);
    }
    s.append_pair("sort", sort);
    if desc {
        s.append_pair("dir", "desc");
    }
    if page > 1 {
        s.append_pair("page", &page.to_string());
    }
    format!("/table/{slug}?{}", s.finish())
}

pub(crate) fn list(shared: &Shared, ctx: &Ctx, slug: &str) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    let f = fields(t);
    let sw = switch(&f);
    let snap = &ctx.snap;
    let q = ctx.q("q").unwrap_or("").trim().to_string();
    let sort = ctx
        .q("sort")
        .filter(|s| t.columns.contains(s))
        .unwrap_or(t.sort);
    let desc = ctx.q("dir") == Some("desc");
    let page: usize = ctx
        .q("page")
        .and_then(|p| p.parse().ok())
        .filter(|p| *p >= 1)
        .unwrap_or(1);

    let all = snap.rows(t.table);
    let total = all.len();
    let words: Vec<String> = q.split_whitespace().map(str::to_lowercase).collect();
    let mut rows: Vec<(u32, Vec<String>, Option<bool>)> = all
        .into_iter()
        .map(|n| {
            let cell = |c: &str| {
                snap.configured(&format!("{} {n} {c}", t.table))
                    .unwrap_or("")
                    .to_string()
            };
            let cells: Vec<String> = t.columns.iter().map(|c| cell(c)).collect();
            let on = sw.as_ref().map(|s| cell(&s.rel) == s.on);
            (n, cells, on)
        })
        .filter(|(_, cells, _)| {
            let text = cells.join("\u{1f}").to_lowercase();
            words.iter().all(|w| text.contains(w.as_str()))
        })
        .collect();
    let col = t.columns.iter().position(|c| *c == sort).unwrap_or(0);
    rows.sort_by(|a, b| {
        let o = compare(&a.1[col], &b.1[col]).then(a.0.cmp(&b.0));
        if desc {
            o.reverse()
        } else {
            o
        }
    });
    let matched = rows.len();
    let page_count = matched.div_ceil(PAGE_ROWS).max(1);
    let page = page.min(page_count);
    let rows: Vec<RowView> = rows
        .into_iter()
        .skip((page - 1) * PAGE_ROWS)
        .take(PAGE_ROWS)
        .map(|(n, cells, on)| RowView {
            edit: format!("/table/{slug}/{n}"),
            n,
            cells,
            on,
        })
        .collect();
    let heads = t
        .columns
        .iter()
        .map(|c| {
            let this = *c == sort;
            Head {
                name: c.to_string(),
                href: list_href(slug, &q, c, this && !desc, 1),
                arrow: match (this, desc) {
                    (false, _) => "",
                    (true, false) => "▲",
                    (true, true) => "▼",
                },
            }
        })
        .collect();
    let pages = if page_count > 1 {
        (1..=page_count)
            .map(|n| PageLink {
                n,
                href: list_href(slug, &q, sort, desc, n),
                current: n == page,
            })
            .collect()
    } else {
        Vec::new()
    };
    render::ok(&ListPage {
        l: Layout::new(shared, ctx, t.menu, t.title),
        slug: t.slug,
        intro: t.intro,
        noun: t.noun,
        heads,
        rows,
        q,
        total,
        matched,
        pages,
        has_switch: sw.is_some(),
        can_add: ctx.can_write() && free_row(snap, t.table).is_some(),
    })
}

/// The fields of a row that apply: with a variant (a zone's Type), the sub-groups of the other
/// variants are left out; before a variant is chosen, all of them are.
fn applicable(
    t: &TablePage,
    fields: &[Meta],
    snap: &Snapshot,
    prefix: &str,
    sub: Option<&HashMap<String, String>>,
) -> Vec<Meta> {
    let Some(variant) = t.variant else {
        return fields.to_vec();
    };
    let variants: Vec<&str> = fields
        .iter()
        .find(|m| m.rel == variant)
        .and_then(|m| match &m.input {
            Input::Select { values, .. } => Some(values.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let path = format!("{prefix}{variant}");
    let chosen = sub
        .and_then(|s| s.get(&path).map(String::as_str))
        .or_else(|| snap.configured(&path))
        .unwrap_or("")
        .to_string();
    fields
        .iter()
        .filter(|m| {
            let first = m.rel.split(' ').next().unwrap_or("");
            !variants.contains(&first)
                || (first.eq_ignore_ascii_case(&chosen) && m.rel.contains(' '))
        })
        .cloned()
        .collect()
}

fn row_title(t: &TablePage, snap: &Snapshot, row: Option<u32>) -> String {
    match row {
        None => format!("New {}", t.noun),
        Some(n) => {
            let name = ["Name", "Pattern String", "Key", "Tag"]
                .iter()
                .find_map(|c| {
                    snap.configured(&format!("{} {n} {c}", t.table))
                        .filter(|v| !v.is_empty())
                });
            match name {
                Some(v) => format!("{} {v}", capitalise(t.noun)),
                None => format!("{} {n}", capitalise(t.noun)),
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

#[allow(clippy::too_many_arguments)]
fn render_row(
    shared: &Shared,
    ctx: &Ctx,
    t: &'static TablePage,
    row: Option<u32>,
    number: u32,
    sub: Option<&HashMap<String, String>>,
    errors: &HashMap<String, String>,
    general: Option<String>,
) -> Response<Body> {
    let prefix = format!("{} {number} ", t.table);
    let all = fields(t);
    let mut f = applicable(t, &all, &ctx.snap, &prefix, sub);
    // The list's columns come first, in the list's order: they are what a row is about.
    f.sort_by_key(|m| {
        t.columns
            .iter()
            .position(|c| *c == m.rel)
            .unwrap_or(t.columns.len())
    });
    let sections = form::view(&f, &prefix, &ctx.snap, sub, errors);
    let mut l = Layout::new(shared, ctx, t.menu, row_title(t, &ctx.snap, row));
    if let Some(g) = general {
        l.flash.push(Flash {
            error: true,
            text: g,
        });
    }
    let status = if sub.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    let (action, submit, extra) = match row {
        None => (
            format!("/table/{}/new", t.slug),
            "Add",
            Some(number.to_string()),
        ),
        Some(n) => (format!("/table/{}/{n}", t.slug), "Save", None),
    };
    let intro = if row.is_none() && t.variant.is_some() {
        "Choose the type and the common settings first; the settings of the type appear once it is added."
    } else {
        t.intro
    };
    render::page(
        status,
        &super::config::Page {
            l,
            intro,
            action,
            sections,
            submit,
            back: Some(format!("/table/{}", t.slug)),
            extra,
            delete: row.map(|n| format!("/table/{}/{n}/delete", t.slug)),
            status: Vec::new(),
        },
    )
}

pub(crate) fn row_page(shared: &Shared, ctx: &Ctx, slug: &str, row: Option<u32>) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    let number = match row {
        Some(n) if ctx.snap.rows(t.table).contains(&n) => n,
        Some(_) => return render::not_found(shared, ctx),
        None if !ctx.can_write() => return render::read_only(shared, ctx),
        None => match free_row(&ctx.snap, t.table) {
            Some(n) => n,
            None => {
                ctx.session.flash(
                    true,
                    format!("The table is full: no {} can be added.", t.noun),
                );
                return render::redirect(&format!("/table/{slug}"));
            }
        },
    };
    render_row(shared, ctx, t, row, number, None, &HashMap::new(), None)
}

/// Renames the fields of a form made for row `from` to row `to`.
fn renumber(
    sub: HashMap<String, String>,
    table: &str,
    from: u32,
    to: u32,
) -> HashMap<String, String> {
    if from == to {
        return sub;
    }
    let old = format!("{table} {from} ");
    let new = format!("{table} {to} ");
    sub.into_iter()
        .map(|(k, v)| match k.strip_prefix(&old) {
            Some(rest) => (format!("{new}{rest}"), v),
            None => (k, v),
        })
        .collect()
}

pub(crate) async fn add(shared: &Shared, ctx: &Ctx, slug: &str) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    // The form was drawn for the row that was free then; another administrator may have taken
    // it since, so the row is chosen again under the lock and the fields renamed to it.
    let _guard = shared.add_row.lock().await;
    let snap = shared.engine.config.snapshot();
    let drawn: u32 = ctx.f("row").and_then(|r| r.parse().ok()).unwrap_or(0);
    let Some(row) = free_row(&snap, t.table) else {
        ctx.session.flash(
            true,
            format!("The table is full: no {} can be added.", t.noun),
        );
        return render::redirect(&format!("/table/{slug}"));
    };
    let sub = renumber(submitted(ctx), t.table, drawn, row);
    let prefix = format!("{} {row} ", t.table);
    let all = fields(t);
    let f = applicable(t, &all, &snap, &prefix, Some(&sub));
    let sets = form::changes(&f, &prefix, &snap, &sub);
    if sets.is_empty() {
        return render_row(
            shared,
            ctx,
            t,
            None,
            row,
            Some(&sub),
            &HashMap::new(),
            Some(format!("Fill in the {} before adding it.", t.noun)),
        );
    }
    let r = commit(shared, ctx, sets).await;
    if r.ok {
        saved(shared, ctx, &format!("Added {} {row}.", t.noun));
        let to = if t.variant.is_some() {
            format!("/table/{slug}/{row}")
        } else {
            format!("/table/{slug}")
        };
        return render::redirect(&to);
    }
    let (errors, why) = field_errors(&r);
    let general = if f
        .iter()
        .any(|m| errors.contains_key(&format!("{prefix}{}", m.rel)))
    {
        format!(
            "The {} was not added: correct the field marked below.",
            t.noun
        )
    } else {
        why
    };
    render_row(
        shared,
        ctx,
        t,
        None,
        row,
        Some(&sub),
        &errors,
        Some(general),
    )
}

pub(crate) async fn save(shared: &Shared, ctx: &Ctx, slug: &str, row: u32) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    if !ctx.snap.rows(t.table).contains(&row) {
        return render::not_found(shared, ctx);
    }
    let sub = submitted(ctx);
    let prefix = format!("{} {row} ", t.table);
    let all = fields(t);
    let f = applicable(t, &all, &ctx.snap, &prefix, Some(&sub));
    let sets = form::changes(&f, &prefix, &ctx.snap, &sub);
    if sets.is_empty() {
        ctx.session.flash(false, "Nothing changed.");
        return render::redirect(&format!("/table/{slug}/{row}"));
    }
    let r = commit(shared, ctx, sets).await;
    if r.ok {
        saved(shared, ctx, "Saved.");
        return render::redirect(&format!("/table/{slug}/{row}"));
    }
    let (errors, why) = field_errors(&r);
    let general = if f
        .iter()
        .any(|m| errors.contains_key(&format!("{prefix}{}", m.rel)))
    {
        "Nothing was saved: correct the field marked below and save again.".to_string()
    } else {
        why
    };
    render_row(
        shared,
        ctx,
        t,
        Some(row),
        row,
        Some(&sub),
        &errors,
        Some(general),
    )
}

async fn delete_rows(shared: &Shared, ctx: &Ctx, t: &TablePage, rows: &[u32]) {
    for &row in rows {
        let title = row_title(t, &shared.engine.config.snapshot(), Some(row));
        let path = format!("{} {row}", t.table);
        let who = ctx.who.clone();
        let r = run(shared, move |e| e.delete_row(&path, &who)).await;
        if r.ok {
            ctx.session.flash(false, format!("Deleted {title}."));
        } else {
            ctx.session
                .flash(true, format!("{title} was not deleted: {}", reason(&r)));
        }
    }
}

pub(crate) async fn delete(shared: &Shared, ctx: &Ctx, slug: &str, row: u32) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    delete_rows(shared, ctx, t, &[row]).await;
    render::redirect(&format!("/table/{slug}"))
}

pub(crate) async fn delete_selected(shared: &Shared, ctx: &Ctx, slug: &str) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let rows: Vec<u32> = ctx
        .form
        .iter()
        .filter(|(k, _)| k == "row")
        .filter_map(|(_, v)| v.parse().ok())
        .collect();
    if rows.is_empty() {
        ctx.session.flash(true, "Select the rows to delete first.");
    }
    delete_rows(shared, ctx, t, &rows).await;
    let back = ctx
        .f("back")
        .filter(|b| b.starts_with("/table/"))
        .unwrap_or("");
    if back.is_empty() {
        render::redirect(&format!("/table/{slug}"))
    } else {
        render::redirect(back)
    }
}

pub(crate) async fn toggle(shared: &Shared, ctx: &Ctx, slug: &str, row: u32) -> Response<Body> {
    let Some(t) = table_page(slug) else {
        return render::not_found(shared, ctx);
    };
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let Some(sw) = switch(&fields(t)) else {
        return render::not_found(shared, ctx);
    };
    let path = format!("{} {row} {}", t.table, sw.rel);
    let now_on = ctx.snap.configured(&path) == Some(sw.on);
    let value = if now_on { sw.off } else { sw.on };
    let r = commit(shared, ctx, vec![(path, Some(value.to_string()))]).await;
    let title = row_title(t, &ctx.snap, Some(row));
    if r.ok {
        ctx.session.flash(
            false,
            format!("{title} {}.", if now_on { "disabled" } else { "enabled" }),
        );
    } else {
        ctx.session.flash(true, reason(&r));
    }
    let back = ctx
        .f("back")
        .filter(|b| b.starts_with("/table/"))
        .unwrap_or("");
    if back.is_empty() {
        render::redirect(&format!("/table/{slug}"))
    } else {
        render::redirect(back)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::catalog::TABLE_PAGES;

    #[test]
    fn switches_are_found_where_rows_have_them() {
        let by = |slug: &str| switch(&fields(table_page(slug).unwrap())).map(|s| s.rel);
        assert_eq!(by("search-rules").as_deref(), Some("State"));
        assert_eq!(by("accounts").as_deref(), Some("Enabled"));
        assert_eq!(by("domains"), None);
        for t in TABLE_PAGES {
            assert!(max_row(t.table) > 10, "{}", t.slug);
        }
    }

    #[test]
    fn a_zone_shows_the_settings_of_its_type_only() {
        let t = table_page("zones").unwrap();
        let all = fields(t);
        let mut v = causeway_config::Values::new();
        v.insert("Zones Zone 1 Name".into(), "z".into());
        v.insert("Zones Zone 1 Type".into(), "Neighbor".into());
        let snap = Snapshot::from_values(v);
        let f = applicable(t, &all, &snap, "Zones Zone 1 ", None);
        assert!(f.iter().any(|m| m.rel.starts_with("Neighbor ")));
        assert!(!f.iter().any(|m| m.rel.starts_with("DNS ")));
        assert!(f.iter().any(|m| m.rel == "Type"));
        let f = applicable(t, &all, &snap, "Zones Zone 2 ", None);
        assert!(!f.iter().any(|m| m.rel.starts_with("Neighbor ")));
    }

    #[test]
    fn renumbering_moves_only_the_rows_fields() {
        let mut m = HashMap::new();
        m.insert("Transform 3 Priority".to_string(), "1".to_string());
        m.insert("csrf".to_string(), "x".to_string());
        let r = renumber(m, "Transform", 3, 4);
        assert_eq!(r["Transform 4 Priority"], "1");
        assert!(r.contains_key("csrf"));
    }
}
