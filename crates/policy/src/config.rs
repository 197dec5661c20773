//! What a policy service connection is made of, read from the configuration tree.

use std::fmt;

/// Scheme used to reach the policy servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Http,
    Https,
}

impl Protocol {
    pub fn scheme(self) -> &'static str {
        match self {
            Protocol::Http => "http",
            Protocol::Https => "https",
        }
    }
}

/// How the request parameters travel: a form body or a query string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpMethod {
    Post,
    Get,
}

/// One policy service: up to three interchangeable servers and how to talk to them.
///
/// The same shape serves call policy (`Policy AdministratorPolicy Service`), the named
/// services that search rules target (`Policy Services Service [1..20]`) and registration
/// policy (`Registration RestrictionPolicy Service`). Only the search-rule services have an
/// `HTTPMethod` element; the other two always POST.
#[derive(Clone, PartialEq, Eq)]
pub struct ServiceConfig {
    pub protocol: Protocol,
    pub method: HttpMethod,
    /// `host[:port]` entries in the order they are tried. The guide allows three; blank
    /// entries are dropped when read from configuration.
    pub servers: Vec<String>,
    /// Where the service lives on each server, without the leading `/` (one is tolerated).
    pub path: String,
    /// Where each server reports whether it is fit to answer.
    pub status_path: String,
    /// Basic-auth user; no `Authorization` header is sent when this is empty.
    pub username: String,
    pub password: String,
    /// Check the server certificate's chain and name (HTTPS only).
    pub tls_verify: bool,
    /// Check the server certificate against the revocation lists handed to
    /// [`PolicyService::with_crls`](crate::PolicyService::with_crls). With none handed over
    /// there is nothing to check against and the setting has no effect; this crate does not
    /// fetch CRLs itself.
    pub crl_check: bool,
    /// What the caller should run when no server gave an answer.
    pub default_cpl: String,
}

/// The guide's Default CPL for call policy.
pub const CALL_POLICY_DEFAULT_CPL: &str = "<reject status='403' reason='Service Unavailable'/>";
/// The configuration reference's Default CPL for search-rule and registration services.
pub const POLICY_SERVICE_DEFAULT_CPL: &str =
    "<reject status='504' reason='Policy Service Unavailable'/>";

/// How many `Server [n] Address` elements a service has.
pub const MAX_SERVERS: usize = 3;

impl ServiceConfig {
    /// Reads a service from configuration.
    ///
    /// `prefix` is the element path up to and including `Service` and its index, e.g.
    /// `"Policy AdministratorPolicy Service"`, `"Policy Services Service 3"` or
    /// `"Registration RestrictionPolicy Service"`. `get` answers with the stored value, or the
    /// default, of a full element path such as `"Policy Services Service 3 Server 2 Address"`.
    /// Elements `get` knows nothing about fall back to the configuration reference's defaults,
    /// so a sparse lookup still yields a usable service.
    pub fn from_config(get: impl Fn(&str) -> Option<String>, prefix: &str) -> ServiceConfig {
        let prefix = prefix.trim_end();
        let field = |name: &str| get(&format!("{prefix} {name}"));
        let on_off = |name: &str, default: bool| match field(name) {
            Some(v) => v.trim().eq_ignore_ascii_case("on"),
            None => default,
        };

        let protocol = match field("Protocol") {
            Some(v) if v.trim().eq_ignore_ascii_case("http") => Protocol::Http,
            _ => Protocol::Https,
        };
        let method = match field("HTTPMethod") {
            Some(v) if v.trim().eq_ignore_ascii_case("get") => HttpMethod::Get,
            _ => HttpMethod::Post,
        };
        let servers = (1..=MAX_SERVERS)
            .filter_map(|n| field(&format!("Server {n} Address")))
            .map(|s| s.trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let default_cpl = field("DefaultCPL").unwrap_or_else(|| {
            if prefix.starts_with("Policy AdministratorPolicy") {
                CALL_POLICY_DEFAULT_CPL.to_string()
            } else {
                POLICY_SERVICE_DEFAULT_CPL.to_string()
            }
        });

        ServiceConfig {
            protocol,
            method,
            servers,
            path: field("Path").unwrap_or_default(),
            status_path: field("Status Path").unwrap_or_else(|| "status".to_string()),
            username: field("UserName").unwrap_or_default(),
            password: field("Password").unwrap_or_default(),
            tls_verify: on_off("TLS Verify Mode", true),
            crl_check: on_off("TLS CRLCheck Mode", false),
            default_cpl,
        }
    }
}

impl Default for ServiceConfig {
    /// The configuration reference's defaults for a search-rule service with no servers.
    fn default() -> Self {
        ServiceConfig::from_config(|_| None, "Policy Services Service 1")
    }
}

// The password stays out of logs and panics.
impl fmt::Debug for ServiceConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServiceConfig")
            .field("protocol", &self.protocol)
            .field("method", &self.method)
            .field("servers", &self.servers)
            .field("path", &self.path)
            .field("status_path", &self.status_path)
            .field("username", &self.username)
            .field(
                "password",
                &if self.password.is_empty() { "" } else { "***" },
            )
            .field("tls_verify", &self.tls_verify)
            .field("crl_check", &self.crl_check)
            .field("default_cpl", &self.default_cpl)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn reads_every_element_of_an_indexed_service() {
        let get = lookup(&[
            ("Policy Services Service 3 Protocol", "HTTP"),
            ("Policy Services Service 3 HTTPMethod", "GET"),
            (
                "Policy Services Service 3 Server 1 Address",
                "a.example.com",
            ),
            ("Policy Services Service 3 Server 2 Address", "  "),
            (
                "Policy Services Service 3 Server 3 Address",
                "10.0.0.3:8080",
            ),
            ("Policy Services Service 3 Path", "policy/run"),
            ("Policy Services Service 3 Status Path", "health"),
            ("Policy Services Service 3 UserName", "svc"),
            ("Policy Services Service 3 Password", "pw"),
            ("Policy Services Service 3 TLS Verify Mode", "Off"),
            ("Policy Services Service 3 TLS CRLCheck Mode", "On"),
            (
                "Policy Services Service 3 DefaultCPL",
                "<reject status='480'/>",
            ),
        ]);
        let c = ServiceConfig::from_config(get, "Policy Services Service 3");
        assert_eq!(c.protocol, Protocol::Http);
        assert_eq!(c.method, HttpMethod::Get);
        assert_eq!(c.servers, vec!["a.example.com", "10.0.0.3:8080"]);
        assert_eq!(c.path, "policy/run");
        assert_eq!(c.status_path, "health");
        assert_eq!((c.username.as_str(), c.password.as_str()), ("svc", "pw"));
        assert!(!c.tls_verify);
        assert!(c.crl_check);
        assert_eq!(c.default_cpl, "<reject status='480'/>");
        assert!(!format!("{c:?}").contains("pw\""));
    }

    #[test]
    fn missing_elements_take_the_reference_defaults() {
        let c = ServiceConfig::from_config(|_| None, "Policy AdministratorPolicy Service");
        assert_eq!(c.protocol, Protocol::Https);
        assert_eq!(c.method, HttpMethod::Post);
        assert!(c.servers.is_empty());
        assert_eq!(c.status_path, "status");
        assert!(c.tls_verify);
        assert!(!c.crl_check);
        assert_eq!(c.default_cpl, CALL_POLICY_DEFAULT_CPL);

        let r = ServiceConfig::from_config(|_| None, "Registration RestrictionPolicy Service");
        assert_eq!(r.default_cpl, POLICY_SERVICE_DEFAULT_CPL);
    }
}
