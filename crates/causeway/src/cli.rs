//! `causeway cli` and `causeway log`.

use crate::control::Client;
use crate::datadir::{try_lock, DataDir};
use crate::serve::open_logs;
use anyhow::{bail, Result};
use causeway_config::Config;
use causeway_observe::{eventlog, LogKind};
use causeway_xapi::{Engine, Principal};
use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn local_user() -> String {
    std::env::var("USER")
        .or_else(|_| std::env::var("LOGNAME"))
        .unwrap_or_else(|_| "local".into())
}

/// Where lines go: a running server, or the stored configuration.
enum Target {
    Server(Client),
    /// Holds the data directory's lock so that no server starts underneath.
    Offline {
        engine: Box<Engine>,
        _lock: crate::datadir::Lock,
    },
}

impl Target {
    fn open(dir: &Path) -> Result<Target> {
        let data = DataDir::create(dir)?;
        // A server may be starting: it holds the lock before its socket listens.
        let deadline = Instant::now() + Duration::from_secs(10);
        let lock = loop {
            if let Some(c) = Client::connect(&data.socket())? {
                return Ok(Target::Server(c));
            }
            match try_lock(&data.lock())? {
                Some(lock) => break lock,
                None if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
                None => bail!(
                    "a server holds {} but does not answer on {}",
                    data.lock().display(),
                    data.socket().display()
                ),
            }
        };
        let config = Arc::new(Config::open(&data.config_db())?);
        causeway_routing::checks::install(&config);
        let (events, configlog) = open_logs(&data)?;
        crate::serve::log_commits(&config, events, configlog);
        Ok(Target::Offline {
            engine: Box::new(Engine::offline(config)),
            _lock: lock,
        })
    }

    fn call(&mut self, line: &str, user: &str) -> Result<(bool, String)> {
        match self {
            Target::Server(c) => {
                let r = c.call(line, user)?;
                Ok((r.ok, r.text))
            }
            Target::Offline { engine, .. } => {
                let who = Principal {
                    user: user.to_string(),
                    ..Principal::local_root("cli")
                };
                let r = engine.execute(line, &who);
                Ok((r.ok, r.text))
            }
        }
    }
}

pub fn run(dir: &Path, words: &[String]) -> Result<ExitCode> {
    let mut target = Target::open(dir)?;
    let user = local_user();
    let mut all_ok = true;
    let mut out = std::io::stdout().lock();
    if !words.is_empty() {
        let (ok, text) = target.call(&words.join(" "), &user)?;
        out.write_all(text.as_bytes())?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let stdin = std::io::stdin();
    let interactive = stdin.is_terminal();
    let mut lines = stdin.lock().lines();
    loop {
        if interactive {
            write!(out, "causeway> ")?;
            out.flush()?;
        }
        let Some(line) = lines.next() else { break };
        let line = line?;
        let t = line.trim();
        if interactive && matches!(t.to_ascii_lowercase().as_str(), "exit" | "quit" | "bye") {
            break;
        }
        if t.is_empty() {
            continue;
        }
        let (ok, text) = target.call(t, &user)?;
        all_ok &= ok;
        out.write_all(text.as_bytes())?;
        out.flush()?;
    }
    Ok(if all_ok || interactive {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

pub fn log(dir: &Path, config: bool, follow: bool, grep: Option<&str>) -> Result<ExitCode> {
    let data = DataDir::create(dir)?;
    let kind = if config {
        LogKind::Config
    } else {
        LogKind::Event
    };
    let mut out = std::io::stdout().lock();
    match eventlog::read(&data.logs(), kind, grep, follow, &mut out, &|| false) {
        Ok(()) => Ok(ExitCode::SUCCESS),
        // A closed pipe (`causeway log | head`) is a normal end.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e.into()),
    }
}
