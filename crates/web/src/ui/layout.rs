//! What every page shows around its content: the menus, the path to the page, the alarm
//! indicator, the information bar, and the footer with the user and the system.

use super::catalog::{items, Menu};
use super::session::Flash;
use super::{assets, Ctx};
use crate::Shared;
use causeway_observe::AlarmState;
use causeway_xapi::Access;

pub(crate) struct MenuLink {
    pub title: &'static str,
    pub href: String,
    pub active: bool,
}

pub(crate) struct MenuView {
    pub name: &'static str,
    /// Where the menu's name leads: its first page.
    pub href: String,
    pub active: bool,
    pub links: Vec<MenuLink>,
}

pub(crate) struct Layout {
    pub title: String,
    pub menu_name: &'static str,
    pub menu_href: String,
    pub menus: Vec<MenuView>,
    /// The links of the current menu, for the side bar.
    pub side: Vec<MenuLink>,
    pub user: String,
    pub level: &'static str,
    pub system: String,
    pub version: &'static str,
    pub time: String,
    pub csrf: String,
    /// Raised alarms nobody has acknowledged yet.
    pub alarms_new: usize,
    pub flash: Vec<Flash>,
    pub can_write: bool,
    pub css: &'static str,
    pub htmx: &'static str,
    pub js: &'static str,
}

pub(crate) fn level_name(a: Access) -> &'static str {
    match a {
        Access::ReadWrite => "read-write",
        Access::ReadOnly => "read-only",
        Access::Auditor => "auditor",
    }
}

pub(crate) fn new_alarms(shared: &Shared) -> usize {
    shared
        .engine
        .alarms
        .list()
        .iter()
        .filter(|a| a.state == AlarmState::New)
        .count()
}

/// The system name; without one, the first LAN address (as the reference's footer does), and
/// without that the product's name.
pub(crate) fn system_name(ctx: &Ctx) -> String {
    ["SystemUnit Name", "Ethernet 1 IP V4 Address"]
        .iter()
        .filter_map(|p| ctx.snap.get(p))
        .find(|v| !v.is_empty())
        .unwrap_or("causeway")
        .to_string()
}

impl Layout {
    pub fn new(shared: &Shared, ctx: &Ctx, menu: Menu, title: impl Into<String>) -> Layout {
        let auditor = ctx.is_auditor();
        let current = ctx.path.as_str();
        let mut menus = Vec::new();
        let mut side = Vec::new();
        for m in Menu::ALL {
            let links: Vec<MenuLink> = items()
                .iter()
                .filter(|i| i.menu == m && (!auditor || i.auditor))
                .map(|i| MenuLink {
                    title: i.title,
                    href: i.href.clone(),
                    active: i.href == current,
                })
                .collect();
            let Some(first) = links.first() else {
                continue;
            };
            let href = first.href.clone();
            if m == menu {
                side = links
                    .iter()
                    .map(|l| MenuLink {
                        title: l.title,
                        href: l.href.clone(),
                        active: l.active,
                    })
                    .collect();
            }
            menus.push(MenuView {
                name: m.name(),
                href,
                active: m == menu,
                links,
            });
        }
        let menu_href = menus
            .iter()
            .find(|m| m.active)
            .map(|m| m.href.clone())
            .unwrap_or_else(|| "/".into());
        Layout {
            title: title.into(),
            menu_name: menu.name(),
            menu_href,
            menus,
            side,
            user: ctx.who.user.clone(),
            level: level_name(ctx.who.access),
            system: system_name(ctx),
            version: env!("CARGO_PKG_VERSION"),
            time: chrono::Local::now()
                .format("%Y-%m-%d %H:%M:%S %:z")
                .to_string(),
            csrf: ctx.session.csrf.clone(),
            alarms_new: new_alarms(shared),
            flash: ctx.session.take_flash(),
            can_write: ctx.can_write(),
            css: assets::css_url(),
            htmx: assets::htmx_url(),
            js: assets::js_url(),
        }
    }
}

/// The head and shell of pages shown before a login (no menus, no user).
pub(crate) struct Bare {
    pub title: String,
    pub system: String,
    pub version: &'static str,
    pub css: &'static str,
}

impl Bare {
    pub fn new(title: &str, system: String) -> Bare {
        Bare {
            title: title.to_string(),
            system,
            version: env!("CARGO_PKG_VERSION"),
            css: assets::css_url(),
        }
    }
}
