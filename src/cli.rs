//! The command line (this exact interface is what test scripts and the test bed drive):
//! `rsmbd serve`, `rsmbd user add|del|list`, `rsmbd status`, `rsmbd check-config`.
use crate::auth::UserDb;
use crate::config::{Config, ShareConfig};
use clap::{Parser, Subcommand};
use std::io::{BufRead, IsTerminal};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// rsmbd: an SMB 2.x/3.x file server.
#[derive(Parser, Debug)]
#[command(version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve shares. With no arguments: 127.0.0.1:4455, share `share` in the data directory.
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Listen address (repeatable); replaces the configured ones. Port 0 picks a free port.
        #[arg(long)]
        listen: Vec<String>,
        /// A disk share NAME=DIR (repeatable); replaces the configured shares.
        #[arg(long)]
        share: Vec<String>,
        /// The user database.
        #[arg(long)]
        users: Option<PathBuf>,
        /// Log filter (tracing's EnvFilter syntax) when RUST_LOG is unset.
        #[arg(long)]
        log: Option<String>,
        /// No SMB Direct (RDMA) listeners.
        #[arg(long)]
        no_rdma: bool,
    },
    /// Manage the user database.
    User {
        #[command(subcommand)]
        action: UserCmd,
    },
    /// Show a running server's sessions, channels and open files (through its control socket
    /// `<state_dir>/control.sock`; root or the server's user only).
    Status {
        /// The server's configuration file (for its state directory).
        #[arg(long)]
        config: Option<PathBuf>,
        /// The server's state directory; overrides the configuration's.
        #[arg(long)]
        state_dir: Option<PathBuf>,
    },
    /// Validate a configuration file; print each error with its line and column.
    CheckConfig {
        /// The file.
        file: PathBuf,
    },
}

#[derive(Subcommand, Debug)]
enum UserCmd {
    /// Add a user or change its password (read from stdin, or prompted on a terminal).
    Add {
        /// The user database (default: the data directory's `users`).
        #[arg(long)]
        users: Option<PathBuf>,
        /// User name.
        name: String,
    },
    /// Delete a user.
    Del {
        /// The user database.
        #[arg(long)]
        users: Option<PathBuf>,
        /// User name.
        name: String,
    },
    /// List users.
    List {
        /// The user database.
        #[arg(long)]
        users: Option<PathBuf>,
    },
}

/// Entry point of the binary.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Cmd::Serve {
            config,
            listen,
            share,
            users,
            log,
            no_rdma,
        } => serve(config, listen, share, users, log, no_rdma),
        Cmd::User { action } => user(action),
        Cmd::Status { config, state_dir } => status(config, state_dir),
        Cmd::CheckConfig { file } => match Config::load(&file) {
            Ok(_) => {
                println!("{}: ok", file.display());
                ExitCode::SUCCESS
            }
            Err(errors) => {
                for e in errors {
                    eprintln!("{}: {e}", file.display());
                }
                ExitCode::FAILURE
            }
        },
    }
}

/// `rsmbd status`: prints the report of the server with this state directory.
fn status(config: Option<PathBuf>, state_dir: Option<PathBuf>) -> ExitCode {
    let dir = match (state_dir, &config) {
        (Some(d), _) => d,
        (None, Some(path)) => match Config::load(path) {
            Ok(c) => c.state_dir,
            Err(errors) => {
                for e in errors {
                    eprintln!("{}: {e}", path.display());
                }
                return ExitCode::FAILURE;
            }
        },
        (None, None) => Config::builtin_default().state_dir,
    };
    match crate::server::control::query(&dir) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(e),
    }
}

fn fail(msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("rsmbd: {msg}");
    ExitCode::FAILURE
}

fn serve(
    config: Option<PathBuf>,
    listen: Vec<String>,
    share: Vec<String>,
    users: Option<PathBuf>,
    log: Option<String>,
    no_rdma: bool,
) -> ExitCode {
    let mut cfg = match &config {
        Some(path) => match Config::load(path) {
            Ok(c) => c,
            Err(errors) => {
                for e in errors {
                    eprintln!("{}: {e}", path.display());
                }
                return ExitCode::FAILURE;
            }
        },
        None => Config::builtin_default(),
    };
    if no_rdma {
        cfg.smb_direct = false;
    }
    if !listen.is_empty() {
        cfg.listen.clear();
        for l in &listen {
            match l.parse() {
                Ok(a) => cfg.listen.push(a),
                Err(_) => return fail(format!("--listen {l}: expected ADDR:PORT")),
            }
        }
    }
    if !share.is_empty() {
        cfg.shares.clear();
        for s in &share {
            let Some((name, dir)) = s.split_once('=') else {
                return fail(format!("--share {s}: expected NAME=DIR"));
            };
            if !crate::config::valid_share_name(name) {
                return fail(format!("--share {s}: invalid share name"));
            }
            let path = match std::path::absolute(dir) {
                Ok(p) => p,
                Err(e) => return fail(format!("--share {s}: {e}")),
            };
            cfg.shares.push(ShareConfig {
                name: name.into(),
                path,
                read_only: false,
                encrypt: false,
                guest_ok: false,
                comment: String::new(),
                case_insensitive: true,
                continuous_availability: false,
            });
        }
    }
    if let Some(u) = users {
        cfg.users_file = u;
    }
    let filter = std::env::var("RUST_LOG")
        .ok()
        .or(log)
        .unwrap_or_else(|| cfg.log_level.clone());
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_new(&filter).unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let server = match crate::server::Server::new(cfg) {
        Ok(s) => std::sync::Arc::new(s),
        Err(e) => return fail(e),
    };
    if server.auth.users.users().next().is_none() {
        eprintln!(
            "rsmbd: no users yet; add one with: rsmbd user add --users {} NAME",
            server.config.users_file.display()
        );
    }
    for s in &server.config.shares {
        eprintln!("rsmbd: share {} -> {}", s.name, s.path.display());
    }
    raise_fd_limit();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    match rt.block_on(async move {
        // Persistent handles of the previous run come back before clients can connect.
        crate::server::persistent::restore(&server).await;
        crate::server::listener::run(server).await
    }) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(e),
    }
}

/// Raises the soft limit on open files to the hard limit: every connection and open costs a
/// descriptor, and the usual soft limit of 1024 would cap the server far below what it serves.
fn raise_fd_limit() {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a local struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                eprintln!("rsmbd: could not raise the open-file limit");
            }
        }
    }
}

fn users_path(p: Option<PathBuf>) -> PathBuf {
    p.unwrap_or_else(|| crate::config::default_data_dir().join("users"))
}

fn load_db(path: &Path) -> Result<UserDb, ExitCode> {
    match UserDb::load(path) {
        Ok(db) => Ok(db),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(UserDb::empty()),
        Err(e) => Err(fail(format!("{}: {e}", path.display()))),
    }
}

fn read_password() -> std::io::Result<String> {
    if std::io::stdin().is_terminal() {
        let a = rpassword::prompt_password("New password: ")?;
        let b = rpassword::prompt_password("Again: ")?;
        if a != b {
            return Err(std::io::Error::other("passwords differ"));
        }
        Ok(a)
    } else {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line.trim_end_matches(['\n', '\r']).to_string())
    }
}

fn user(action: UserCmd) -> ExitCode {
    match action {
        UserCmd::Add { users, name } => {
            let path = users_path(users);
            let mut db = match load_db(&path) {
                Ok(db) => db,
                Err(code) => return code,
            };
            let password = match read_password() {
                Ok(p) if !p.is_empty() => p,
                Ok(_) => return fail("empty password"),
                Err(e) => return fail(format!("reading the password: {e}")),
            };
            if let Err(e) = db.add(&name, &password) {
                return fail(e);
            }
            if let Some(dir) = path.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            match db.save(&path) {
                Ok(()) => {
                    eprintln!("user {name} saved in {}", path.display());
                    ExitCode::SUCCESS
                }
                Err(e) => fail(format!("{}: {e}", path.display())),
            }
        }
        UserCmd::Del { users, name } => {
            let path = users_path(users);
            let mut db = match load_db(&path) {
                Ok(db) => db,
                Err(code) => return code,
            };
            if !db.remove(&name) {
                return fail(format!("no user {name}"));
            }
            match db.save(&path) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(format!("{}: {e}", path.display())),
            }
        }
        UserCmd::List { users } => {
            let path = users_path(users);
            let db = match load_db(&path) {
                Ok(db) => db,
                Err(code) => return code,
            };
            for u in db.users() {
                println!("{}", u.name);
            }
            ExitCode::SUCCESS
        }
    }
}
