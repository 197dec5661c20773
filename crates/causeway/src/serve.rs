//! `causeway serve`: the server process.

use crate::accounts;
use crate::control::{Reply, Request};
use crate::datadir::{try_lock, write_private, DataDir};
use anyhow::{bail, Context, Result};
use causeway_config::{CommitRecord, Config, Snapshot};
use causeway_observe::{Alarms, EventLog, LogKind};
use causeway_xapi::auth::{Authenticator, LocalAccounts, Logins};
use causeway_xapi::system::{AlarmStatus, ResourceUsage, SystemUnit};
use causeway_xapi::{Engine, Field, Principal, Selector, Services};
use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixListener;
use tokio::sync::mpsc;

/// The alarm raised while restart-only settings wait for a restart: the reference's
/// "Restart required" after a configuration change.
const RESTART_ALARM: u32 = 20007;

pub fn open_logs(data: &DataDir) -> Result<(Arc<EventLog>, Arc<EventLog>)> {
    let events = Arc::new(EventLog::open(&data.logs(), LogKind::Event)?);
    let config = Arc::new(EventLog::open(&data.logs(), LogKind::Config)?);
    Ok((events, config))
}

fn apply_log_settings(snap: &Snapshot, logs: &[&EventLog]) {
    let level = snap.int("Log Level").unwrap_or(1) as u8;
    let host = snap.get("SystemUnit Name").unwrap_or("");
    for l in logs {
        l.set_level(level);
        l.set_host(host);
    }
}

/// Writes every commit to the configuration log (each change, level 1) and the event log.
pub fn log_commits(config: &Config, events: Arc<EventLog>, configlog: Arc<EventLog>) {
    let snap = config.snapshot();
    apply_log_settings(&snap, &[&events, &configlog]);
    config.on_commit(move |r: &CommitRecord| {
        for c in &r.changes {
            let show = |v: &Option<String>| match (c.secret, v) {
                (_, None) => "(default)".to_string(),
                (true, Some(_)) => "***".to_string(),
                (false, Some(v)) => format!("\"{v}\""),
            };
            let detail = format!(
                "{} changed from {} to {}",
                c.path,
                show(&c.old),
                show(&c.new)
            );
            let rev = r.revision.to_string();
            let fields = [
                ("Detail", detail.as_str()),
                ("User", r.origin.user.as_str()),
                ("Src", r.origin.source.as_str()),
                ("Revision", rev.as_str()),
            ];
            configlog.event(1, "tvcs", "System Configuration Changed", &fields);
            events.event(1, "tvcs", "System Configuration Changed", &fields);
        }
    });
}

struct Restarter {
    tx: mpsc::UnboundedSender<String>,
    sip: Arc<causeway_core::sip::state::Shared>,
    h323: Arc<causeway_core::h323::state::Shared>,
    turn: Arc<causeway_core::turn::Shared>,
    events: Arc<EventLog>,
}

impl Services for Restarter {
    fn restart(&self, reason: &str) -> Result<(), String> {
        self.tx
            .send(reason.to_string())
            .map_err(|_| "the server is already stopping".to_string())
    }

    fn remove_registration(&self, which: &Selector) -> Result<Vec<(String, Field)>, String> {
        let Some(b) = self.sip.remove_registration(which) else {
            let r = self
                .h323
                .remove_registration(which)
                .ok_or_else(|| "no such registration".to_string())?;
            let name = r.aliases.first().map_or("", |a| a.text()).to_string();
            return Ok(vec![
                ("Name".into(), Field::str(name)),
                ("SerialNumber".into(), Field::str(r.serial_text())),
            ]);
        };
        self.events.event(
            1,
            "tvcs",
            "Registration Removed",
            &[
                ("AOR", &b.aor),
                ("Contact", &b.contact),
                ("Reason", "Operator forced removal"),
            ],
        );
        Ok(vec![
            ("Name".into(), Field::str(b.aor)),
            ("SerialNumber".into(), Field::str(b.serial.to_string())),
        ])
    }

    fn settle(&self, revision: u64) {
        self.sip.settle(revision);
        self.h323.settle(revision);
        self.turn.settle(revision);
    }

    fn find_registration(&self, alias: &str) -> Result<Vec<(String, Field)>, String> {
        let mut v = self.sip.find(alias);
        let now = Instant::now();
        for r in self.h323.holders(alias) {
            v.extend(causeway_core::h323::state::registration_fields(&r, now));
        }
        Ok(v)
    }

    fn locate(
        &self,
        request: &causeway_xapi::LocateRequest,
    ) -> Result<Vec<(String, Field)>, String> {
        if !request.protocol.eq_ignore_ascii_case("H323") {
            return self.sip.locate(request);
        }
        if self.h323.gatekeeper.lock().unwrap().is_none() {
            return Err("H.323 is off (H323 Mode)".into());
        }
        // The xAPI runs on a blocking thread of the runtime, so it may wait for the search.
        let (found, detail, trace) =
            tokio::runtime::Handle::current().block_on(self.h323.locate_search(request));
        let mut out = vec![
            ("Alias".into(), Field::str(request.alias.clone())),
            (
                "Found".into(),
                Field::bare(if found { "True" } else { "False" }),
            ),
            ("Detail".into(), Field::str(detail)),
        ];
        for (i, line) in trace.into_iter().enumerate() {
            out.push((format!("Trace {}", i + 1), Field::str(line)));
        }
        Ok(out)
    }

    fn disconnect_call(&self, which: &Selector) -> Result<Vec<(String, Field)>, String> {
        // An H.323 call is cleared by its own task, which ends it in the table.
        if let Some(c) = self.sip.call(which).filter(|c| c.protocol == "H323") {
            if !self.h323.disconnect(&c.call_id, "Operator disconnect") {
                return Err("the call is ending already".into());
            }
            self.events
                .event(1, "tvcs", "Operator Call Disconnect", &[]);
            return Ok(vec![
                ("Call".into(), Field::bare(c.number)),
                ("SerialNumber".into(), Field::str(c.serial.to_string())),
            ]);
        }
        let r = self.sip.disconnect(which)?;
        self.events
            .event(1, "tvcs", "Operator Call Disconnect", &[]);
        Ok(r)
    }
}

fn sync_restart_alarm(alarms: &Alarms, snap: &Snapshot) {
    if snap.pending_restart.is_empty() {
        alarms.lower(RESTART_ALARM);
    } else {
        alarms.raise(
            RESTART_ALARM,
            &format!("waiting for a restart: {}", snap.pending_restart.join(", ")),
        );
    }
}

/// Where HTTPS listens.
#[derive(Debug, Clone, Copy)]
pub enum HttpsAt {
    /// This address, on the port `Management Interface Port` gives (and follows).
    Configured(std::net::IpAddr),
    /// This address and port, whatever the configuration says.
    Fixed(SocketAddr),
}

/// Listening addresses the reference has no setting for.
#[derive(Debug, Clone, Copy)]
pub struct Listeners {
    /// HTTPS (web interface and REST API); `None` for none.
    pub https: Option<HttpsAt>,
    /// The plain-HTTP listener that sends browsers on to HTTPS; `None` for none.
    pub http: Option<SocketAddr>,
    /// The SSH command line; `None` for none.
    pub ssh: Option<SocketAddr>,
}

pub fn run(dir: &Path, listeners: Listeners) -> Result<ExitCode> {
    let data = DataDir::create(dir)?;
    let Some(lock) = wait_lock(&data)? else {
        bail!("another causeway process is using {}", dir.display());
    };
    let first_start = !data.config_db().exists();
    let config = Arc::new(Config::open(&data.config_db())?);
    causeway_routing::checks::install(&config);
    let (events, configlog) = open_logs(&data)?;
    if let Some(password) = accounts::ensure_admin(&config)? {
        write_private(&data.initial_password(), &format!("{password}\n"))?;
        tell!("causeway: created account \"admin\" with password {password}");
        tell!(
            "causeway: the password is also in {} (owner-only); change it after logging in",
            data.initial_password().display()
        );
    }
    log_commits(&config, events.clone(), configlog.clone());
    events.event(
        1,
        "tvcs",
        "System Start",
        &[(
            "Detail",
            if first_start {
                "first start with the factory configuration"
            } else {
                "started"
            },
        )],
    );
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let restart = rt.block_on(serve(&data, config, events.clone(), configlog, listeners))?;
    // A blocking task still running (a slow directory lookup, say) must not hold the process
    // open after the signal.
    rt.shutdown_timeout(Duration::from_secs(3));
    drop(lock);
    match restart {
        None => {
            events.event(1, "tvcs", "System Shutdown", &[]);
            say!("causeway: stopped");
            Ok(ExitCode::SUCCESS)
        }
        Some(reason) => {
            events.event(
                1,
                "tvcs",
                "Restart Requested",
                &[("Reason", reason.as_str())],
            );
            say!("causeway: restarting ({reason})");
            reexec()
        }
    }
}

/// Waits a little for the lock: an offline `causeway cli` may hold it for a moment.
fn wait_lock(data: &DataDir) -> Result<Option<crate::datadir::Lock>> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(l) = try_lock(&data.lock())? {
            return Ok(Some(l));
        }
        if Instant::now() > deadline {
            return Ok(None);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn reexec() -> Result<ExitCode> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe()?;
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let err = std::process::Command::new(exe).args(args).exec();
    Err(err).context("re-executing for restart")
}

/// Runs until a signal (returns `None`) or a restart request (returns its reason).
async fn serve(
    data: &DataDir,
    config: Arc<Config>,
    events: Arc<EventLog>,
    configlog: Arc<EventLog>,
    listeners: Listeners,
) -> Result<Option<String>> {
    let alarms = Arc::new(Alarms::new(Some(events.clone())));
    sync_restart_alarm(&alarms, &config.snapshot());
    let (restart_tx, mut restart_rx) = mpsc::unbounded_channel();
    // SIP bindings and H.323 registrations are numbered in one sequence.
    let numbers = Arc::new(causeway_registrar::Numbers::default());
    let sip = Arc::new(causeway_core::sip::state::Shared {
        registrar: std::sync::Mutex::new(causeway_registrar::Registrar::with_numbers(
            numbers.clone(),
        )),
        ..Default::default()
    });
    if let Some(sink) = crate::cdrs::start(&data.root, config.clone(), events.clone()) {
        sip.calls.lock().unwrap().set_on_end(sink);
    }
    let h323 = Arc::new(causeway_core::h323::state::Shared::new(
        numbers.clone(),
        sip.searches.clone(),
        sip.policy_services.clone(),
        sip.reg_history.clone(),
    ));
    let turn = Arc::new(causeway_core::turn::Shared::default());
    let mut engine = Engine::new(
        config.clone(),
        alarms.clone(),
        Arc::new(Restarter {
            tx: restart_tx,
            sip: sip.clone(),
            h323: h323.clone(),
            turn: turn.clone(),
            events: events.clone(),
        }),
    );
    engine.add_status(Arc::new(causeway_core::turn::TurnStatus(turn.clone())));
    engine.add_status(Arc::new(causeway_core::sip::state::RegistrationStatus {
        sip: sip.clone(),
        h323: h323.clone(),
    }));
    engine.add_status(Arc::new(causeway_core::sip::state::CallStatus(sip.clone())));
    engine.add_status(Arc::new(
        causeway_core::search_history::SearchHistoryStatus(sip.clone()),
    ));
    engine.add_status(Arc::new(causeway_core::sip::state::PolicyStatus(
        sip.clone(),
    )));
    engine.add_status(Arc::new(causeway_core::sip::monitor::ZoneStatus(
        sip.clone(),
    )));
    let identity = causeway_core::tls::Identity::in_dir(&data.root.join("tls"));
    let names: Vec<String> = ["SystemUnit Name", "IP DNS Hostname"]
        .iter()
        .filter_map(|p| config.snapshot().get(p).map(str::to_owned))
        .filter(|n| !n.is_empty())
        .collect();
    let tls = match identity
        .ensure(&names)
        .and_then(|_| identity.server_config())
    {
        Ok(c) => Some(c),
        Err(e) => {
            say!("causeway: TLS identity unusable, SIP TLS stays off: {e:#}");
            None
        }
    };
    let client_tls = match identity.client_tls() {
        Ok(c) => Some(c),
        Err(e) => {
            say!("causeway: TLS trust store unusable, no outgoing TLS: {e:#}");
            None
        }
    };
    let web_tls = tls.clone();
    let verifying_tls = client_tls.as_ref().map(|c| c.verifying());
    let sip_task = causeway_core::sip::Service::spawn(
        config.clone(),
        sip.clone(),
        events.clone(),
        tls,
        client_tls.clone(),
    );
    let h323_task = causeway_core::h323::Service::spawn(
        config.clone(),
        h323.clone(),
        sip.calls.clone(),
        events.clone(),
    );
    let turn_task = causeway_core::turn::spawn(
        config.clone(),
        turn.clone(),
        events.clone(),
        Some(alarms.clone()),
    );
    engine.add_status(Arc::new(SystemUnit {
        started: Instant::now(),
        config: config.clone(),
    }));
    let counters = {
        let (numbers, calls) = (numbers.clone(), sip.calls.clone());
        Box::new(move || {
            let (reg, reg_peak) = numbers.usage();
            let (active, peak) = calls.lock().unwrap().usage();
            (
                (u64::from(reg), u64::from(reg_peak)),
                (active as u64, peak as u64),
            )
        })
    };
    engine.add_status(Arc::new(ResourceUsage {
        data_dir: data.root.clone(),
        counters: Some(counters),
    }));
    engine.add_status(Arc::new(AlarmStatus {
        alarms: alarms.clone(),
    }));
    let directory = Arc::new(crate::directory::Ldap {
        config: config.clone(),
        tls: client_tls.clone(),
        health: Arc::default(),
    });
    engine.add_status(directory.health.clone());
    let directory_monitor = crate::directory::monitor(
        directory.clone(),
        alarms.clone(),
        client_tls.as_ref().is_none_or(|c| c.trusts_nobody()),
    );
    let engine = Arc::new(engine);
    let auth: Arc<dyn Authenticator> = Arc::new(crate::logins::Logged {
        inner: Arc::new(Logins {
            local: LocalAccounts {
                config: config.clone(),
            },
            directory: directory.clone(),
        }),
        events: events.clone(),
        configlog: configlog.clone(),
    });
    // Logged-in SSH connections, counted by the SSH server and shown by the web overview.
    let ssh_sessions = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let web_task = match (web_tls, listeners.https) {
        (_, None) => None,
        (Some(tls), Some(at)) => Some(tokio::spawn(crate::management::run_web(
            engine.clone(),
            auth.clone(),
            tls,
            at,
            listeners.http,
            (data.logs(), events.clone(), configlog.clone()),
            ssh_sessions.clone(),
        ))),
        (None, Some(_)) => {
            say!("causeway: no TLS identity, so no web interface or REST API");
            None
        }
    };

    // The SSH command line. Its host key lives in the data directory, so it survives restarts
    // and travels with the node's other keys.
    let ssh = match listeners.ssh {
        None => None,
        Some(listen) => {
            let opts = causeway_ssh::Options {
                listen,
                host_key: data.root.join("ssh_host_ed25519_key"),
                sessions: ssh_sessions.clone(),
            };
            match causeway_ssh::serve(engine.clone(), auth.clone(), opts).await {
                Ok(r) => {
                    say!("causeway: SSH command line on {}", r.local_addr());
                    Some(r)
                }
                Err(e) => {
                    say!("causeway: SSH command line not started: {e:#}");
                    None
                }
            }
        }
    };

    // Remote syslog: the forwarder follows Remote Syslog [1..4]; TLS servers are checked
    // against the node's trust store.
    let syslog = causeway_syslog::Forwarder::start(verifying_tls.clone());
    // `Crlcheck: On` servers check the server's own certificate against the revocation lists.
    syslog.set_tls(
        verifying_tls.clone(),
        client_tls
            .as_ref()
            .and_then(|c| c.checking(causeway_core::tls::CrlCheck::Peer).ok()),
    );
    syslog.set_targets(crate::remote_log::targets(&config.snapshot()));
    crate::remote_log::attach(&syslog, &[&events, &configlog]);

    // Subsystems follow the configuration through change events.
    let mut changes = config.subscribe();
    let watcher = {
        let alarms = alarms.clone();
        let (events, configlog) = (events.clone(), configlog.clone());
        let syslog = syslog.clone();
        tokio::spawn(async move {
            loop {
                match changes.recv().await {
                    Ok(ev) => {
                        apply_log_settings(&ev.snapshot, &[&events, &configlog]);
                        sync_restart_alarm(&alarms, &ev.snapshot);
                        syslog.set_targets(crate::remote_log::targets(&ev.snapshot));
                    }
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
                    Err(_) => break,
                }
            }
        })
    };

    // Both signal streams exist before the control socket does: a test (or an init system)
    // that sees the socket may signal at once, and a stream made later, or made afresh on
    // each turn of the loop below, would not see a signal that came before it.
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;

    let socket = data.socket();
    let _ = std::fs::remove_file(&socket);
    let listener = UnixListener::bind(&socket)
        .with_context(|| format!("listening on {}", socket.display()))?;
    std::fs::set_permissions(&socket, std::fs::Permissions::from_mode(0o600))?;
    say!("causeway: serving {}", data.root.display());

    let marker = {
        let events = events.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                events.mark_if_idle(Duration::from_secs(3600));
            }
        })
    };

    let outcome = loop {
        tokio::select! {
            _ = term.recv() => break None,
            _ = int.recv() => break None,
            reason = restart_rx.recv() => break reason,
            conn = listener.accept() => {
                match conn {
                    Ok((stream, _)) => { tokio::spawn(control_session(stream, engine.clone())); }
                    Err(e) => say!("causeway: control socket: {e}"),
                }
            }
        }
    };
    watcher.abort();
    marker.abort();
    directory_monitor.abort();
    sip_task.abort();
    h323_task.abort();
    turn_task.abort();
    if let Some(t) = web_task {
        t.abort();
    }
    if let Some(s) = ssh {
        s.shutdown().await;
    }
    let _ = std::fs::remove_file(&socket);
    if outcome.is_some() {
        // Let the session that asked for the restart receive its answer.
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(outcome)
}

async fn control_session(stream: tokio::net::UnixStream, engine: Arc<Engine>) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let reply = match serde_json::from_str::<Request>(&line) {
            Ok(req) => {
                let engine = engine.clone();
                let who = Principal {
                    user: req.user.clone(),
                    ..Principal::local_root("control-socket")
                };
                // The store is synchronous (SQLite): keep it off the async workers.
                match tokio::task::spawn_blocking(move || engine.execute(&req.line, &who)).await {
                    Ok(r) => Reply {
                        ok: r.ok,
                        text: r.text,
                    },
                    Err(e) => Reply {
                        ok: false,
                        text: format!("*r Result (status=Error):\n    Reason: \"internal error: {e}\"\n*r/end\n"),
                    },
                }
            }
            Err(e) => Reply {
                ok: false,
                text: format!("*r Result (status=Error):\n    Reason: \"malformed control request: {e}\"\n*r/end\n"),
            },
        };
        let mut out = serde_json::to_string(&reply).unwrap_or_default();
        out.push('\n');
        if w.write_all(out.as_bytes()).await.is_err() {
            break;
        }
    }
}
