//! A throw-away PostgreSQL cluster for the tests: `initdb` into a temporary directory,
//! `pg_ctl start` on a free loopback port with its Unix socket in that directory (as the
//! `postgres` OS user when the tests run as root), stopped and removed on drop. No
//! system service, no fixed port, nothing left behind.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long one of the cluster's commands may take before it is killed.
const COMMAND_DEADLINE: Duration = Duration::from_secs(120);

/// Starts `command` and waits for it at most [`COMMAND_DEADLINE`]; a command that
/// overstays is killed, and the error names it.
fn wait_bounded(command: &mut Command, what: &str) -> Result<ExitStatus, String> {
    let mut child = command
        .spawn()
        .map_err(|e| format!("{what} does not run: {e}"))?;
    let started = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) if started.elapsed() < COMMAND_DEADLINE => {
                std::thread::sleep(Duration::from_millis(20))
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "{what} still ran after {COMMAND_DEADLINE:?}: killed"
                ));
            }
            Err(e) => return Err(format!("waiting for {what}: {e}")),
        }
    }
}

/// The binaries of the newest PostgreSQL installed (`/usr/lib/postgresql/N/bin`).
pub fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let version = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((version, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

/// A running cluster; stopped and removed on drop.
pub struct PgCluster {
    dir: PathBuf,
    bin: PathBuf,
    /// Its loopback port.
    pub port: u16,
    as_postgres: bool,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl PgCluster {
    /// Starts a cluster with the tables of `setup` (SQL run as the superuser).
    pub fn start(setup: &str) -> Self {
        use std::sync::atomic::{AtomicU32, Ordering};
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let bin = bin_dir().expect("PostgreSQL's binaries (apt-get install -y postgresql)");
        let dir = std::env::temp_dir().join(format!(
            "fastflight-pg-{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let as_postgres = is_root();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["postgres:", dir.to_str().unwrap()])
                .status()
                .is_ok_and(|s| s.success());
            assert!(ok, "chown of {} to postgres failed", dir.display());
        }
        let mut cluster = Self {
            dir,
            bin,
            port: 0,
            as_postgres,
        };
        let data = cluster.data();
        cluster.run(
            "initdb",
            &[
                "-D",
                &data,
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
        );
        // PostgreSQL is told its port: one free now, another if it was taken before
        // the server bound it.
        let log = cluster.dir.join("server.log");
        for attempt in 1.. {
            cluster.port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .expect("a free port")
                .port();
            let options = format!(
                "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
                cluster.port,
                cluster.dir.display()
            );
            let started = cluster.try_run(
                "pg_ctl",
                &[
                    "-D",
                    &data,
                    "-o",
                    &options,
                    "-l",
                    log.to_str().unwrap(),
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            );
            match started {
                Ok(()) => break,
                Err(e) if attempt < 5 && e.contains("could not bind") => {
                    let _ = std::fs::remove_file(&log);
                }
                Err(e) => panic!("{e}"),
            }
        }
        cluster.psql(setup);
        cluster
    }

    fn data(&self) -> String {
        self.dir.join("data").display().to_string()
    }

    /// Runs one of the cluster's binaries (as `postgres` when root); panics on failure
    /// with its output. Its output goes to files, never to the test's pipes: the server
    /// `pg_ctl` starts must not hold them.
    fn run(&self, program: &str, args: &[&str]) {
        if let Err(e) = self.try_run(program, args) {
            panic!("{e}");
        }
    }

    /// Runs one of the cluster's binaries; `Err` with its output and the server's log.
    fn try_run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let path = self.bin.join(program);
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let out_path = self.dir.join(format!("{program}.out"));
        let out = std::fs::File::create(&out_path).unwrap();
        let status = wait_bounded(
            command
                .args(args)
                .current_dir(&self.dir)
                .stdin(Stdio::null())
                .stdout(out.try_clone().unwrap())
                .stderr(out),
            program,
        )?;
        if !status.success() {
            let output = std::fs::read_to_string(&out_path).unwrap_or_default();
            let log = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
            return Err(format!("{program} failed ({status}): {output}\n{log}"));
        }
        Ok(())
    }

    /// Runs SQL as the superuser, stopping at the first error.
    pub fn psql(&self, sql: &str) -> String {
        // Output to files (one pair per call: calls may overlap), read once psql has
        // ended: a bounded wait needs no pipe reader.
        use std::sync::atomic::{AtomicU32, Ordering};
        static CALL: AtomicU32 = AtomicU32::new(0);
        let call = CALL.fetch_add(1, Ordering::SeqCst);
        let out_path = self.dir.join(format!("psql-{call}.stdout"));
        let err_path = self.dir.join(format!("psql-{call}.stderr"));
        let status = wait_bounded(
            Command::new(self.bin.join("psql"))
                .args([
                    "-h",
                    "127.0.0.1",
                    "-p",
                    &self.port.to_string(),
                    "-U",
                    "postgres",
                    "-d",
                    "postgres",
                    "-v",
                    "ON_ERROR_STOP=1",
                    "-q",
                    "-t",
                    "-A",
                    "-c",
                    sql,
                ])
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&out_path).expect("psql's output file"))
                .stderr(std::fs::File::create(&err_path).expect("psql's error file")),
            "psql",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let out = std::fs::read_to_string(&out_path).unwrap_or_default();
        let err = std::fs::read_to_string(&err_path).unwrap_or_default();
        assert!(status.success(), "psql failed: {err}");
        let _ = std::fs::remove_file(&out_path);
        let _ = std::fs::remove_file(&err_path);
        out.trim().to_owned()
    }

    /// The URL of the database `postgres` as `user`, over TCP.
    pub fn url(&self, user: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/postgres", self.port)
    }

    /// The folder of the cluster's Unix socket.
    pub fn socket_dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data();
        let path = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&path);
            c
        } else {
            Command::new(&path)
        };
        let _ = wait_bounded(
            command
                .args(["-D", &data, "-m", "immediate", "-w", "stop"])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null()),
            "pg_ctl stop",
        );
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
