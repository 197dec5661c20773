//! What runs on a session channel once the client has asked for a command or a shell.
//!
//! Each channel gets a task of its own that reads the bytes the connection handler passes on,
//! runs lines through the xAPI engine on the blocking pool, and writes through a [`Sink`]. The
//! handler never waits for this task (it only queues input), so a slow command or a client that
//! stops reading stalls only its own channel, never the connection's other work or the server.

use crate::editor::{self, Editor, Event};
use crate::lines::{self, Lines, Piece};
use causeway_xapi::auth::Login;
use causeway_xapi::{Access, Engine, Out};
use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Input a channel may hold unread (bytes typed ahead of a running command, a pasted script).
/// A client that sends more than this without waiting for answers is not typing; its channel is
/// closed rather than left to grow without bound.
pub const MAX_QUEUED: usize = 1024 * 1024;

/// The prompt of an interactive session.
pub const PROMPT: &str = "causeway> ";

/// How often an idle session looks at the inactivity setting again, so that a change to it
/// reaches sessions already open.
const RECHECK: Duration = Duration::from_secs(60);

/// What the client sent on a channel.
#[derive(Debug)]
pub enum Input {
    Data(Vec<u8>),
    Eof,
}

/// What both ends of a channel's input queue share.
#[derive(Default)]
struct Gauge {
    /// Bytes queued and not yet taken by the task.
    queued: AtomicUsize,
    /// The handler gave up on the channel: the task stops at once, queued input or not.
    abandoned: AtomicBool,
}

/// The handler's end of a channel's input queue.
pub struct Outbox {
    tx: mpsc::UnboundedSender<Input>,
    gauge: Arc<Gauge>,
}

/// The task's end.
pub struct Inbox {
    rx: mpsc::UnboundedReceiver<Input>,
    gauge: Arc<Gauge>,
}

/// Why input was not queued.
#[derive(Debug, PartialEq, Eq)]
pub enum Refused {
    /// The queue would pass [`MAX_QUEUED`].
    Full,
    /// The task has ended.
    Gone,
}

pub fn queue() -> (Outbox, Inbox) {
    let (tx, rx) = mpsc::unbounded_channel();
    let gauge = Arc::new(Gauge::default());
    (
        Outbox {
            tx,
            gauge: gauge.clone(),
        },
        Inbox { rx, gauge },
    )
}

impl Outbox {
    /// Queues input without waiting; refuses it when the task is too far behind.
    pub fn push(&self, input: Input) -> Result<(), Refused> {
        if let Input::Data(d) = &input {
            let before = self.gauge.queued.fetch_add(d.len(), Ordering::AcqRel);
            if before + d.len() > MAX_QUEUED {
                self.gauge.queued.fetch_sub(d.len(), Ordering::AcqRel);
                return Err(Refused::Full);
            }
        }
        self.tx.send(input).map_err(|_| Refused::Gone)
    }

    /// Tells the task to stop without reading what is still queued.
    pub fn abandon(self) {
        self.gauge.abandoned.store(true, Ordering::Release);
    }
}

impl Inbox {
    /// The next input; `None` once the channel is gone or abandoned.
    pub async fn recv(&mut self) -> Option<Input> {
        if self.gauge.abandoned.load(Ordering::Acquire) {
            return None;
        }
        let input = self.rx.recv().await?;
        if let Input::Data(d) = &input {
            self.gauge.queued.fetch_sub(d.len(), Ordering::AcqRel);
        }
        if self.gauge.abandoned.load(Ordering::Acquire) {
            return None;
        }
        Some(input)
    }
}

/// Where a channel's output goes. Each call answers `false` once the channel is gone, so the
/// task can stop.
pub trait Sink: Send {
    fn out(&mut self, data: Vec<u8>) -> impl Future<Output = bool> + Send;
    fn err(&mut self, data: Vec<u8>) -> impl Future<Output = bool> + Send;
    /// Sends the exit status, EOF and close.
    fn finish(&mut self, status: u32) -> impl Future<Output = ()> + Send;
}

/// What a channel task knows about its session.
#[derive(Clone)]
pub struct Ctx {
    pub engine: Arc<Engine>,
    pub login: Login,
    /// The client asked for a terminal: lines end in CRLF and input is edited.
    pub pty: bool,
}

impl Ctx {
    /// Terminal output needs CR before LF: a pty on the client side does not add it.
    fn text(&self, s: &str) -> Vec<u8> {
        if !self.pty {
            return s.as_bytes().to_vec();
        }
        let mut v = Vec::with_capacity(s.len() + s.len() / 16);
        for b in s.bytes() {
            if b == b'\n' {
                v.push(b'\r');
            }
            v.push(b);
        }
        v
    }

    /// Runs one xAPI line as the session's principal, off the async threads (the engine does
    /// SQLite and password hashing inline).
    async fn run(&self, line: String) -> (String, bool) {
        let engine = self.engine.clone();
        let who = self.login.principal.clone();
        match tokio::task::spawn_blocking(move || engine.execute(&line, &who)).await {
            Ok(r) => (r.text, r.ok),
            // A panic in one command must not take the session down with it.
            Err(_) => failure("the command failed inside the server"),
        }
    }

    /// Runs a line, or answers it here when it is one of the shell's own words.
    async fn answer(&self, line: &str) -> Answer {
        match line.trim().to_ascii_lowercase().as_str() {
            "" => Answer::Nothing,
            "exit" | "quit" | "bye" => Answer::Logout,
            "?" | "help" => Answer::Text(help(), true),
            _ => {
                let (text, ok) = self.run(line.to_string()).await;
                Answer::Text(text, ok)
            }
        }
    }
}

enum Answer {
    Nothing,
    Logout,
    Text(String, bool),
}

/// An error record in the xAPI's own format, for failures that happen before the engine.
fn failure(reason: &str) -> (String, bool) {
    (Out::default().error("", reason, &[]).text, false)
}

fn too_long() -> (String, bool) {
    failure(&format!(
        "line longer than {} bytes; nothing was run",
        editor::MAX_LINE
    ))
}

/// The top-level help: a short guide of ours rather than the full `?` listings, which run to
/// hundreds of lines and are one word away.
pub fn help() -> String {
    "\
Commands:
  xConfiguration [<path>]            show settings (all of them, or those under a path)
  xConfiguration <path>: <value>     change a setting
  xCommand <name> [<Param>: <value> ...]
                                     run a command
  xStatus [<group>]                  show the state of the running system
Add ? after xConfiguration or xCommand, or after a path or a command name, for what may
follow (xConfiguration ?, xCommand ?, xCommand ZoneAdd ?); ?? shows more detail.
Keys: Up/Down history, Left/Right/Home/End move, Ctrl-U clears to the start, Ctrl-C cancels the
line, Ctrl-D on an empty line or exit logs out.
OK
"
    .to_string()
}

fn access_name(a: Access) -> &'static str {
    match a {
        Access::ReadWrite => "read-write",
        Access::ReadOnly => "read-only",
        Access::Auditor => "auditor",
    }
}

fn banner(ctx: &Ctx) -> String {
    let p = &ctx.login.principal;
    format!(
        "causeway {} command line\nLogged in as {} ({}) from {}.\nType help or ? for help, exit to log out.\n",
        env!("CARGO_PKG_VERSION"),
        p.user,
        access_name(p.access),
        p.source
    )
}

const MUST_CHANGE: &str =
    "Notice: this account's password must be changed; the web interface will ask for a new one.\n";

/// The inactivity limit now in force, read from the configuration each time; `None` for none.
fn inactivity(engine: &Engine) -> Option<Duration> {
    let minutes = engine
        .config
        .snapshot()
        .int("Management Session InactivityTimeout")
        .unwrap_or(30);
    (minutes > 0).then(|| Duration::from_secs(minutes as u64 * 60))
}

/// An exec request: each line in turn, exit status 1 if any failed.
pub async fn exec<S: Sink>(ctx: Ctx, command: Vec<u8>, mut sink: S) {
    if ctx.login.must_change_password && !sink.err(ctx.text(MUST_CHANGE)).await {
        return;
    }
    let mut failed = false;
    for piece in lines::split(&command) {
        let (text, ok) = match piece {
            Piece::TooLong => too_long(),
            Piece::Line(line) => match ctx.answer(&line).await {
                Answer::Nothing => continue,
                Answer::Logout => break,
                Answer::Text(text, ok) => (text, ok),
            },
        };
        failed |= !ok;
        if !sink.out(ctx.text(&text)).await {
            return;
        }
    }
    sink.finish(u32::from(failed)).await;
}

/// How a shell ends.
enum End {
    /// The operator logged out or the input ended; the status to send.
    Done(u32),
    /// The channel or the connection is gone: nothing more to send.
    Gone,
}

/// A shell request: the line editor over a terminal, or plain lines without one.
pub async fn shell<S: Sink>(ctx: Ctx, mut inbox: Inbox, mut sink: S) {
    let mut head = banner(&ctx);
    if ctx.login.must_change_password {
        head.push_str(MUST_CHANGE);
    }
    let mut term = Terminal {
        editor: Editor::new(PROMPT),
        lines: Lines::new(),
        pending: Vec::new(),
        failed: false,
    };
    if ctx.pty {
        head.push_str(PROMPT);
    }
    if !sink.out(ctx.text(&head)).await {
        return;
    }

    let mut last_input = Instant::now();
    let end = loop {
        // Wake at the inactivity deadline, or now and then to see whether the limit changed.
        let limit = inactivity(&ctx.engine);
        let wake = match limit {
            Some(l) if last_input + l <= Instant::now() => {
                let minutes = l.as_secs() / 60;
                let text = format!(
                    "\nNo input for {minutes} minute{}: logged out.\n",
                    if minutes == 1 { "" } else { "s" }
                );
                sink.out(ctx.text(&text)).await;
                break End::Done(1);
            }
            Some(l) => (last_input + l).min(Instant::now() + RECHECK),
            None => Instant::now() + RECHECK,
        };
        tokio::select! {
            input = inbox.recv() => match input {
                Some(Input::Data(d)) => {
                    last_input = Instant::now();
                    term.pending.extend_from_slice(&d);
                    if let Some(end) = term.work(&ctx, &mut sink).await {
                        break end;
                    }
                }
                Some(Input::Eof) => break term.eof(&ctx, &mut sink).await,
                None => break End::Gone,
            },
            _ = tokio::time::sleep_until(wake) => {}
        }
    };
    if let End::Done(status) = end {
        sink.finish(status).await;
    }
}

/// The input side of a shell.
struct Terminal {
    editor: Editor,
    lines: Lines,
    /// Input received but not yet read (typed ahead of a running command).
    pending: Vec<u8>,
    /// A line failed (for the exit status of a shell without a terminal).
    failed: bool,
}

impl Terminal {
    /// Handles everything pending; `Some` when the shell should end.
    async fn work<S: Sink>(&mut self, ctx: &Ctx, sink: &mut S) -> Option<End> {
        while !self.pending.is_empty() {
            let mut show = Vec::new();
            let line = if ctx.pty {
                let (n, ev) = self.editor.feed(&self.pending, &mut show);
                self.pending.drain(..n);
                match ev {
                    None => None,
                    Some(Event::Line(l)) => Some(Piece::Line(l)),
                    Some(Event::TooLong) => Some(Piece::TooLong),
                    Some(Event::Cancel) => {
                        show.extend_from_slice(PROMPT.as_bytes());
                        None
                    }
                    Some(Event::Logout) => {
                        sink.out(show).await;
                        return Some(End::Done(0));
                    }
                }
            } else {
                let (n, piece) = self.lines.feed(&self.pending);
                self.pending.drain(..n);
                piece
            };
            if !show.is_empty() && !sink.out(show).await {
                return Some(End::Gone);
            }
            if let Some(piece) = line {
                if let Some(end) = self.run(ctx, sink, piece).await {
                    return Some(end);
                }
            }
        }
        None
    }

    /// Runs one line and prints its answer and, on a terminal, the next prompt.
    async fn run<S: Sink>(&mut self, ctx: &Ctx, sink: &mut S, piece: Piece) -> Option<End> {
        let mut text = match piece {
            Piece::TooLong => {
                self.failed = true;
                too_long().0
            }
            Piece::Line(line) => match ctx.answer(&line).await {
                Answer::Nothing => String::new(),
                Answer::Logout => return Some(End::Done(self.status(ctx))),
                Answer::Text(text, ok) => {
                    self.failed |= !ok;
                    text
                }
            },
        };
        if ctx.pty {
            text.push_str(PROMPT);
        }
        if !text.is_empty() && !sink.out(ctx.text(&text)).await {
            return Some(End::Gone);
        }
        None
    }

    /// The client will send nothing more: a last unfinished line still runs.
    async fn eof<S: Sink>(&mut self, ctx: &Ctx, sink: &mut S) -> End {
        if !ctx.pty {
            if let Some(piece) = self.lines.finish() {
                if let Some(end) = self.run(ctx, sink, piece).await {
                    return end;
                }
            }
        }
        End::Done(self.status(ctx))
    }

    /// Without a terminal a shell is a script, and scripts want to know whether a line failed;
    /// with one, the operator saw every answer, and logging out is success.
    fn status(&self, ctx: &Ctx) -> u32 {
        u32::from(!ctx.pty && self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use causeway_xapi::Principal;
    use std::sync::Mutex;

    /// What a task wrote: standard output, standard error, exit status.
    #[derive(Default)]
    struct Written {
        out: Vec<u8>,
        err: Vec<u8>,
        status: Option<u32>,
    }

    /// Collects what a task writes.
    #[derive(Clone, Default)]
    struct Capture(Arc<Mutex<Written>>);

    impl Sink for Capture {
        async fn out(&mut self, data: Vec<u8>) -> bool {
            self.0.lock().unwrap().out.extend(data);
            true
        }
        async fn err(&mut self, data: Vec<u8>) -> bool {
            self.0.lock().unwrap().err.extend(data);
            true
        }
        async fn finish(&mut self, status: u32) {
            self.0.lock().unwrap().status = Some(status);
        }
    }

    impl Capture {
        fn out(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap().out).into_owned()
        }
        fn err(&self) -> String {
            String::from_utf8_lossy(&self.0.lock().unwrap().err).into_owned()
        }
        fn status(&self) -> Option<u32> {
            self.0.lock().unwrap().status
        }
    }

    fn ctx(dir: &tempfile::TempDir, pty: bool) -> Ctx {
        let config = causeway_config::Config::open(&dir.path().join("config.db")).unwrap();
        Ctx {
            engine: Arc::new(Engine::offline(Arc::new(config))),
            login: Login {
                principal: Principal {
                    user: "admin".into(),
                    source: "192.0.2.1".into(),
                    access: Access::ReadWrite,
                },
                must_change_password: false,
            },
            pty,
        }
    }

    fn set(ctx: &Ctx, line: &str) {
        let r = ctx.engine.execute(line, &Principal::local_root("test"));
        assert!(r.ok, "{}", r.text);
    }

    #[tokio::test]
    async fn exec_runs_every_line_and_fails_if_one_fails() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(&dir, false);
        let sink = Capture::default();
        exec(
            c.clone(),
            b"xConfiguration SystemUnit Name: \"a\"\nxConfiguration SystemUnit Name\r\n".to_vec(),
            sink.clone(),
        )
        .await;
        assert!(sink
            .out()
            .contains("*c xConfiguration SystemUnit Name: \"a\"\nOK\n"));
        assert_eq!(sink.status(), Some(0));

        let sink = Capture::default();
        exec(
            c,
            b"xConfiguration No Such Thing: 1\nxConfiguration SystemUnit Name".to_vec(),
            sink.clone(),
        )
        .await;
        let out = sink.out();
        assert!(out.contains("status=Error"), "{out}");
        assert!(
            out.contains("SystemUnit Name: \"a\""),
            "later lines still run"
        );
        assert_eq!(sink.status(), Some(1));
    }

    #[tokio::test]
    async fn exec_with_a_terminal_ends_lines_in_crlf_and_notes_a_forced_password_change() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = ctx(&dir, true);
        c.login.must_change_password = true;
        let sink = Capture::default();
        exec(c, b"help".to_vec(), sink.clone()).await;
        assert!(sink.out().contains("Commands:\r\n"));
        assert!(!sink.out().contains("\n\n"));
        assert!(sink
            .err()
            .starts_with("Notice: this account's password must be changed"));
        assert_eq!(sink.status(), Some(0));
    }

    #[tokio::test]
    async fn shell_without_a_terminal_answers_lines_until_eof() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(&dir, false);
        let (outbox, inbox) = queue();
        let sink = Capture::default();
        let task = tokio::spawn(shell(c, inbox, sink.clone()));
        outbox
            .push(Input::Data(
                b"xConfiguration SystemUnit Name: \"b\"\nxConf".to_vec(),
            ))
            .unwrap();
        outbox
            .push(Input::Data(b"iguration SystemUnit Name".to_vec()))
            .unwrap();
        outbox.push(Input::Eof).unwrap();
        task.await.unwrap();
        let out = sink.out();
        assert!(out.starts_with("causeway "), "{out}");
        assert!(out.contains("Logged in as admin (read-write) from 192.0.2.1."));
        assert!(
            out.contains("*c xConfiguration SystemUnit Name: \"b\""),
            "{out}"
        );
        assert!(!out.contains(PROMPT), "no prompt without a terminal");
        assert!(!out.contains('\r'));
        assert_eq!(sink.status(), Some(0));
    }

    #[tokio::test]
    async fn shell_on_a_terminal_echoes_edits_and_logs_out() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(&dir, true);
        let (outbox, inbox) = queue();
        let sink = Capture::default();
        let task = tokio::spawn(shell(c, inbox, sink.clone()));
        outbox
            .push(Input::Data(
                b"xConfiguration SystemUnit Name: \"q\"\rxConfiguration SystemUnit Name\r?\r\x1b[A\x1b[A\rexit\r"
                    .to_vec(),
            ))
            .unwrap();
        task.await.unwrap();
        let out = sink.out();
        // The read ran twice: once typed, once from the history.
        assert_eq!(
            out.matches("*c xConfiguration SystemUnit Name: \"q\"\r\n")
                .count(),
            2,
            "{out}"
        );
        assert_eq!(out.matches("Commands:\r\n").count(), 1);
        assert_eq!(out.matches("\r\nOK\r\ncauseway> ").count(), 4, "{out}");
        assert!(out.contains("\rcauseway> xConfiguration SystemUnit Name\x1b[K"));
        assert!(out.ends_with("exit\r\n"));
        assert_eq!(sink.status(), Some(0));
    }

    #[tokio::test]
    async fn a_failed_line_fails_a_script_but_not_a_terminal() {
        let dir = tempfile::tempdir().unwrap();
        for (pty, status) in [(false, 1), (true, 0)] {
            let (outbox, inbox) = queue();
            let sink = Capture::default();
            let task = tokio::spawn(shell(ctx(&dir, pty), inbox, sink.clone()));
            outbox
                .push(Input::Data(b"xNonsense\r\nexit\r\n".to_vec()))
                .unwrap();
            task.await.unwrap();
            assert_eq!(sink.status(), Some(status), "pty {pty}");
        }
    }

    #[tokio::test]
    async fn overlong_lines_are_refused_and_the_session_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        for pty in [false, true] {
            let (outbox, inbox) = queue();
            let sink = Capture::default();
            let task = tokio::spawn(shell(ctx(&dir, pty), inbox, sink.clone()));
            let mut big = vec![b'x'; 100 * 1024];
            big.extend_from_slice(b"\nxConfiguration SystemUnit Name\n");
            outbox.push(Input::Data(big)).unwrap();
            outbox.push(Input::Eof).unwrap();
            task.await.unwrap();
            let out = sink.out();
            assert!(out.contains("line longer than 65536 bytes"), "{out:.200}");
            assert!(out.contains("*c xConfiguration SystemUnit Name:"));
            assert!(
                out.len() < 80 * 1024,
                "the long line is echoed only up to the limit"
            );
        }
    }

    #[tokio::test]
    async fn input_beyond_the_queue_limit_is_refused() {
        let (outbox, mut inbox) = queue();
        outbox.push(Input::Data(vec![0; MAX_QUEUED])).unwrap();
        assert_eq!(outbox.push(Input::Data(vec![0; 1])), Err(Refused::Full));
        inbox.recv().await.unwrap();
        outbox.push(Input::Data(vec![0; 1])).unwrap();
        outbox.push(Input::Data(vec![0; 1])).unwrap();
        outbox.abandon();
        assert!(
            inbox.recv().await.is_none(),
            "queued input is not read after abandon"
        );

        let (outbox, inbox) = queue();
        drop(inbox);
        assert_eq!(outbox.push(Input::Eof), Err(Refused::Gone));
    }

    #[tokio::test(start_paused = true)]
    async fn an_idle_shell_is_logged_out_after_the_configured_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(&dir, true);
        set(&c, "xConfiguration Management Session InactivityTimeout: 2");
        let (outbox, inbox) = queue();
        let sink = Capture::default();
        let started = Instant::now();
        let task = tokio::spawn(shell(c, inbox, sink.clone()));
        tokio::time::sleep(Duration::from_secs(90)).await;
        // Input moves the deadline.
        outbox.push(Input::Data(b"x".to_vec())).unwrap();
        task.await.unwrap();
        let waited = started.elapsed();
        assert!(waited >= Duration::from_secs(210), "{waited:?}");
        assert!(waited < Duration::from_secs(240), "{waited:?}");
        assert!(sink.out().contains("No input for 2 minutes: logged out."));
        assert_eq!(sink.status(), Some(1));
    }

    #[tokio::test(start_paused = true)]
    async fn a_timeout_of_zero_never_logs_out_and_a_new_value_applies_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let c = ctx(&dir, false);
        set(&c, "xConfiguration Management Session InactivityTimeout: 0");
        let (_outbox, inbox) = queue();
        let sink = Capture::default();
        let task = tokio::spawn(shell(c.clone(), inbox, sink.clone()));
        tokio::time::sleep(Duration::from_secs(10 * 3600)).await;
        assert!(!task.is_finished());
        // Already idle for hours: one minute is long past, so the session ends at the next look.
        set(&c, "xConfiguration Management Session InactivityTimeout: 1");
        tokio::time::sleep(RECHECK + Duration::from_secs(1)).await;
        assert!(task.is_finished());
        assert!(sink.out().contains("No input for 1 minute: logged out."));
    }
}
