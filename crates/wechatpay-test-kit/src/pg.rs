//! A throw-away PostgreSQL server for tests and benchmarks, driven only
//! through PostgreSQL's command-line tools (`initdb`, `pg_ctl`, `psql`): no
//! client library.
//!
//! [`PgServer::start`] runs `initdb` on a fresh temporary directory and
//! starts the server on a free port of 127.0.0.1 (trust authentication, the
//! superuser `postgres`, the Unix socket in the temporary directory, no
//! fsync). [`PgServer::stop`] and [`PgServer::restart`] simulate an outage
//! on the same port and data; dropping the server stops it (`-m immediate`)
//! and removes the directory.
//!
//! When the tests run as root (CI, containers) `initdb` and `postgres`
//! refuse to run, so the server tools run as the `postgres` user through
//! `runuser -u postgres --` (or `su postgres`), and the temporary directory
//! belongs to `postgres`. The tools are found on `PATH`, else in the newest
//! `/usr/lib/postgresql/*/bin` (Debian's `postgresql` package); [`available`]
//! says which, or how to install them.
//!
//! Every wait is bounded: the server tools get `-t` timeouts and every
//! command is killed past a deadline of its own, so a broken installation
//! fails a test instead of hanging it.

#![warn(missing_docs)]

use std::ffi::OsStr;
use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::net::{Ipv4Addr, TcpListener};
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How to install the server tools, for the error messages.
const INSTALL_HINT: &str =
    "install PostgreSQL's server tools (Debian/Ubuntu: `apt-get install postgresql`; \
     the tests start their own server, nothing else needs setting up)";

/// How long `pg_ctl` waits for the server to start (`-t`).
const START_WAIT_SECS: u64 = 60;
/// How long `pg_ctl stop -m fast` waits (`-t`).
const STOP_WAIT_SECS: u64 = 30;
/// How long the `pg_ctl stop -m immediate` of `Drop` waits (`-t`).
const DROP_WAIT_SECS: u64 = 20;
/// Extra time a command gets over its own `-t` before it is killed.
const SLACK: Duration = Duration::from_secs(15);
/// How many free ports `start` tries when the server finds its port taken.
const PORT_ATTEMPTS: usize = 5;

/// A PostgreSQL server of its own, on a temporary directory and a free port
/// of 127.0.0.1, for one test (or benchmark).
///
/// The superuser is `postgres`, authentication is `trust` (local and
/// loopback), durability is off (`fsync`, `synchronous_commit`,
/// `full_page_writes`), `max_connections` is 200. Dropping it stops the
/// server (`pg_ctl stop -m immediate`, bounded) and removes the directory.
#[derive(Debug)]
pub struct PgServer {
    /// The temporary directory: `data/` (the cluster), the Unix socket and
    /// `postgres.log`.
    dir: tempfile::TempDir,
    port: u16,
    /// The directory of `initdb`, `pg_ctl` and `postgres`.
    bin: PathBuf,
    psql: PathBuf,
    /// How the server tools run: directly, or as `postgres` when we are root.
    run_as: RunAs,
}

/// How the server tools (`initdb`, `pg_ctl`) are run.
#[derive(Debug, Clone)]
enum RunAs {
    /// Directly, as the current (non-root) user.
    Me,
    /// `runuser -u postgres -- PROGRAM ARGS...`.
    Runuser(PathBuf),
    /// `su postgres -s /bin/sh -c 'PROGRAM ARGS...'`.
    Su(PathBuf),
}

impl PgServer {
    /// Runs `initdb` on a new temporary directory and starts the server
    /// (`pg_ctl start -w -t 60`) listening on 127.0.0.1 only, on a free port
    /// (another one, up to 5 times, when the port was taken in between),
    /// with trust authentication for local and loopback connections.
    ///
    /// Fails when the tools are missing (see [`available`]), when running
    /// as root without a `postgres` user, or when a command fails; the
    /// error names the command and carries its output, and for a failed
    /// start the tail of the server's log.
    pub fn start() -> Result<PgServer, String> {
        let bin = available()?;
        let psql = find_on_path("psql")
            .or_else(|| Some(bin.join("psql")).filter(|p| is_executable(p)))
            .ok_or_else(|| {
                format!(
                    "psql was found neither on PATH nor in {}; {INSTALL_HINT}",
                    bin.display()
                )
            })?;
        let root = effective_uid()? == 0;
        let run_as = if root { run_as_postgres()? } else { RunAs::Me };

        // Under /tmp: world-traversable, and short enough for the Unix
        // socket's path (at most 107 bytes).
        let base = Path::new("/tmp");
        let base = if base.is_dir() {
            base.to_path_buf()
        } else {
            std::env::temp_dir()
        };
        let dir = tempfile::Builder::new()
            .prefix("wechatpay-pg-")
            .tempdir_in(&base)
            .map_err(|e| format!("creating a temporary directory in {}: {e}", base.display()))?;
        if root {
            let mut chown = Command::new("chown");
            chown.arg("postgres").arg(dir.path());
            run(chown, Duration::from_secs(30))?;
        }

        let mut server = PgServer {
            dir,
            port: 0,
            bin,
            psql,
            run_as,
        };
        let data = server.data_dir();
        let initdb = server.tool(
            "initdb",
            [
                OsStr::new("-D"),
                data.as_os_str(),
                OsStr::new("-U"),
                OsStr::new("postgres"),
                OsStr::new("--auth=trust"),
                OsStr::new("-E"),
                OsStr::new("UTF8"),
                OsStr::new("--locale=C"),
                OsStr::new("--no-sync"),
            ],
        );
        run(initdb, Duration::from_secs(120))?;
        server.configure()?;

        // The server is in `server` from here on: on an error its Drop stops
        // whatever may have started and removes the directory.
        let mut last_error = String::new();
        for _ in 0..PORT_ATTEMPTS {
            server.port = free_port()?;
            let log_before = file_len(&server.log_file());
            match server.pg_ctl_start() {
                Ok(()) => return Ok(server),
                Err(error) => {
                    let log = read_from(&server.log_file(), log_before);
                    let port_taken = log.contains("Address already in use")
                        || log.contains("could not create any TCP/IP sockets");
                    if !port_taken {
                        return Err(error);
                    }
                    // Another process took the port between our probe and
                    // the server's bind: make sure nothing runs, try another.
                    server.stop_immediately();
                    last_error = error;
                }
            }
        }
        Err(format!(
            "the server found its port taken {PORT_ATTEMPTS} times; last: {last_error}"
        ))
    }

    /// Creates the database `name` (`CREATE DATABASE` through `psql`) and
    /// returns its URL, `postgres://postgres@127.0.0.1:PORT/NAME`.
    ///
    /// Fails when the database exists or the server is down.
    pub fn create_database(&self, name: &str) -> Result<String, String> {
        self.psql(
            "postgres",
            &format!("CREATE DATABASE \"{}\"", name.replace('"', "\"\"")),
        )?;
        Ok(self.url(name))
    }

    /// The URL of the database `name` on this server,
    /// `postgres://postgres@127.0.0.1:PORT/NAME` (the name percent-encoded
    /// where it needs to be), without creating it.
    pub fn url(&self, name: &str) -> String {
        format!(
            "postgres://postgres@127.0.0.1:{}/{}",
            self.port,
            percent_encode(name)
        )
    }

    /// The server's TCP port on 127.0.0.1 (the same across
    /// [`stop`](Self::stop) and [`restart`](Self::restart)).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the server (`pg_ctl stop -m fast -w -t 30`), keeping its data
    /// directory: an outage, until [`restart`](Self::restart).
    pub fn stop(&self) -> Result<(), String> {
        self.pg_ctl_stop("fast", STOP_WAIT_SECS)
    }

    /// Starts the server again on the same port and data directory
    /// (`pg_ctl start -w -t 60`), returning once it accepts connections.
    ///
    /// Fails (with the tail of the server's log) when it does not start in
    /// time, for instance when another process took the port meanwhile.
    pub fn restart(&self) -> Result<(), String> {
        self.pg_ctl_start()
    }

    /// Runs `psql -X -At -c SQL` against the database `db` (as `postgres`,
    /// over TCP) and returns its standard output as is: one line per row,
    /// columns separated by `|`, each line ending in a newline (callers
    /// usually `.trim()` it).
    ///
    /// Fails with psql's standard error when it exits non-zero (an SQL
    /// error, the server down); the connection attempt times out after
    /// 10 s and the whole command after 120 s.
    pub fn psql(&self, db: &str, sql: &str) -> Result<String, String> {
        let mut psql = Command::new(&self.psql);
        psql.arg("-X")
            .arg("-At")
            .arg("-h")
            .arg("127.0.0.1")
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-U")
            .arg("postgres")
            .arg("-d")
            .arg(db)
            .arg("-c")
            .arg(sql)
            .env("PGCONNECT_TIMEOUT", "10")
            .current_dir(self.dir.path());
        run(psql, Duration::from_secs(120))
    }

    /// Turns TLS on: a certificate for `127.0.0.1`, signed by a CA made for the
    /// purpose (with the `openssl` command), becomes the server's, `ssl = on`,
    /// and the configuration is reloaded. Returns the CA certificate's path, for
    /// a client that verifies the server with it (`PGSSLROOTCERT`).
    pub fn enable_tls(&self) -> Result<PathBuf, String> {
        let data = self.data_dir();
        let dir = self.dir.path();
        let (ca_key, ca) = (dir.join("ca.key"), dir.join("ca.crt"));
        let (key, csr, cert) = (
            data.join("server.key"),
            dir.join("server.csr"),
            data.join("server.crt"),
        );
        let ext = dir.join("server.ext");
        std::fs::write(
            &ext,
            "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n",
        )
        .map_err(|e| format!("writing {}: {e}", ext.display()))?;
        let openssl = |args: &[&OsStr]| {
            let mut command = Command::new("openssl");
            command.args(args);
            run(command, Duration::from_secs(60))
        };
        let os = |s: &'static str| OsStr::new(s);
        openssl(&[
            os("req"),
            os("-x509"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-days"),
            os("2"),
            os("-subj"),
            os("/CN=wechatpay test CA"),
            os("-keyout"),
            ca_key.as_os_str(),
            os("-out"),
            ca.as_os_str(),
        ])?;
        openssl(&[
            os("req"),
            os("-newkey"),
            os("rsa:2048"),
            os("-nodes"),
            os("-subj"),
            os("/CN=127.0.0.1"),
            os("-keyout"),
            key.as_os_str(),
            os("-out"),
            csr.as_os_str(),
        ])?;
        openssl(&[
            os("x509"),
            os("-req"),
            os("-in"),
            csr.as_os_str(),
            os("-CA"),
            ca.as_os_str(),
            os("-CAkey"),
            ca_key.as_os_str(),
            os("-CAcreateserial"),
            os("-days"),
            os("2"),
            os("-extfile"),
            ext.as_os_str(),
            os("-out"),
            cert.as_os_str(),
        ])?;
        if !matches!(self.run_as, RunAs::Me) {
            let mut chown = Command::new("chown");
            chown.arg("postgres").arg(&key).arg(&cert);
            run(chown, Duration::from_secs(30))?;
        }
        let mut chmod = Command::new("chmod");
        chmod.arg("600").arg(&key);
        run(chmod, Duration::from_secs(30))?;
        self.psql("postgres", "ALTER SYSTEM SET ssl = on")?;
        self.psql("postgres", "SELECT pg_reload_conf()")?;
        // The reload is asynchronous: wait (bounded) until new sessions see it.
        for _ in 0..100 {
            if self.psql("postgres", "SHOW ssl")?.trim() == "on" {
                return Ok(ca);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("the server did not turn ssl on after pg_reload_conf()".into())
    }

    /// `data/`, the cluster's directory.
    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The server's log (`pg_ctl -l`).
    fn log_file(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    /// Appends the settings to `postgresql.conf` (the port is given at each
    /// start, with `-o -p`).
    fn configure(&self) -> Result<(), String> {
        let socket_dir = self.dir.path().to_string_lossy().replace('\'', "''");
        let settings = format!(
            "\n# wechatpay-test-kit: a throw-away server for tests\n\
             listen_addresses = '127.0.0.1'\n\
             unix_socket_directories = '{socket_dir}'\n\
             fsync = off\n\
             synchronous_commit = off\n\
             full_page_writes = off\n\
             max_connections = 200\n\
             shared_buffers = 128MB\n"
        );
        let conf = self.data_dir().join("postgresql.conf");
        std::fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .and_then(|mut f| f.write_all(settings.as_bytes()))
            .map_err(|e| format!("appending the settings to {}: {e}", conf.display()))
    }

    /// `pg_ctl start -w -t 60` on the data directory and `self.port`; the
    /// error carries the tail of the server's log.
    fn pg_ctl_start(&self) -> Result<(), String> {
        let log = self.log_file();
        let options = format!("-p {}", self.port);
        let start = self.tool(
            "pg_ctl",
            [
                OsStr::new("start"),
                OsStr::new("-D"),
                self.data_dir().as_os_str(),
                OsStr::new("-l"),
                log.as_os_str(),
                OsStr::new("-o"),
                OsStr::new(&options),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new(&START_WAIT_SECS.to_string()),
            ],
        );
        run(start, Duration::from_secs(START_WAIT_SECS) + SLACK).map_err(|error| {
            format!(
                "{error}\n--- the tail of {} ---\n{}",
                log.display(),
                tail(&log, 30)
            )
        })?;
        Ok(())
    }

    /// `pg_ctl stop -m immediate -t 20`, errors ignored (also when nothing
    /// runs).
    fn stop_immediately(&self) {
        let _ = self.pg_ctl_stop("immediate", DROP_WAIT_SECS);
    }

    /// `pg_ctl stop -m MODE -w -t SECS`, bounded a little beyond its own wait.
    fn pg_ctl_stop(&self, mode: &str, wait_secs: u64) -> Result<(), String> {
        let wait = wait_secs.to_string();
        let stop = self.tool(
            "pg_ctl",
            [
                OsStr::new("stop"),
                OsStr::new("-D"),
                self.data_dir().as_os_str(),
                OsStr::new("-m"),
                OsStr::new(mode),
                OsStr::new("-w"),
                OsStr::new("-t"),
                OsStr::new(&wait),
            ],
        );
        run(stop, Duration::from_secs(wait_secs) + SLACK).map(drop)
    }

    /// The command running the server tool `name` of the bin directory with
    /// `args`, as `postgres` when we are root, in the temporary directory
    /// (the tools want a working directory they can read).
    fn tool<'a>(&self, name: &str, args: impl IntoIterator<Item = &'a OsStr>) -> Command {
        let program = self.bin.join(name);
        let mut command = match &self.run_as {
            RunAs::Me => {
                let mut c = Command::new(&program);
                c.args(args);
                c
            }
            RunAs::Runuser(runuser) => {
                let mut c = Command::new(runuser);
                c.args(["-u", "postgres", "--"]).arg(&program).args(args);
                c
            }
            RunAs::Su(su) => {
                let mut script = shell_quote(program.as_os_str());
                for arg in args {
                    script.push(' ');
                    script.push_str(&shell_quote(arg));
                }
                let mut c = Command::new(su);
                c.args(["postgres", "-s", "/bin/sh", "-c"]).arg(script);
                c
            }
        };
        command.current_dir(self.dir.path());
        command
    }
}

impl Drop for PgServer {
    /// Stops the server (`pg_ctl stop -m immediate -t 20`, bounded, errors
    /// ignored) and removes the temporary directory.
    fn drop(&mut self) {
        self.stop_immediately();
    }
}

/// The directory of PostgreSQL's server tools (`initdb`, `pg_ctl` and
/// `postgres` side by side): the one of `initdb` or `pg_ctl` on `PATH`
/// (symbolic links followed), else the newest `/usr/lib/postgresql/*/bin`.
///
/// The error says how to install them.
pub fn available() -> Result<PathBuf, String> {
    let on_path = ["initdb", "pg_ctl"]
        .into_iter()
        .filter_map(find_on_path)
        .filter_map(|tool| std::fs::canonicalize(tool).ok())
        .filter_map(|tool| tool.parent().map(Path::to_path_buf));
    let mut versions: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            let version = name
                .split('.')
                .map(|part| part.parse::<u64>().ok())
                .collect::<Option<Vec<u64>>>()?;
            Some((version, entry.path().join("bin")))
        })
        .collect();
    versions.sort();
    let debian = versions.into_iter().rev().map(|(_, bin)| bin);
    on_path
        .chain(debian)
        .find(|bin| {
            ["initdb", "pg_ctl", "postgres"]
                .iter()
                .all(|tool| is_executable(&bin.join(tool)))
        })
        .ok_or_else(|| {
            format!(
                "PostgreSQL's server tools (initdb, pg_ctl, postgres) were found neither \
                 on PATH nor under /usr/lib/postgresql/*/bin; {INSTALL_HINT}"
            )
        })
}

/// How to run the server tools as `postgres`, when we are root.
fn run_as_postgres() -> Result<RunAs, String> {
    let mut id = Command::new("id");
    id.args(["-u", "postgres"]);
    if let Err(error) = run(id, Duration::from_secs(10)) {
        return Err(format!(
            "running as root, and initdb and postgres refuse to run as root, but there is no \
             `postgres` user to run them as ({error}); create one (`useradd --system postgres`) \
             or {INSTALL_HINT}, which creates it"
        ));
    }
    let sbin = ["/usr/sbin/runuser", "/sbin/runuser"];
    if let Some(runuser) = find_on_path("runuser")
        .or_else(|| sbin.iter().map(PathBuf::from).find(|p| is_executable(p)))
    {
        return Ok(RunAs::Runuser(runuser));
    }
    let bin = ["/usr/bin/su", "/bin/su"];
    if let Some(su) =
        find_on_path("su").or_else(|| bin.iter().map(PathBuf::from).find(|p| is_executable(p)))
    {
        return Ok(RunAs::Su(su));
    }
    Err(
        "running as root, and initdb and postgres refuse to run as root, but neither runuser \
         nor su was found to run them as `postgres`"
            .to_string(),
    )
}

/// The effective uid: `/proc/self/status`'s `Uid:` line, else `id -u`.
fn effective_uid() -> Result<u32, String> {
    if let Ok(status) = std::fs::read_to_string("/proc/self/status") {
        let euid = status
            .lines()
            .find_map(|line| line.strip_prefix("Uid:"))
            .and_then(|ids| ids.split_whitespace().nth(1))
            .and_then(|euid| euid.parse().ok());
        if let Some(euid) = euid {
            return Ok(euid);
        }
    }
    let mut id = Command::new("id");
    id.arg("-u");
    let out = run(id, Duration::from_secs(10))?;
    out.trim()
        .parse()
        .map_err(|e| format!("`id -u` printed {out:?}: {e}"))
}

/// A port of 127.0.0.1 free right now (bound, read, released).
fn free_port() -> Result<u16, String> {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .map(|addr| addr.port())
        .map_err(|e| format!("finding a free port on 127.0.0.1: {e}"))
}

/// Runs `command` with no input, its output captured in (unlinked)
/// temporary files rather than pipes, so that a server it leaves running
/// cannot hold them open; kills it past `timeout`. Returns its standard
/// output when it exits with success; else an error naming the command,
/// with its status and output.
fn run(mut command: Command, timeout: Duration) -> Result<String, String> {
    let what = format!("{command:?}");
    let capture = || tempfile::tempfile().map_err(|e| format!("{what}: capturing output: {e}"));
    let (mut stdout, mut stderr) = (capture()?, capture()?);
    let child_stdout = stdout
        .try_clone()
        .map_err(|e| format!("{what}: capturing output: {e}"))?;
    let child_stderr = stderr
        .try_clone()
        .map_err(|e| format!("{what}: capturing output: {e}"))?;
    let mut child = command
        .stdin(Stdio::null())
        .stdout(child_stdout)
        .stderr(child_stderr)
        .spawn()
        .map_err(|e| format!("{what} could not be started: {e}"))?;
    let deadline = Instant::now() + timeout;
    let status: Option<ExitStatus> = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() >= deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => return Err(format!("{what}: waiting for it: {e}")),
        }
    };
    let out = read_all(&mut stdout);
    let err = read_all(&mut stderr);
    match status {
        Some(status) if status.success() => Ok(out),
        Some(status) => Err(format!(
            "{what} failed ({status})\n--- stderr ---\n{err}--- stdout ---\n{out}"
        )),
        None => Err(format!(
            "{what} did not finish within {} s and was killed\n--- stderr ---\n{err}--- stdout ---\n{out}",
            timeout.as_secs()
        )),
    }
}

/// The whole of a capture file, from its start.
fn read_all(file: &mut File) -> String {
    let mut bytes = Vec::new();
    let _ = file
        .seek(SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut bytes));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The size of `path`, 0 when it does not exist.
fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// `path` from byte `offset` on ("" when unreadable).
fn read_from(path: &Path, offset: u64) -> String {
    let mut bytes = Vec::new();
    let _ = File::open(path)
        .and_then(|mut f| f.seek(SeekFrom::Start(offset)).map(|_| f))
        .and_then(|mut f| f.read_to_end(&mut bytes));
    String::from_utf8_lossy(&bytes).into_owned()
}

/// The last `lines` lines of `path`, or why there are none.
fn tail(path: &Path, lines: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let all: Vec<&str> = text.lines().collect();
            all[all.len().saturating_sub(lines)..].join("\n")
        }
        Err(e) => format!("(no log: {e})"),
    }
}

/// `name` in a directory of `PATH`, when it is an executable file there.
fn find_on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

/// Whether `path` is a file (after links) with an execute bit.
fn is_executable(path: &Path) -> bool {
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

/// `arg` single-quoted for `sh`.
fn shell_quote(arg: &OsStr) -> String {
    format!("'{}'", arg.to_string_lossy().replace('\'', r"'\''"))
}

/// `name` with every byte but the URL-unreserved ones percent-encoded.
fn percent_encode(name: &str) -> String {
    let mut encoded = String::with_capacity(name.len());
    for byte in name.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_encode_what_they_must() {
        assert_eq!(percent_encode("campaign_journal-1"), "campaign_journal-1");
        assert_eq!(percent_encode("a b/c"), "a%20b%2Fc");
    }

    #[test]
    fn shell_quoting_survives_quotes() {
        assert_eq!(shell_quote(OsStr::new("it's")), r"'it'\''s'");
    }

    #[test]
    fn the_effective_uid_is_read() {
        assert!(effective_uid().is_ok());
    }

    #[test]
    fn failures_name_the_command_and_carry_its_stderr() {
        let mut sh = Command::new("sh");
        sh.args(["-c", "echo boom >&2; exit 3"]);
        let error = run(sh, Duration::from_secs(10)).unwrap_err();
        assert!(error.contains("\"sh\""), "{error}");
        assert!(error.contains("boom"), "{error}");
    }

    #[test]
    fn a_command_past_its_deadline_is_killed() {
        let mut sleep = Command::new("sleep");
        sleep.arg("30");
        let started = Instant::now();
        let error = run(sleep, Duration::from_millis(200)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(10));
        assert!(error.contains("killed"), "{error}");
    }
}
