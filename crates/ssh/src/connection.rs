//! One SSH connection: who may log in, and what may be opened once they have.
//!
//! Logins go through the shared [`Authenticator`] (so the SSH surface obeys the same account
//! rules and logging as the web and the API); only `session` channels are offered, and on them
//! only exec and shell. Everything that would reach past the command line (port forwarding,
//! agent and X11 forwarding, subsystems such as sftp or netconf) is refused with a reason.

use crate::session::{self, Ctx, Input, Outbox, Refused, Sink};
use causeway_xapi::auth::{Authenticator, Login, LoginError, Surface};
use causeway_xapi::Engine;
use russh::keys::PublicKey;
use russh::server::{
    Auth, ChannelOpenHandle, Handle, Msg, PublicKeyOffer, Session, VerifiedPublicKey,
};
use russh::{Channel, ChannelId, ChannelOpenFailure, Disconnect, MethodKind, MethodSet, Pty};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use tokio::sync::oneshot;

/// Wrong passwords or keys one connection may try before it is sent away.
pub const MAX_FAILURES: u32 = 3;

/// Session channels one connection may hold open at once.
const MAX_CHANNELS: usize = 8;

/// What every connection shares.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub auth: Arc<dyn Authenticator>,
    /// Logged-in connections open now.
    pub sessions: Arc<AtomicUsize>,
}

/// The methods offered, before and after each failure: a failure leaves both open (as OpenSSH
/// does) until the limit, rather than striking the method that just failed off the list.
pub fn methods() -> MethodSet {
    MethodSet::from(&[MethodKind::PublicKey, MethodKind::Password][..])
}

fn retry() -> Auth {
    Auth::Reject {
        proceed_with_methods: Some(methods()),
        partial_success: false,
    }
}

/// A session channel.
#[derive(Default)]
struct Chan {
    pty: bool,
    /// Exec or shell has started; a second request on the same channel is refused.
    started: bool,
    /// Where the client's input goes, once a shell runs.
    input: Option<Outbox>,
}

/// The handler of one connection.
pub struct Connection {
    shared: Arc<Shared>,
    /// The peer's address, as the authenticator and the event log want it.
    source: String,
    login: Option<Login>,
    failures: u32,
    /// The connection's own handle, filled in once the protocol is running, so that the
    /// handler can hang up from inside a login check.
    handle: Arc<OnceLock<Handle>>,
    /// Tells the connection task that the login grace period is over.
    authenticated: Option<oneshot::Sender<()>>,
    channels: HashMap<ChannelId, Chan>,
    /// This connection is in [`Shared::sessions`].
    counted: bool,
}

impl Drop for Connection {
    fn drop(&mut self) {
        if self.counted {
            self.shared.sessions.fetch_sub(1, Ordering::Relaxed);
        }
    }
}

impl Connection {
    pub fn new(
        shared: Arc<Shared>,
        peer: SocketAddr,
        handle: Arc<OnceLock<Handle>>,
        authenticated: oneshot::Sender<()>,
    ) -> Connection {
        Connection {
            shared,
            source: peer.ip().to_string(),
            login: None,
            failures: 0,
            handle,
            authenticated: Some(authenticated),
            channels: HashMap::new(),
            counted: false,
        }
    }

    /// Turns the authenticator's answer into the protocol's, counting failures.
    fn decide(&mut self, result: Result<Login, LoginError>) -> Result<Auth, russh::Error> {
        match result {
            Ok(login) => {
                self.login = Some(login);
                Ok(Auth::Accept)
            }
            Err(_) => {
                self.failures += 1;
                if self.failures >= MAX_FAILURES {
                    self.hang_up()?;
                }
                Ok(retry())
            }
        }
    }

    /// Sends the client away after its last permitted failure. The failure answer goes first
    /// (after the usual delay), then the disconnect, which is what OpenSSH's client reports as
    /// "Too many authentication failures".
    fn hang_up(&self) -> Result<(), russh::Error> {
        let Some(handle) = self.handle.get().cloned() else {
            // Not running yet (cannot happen after key exchange): dropping the connection is
            // the only way left.
            return Err(russh::Error::Disconnect);
        };
        tokio::spawn(async move {
            let _ = handle
                .disconnect(
                    Disconnect::NoMoreAuthMethodsAvailable,
                    "Too many authentication failures".into(),
                    String::new(),
                )
                .await;
        });
        Ok(())
    }

    fn ctx(&self, pty: bool) -> Option<Ctx> {
        Some(Ctx {
            engine: self.shared.engine.clone(),
            login: self.login.clone()?,
            pty,
        })
    }

    /// Claims a channel for exec or shell; `None` if it is unknown or already running one.
    fn start(&mut self, channel: ChannelId) -> Option<Ctx> {
        let pty = {
            let chan = self.channels.get_mut(&channel)?;
            if chan.started {
                return None;
            }
            chan.started = true;
            chan.pty
        };
        self.ctx(pty)
    }

    /// Refuses a channel request, with a line on the channel's stderr saying why (the client
    /// shows it; the bare failure reply carries no text).
    fn refuse(
        &self,
        channel: ChannelId,
        why: &str,
        session: &mut Session,
    ) -> Result<(), russh::Error> {
        session.extended_data(channel, 1, format!("causeway: {why}\r\n").into_bytes())?;
        session.channel_failure(channel)
    }
}

/// Output of a channel task, through the connection's handle.
pub struct ChannelSink {
    handle: Handle,
    id: ChannelId,
}

impl Sink for ChannelSink {
    async fn out(&mut self, data: Vec<u8>) -> bool {
        self.handle.data(self.id, data).await.is_ok()
    }

    async fn err(&mut self, data: Vec<u8>) -> bool {
        self.handle.extended_data(self.id, 1, data).await.is_ok()
    }

    async fn finish(&mut self, status: u32) {
        let _ = self.handle.exit_status_request(self.id, status).await;
        let _ = self.handle.eof(self.id).await;
        let _ = self.handle.close(self.id).await;
    }
}

/// The forwarding refusal every non-session channel gets.
fn not_offered(what: &str) -> ChannelOpenFailure {
    ChannelOpenFailure::Other {
        code: 1, // administratively prohibited
        reason: format!("{what} is not offered: this server has only its command line"),
    }
}

impl russh::server::Handler for Connection {
    type Error = russh::Error;

    async fn auth_none(&mut self, _user: &str) -> Result<Auth, Self::Error> {
        // Clients start with "none" to learn the methods; it is not a failed attempt.
        Ok(retry())
    }

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        if self.failures >= MAX_FAILURES {
            return Ok(Auth::reject());
        }
        let auth = self.shared.auth.clone();
        let (user, password, source) =
            (user.to_string(), password.to_string(), self.source.clone());
        let result = tokio::task::spawn_blocking(move || {
            auth.login(&user, &password, Surface::Ssh, &source)
        })
        .await
        .unwrap_or(Err(LoginError::BadCredentials));
        self.decide(result)
    }

    async fn auth_publickey_offered(
        &mut self,
        _user: &str,
        _offer: PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        // Every key is worth a signature: the account check happens once, on a key the client
        // has proven it holds, so a probe neither logs a session start nor tells a stranger
        // which keys would work.
        if self.failures >= MAX_FAILURES {
            return Ok(Auth::reject());
        }
        Ok(Auth::Accept)
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        if self.failures >= MAX_FAILURES {
            return Ok(Auth::reject());
        }
        let line = match PublicKey::new(key.public_key.key_data().clone(), "").to_openssh() {
            Ok(line) => line,
            Err(_) => return self.decide(Err(LoginError::BadCredentials)),
        };
        let auth = self.shared.auth.clone();
        let (user, source) = (user.to_string(), self.source.clone());
        let result = tokio::task::spawn_blocking(move || {
            auth.login_key(&user, &line, Surface::Ssh, &source)
        })
        .await
        .unwrap_or(Err(LoginError::BadCredentials));
        self.decide(result)
    }

    async fn auth_succeeded(&mut self, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(tx) = self.authenticated.take() {
            let _ = tx.send(());
        }
        if !self.counted {
            self.counted = true;
            self.shared.sessions.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if self.channels.len() >= MAX_CHANNELS {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        // The handler callbacks carry everything; the channel's own stream is not read.
        self.channels.insert(channel.id(), Chan::default());
        reply.accept().await;
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _from: &str,
        _from_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.reject(not_offered("port forwarding")).await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.reject(not_offered("socket forwarding")).await;
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _from: &str,
        _from_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.reject(not_offered("X11 forwarding")).await;
        Ok(())
    }

    async fn channel_open_forwarded_tcpip(
        &mut self,
        _channel: Channel<Msg>,
        _host: &str,
        _port: u32,
        _from: &str,
        _from_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.reject(not_offered("port forwarding")).await;
        Ok(())
    }

    async fn tcpip_forward(
        &mut self,
        _address: &str,
        _port: &mut u32,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        _path: &str,
        _session: &mut Session,
    ) -> Result<bool, Self::Error> {
        Ok(false)
    }

    async fn agent_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        // The failure reply is sent by the caller on `false`.
        session.extended_data(
            channel,
            1,
            b"causeway: agent forwarding is not offered\r\n".to_vec(),
        )?;
        Ok(false)
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single: bool,
        _protocol: &str,
        _cookie: &str,
        _screen: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.refuse(channel, "X11 forwarding is not offered", session)
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        _value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // The command line has no environment; clients send LANG and the like unasked and
        // ignore the answer, so this stays silent.
        session.channel_failure(channel)
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let name: String = name
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(64)
            .collect();
        self.refuse(
            channel,
            &format!("subsystem {name} is not offered; use a command or a shell"),
            session,
        )
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        _term: &str,
        _cols: u32,
        _rows: u32,
        _px_width: u32,
        _px_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        match self.channels.get_mut(&channel) {
            Some(chan) if !chan.started => {
                chan.pty = true;
                session.channel_success(channel)
            }
            _ => session.channel_failure(channel),
        }
    }

    async fn window_change_request(
        &mut self,
        _channel: ChannelId,
        _cols: u32,
        _rows: u32,
        _px_width: u32,
        _px_height: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Output is line by line and never laid out to the width, so the size does not matter.
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ctx) = self.start(channel) else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let sink = ChannelSink {
            handle: session.handle(),
            id: channel,
        };
        tokio::spawn(session::exec(ctx, data.to_vec(), sink));
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ctx) = self.start(channel) else {
            return session.channel_failure(channel);
        };
        session.channel_success(channel)?;
        let (outbox, inbox) = session::queue();
        if let Some(chan) = self.channels.get_mut(&channel) {
            chan.input = Some(outbox);
        }
        let sink = ChannelSink {
            handle: session.handle(),
            id: channel,
        };
        tokio::spawn(session::shell(ctx, inbox, sink));
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Input to an exec (or before any request) has no reader: it is dropped, as a command
        // that does not read its standard input would leave it.
        let Some(outbox) = self.channels.get(&channel).and_then(|c| c.input.as_ref()) else {
            return Ok(());
        };
        if outbox.push(Input::Data(data.to_vec())) == Err(Refused::Full) {
            // The client sends far faster than it reads answers: closing this channel is the
            // remedy that costs nobody else anything.
            if let Some(outbox) = self.channels.get_mut(&channel).and_then(|c| c.input.take()) {
                outbox.abandon();
            }
            session.extended_data(
                channel,
                1,
                b"\r\ncauseway: too much input waiting; closing this session\r\n".to_vec(),
            )?;
            session.exit_status_request(channel, 1)?;
            session.eof(channel)?;
            session.close(channel)?;
        }
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(outbox) = self.channels.get(&channel).and_then(|c| c.input.as_ref()) {
            let _ = outbox.push(Input::Eof);
        }
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Dropping the outbox ends the channel's task.
        self.channels.remove(&channel);
        Ok(())
    }
}
