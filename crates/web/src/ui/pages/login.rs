//! Logging in and out, and changing one's own password.

use super::{arg, exec, reason};
use crate::ui::catalog::Menu;
use crate::ui::layout::{Bare, Layout};
use crate::ui::session::{NewSession, Refused};
use crate::ui::{clear_cookie, render, session_cookie, Ctx};
use crate::Shared;
use askama::Template;
use axum::body::Body;
use causeway_xapi::auth::{LoginError, Surface};
use http::{header, Method, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Instant;

/// Longest name and password a login form may carry (the tree's own limits are lower).
const MAX_FIELD: usize = 1024;

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    b: Bare,
    user: String,
    next: String,
    error: Option<String>,
}

/// Only paths on this server, so that a crafted link cannot send a user elsewhere after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains('\\') => n.into(),
        _ => "/".into(),
    }
}

fn login_page(
    shared: &Shared,
    status: StatusCode,
    user: &str,
    next: &str,
    error: Option<String>,
) -> Response<Body> {
    let snap = shared.engine.config.snapshot();
    let system = match snap.get("SystemUnit Name") {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => "causeway".into(),
    };
    render::page(
        status,
        &LoginPage {
            b: Bare::new("Log in", system),
            user: user.to_string(),
            next: next.to_string(),
            error,
        },
    )
}

fn field<'a>(form: &'a [(String, String)], name: &str) -> &'a str {
    form.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

pub(crate) async fn login(
    shared: &Shared,
    method: &Method,
    query: &[(String, String)],
    form: &[(String, String)],
    peer: SocketAddr,
) -> Response<Body> {
    let next = safe_next(
        query
            .iter()
            .chain(form)
            .find(|(k, _)| k == "next")
            .map(|(_, v)| v.as_str()),
    );
    if method != Method::POST {
        return login_page(shared, StatusCode::OK, "", &next, None);
    }
    let user = field(form, "user").trim().to_string();
    let password = field(form, "password").to_string();
    let ip = peer.ip();
    let now = Instant::now();
    if let Some(wait) = shared.throttle.wait(ip, now) {
        return login_page(
            shared,
            StatusCode::TOO_MANY_REQUESTS,
            &user,
            &next,
            Some(format!(
                "Too many failed logins from your address. Wait {} seconds, then try again.",
                wait.as_secs().max(1)
            )),
        );
    }
    if user.is_empty() || user.len() > MAX_FIELD || password.len() > MAX_FIELD {
        return login_page(
            shared,
            StatusCode::UNAUTHORIZED,
            &user,
            &next,
            Some("Enter your user name and password.".into()),
        );
    }
    let auth = shared.auth.clone();
    let source = ip.to_string();
    let (u, s) = (user.clone(), source.clone());
    let checked =
        tokio::task::spawn_blocking(move || auth.login(&u, &password, Surface::Web, &s)).await;
    let login = match checked {
        Ok(r) => r,
        Err(_) => {
            return login_page(
                shared,
                StatusCode::INTERNAL_SERVER_ERROR,
                &user,
                &next,
                Some("The login could not be checked; try again.".into()),
            )
        }
    };
    let login = match login {
        Ok(l) => l,
        Err(e) => {
            let (status, text) = match e {
                LoginError::BadCredentials => {
                    let blocked = shared.throttle.failed(ip, now);
                    let mut t = String::from("Wrong user name or password.");
                    if let Some(b) = blocked {
                        t.push_str(&format!(
                            " Too many failed logins from your address: wait {} seconds before the next try.",
                            b.as_secs()
                        ));
                    }
                    (StatusCode::UNAUTHORIZED, t)
                }
                // One message for both, so that an account's state is not told apart from its
                // rights.
                LoginError::Disabled | LoginError::NoAccess(_) | LoginError::Unauthorized => (
                    StatusCode::FORBIDDEN,
                    "This account may not use the web interface.".to_string(),
                ),
                LoginError::Unavailable(_) => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "The login could not be checked now (remote authentication is unreachable); try again later.".to_string(),
                ),
            };
            return login_page(shared, status, &user, &next, Some(text));
        }
    };
    shared.throttle.succeeded(ip);
    let snap = shared.engine.config.snapshot();
    let local = causeway_config::accounts::find(snap.stored(), &login.principal.user).is_some();
    let opened = shared.sessions.open(
        &snap,
        NewSession {
            user: &login.principal.user,
            source: ip,
            access: login.principal.access,
            must_change_password: login.must_change_password,
            local,
        },
        now,
    );
    let (cookie, session) = match opened {
        Ok(x) => x,
        Err(refused) => {
            let text = match refused {
                Refused::Total(n) => format!(
                    "The system already has the most web sessions it allows ({n}). Log out of another session, or wait for one to time out."
                ),
                Refused::User(n) => format!(
                    "This account already has the most web sessions it may have at once ({n}). Log out of another session, or wait for one to time out."
                ),
            };
            // The authenticator logged a session start; say it ended at once.
            if let Some(hook) = &shared.on_session_end {
                hook(&login.principal.user, &source, "session limit reached");
            }
            return login_page(shared, StatusCode::FORBIDDEN, &user, &next, Some(text));
        }
    };
    let target = if session.must_change_password() {
        "/password".to_string()
    } else {
        next
    };
    let mut r = render::redirect(&target);
    r.headers_mut()
        .append(header::SET_COOKIE, session_cookie(&cookie));
    r
}

pub(crate) fn logout(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    if shared.sessions.close(&ctx.session) {
        if let Some(hook) = &shared.on_session_end {
            hook(&ctx.session.user, &ctx.session.source.to_string(), "logout");
        }
    }
    let mut r = render::redirect_for(ctx.htmx, "/login");
    r.headers_mut().append(header::SET_COOKIE, clear_cookie());
    r
}

#[derive(Template)]
#[template(path = "password.html")]
struct PasswordPage {
    l: Layout,
    forced: bool,
    error: Option<String>,
}

pub(crate) fn password_page(shared: &Shared, ctx: &Ctx, error: Option<String>) -> Response<Body> {
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    render::page(
        status,
        &PasswordPage {
            l: Layout::new(shared, ctx, Menu::Users, "Change password"),
            forced: ctx.session.must_change_password(),
            error,
        },
    )
}

pub(crate) async fn password_change(shared: &Shared, ctx: &Ctx) -> Response<Body> {
    let current = ctx.f("current").unwrap_or("");
    let new = ctx.f("new").unwrap_or("");
    let confirm = ctx.f("confirm").unwrap_or("");
    if new != confirm {
        return password_page(
            shared,
            ctx,
            Some("The new password and its confirmation differ.".into()),
        );
    }
    if new.is_empty() {
        return password_page(shared, ctx, Some("Enter a new password.".into()));
    }
    let line = format!(
        "xCommand PasswordChange{}{}",
        arg("CurrentPassword", current),
        arg("NewPassword", new)
    );
    let r = exec(shared, &ctx.who, line).await;
    if !r.ok {
        return password_page(shared, ctx, Some(reason(&r)));
    }
    ctx.session.password_changed();
    ctx.session.flash(false, "Password changed.");
    render::redirect("/")
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_stays_on_this_server() {
        assert_eq!(safe_next(Some("/status/calls?x=1")), "/status/calls?x=1");
        assert_eq!(safe_next(Some("//evil.example/")), "/");
        assert_eq!(safe_next(Some("https://evil.example/")), "/");
        assert_eq!(safe_next(Some("/\\evil.example")), "/");
        assert_eq!(safe_next(None), "/");
    }
}
