//! Maintenance > Backup and restore: make a backup and download it, restore one kept on the
//! server or uploaded from the browser.

use super::{arg, exec, reason};
use crate::ui::catalog::Menu;
use crate::ui::layout::Layout;
use crate::ui::{render, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use base64::Engine as _;
use causeway_xapi::{Field, Item, Response as XResponse};
use http::{header, Response, StatusCode};

/// A backup kept in the data directory.
struct Kept {
    name: String,
    size: String,
}

#[derive(Template)]
#[template(path = "backup.html")]
struct BackupPage {
    l: Layout,
    kept: Vec<Kept>,
    /// After a restore: what the backup held, and whether the server is restarting.
    restored: Vec<(String, String)>,
    restarting: bool,
}

fn dir(shared: &Shared) -> std::path::PathBuf {
    shared.engine.config.data_dir().join("backups")
}

/// A file name of ours: no directories, nothing hidden.
fn plain_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
}

fn kept(shared: &Shared) -> Vec<Kept> {
    let mut v: Vec<(std::time::SystemTime, Kept)> = std::fs::read_dir(dir(shared))
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let name = e.file_name().to_string_lossy().to_string();
            let meta = e.metadata().ok()?;
            (meta.is_file() && plain_name(&name)).then(|| {
                (
                    meta.modified().unwrap_or(std::time::UNIX_EPOCH),
                    Kept {
                        name,
                        size: format!("{:.1} kB", meta.len() as f64 / 1000.0),
                    },
                )
            })
        })
        .collect();
    v.sort_by_key(|e| std::cmp::Reverse(e.0));
    v.into_iter().map(|(_, k)| k).collect()
}

fn fields(r: &XResponse) -> Vec<(String, String)> {
    r.items
        .iter()
        .filter_map(|i| match i {
            Item::Result {
                ok: true, fields, ..
            } => Some(fields),
            _ => None,
        })
        .flatten()
        .map(|(k, v)| {
            let v = match v {
                Field::Str(s) | Field::Bare(s) => s.clone(),
            };
            (k.clone(), v)
        })
        .collect()
}

pub(crate) fn page(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    render::ok(&BackupPage {
        l: Layout::new(shared, ctx, Menu::Maintenance, "Backup and restore"),
        kept: kept(shared),
        restored: Vec::new(),
        restarting: false,
    })
}

/// Makes a backup and sends it to the browser.
pub(crate) async fn create(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let (pw, again) = (
        ctx.f("password").unwrap_or(""),
        ctx.f("confirm").unwrap_or(""),
    );
    if pw != again {
        ctx.session.flash(true, "the two passwords differ");
        return render::redirect("/tools/backup");
    }
    let r = exec(
        shared,
        &ctx.who,
        format!("xCommand BackupCreate{}", arg("Password", pw)),
    )
    .await;
    let file = fields(&r)
        .into_iter()
        .find(|(k, _)| k == "File")
        .map(|(_, v)| v);
    let Some(file) = file.filter(|_| r.ok) else {
        ctx.session.flash(true, reason(&r));
        return render::redirect("/tools/backup");
    };
    let path = std::path::PathBuf::from(&file);
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "backup.tar.gz.enc".into());
    match std::fs::read(&path) {
        Ok(bytes) => Response::builder()
            .status(StatusCode::OK)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .header(
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            )
            .body(Body::from(bytes))
            .unwrap_or_else(|_| render::plain(StatusCode::INTERNAL_SERVER_ERROR, "backup")),
        Err(e) => {
            ctx.session
                .flash(true, format!("the backup was made but cannot be read: {e}"));
            render::redirect("/tools/backup")
        }
    }
}

/// Restores a backup kept on the server, or one uploaded (sent base64-encoded by the page's
/// script, which reads the chosen file), which is kept first.
pub(crate) async fn restore(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if !ctx.can_write() {
        return render::read_only(shared, ctx);
    }
    let name = match (ctx.f("upload"), ctx.f("name")) {
        (Some(content), _) if !content.is_empty() => {
            let Ok(bytes) = base64::engine::general_purpose::STANDARD.decode(content.trim()) else {
                ctx.session
                    .flash(true, "the uploaded file did not arrive whole");
                return render::redirect("/tools/backup");
            };
            let stamp = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let name = format!("uploaded-{stamp}.tar.gz.enc");
            let d = dir(shared);
            if let Err(e) =
                std::fs::create_dir_all(&d).and_then(|_| std::fs::write(d.join(&name), bytes))
            {
                ctx.session
                    .flash(true, format!("the upload cannot be kept: {e}"));
                return render::redirect("/tools/backup");
            }
            name
        }
        (_, Some(name)) if plain_name(name) => name.to_string(),
        _ => {
            ctx.session.flash(true, "choose a backup to restore");
            return render::redirect("/tools/backup");
        }
    };
    let file = dir(shared).join(&name).display().to_string();
    let line = format!(
        "xCommand BackupRestore{}{}",
        arg("File", &file),
        arg("Password", ctx.f("password").unwrap_or(""))
    );
    let r = exec(shared, &ctx.who, line).await;
    if !r.ok {
        ctx.session.flash(true, format!("{name}: {}", reason(&r)));
        return render::redirect("/tools/backup");
    }
    let restored = fields(&r);
    let restarting = restored.iter().any(|(k, _)| k == "Restart");
    render::ok(&BackupPage {
        l: Layout::new(shared, ctx, Menu::Maintenance, "Backup and restore"),
        kept: Vec::new(),
        restored,
        restarting,
    })
}
