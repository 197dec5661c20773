//! Asking a policy service, failing over between its servers, and watching their health.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::Poll;
use std::time::{Duration, SystemTime};

use hyper::Method;
use rustls::ClientConfig;
use rustls_pki_types::{CertificateDer, CertificateRevocationListDer};
use tokio::task::JoinHandle;

use crate::config::{HttpMethod, ServiceConfig};
use crate::http::{self, Outgoing};
use crate::params::Params;
use crate::tls;

/// Health of one server as last seen by a status check or a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Not asked yet.
    Unknown,
    Active,
    Failed,
}

/// What the status page and alarms show for one server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStatus {
    /// The address as configured (`host[:port]`).
    pub address: String,
    pub state: ServerState,
    /// Why the last check or request failed; cleared by the next success.
    pub last_error: Option<String>,
}

/// The outcome of [`PolicyService::query`]. There is always CPL to run: the service's when a
/// server answered, otherwise the configured Default CPL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub cpl: String,
    /// The configured address of the server that answered.
    pub server: Option<String>,
    pub default_used: bool,
    /// Why the Default CPL was used: every server's failure, in the order they were tried.
    pub error: Option<String>,
}

/// A connection to one external policy service.
///
/// Cheap to share behind an [`Arc`]; requests may run concurrently. A configuration change
/// means building a new service (and a new status poller).
///
/// Servers are used for resiliency, not to spread load: every request goes to the first
/// server in configuration order that is not known to have failed. Servers that failed their
/// last status check or request are still tried, after the others, before falling back to
/// the Default CPL; a stale verdict then costs one more attempt instead of rejecting calls.
pub struct PolicyService {
    config: ServiceConfig,
    timeout: Duration,
    extra_roots: Vec<CertificateDer<'static>>,
    crls: Vec<CertificateRevocationListDer<'static>>,
    tls: Arc<ClientConfig>,
    servers: Mutex<Vec<ServerStatus>>,
    last_used: Mutex<Option<SystemTime>>,
}

impl std::fmt::Debug for PolicyService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyService")
            .field("config", &self.config)
            .field("timeout", &self.timeout)
            .field("servers", &self.status())
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The data are plain values that stay consistent whatever panicked while holding them.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The order in which to try servers: those not known to have failed, in configuration
/// order, then the failed ones, in configuration order.
pub fn attempt_order(states: &[ServerState]) -> Vec<usize> {
    let healthy = (0..states.len()).filter(|&i| states[i] != ServerState::Failed);
    let failed = (0..states.len()).filter(|&i| states[i] == ServerState::Failed);
    healthy.chain(failed).collect()
}

impl PolicyService {
    /// The guide's fixed per-attempt timeout.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
    /// How often the guide polls each server's status path.
    pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(60);

    /// Trusts the platform's root certificates; see [`with_root_certificates`](Self::with_root_certificates)
    /// for more.
    pub fn new(config: ServiceConfig) -> PolicyService {
        let tls = tls::client_config(config.tls_verify, &[], &[]);
        let servers = config
            .servers
            .iter()
            .map(|a| ServerStatus {
                address: a.clone(),
                state: ServerState::Unknown,
                last_error: None,
            })
            .collect();
        PolicyService {
            config,
            timeout: Self::DEFAULT_TIMEOUT,
            extra_roots: Vec::new(),
            crls: Vec::new(),
            tls,
            servers: Mutex::new(servers),
            last_used: Mutex::new(None),
        }
    }

    /// Limits each attempt on one server (connect, TLS, request, redirects and answer).
    pub fn with_timeout(mut self, timeout: Duration) -> PolicyService {
        self.timeout = timeout;
        self
    }

    /// Adds CAs to trust besides the platform's, such as the ones loaded as trusted CA
    /// certificates.
    pub fn with_root_certificates(
        mut self,
        roots: impl IntoIterator<Item = CertificateDer<'static>>,
    ) -> PolicyService {
        self.extra_roots.extend(roots);
        self.rebuild_tls();
        self
    }

    /// Revocation lists to check server certificates against when the service's CRL check
    /// is on. Certificates from a CA with no list here are not refused for that.
    pub fn with_crls(
        mut self,
        crls: impl IntoIterator<Item = CertificateRevocationListDer<'static>>,
    ) -> PolicyService {
        self.crls.extend(crls);
        self.rebuild_tls();
        self
    }

    fn rebuild_tls(&mut self) {
        let crls: &[_] = if self.config.crl_check {
            &self.crls
        } else {
            &[]
        };
        self.tls = tls::client_config(self.config.tls_verify, &self.extra_roots, crls);
    }

    pub fn config(&self) -> &ServiceConfig {
        &self.config
    }

    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Each configured server and what is known of its health.
    pub fn status(&self) -> Vec<ServerStatus> {
        lock(&self.servers).clone()
    }

    /// When [`query`](Self::query) was last called.
    pub fn last_used(&self) -> Option<SystemTime> {
        *lock(&self.last_used)
    }

    fn mark(&self, index: usize, result: Result<(), String>) {
        if let Some(s) = lock(&self.servers).get_mut(index) {
            match result {
                Ok(()) => {
                    s.state = ServerState::Active;
                    s.last_error = None;
                }
                Err(e) => {
                    s.state = ServerState::Failed;
                    s.last_error = Some(e);
                }
            }
        }
    }

    /// Asks the service about one call, search or registration.
    ///
    /// Parameters go as a form body (POST) or query string (GET) to
    /// `{protocol}://{server}/{path}`. The first `200 OK` with a non-empty body wins and its
    /// body is returned as CPL, whatever its content type. Anything else from a server
    /// (another status, an empty body, a timeout, a refused connection or certificate) marks
    /// it failed and moves on to the next.
    pub async fn query(&self, params: &Params) -> Reply {
        *lock(&self.last_used) = Some(SystemTime::now());
        let states: Vec<ServerState> = lock(&self.servers).iter().map(|s| s.state).collect();
        let form = params.to_form();
        let mut errors = Vec::new();
        for index in attempt_order(&states) {
            let address = self.config.servers[index].clone();
            match self.ask(&address, &form).await {
                Ok(cpl) => {
                    self.mark(index, Ok(()));
                    return Reply {
                        cpl,
                        server: Some(address),
                        default_used: false,
                        error: None,
                    };
                }
                Err(e) => {
                    errors.push(format!("{address}: {e}"));
                    self.mark(index, Err(e));
                }
            }
        }
        if errors.is_empty() {
            errors.push("no server address is configured".to_string());
        }
        Reply {
            cpl: self.config.default_cpl.clone(),
            server: None,
            default_used: true,
            error: Some(errors.join("; ")),
        }
    }

    async fn ask(&self, address: &str, form: &str) -> Result<String, String> {
        let mut url = http::server_url(self.config.protocol, address, &self.config.path)?;
        let (method, body) = match self.config.method {
            HttpMethod::Post => (Method::POST, Some(form)),
            HttpMethod::Get => {
                if !form.is_empty() {
                    let query = match url.query() {
                        Some(q) if !q.is_empty() => format!("{q}&{form}"),
                        _ => form.to_string(),
                    };
                    url.set_query(Some(&query));
                }
                (Method::GET, None)
            }
        };
        let out = Outgoing {
            method,
            body,
            username: &self.config.username,
            password: &self.config.password,
        };
        let answer = self.timed(http::fetch(&self.tls, url, &out)).await?;
        if answer.status != hyper::StatusCode::OK {
            return Err(format!("answered HTTP {}", answer.status));
        }
        let cpl = String::from_utf8(answer.body.to_vec())
            .map_err(|_| "answered with a body that is not UTF-8".to_string())?;
        if cpl.trim().is_empty() {
            return Err("answered 200 OK with no CPL".to_string());
        }
        Ok(cpl)
    }

    async fn timed<T>(&self, f: impl Future<Output = Result<T, String>>) -> Result<T, String> {
        match tokio::time::timeout(self.timeout, f).await {
            Ok(r) => r,
            Err(_) => Err(format!("no answer within {:?}", self.timeout)),
        }
    }

    async fn check_one(&self, index: usize) {
        let address = self.config.servers[index].clone();
        let result = async {
            let url = http::server_url(self.config.protocol, &address, &self.config.status_path)?;
            let out = Outgoing {
                method: Method::GET,
                body: None,
                username: &self.config.username,
                password: &self.config.password,
            };
            let answer = self.timed(http::fetch(&self.tls, url, &out)).await?;
            if answer.status.is_success() {
                Ok(())
            } else {
                Err(format!("status check answered HTTP {}", answer.status))
            }
        }
        .await;
        self.mark(index, result);
    }

    /// Checks every server's status path once, all at the same time, and records the
    /// verdicts. Any 2xx answer counts as active.
    pub async fn check_status(&self) {
        let checks = (0..self.config.servers.len())
            .map(|i| self.check_one(i))
            .collect();
        join_all(checks).await;
    }

    /// Checks the servers now and then every `every` until the task is aborted or the
    /// service is dropped. Needs a Tokio runtime.
    pub fn spawn_status_poller(self: &Arc<Self>, every: Duration) -> JoinHandle<()> {
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                // Holding only a weak reference between rounds lets the service go away
                // without anyone having to stop the poller.
                let Some(service) = weak.upgrade() else {
                    return;
                };
                service.check_status().await;
            }
        })
    }
}

/// Runs futures of one type to completion together.
async fn join_all<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut futures: Vec<Pin<Box<F>>> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = futures.iter().map(|_| None).collect();
    poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in futures.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    Poll::Ready(v) => *out = Some(v),
                    Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            Poll::Pending
        } else {
            Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServerState::*;

    #[test]
    fn failed_servers_go_last_and_order_is_otherwise_kept() {
        assert_eq!(attempt_order(&[Unknown, Active, Unknown]), [0, 1, 2]);
        assert_eq!(attempt_order(&[Failed, Active, Unknown]), [1, 2, 0]);
        assert_eq!(attempt_order(&[Failed, Failed, Active]), [2, 0, 1]);
        assert_eq!(attempt_order(&[Failed, Failed]), [0, 1]);
        assert!(attempt_order(&[]).is_empty());
    }

    #[tokio::test]
    async fn no_servers_means_default_cpl() {
        let svc = PolicyService::new(ServiceConfig::default());
        let reply = svc.query(&Params::new()).await;
        assert!(reply.default_used);
        assert_eq!(reply.cpl, crate::config::POLICY_SERVICE_DEFAULT_CPL);
        assert_eq!(reply.server, None);
        assert!(reply.error.unwrap().contains("no server"));
        assert!(svc.last_used().is_some());
    }
}
