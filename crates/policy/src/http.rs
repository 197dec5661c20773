//! One HTTP exchange with a policy server, following redirects.
//!
//! Every exchange opens its own connection and asks the server to close it afterwards:
//! policy requests are spread thin enough that a pool would mostly hold idle sockets, and a
//! fresh connection per request makes failover and certificate checks straightforward.

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONNECTION, CONTENT_TYPE, HOST, LOCATION, USER_AGENT};
use hyper::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
use tokio::net::TcpStream;
use url::{Host, Position, Url};

use crate::config::Protocol;

/// Longest answer read from a server. CPL snippets are small; this only stops a
/// misbehaving server from filling memory.
pub(crate) const MAX_BODY: usize = 1 << 20;

/// Redirect hops followed before giving up.
pub(crate) const MAX_REDIRECTS: usize = 5;

const USER_AGENT_VALUE: &str = concat!("causeway-policy/", env!("CARGO_PKG_VERSION"));

/// The URL of `path` on one configured server.
pub(crate) fn server_url(protocol: Protocol, server: &str, path: &str) -> Result<Url, String> {
    let server = server.trim();
    // The address must be an authority alone; URL parsing would otherwise read a stray `/`
    // or `@` as the start of a path or credentials and quietly pick some other host.
    if server.is_empty()
        || server
            .chars()
            .any(|c| matches!(c, '/' | '?' | '#' | '@' | '\\') || c.is_whitespace())
    {
        return Err(format!("bad server address {server:?}"));
    }
    let path = path.trim().trim_start_matches('/');
    let text = format!("{}://{server}/{path}", protocol.scheme());
    let url = Url::parse(&text).map_err(|e| format!("bad address {text}: {e}"))?;
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("bad server address {server:?}"));
    }
    Ok(url)
}

/// Where a response sends us next, if it is a redirect.
///
/// The same method and body are sent again whatever the redirect code: the redirects a
/// policy server is expected to give are "use HTTPS instead", and re-sending as GET without
/// the parameters (what browsers do for 301/302) would ask the service nothing. Moving from
/// HTTPS to HTTP is refused so a redirect cannot strip the encryption.
pub(crate) fn redirect_target(
    current: &Url,
    status: StatusCode,
    location: Option<&str>,
) -> Result<Option<Url>, String> {
    if !matches!(status.as_u16(), 301 | 302 | 303 | 307 | 308) {
        return Ok(None);
    }
    let location = location.ok_or_else(|| format!("HTTP {status} without a Location"))?;
    let next = current
        .join(location.trim())
        .map_err(|e| format!("HTTP {status} to a bad Location {location:?}: {e}"))?;
    match (current.scheme(), next.scheme()) {
        (_, "https") | ("http", "http") => Ok(Some(next)),
        ("https", "http") => Err(format!("refused redirect from HTTPS to {next}")),
        _ => Err(format!("refused redirect to {next}")),
    }
}

/// What a request needs besides the URL.
pub(crate) struct Outgoing<'a> {
    pub method: Method,
    /// Form-encoded parameters for a POST.
    pub body: Option<&'a str>,
    pub username: &'a str,
    pub password: &'a str,
}

pub(crate) struct Answer {
    pub status: StatusCode,
    pub body: Bytes,
}

/// Sends the request and follows redirects; the timeout is the caller's business.
pub(crate) async fn fetch(
    tls: &Arc<ClientConfig>,
    url: Url,
    out: &Outgoing<'_>,
) -> Result<Answer, String> {
    let first_host = url.host_str().map(str::to_ascii_lowercase);
    let mut url = url;
    for _ in 0..=MAX_REDIRECTS {
        // Credentials go only to the host they were configured for, whatever its port or
        // scheme, so a redirect elsewhere cannot collect them.
        let same_host = url.host_str().map(str::to_ascii_lowercase) == first_host;
        let auth =
            (same_host && !out.username.is_empty()).then(|| basic_auth(out.username, out.password));
        let (status, location, body) = exchange(tls, &url, out, auth.as_deref()).await?;
        match redirect_target(&url, status, location.as_deref())? {
            Some(next) => url = next,
            None => return Ok(Answer { status, body }),
        }
    }
    Err(format!("more than {MAX_REDIRECTS} redirects"))
}

fn basic_auth(user: &str, password: &str) -> String {
    let raw = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(raw)
    )
}

fn build_request(
    url: &Url,
    out: &Outgoing<'_>,
    auth: Option<&str>,
) -> Result<Request<Full<Bytes>>, String> {
    let host = url.host_str().unwrap_or_default();
    let host_header = match url.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.to_string(),
    };
    let target = &url[Position::BeforePath..Position::AfterQuery];
    let mut req = Request::builder()
        .method(out.method.clone())
        .uri(target)
        .header(HOST, host_header)
        .header(USER_AGENT, USER_AGENT_VALUE)
        .header(CONNECTION, "close");
    if let Some(auth) = auth {
        req = req.header(AUTHORIZATION, auth);
    }
    let body = match out.body {
        Some(form) => {
            req = req.header(CONTENT_TYPE, "application/x-www-form-urlencoded");
            Bytes::copy_from_slice(form.as_bytes())
        }
        None => Bytes::new(),
    };
    req.body(Full::new(body))
        .map_err(|e| format!("cannot build a request for {url}: {e}"))
}

async fn exchange(
    tls: &Arc<ClientConfig>,
    url: &Url,
    out: &Outgoing<'_>,
    auth: Option<&str>,
) -> Result<(StatusCode, Option<String>, Bytes), String> {
    let host = match url.host() {
        Some(Host::Domain(d)) => d.to_string(),
        Some(Host::Ipv4(ip)) => ip.to_string(),
        Some(Host::Ipv6(ip)) => ip.to_string(),
        None => return Err(format!("{url} has no host")),
    };
    let port = url
        .port_or_known_default()
        .ok_or_else(|| format!("{url} has no port"))?;
    let req = build_request(url, out, auth)?;
    let tcp = TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| format!("cannot connect to {host}:{port}: {e}"))?;
    // Requests are single small writes; waiting to coalesce them only adds latency.
    let _ = tcp.set_nodelay(true);
    match url.scheme() {
        "https" => {
            let name = ServerName::try_from(host.clone())
                .map_err(|e| format!("{host} is not a TLS server name: {e}"))?;
            let stream = tokio_rustls::TlsConnector::from(tls.clone())
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS with {host}:{port} failed: {e}"))?;
            send(TokioIo::new(stream), req).await
        }
        "http" => send(TokioIo::new(tcp), req).await,
        other => Err(format!("unsupported scheme {other}")),
    }
}

async fn send<T>(
    io: T,
    req: Request<Full<Bytes>>,
) -> Result<(StatusCode, Option<String>, Bytes), String>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| format!("HTTP handshake failed: {e}"))?;
    let work = async move {
        let resp = sender
            .send_request(req)
            .await
            .map_err(|e| format!("request failed: {e}"))?;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| format!("reading the answer failed: {e}"))?
            .to_bytes();
        let location = parts
            .headers
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        Ok::<_, String>((parts.status, location, body))
    };
    // The connection future moves the bytes, so it is driven alongside the exchange. It may
    // finish first (the server closed after the last byte); the exchange then still has the
    // buffered answer to collect, or reports the failure itself.
    tokio::pin!(conn, work);
    let mut conn_done = false;
    loop {
        tokio::select! {
            r = &mut work => return r,
            _ = &mut conn, if !conn_done => conn_done = true,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_join_address_and_path() {
        let u = server_url(Protocol::Https, "policy.example.com", "/svc/run").unwrap();
        assert_eq!(u.as_str(), "https://policy.example.com/svc/run");
        let u = server_url(Protocol::Http, "10.0.0.1:8080", "status").unwrap();
        assert_eq!(u.as_str(), "http://10.0.0.1:8080/status");
        let u = server_url(Protocol::Http, "[2001:db8::1]:81", "").unwrap();
        assert_eq!(u.as_str(), "http://[2001:db8::1]:81/");
        assert!(server_url(Protocol::Http, "", "x").is_err());
        assert!(server_url(Protocol::Http, "user@host", "x").is_err());
        assert!(server_url(Protocol::Http, "host:notaport", "x").is_err());
    }

    #[test]
    fn redirects_upgrade_but_never_downgrade() {
        let http = Url::parse("http://a.example.com/svc").unwrap();
        let https = Url::parse("https://a.example.com/svc").unwrap();
        let moved = StatusCode::MOVED_PERMANENTLY;

        let next = redirect_target(&http, moved, Some("https://a.example.com:8443/svc")).unwrap();
        assert_eq!(next.unwrap().as_str(), "https://a.example.com:8443/svc");
        let next = redirect_target(&https, StatusCode::TEMPORARY_REDIRECT, Some("/other"));
        assert_eq!(
            next.unwrap().unwrap().as_str(),
            "https://a.example.com/other"
        );
        assert!(redirect_target(&https, moved, Some("http://a.example.com/svc")).is_err());
        assert!(redirect_target(&http, moved, Some("ftp://a.example.com/")).is_err());
        assert!(redirect_target(&http, moved, None).is_err());
        assert!(redirect_target(&http, StatusCode::OK, None)
            .unwrap()
            .is_none());
        assert!(redirect_target(&http, StatusCode::NOT_MODIFIED, None)
            .unwrap()
            .is_none());
    }

    #[test]
    fn requests_carry_host_auth_and_form_type() {
        let url = Url::parse("http://a.example.com:8080/svc?x=1").unwrap();
        let out = Outgoing {
            method: Method::POST,
            body: Some("A=1"),
            username: "u",
            password: "p",
        };
        let req = build_request(&url, &out, Some(&basic_auth("u", "p"))).unwrap();
        assert_eq!(req.uri(), "/svc?x=1");
        assert_eq!(req.headers()[HOST], "a.example.com:8080");
        assert_eq!(req.headers()[AUTHORIZATION], "Basic dTpw");
        assert_eq!(
            req.headers()[CONTENT_TYPE],
            "application/x-www-form-urlencoded"
        );
    }
}
