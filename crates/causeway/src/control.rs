//! The control socket: a Unix stream socket in the data directory, owner-only, carrying one JSON
//! object per line each way. Whoever can open it owns the node, as the data directory's owner
//! does anyway.

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::io::{BufRead, BufReader, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

#[derive(Serialize, Deserialize)]
pub struct Request {
    pub line: String,
    /// The local user name of the caller, for the configuration log.
    pub user: String,
}

#[derive(Serialize, Deserialize)]
pub struct Reply {
    pub ok: bool,
    pub text: String,
}

/// A connection to a running server.
pub struct Client {
    reader: BufReader<UnixStream>,
    writer: UnixStream,
}

impl Client {
    /// Connects when a server listens on the socket; `Ok(None)` when none does.
    pub fn connect(socket: &Path) -> Result<Option<Client>> {
        match UnixStream::connect(socket) {
            Ok(s) => {
                let writer = s.try_clone()?;
                Ok(Some(Client {
                    reader: BufReader::new(s),
                    writer,
                }))
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::NotFound | std::io::ErrorKind::ConnectionRefused
                ) =>
            {
                Ok(None)
            }
            Err(e) => Err(e).with_context(|| format!("connecting to {}", socket.display())),
        }
    }

    pub fn call(&mut self, line: &str, user: &str) -> Result<Reply> {
        let mut req = serde_json::to_string(&Request {
            line: line.to_string(),
            user: user.to_string(),
        })?;
        req.push('\n');
        self.writer.write_all(req.as_bytes())?;
        let mut buf = String::new();
        if self.reader.read_line(&mut buf)? == 0 {
            anyhow::bail!("the server closed the control connection");
        }
        Ok(serde_json::from_str(&buf)?)
    }
}
