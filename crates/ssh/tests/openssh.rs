//! The SSH command line driven by the real OpenSSH client (Debian package `openssh-client`:
//! `ssh`, `ssh-keygen`, `ssh-keyscan`).

use causeway_ssh::{serve, Options, Running};
use causeway_xapi::auth::{Authenticator, LocalAccounts, Login, LoginError, Surface};
use causeway_xapi::{Engine, Principal};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::process::{Child, Command};

const PASSWORD: &str = "Tr0ub4dor & three";

/// How long any one client run may take before the test fails.
const CLIENT_LIMIT: Duration = Duration::from_secs(60);

/// The path of an installed tool, or a failure that says which package brings it.
fn tool(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for dir in std::env::split_paths(&path) {
        let p = dir.join(name);
        if p.is_file() {
            return p;
        }
    }
    panic!("`{name}` is not installed: install the Debian package openssh-client (apt-get install openssh-client)");
}

/// The real account check, counting how often it is asked.
struct Counting {
    inner: LocalAccounts,
    checks: AtomicUsize,
}

impl Authenticator for Counting {
    fn login(
        &self,
        user: &str,
        password: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        assert_eq!(surface, Surface::Ssh);
        assert_eq!(source, "127.0.0.1");
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.inner.login(user, password, surface, source)
    }

    fn login_key(
        &self,
        user: &str,
        key: &str,
        surface: Surface,
        source: &str,
    ) -> Result<Login, LoginError> {
        assert_eq!(surface, Surface::Ssh);
        self.checks.fetch_add(1, Ordering::SeqCst);
        self.inner.login_key(user, key, surface, source)
    }
}

/// A server over a fresh configuration, with the admin password set.
struct Node {
    dir: tempfile::TempDir,
    engine: Arc<Engine>,
    auth: Arc<Counting>,
    server: Option<Running>,
    sessions: Arc<AtomicUsize>,
}

impl Node {
    async fn start() -> Node {
        let dir = tempfile::tempdir().unwrap();
        let config =
            Arc::new(causeway_config::Config::open(&dir.path().join("config.db")).unwrap());
        let auth = Arc::new(Counting {
            inner: LocalAccounts {
                config: config.clone(),
            },
            checks: AtomicUsize::new(0),
        });
        let engine = Arc::new(Engine::offline(config));
        let mut node = Node {
            dir,
            engine,
            auth,
            server: None,
            sessions: Arc::default(),
        };
        node.set(&format!(
            "xConfiguration Authentication Account Admin Account 1 Password: \"{PASSWORD}\""
        ));
        node.serve().await;
        node
    }

    async fn serve(&mut self) {
        let running = serve(
            self.engine.clone(),
            self.auth.clone(),
            Options {
                listen: "127.0.0.1:0".parse().unwrap(),
                host_key: self.host_key(),
                sessions: self.sessions.clone(),
            },
        )
        .await
        .unwrap();
        self.server = Some(running);
    }

    async fn restart(&mut self) {
        self.server.take().unwrap().shutdown().await;
        self.serve().await;
    }

    /// Password and key checks made so far.
    fn checks(&self) -> usize {
        self.auth.checks.load(Ordering::SeqCst)
    }

    fn host_key(&self) -> PathBuf {
        self.dir.path().join("ssh").join("host_ed25519")
    }

    fn port(&self) -> u16 {
        self.server.as_ref().unwrap().local_addr().port()
    }

    fn set(&self, line: &str) {
        let r = self.engine.execute(line, &Principal::local_root("test"));
        assert!(r.ok, "{line}: {}", r.text);
    }

    /// A client that logs in as `user` with `password` (typed by an askpass script, which
    /// counts how often it was asked in `asked`).
    fn with_password(&self, user: &str, password: &str) -> Client {
        let script = self.dir.path().join(format!("askpass-{}", rand_suffix()));
        let asked = script.with_extension("asked");
        std::fs::write(
            &script,
            format!(
                "#!/bin/sh\necho x >> '{}'\nprintf '%s\\n' '{}'\n",
                asked.display(),
                password.replace('\'', "'\\''")
            ),
        )
        .unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o700)).unwrap();
        let mut c = Client::new(self.port(), user);
        c.args.extend(
            [
                "-o",
                "BatchMode=no",
                "-o",
                "PubkeyAuthentication=no",
                "-o",
                "PreferredAuthentications=password",
            ]
            .map(String::from),
        );
        c.env = vec![
            ("SSH_ASKPASS".into(), script.display().to_string()),
            ("SSH_ASKPASS_REQUIRE".into(), "force".into()),
            ("DISPLAY".into(), ":0".into()),
        ];
        c.asked = Some(asked);
        c
    }

    /// A client that logs in as `user` with the private key at `key`.
    fn with_key(&self, user: &str, key: &Path) -> Client {
        let mut c = Client::new(self.port(), user);
        c.args.extend(
            [
                "-o",
                "BatchMode=yes",
                "-o",
                "PasswordAuthentication=no",
                "-o",
                "KbdInteractiveAuthentication=no",
                "-o",
                "IdentitiesOnly=yes",
                "-o",
                "IdentityAgent=none",
                "-i",
                &key.display().to_string(),
            ]
            .map(String::from),
        );
        c
    }

    /// Makes an Ed25519 key pair in the node's directory; answers the private key's path and the
    /// public key line.
    fn keygen(&self, name: &str) -> (PathBuf, String) {
        let path = self.dir.path().join(name);
        let st = std::process::Command::new(tool("ssh-keygen"))
            .args(["-q", "-t", "ed25519", "-N", "", "-C", name, "-f"])
            .arg(&path)
            .status()
            .unwrap();
        assert!(st.success());
        let public = std::fs::read_to_string(path.with_extension("pub")).unwrap();
        (path, public.trim().to_string())
    }
}

fn rand_suffix() -> String {
    static N: AtomicUsize = AtomicUsize::new(0);
    N.fetch_add(1, Ordering::Relaxed).to_string()
}

/// One run of `ssh`.
struct Client {
    args: Vec<String>,
    env: Vec<(String, String)>,
    asked: Option<PathBuf>,
}

struct Outcome {
    code: Option<i32>,
    out: String,
    err: String,
}

impl Client {
    fn new(port: u16, user: &str) -> Client {
        let args = [
            "-F",
            "/dev/null",
            "-p",
            &port.to_string(),
            "-l",
            user,
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            "-o",
            "ConnectTimeout=10",
            "-o",
            "ServerAliveInterval=0",
            "-e",
            "none",
        ]
        .map(String::from)
        .to_vec();
        Client {
            args,
            env: Vec::new(),
            asked: None,
        }
    }

    fn arg(mut self, a: &str) -> Client {
        self.args.push(a.into());
        self
    }

    fn command(&self, remote: &[&str]) -> Command {
        let mut cmd = Command::new(tool("ssh"));
        cmd.args(&self.args)
            .arg("127.0.0.1")
            .args(remote)
            .env_remove("SSH_AUTH_SOCK")
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        cmd
    }

    /// Runs `ssh … 127.0.0.1 <remote>` with `input` on its standard input.
    async fn run(&self, remote: &[&str], input: &[u8]) -> Outcome {
        let mut child = self.command(remote).stdin(Stdio::piped()).spawn().unwrap();
        let mut stdin = child.stdin.take().unwrap();
        let input = input.to_vec();
        let writer = tokio::spawn(async move {
            let _ = stdin.write_all(&input).await;
            // Dropping stdin sends EOF.
        });
        let out = tokio::time::timeout(CLIENT_LIMIT, child.wait_with_output())
            .await
            .expect("ssh did not finish in time")
            .unwrap();
        let _ = writer.await;
        Outcome {
            code: out.status.code(),
            out: String::from_utf8_lossy(&out.stdout).into_owned(),
            err: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    async fn exec(&self, line: &str) -> Outcome {
        self.run(&[line], b"").await
    }

    /// How often the askpass script was asked for the password.
    fn times_asked(&self) -> usize {
        std::fs::read_to_string(self.asked.as_ref().unwrap())
            .map(|s| s.lines().count())
            .unwrap_or(0)
    }
}

/// Reads from a running client until its output contains `needle`; answers all read so far.
async fn read_until(child: &mut Child, seen: &mut String, needle: &str) {
    let stdout = child.stdout.as_mut().unwrap();
    let found = tokio::time::timeout(CLIENT_LIMIT, async {
        let mut buf = [0u8; 4096];
        while !seen.contains(needle) {
            let n = stdout.read(&mut buf).await.unwrap();
            assert!(n > 0, "output ended before {needle:?}: {seen}");
            seen.push_str(&String::from_utf8_lossy(&buf[..n]));
        }
    })
    .await;
    assert!(found.is_ok(), "no {needle:?} in time; got {seen}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_exec_round_trip() {
    let node = Node::start().await;
    let c = node.with_password("admin", PASSWORD);
    let set = c.exec("xConfiguration SystemUnit Name: \"x\"").await;
    assert_eq!(set.code, Some(0), "{}\n{}", set.out, set.err);
    assert!(set.out.ends_with("OK\n"), "{}", set.out);
    assert!(!set.out.contains('\r'), "no CR without a terminal");

    let get = c.exec("xConfiguration SystemUnit Name").await;
    assert_eq!(get.code, Some(0), "{}", get.err);
    assert!(
        get.out
            .contains("*c xConfiguration SystemUnit Name: \"x\"\n"),
        "{}",
        get.out
    );
    assert_eq!(c.times_asked(), 2, "one password prompt per connection");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_line_exits_with_status_one() {
    let node = Node::start().await;
    let c = node.with_password("admin", PASSWORD);
    let bad = c.exec("xConfiguration SystemUnit NoSuchElement: 1").await;
    assert_eq!(bad.code, Some(1), "{}", bad.out);
    assert!(bad.out.contains("(status=Error)"), "{}", bad.out);

    // Several lines in one exec run in turn; one failure fails the whole.
    let both = c
        .exec("xConfiguration SystemUnit Name: \"two\"\nxBogus\nxConfiguration SystemUnit Name")
        .await;
    assert_eq!(both.code, Some(1), "{}", both.out);
    assert!(
        both.out
            .contains("*c xConfiguration SystemUnit Name: \"two\""),
        "{}",
        both.out
    );
    assert!(both.out.contains("(status=Error)"));

    let help = c.exec("help").await;
    assert_eq!(help.code, Some(0));
    assert!(help.out.contains("xConfiguration"), "{}", help.out);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_login_works_and_other_keys_are_refused() {
    let node = Node::start().await;
    let (good, public) = node.keygen("good");
    let (bad, _) = node.keygen("bad");
    node.set(&format!(
        "xConfiguration Authentication Account Admin Account 1 PublicKey: \"{public}\""
    ));

    let ok = node
        .with_key("admin", &good)
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(ok.code, Some(0), "{}", ok.err);
    assert!(
        ok.out.contains("*c xConfiguration SystemUnit Name:"),
        "{}",
        ok.out
    );

    let refused = node
        .with_key("admin", &bad)
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(refused.code, Some(255), "{}", refused.out);
    assert!(refused.err.contains("Permission denied"), "{}", refused.err);
    assert!(refused.out.is_empty());

    // The right key for the wrong account is no better.
    let other = node
        .with_key("ops", &good)
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(other.code, Some(255));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_passwords_are_refused_three_times_then_the_connection_is_closed() {
    let node = Node::start().await;
    let c = node
        .with_password("admin", "not the password")
        .arg("-o")
        .arg("NumberOfPasswordPrompts=6");
    let r = c.exec("xConfiguration SystemUnit Name").await;
    assert_eq!(r.code, Some(255), "{}", r.out);
    assert!(r.out.is_empty());
    assert_eq!(
        node.checks(),
        3,
        "three passwords were checked, then no more"
    );
    // The client may type a fourth before it reads the goodbye; that one is never checked.
    assert!((3..=4).contains(&c.times_asked()), "{}", r.err);
    assert!(
        r.err.contains("Too many authentication failures"),
        "{}",
        r.err
    );

    // The right password still works on a new connection.
    let ok = node
        .with_password("admin", PASSWORD)
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(ok.code, Some(0), "{}", ok.err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accounts_other_than_admin_are_refused() {
    let node = Node::start().await;
    node.set("xCommand AdminAccountAdd Name: \"ops\" Password: \"ops password 1\" AccessLevel: ReadWrite");
    let c = node
        .with_password("ops", "ops password 1")
        .arg("-o")
        .arg("NumberOfPasswordPrompts=1");
    let r = c.exec("xConfiguration SystemUnit Name").await;
    assert_eq!(r.code, Some(255), "{}", r.out);
    assert!(r.err.contains("Permission denied"), "{}", r.err);
    assert!(r.out.is_empty());
    // No such account at all looks the same.
    let r = node
        .with_password("nobody-here", "whatever")
        .arg("-o")
        .arg("NumberOfPasswordPrompts=1")
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(r.code, Some(255));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ssh_mode_off_refuses_new_connections_and_keeps_open_sessions() {
    let node = Node::start().await;
    let c = node.with_password("admin", PASSWORD).arg("-T");

    // A shell without a terminal, held open.
    let mut child = c.command(&[]).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = String::new();
    stdin
        .write_all(b"xConfiguration SystemUnit Name: \"before\"\n")
        .await
        .unwrap();
    read_until(&mut child, &mut seen, "OK\n").await;
    assert_eq!(
        node.sessions.load(Ordering::SeqCst),
        1,
        "one logged-in session"
    );

    node.set("xConfiguration Administration SSH Mode: Off");
    let late = node.with_password("admin", PASSWORD);
    let checks = node.checks();
    let refused = late.exec("xConfiguration SystemUnit Name").await;
    assert_eq!(refused.code, Some(255), "{}", refused.out);
    assert!(refused.out.is_empty());
    assert!(
        refused.err.contains("closed by remote host") || refused.err.contains("reset by peer"),
        "{}",
        refused.err
    );
    assert_eq!(late.times_asked(), 0, "never got as far as a password");
    assert_eq!(node.checks(), checks);

    // The open session goes on.
    stdin
        .write_all(b"xConfiguration SystemUnit Name\n")
        .await
        .unwrap();
    read_until(
        &mut child,
        &mut seen,
        "*c xConfiguration SystemUnit Name: \"before\"\n",
    )
    .await;
    drop(stdin);
    let status = tokio::time::timeout(CLIENT_LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let deadline = std::time::Instant::now() + CLIENT_LIMIT;
    while node.sessions.load(Ordering::SeqCst) != 0 {
        assert!(
            std::time::Instant::now() < deadline,
            "the session is still counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    node.set("xConfiguration Administration SSH Mode: On");
    let again = c.exec("xConfiguration SystemUnit Name").await;
    assert_eq!(again.code, Some(0), "{}", again.err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interactive_session_on_a_terminal() {
    let node = Node::start().await;
    let c = node.with_password("admin", PASSWORD).arg("-tt");
    let input = [
        "xConfiguration SystemUnit Name: \"one\"\r",
        "?\r",
        "xConfiguration SystemUnit Name\r",
        // Up arrow, then Enter: the read again.
        "\x1b[A\r",
        // Left arrows, an insertion, and Ctrl-C to drop it all.
        "xStat\x1b[D\x1b[Dzz\x03",
        // Backspace over a typo.
        "xConfiguration SystemUnit Nam3\x7fe\r",
        "exit\r",
    ]
    .concat();
    let r = c.run(&[], input.as_bytes()).await;
    assert_eq!(r.code, Some(0), "{}\n{}", r.out, r.err);
    let out = &r.out;
    assert!(out.starts_with("causeway "), "{out}");
    assert!(
        out.contains("Logged in as admin (read-write) from 127.0.0.1."),
        "{out}"
    );
    assert!(out.contains("causeway> "), "{out}");
    assert!(out.contains("Commands:\r\n"), "help for ?: {out}");
    // Typed once, run again from the history, and typed again after a correction.
    assert_eq!(
        out.matches("*c xConfiguration SystemUnit Name: \"one\"\r\n")
            .count(),
        3,
        "{out}"
    );
    assert!(
        out.contains("\rcauseway> xConfiguration SystemUnit Name\x1b[K"),
        "{out}"
    );
    assert!(out.contains("^C\r\n"), "{out}");
    assert!(!out.contains("zz\r\n"), "the cancelled line did not run");
    assert!(out.contains("exit\r\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn piped_shell_answers_each_line_and_refuses_overlong_ones() {
    let node = Node::start().await;
    let c = node.with_password("admin", PASSWORD).arg("-T");
    let mut input = b"xConfiguration SystemUnit Name: \"piped\"\r\n".to_vec();
    input.extend(std::iter::repeat_n(b'x', 100 * 1024));
    input.extend_from_slice(b"\nxConfiguration SystemUnit Name");
    let r = c.run(&[], &input).await;
    assert_eq!(
        r.code,
        Some(1),
        "a refused line fails the script: {}",
        r.err
    );
    assert!(r.out.contains("line longer than 65536 bytes"), "{}", r.out);
    assert!(
        r.out
            .contains("*c xConfiguration SystemUnit Name: \"piped\"\n"),
        "the line after the long one, without a final newline, still ran: {}",
        r.out
    );
    assert!(
        !r.out.contains("causeway> "),
        "no prompt without a terminal"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forwarding_and_subsystems_are_refused() {
    let node = Node::start().await;
    let c = node.with_password("admin", PASSWORD);

    let sftp = c.clone_with(&["-s"]).run(&["sftp"], b"").await;
    assert_ne!(sftp.code, Some(0));
    assert!(
        sftp.err.contains("subsystem request failed"),
        "{}",
        sftp.err
    );

    let netconf = c.clone_with(&["-s"]).run(&["netconf"], b"").await;
    assert_ne!(netconf.code, Some(0));
    assert!(
        netconf.err.contains("subsystem request failed"),
        "{}",
        netconf.err
    );

    let stdio = c.clone_with(&["-W", "127.0.0.1:9"]).run(&[], b"").await;
    assert_ne!(stdio.code, Some(0));
    assert!(
        stdio.err.contains("port forwarding is not offered"),
        "{}",
        stdio.err
    );

    let remote = c
        .clone_with(&["-R", "0:127.0.0.1:9", "-o", "ExitOnForwardFailure=yes"])
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(remote.code, Some(255));
    assert!(remote.err.contains("forwarding failed"), "{}", remote.err);

    // Agent forwarding: refused, and the command runs all the same.
    let sock = node.dir.path().join("agent.sock");
    let mut agent = Command::new(tool("ssh-agent"))
        .arg("-D")
        .arg("-a")
        .arg(&sock)
        .stdout(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    for _ in 0..100 {
        if sock.exists() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut forwarded = c.clone_with(&["-A"]);
    forwarded
        .env
        .push(("SSH_AUTH_SOCK".into(), sock.display().to_string()));
    let agent_run = forwarded.exec("xConfiguration SystemUnit Name").await;
    let _ = agent.kill().await;
    assert_eq!(agent_run.code, Some(0), "{}", agent_run.err);
    assert!(
        agent_run.err.contains("agent forwarding is not offered"),
        "{}",
        agent_run.err
    );

    // None of it hurt the server.
    let ok = c.exec("xConfiguration SystemUnit Name").await;
    assert_eq!(ok.code, Some(0), "{}", ok.err);
}

impl Client {
    fn clone_with(&self, extra: &[&str]) -> Client {
        let mut args = self.args.clone();
        args.extend(extra.iter().map(|s| s.to_string()));
        Client {
            args,
            env: self.env.clone(),
            asked: self.asked.clone(),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_the_wire_harms_no_one() {
    use tokio::net::TcpStream;
    let node = Node::start().await;
    let addr = node.server.as_ref().unwrap().local_addr();

    // An operator's session, open throughout.
    let c = node.with_password("admin", PASSWORD).arg("-T");
    let mut child = c.command(&[]).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = String::new();
    stdin
        .write_all(b"xConfiguration SystemUnit Name: \"steady\"\n")
        .await
        .unwrap();
    read_until(&mut child, &mut seen, "OK\n").await;

    // A connection that says nothing, held open throughout.
    let _idle = TcpStream::connect(addr).await.unwrap();

    // Not SSH at all: a long line of noise with no line end.
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(&[0xffu8; 70_000]).await;
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(CLIENT_LIMIT, s.read_to_end(&mut sink)).await;
    assert!(closed.is_ok(), "the server hung up on the noise");

    // A proper greeting, then a packet claiming to be 4 GB long, then noise.
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(b"SSH-2.0-garbage\r\n").await.unwrap();
    let _ = s.write_all(&[0xff, 0xff, 0xff, 0xff, 0x07, 1, 2, 3]).await;
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(CLIENT_LIMIT, s.read_to_end(&mut sink)).await;
    assert!(closed.is_ok(), "the server hung up on the bad packet");

    // The open session goes on, and a new client is served as usual.
    stdin
        .write_all(b"xConfiguration SystemUnit Name\n")
        .await
        .unwrap();
    read_until(&mut child, &mut seen, "Name: \"steady\"\n").await;
    drop(stdin);
    let status = tokio::time::timeout(CLIENT_LIMIT, child.wait())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    let ok = node
        .with_password("admin", PASSWORD)
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(ok.code, Some(0), "{}", ok.err);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forced_password_change_is_noted_and_commands_still_run() {
    let node = Node::start().await;
    node.set("xConfiguration Authentication Account Admin Account 1 ForcePasswordReset: On");
    let r = node
        .with_password("admin", PASSWORD)
        .exec("xConfiguration SystemUnit Name")
        .await;
    assert_eq!(r.code, Some(0), "{}", r.err);
    assert!(r.err.contains("password must be changed"), "{}", r.err);
    assert!(
        r.out.contains("*c xConfiguration SystemUnit Name:"),
        "{}",
        r.out
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_key_survives_a_restart() {
    let mut node = Node::start().await;
    let first = keyscan(node.port()).await;
    let fingerprint = node
        .server
        .as_ref()
        .unwrap()
        .host_key_fingerprint()
        .to_string();
    assert!(fingerprint.starts_with("SHA256:"));

    // The key the server shows is the one in its file, which only its owner may read.
    let public = std::process::Command::new(tool("ssh-keygen"))
        .arg("-y")
        .arg("-f")
        .arg(node.host_key())
        .output()
        .unwrap();
    assert!(public.status.success());
    let public = String::from_utf8_lossy(&public.stdout);
    let public: Vec<&str> = public.split_whitespace().take(2).collect();
    assert_eq!(first, public.join(" "));
    let mode = std::fs::metadata(node.host_key())
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let listed = std::process::Command::new(tool("ssh-keygen"))
        .arg("-l")
        .arg("-f")
        .arg(node.host_key())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&listed.stdout).contains(&fingerprint));

    // An open session is told to go when the server stops.
    let c = node.with_password("admin", PASSWORD).arg("-T");
    let mut child = c.command(&[]).stdin(Stdio::piped()).spawn().unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let mut seen = String::new();
    stdin
        .write_all(b"xConfiguration SystemUnit Name\n")
        .await
        .unwrap();
    read_until(&mut child, &mut seen, "OK\n").await;

    node.restart().await;
    let status = tokio::time::timeout(CLIENT_LIMIT, child.wait())
        .await
        .expect("the session ended with the server")
        .unwrap();
    assert_ne!(status.code(), Some(0));
    drop(stdin);

    assert_eq!(keyscan(node.port()).await, first);
    assert_eq!(
        node.server.as_ref().unwrap().host_key_fingerprint(),
        fingerprint
    );
}

/// The server's Ed25519 host key as `ssh-keyscan` sees it: `ssh-ed25519 AAAA…`.
async fn keyscan(port: u16) -> String {
    let out = tokio::time::timeout(
        CLIENT_LIMIT,
        Command::new(tool("ssh-keyscan"))
            .args(["-t", "ed25519", "-p", &port.to_string(), "127.0.0.1"])
            .kill_on_drop(true)
            .output(),
    )
    .await
    .unwrap()
    .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find(|l| !l.starts_with('#') && l.contains("ssh-ed25519"))
        .unwrap_or_else(|| panic!("no key from ssh-keyscan: {text}"));
    let mut words = line.split_whitespace().skip(1);
    format!("{} {}", words.next().unwrap(), words.next().unwrap())
}
