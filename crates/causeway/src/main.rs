//! `causeway`: the server and its local tools.

/// Writes a line to standard error, ignoring failure: a server whose terminal went away (or
/// whose output was closed by whoever started it) carries on instead of dying on the write.
macro_rules! say {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($t)*);
    }};
}

/// The same for standard output.
macro_rules! tell {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($t)*);
    }};
}

mod accounts;
mod cdrs;
mod cli;
mod control;
mod datadir;
mod directory;
mod logins;
mod management;
mod remote_log;
mod serve;

use clap::{Parser, Subcommand};

// A server that holds a hundred thousand registrations and churns through short-lived
// transactions fragments glibc's allocator badly; mimalloc keeps the footprint near the data.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "causeway",
    version,
    about = "Video-communications edge and call-control server",
    long_about = "causeway registers SIP and H.323 endpoints, routes calls between zones and \
                  carries them across firewalls. Every setting lives in one configuration tree in \
                  the data directory; manage it with `causeway cli` (xConfiguration, xCommand, \
                  xStatus) while the server runs or while it is stopped."
)]
struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server in the foreground until SIGTERM or SIGINT.
    ///
    /// On first start the data directory is created with the factory configuration and an
    /// `admin` account whose random password is printed once and written to
    /// DIR/initial-admin-password (readable by the owner only).
    Serve {
        /// Where the configuration, logs and control socket live.
        #[arg(long, env = "CAUSEWAY_DATA_DIR", default_value = "causeway-data")]
        data_dir: PathBuf,
        /// Where HTTPS (web interface and REST API) listens: an address, whose port is
        /// `Management Interface Port`; or ADDR:PORT, which overrides that setting; or `off`.
        #[arg(long, value_name = "ADDR|ADDR:PORT|off", default_value = "0.0.0.0", value_parser = https_listen)]
        https_listen: HttpsListen,
        /// Where plain HTTP is answered with a redirect to HTTPS; `off` for nowhere.
        #[arg(long, value_name = "ADDR:PORT|off", default_value = "0.0.0.0:80", value_parser = listen)]
        http_listen: Listen,
        /// Where the SSH command line listens; `off` for nowhere.
        #[arg(long, value_name = "ADDR:PORT|off", default_value = "0.0.0.0:22", value_parser = listen)]
        ssh_listen: Listen,
    },
    /// Run xAPI lines (xConfiguration, xCommand, xStatus).
    ///
    /// With LINE, runs that one line; otherwise runs each line of standard input, or prompts when
    /// standard input is a terminal. Talks to the server running on DIR through its control
    /// socket; when none runs, works on the stored configuration directly. Exits 0 when every
    /// line answered OK, 1 when any answered with an error.
    Cli {
        #[arg(long, env = "CAUSEWAY_DATA_DIR", default_value = "causeway-data")]
        data_dir: PathBuf,
        /// One xAPI line, e.g. `xConfiguration SIP Mode: On` (words may be given separately).
        line: Vec<String>,
    },
    /// Print the event log (or the configuration log), oldest entry first.
    Log {
        #[arg(long, env = "CAUSEWAY_DATA_DIR", default_value = "causeway-data")]
        data_dir: PathBuf,
        /// The configuration log instead of the event log.
        #[arg(long)]
        config: bool,
        /// Keep printing new entries as they are written.
        #[arg(long, short = 'f')]
        follow: bool,
        /// Only entries containing every word of TEXT (case-insensitive).
        #[arg(long)]
        grep: Option<String>,
    },
}

/// A listening address, or none.
#[derive(Debug, Clone, Copy)]
struct Listen(Option<std::net::SocketAddr>);

fn listen(s: &str) -> Result<Listen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(Listen(None));
    }
    s.parse()
        .map(|a| Listen(Some(a)))
        .map_err(|_| format!("\"{s}\" is neither ADDR:PORT (e.g. 127.0.0.1:8080) nor off"))
}

/// The HTTPS listening address: an IP address alone takes its port from the configuration.
#[derive(Debug, Clone, Copy)]
struct HttpsListen(Option<serve::HttpsAt>);

fn https_listen(s: &str) -> Result<HttpsListen, String> {
    if s.eq_ignore_ascii_case("off") {
        return Ok(HttpsListen(None));
    }
    if let Ok(a) = s.parse::<std::net::SocketAddr>() {
        return Ok(HttpsListen(Some(serve::HttpsAt::Fixed(a))));
    }
    s.parse::<std::net::IpAddr>()
        .map(|ip| HttpsListen(Some(serve::HttpsAt::Configured(ip))))
        .map_err(|_| format!("\"{s}\" is neither an address, ADDR:PORT nor off"))
}

fn main() -> ExitCode {
    let args = Args::parse();
    // The data directory holds secrets (password hashes, zone credentials): nothing this process
    // creates is for other users.
    // SAFETY: umask only changes this process's file creation mask.
    unsafe { libc::umask(0o077) };
    let result = match args.command {
        Command::Serve {
            data_dir,
            https_listen,
            http_listen,
            ssh_listen,
        } => serve::run(
            &data_dir,
            serve::Listeners {
                https: https_listen.0,
                http: http_listen.0,
                ssh: ssh_listen.0,
            },
        ),
        Command::Cli { data_dir, line } => cli::run(&data_dir, &line),
        Command::Log {
            data_dir,
            config,
            follow,
            grep,
        } => cli::log(&data_dir, config, follow, grep.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("causeway: {e:#}");
            ExitCode::from(2)
        }
    }
}
