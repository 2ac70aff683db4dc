//! A private PostgreSQL server for the tests: `initdb` into a temporary directory and
//! `pg_ctl start` on a free loopback port, as the `postgres` user when running as root
//! (`initdb` refuses root); stopped (immediately) when dropped.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A running server; stopped on drop.
pub struct Postgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
}

/// Installs Debian's `postgresql` if no server is installed and this is root (as on a
/// fresh CI machine; `.ci/run` does it first), once per test process.
fn install_if_missing() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let installed = std::fs::read_dir("/usr/lib/postgresql").is_ok();
        if installed || unsafe { libc::geteuid() } != 0 {
            return;
        }
        let script = "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql";
        let status = Command::new("sh").args(["-c", script]).status();
        assert!(status.is_ok_and(|s| s.success()), "installing postgresql failed");
    });
}

/// The newest installed PostgreSQL's binaries (Debian puts them under a version).
fn binaries() -> PathBuf {
    install_if_missing();
    let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dirs| dirs.filter_map(|d| Some(d.ok()?.path().join("bin"))).collect())
        .unwrap_or_default();
    versions.retain(|bin| bin.join("initdb").exists());
    versions.sort();
    versions.pop().expect(
        "PostgreSQL is not installed (/usr/lib/postgresql/*/bin/initdb): `apt-get install postgresql` \
         (.ci/run does it where missing)",
    )
}

/// Runs a server program, as `postgres` when this is root.
fn run(bin: &Path, program: &str, args: &[&str]) {
    let root = unsafe { libc::geteuid() } == 0;
    let mut command = match root {
        true => {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(bin.join(program));
            c
        }
        false => Command::new(bin.join(program)),
    };
    let out = command.args(args).output().expect("run a PostgreSQL program");
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Postgres {
    /// Starts a fresh server (about 2 s).
    pub fn start() -> Postgres {
        let bin = binaries();
        let dir = tempfile::tempdir().unwrap();
        if unsafe { libc::geteuid() } == 0 {
            let owned = Command::new("chown")
                .args(["postgres:"])
                .arg(dir.path())
                .status()
                .unwrap();
            assert!(owned.success(), "chown the server's directory to postgres");
        }
        let data = dir.path().join("data");
        let (data_s, dir_s) = (data.to_str().unwrap(), dir.path().to_str().unwrap());
        run(
            &bin,
            "initdb",
            &["-D", data_s, "--auth=trust", "-U", "postgres", "--no-sync"],
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let options = format!("-p {port} -k {dir_s} -c listen_addresses=127.0.0.1 -c fsync=off");
        let log = dir.path().join("log");
        run(
            &bin,
            "pg_ctl",
            &[
                "-D",
                data_s,
                "-l",
                log.to_str().unwrap(),
                "-w",
                "start",
                "-o",
                &options,
            ],
        );
        Postgres { bin, dir, port }
    }

    /// A libpq connection string for the server's `postgres` database.
    pub fn url(&self) -> String {
        format!("host=127.0.0.1 port={} user=postgres dbname=postgres", self.port)
    }

    /// A client.
    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url(), postgres::NoTls).expect("connect to the test server")
    }

    /// Stops the server at once (clients see their connections drop).
    pub fn stop(&self) {
        let data = self.dir.path().join("data");
        run(
            &self.bin,
            "pg_ctl",
            &["-D", data.to_str().unwrap(), "-m", "immediate", "-w", "stop"],
        );
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.path().join("data");
        if data.join("postmaster.pid").exists() {
            self.stop();
        }
    }
}
