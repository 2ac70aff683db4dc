//! `-p N`: run this program as a local cluster of N processes on localhost ports it binds, and
//! with `--restart`, start it again from the recovery store when it fails.

use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{ChildStderr, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use crate::Error;
use crate::cli::RESTARTS_ENV;
use crate::cli::restart_policy::{Decision, FailedAttempt, RestartPolicy};
use crate::cli::signals::on_stop_signals;
use crate::engine::connect::LISTEN_FD_ENV;

/// Flags only the launcher reads, as `(short, long)`; its processes must not see them.
const LAUNCHER_FLAGS: [(Option<&str>, &str); 4] = [
    (Some("-p"), "--processes"),
    (None, "--restart"),
    (None, "--restart-window"),
    // Each process is given its own port in the environment.
    (None, "--metrics-addr"),
];

/// The environment variables of [`LAUNCHER_FLAGS`].
const LAUNCHER_ENV: [&str; 4] = [
    "WEIR_PROCESSES",
    "WEIR_RESTART",
    "WEIR_RESTART_WINDOW",
    "WEIR_METRICS_ADDR",
];

/// What the flags ask of the launcher.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Launch {
    /// Processes of the local cluster; 1 runs one process without networking.
    pub processes: usize,
    /// `--restart`: restarts allowed within `restart_window`.
    pub restarts: u32,
    /// `--restart-window`.
    pub restart_window: Duration,
    /// `-r`: the store the processes resume from, read after each failure.
    pub recovery_directory: Option<PathBuf>,
    /// `--metrics-addr`: process `i` serves at its port + `i` (port 0: any free port).
    pub metrics_addr: Option<SocketAddr>,
}

/// One failed run of the cluster.
struct Failed {
    /// Which process failed and how.
    error: Error,
    /// The message of its last `error: ` line (or of another process's, if it printed none).
    message: Option<String>,
}

/// Runs the local cluster; when it fails, restarts all of it (it resumes from the recovery
/// store) as `--restart` and `--restart-window` allow, unless the failure is deterministic.
///
/// SIGTERM and Ctrl-C are forwarded to the processes (each in a process group of its own,
/// so a terminal's Ctrl-C reaches them only this way, once); a cluster that was asked to
/// stop is not restarted.
pub(crate) fn supervise(launch: &Launch, args: Vec<OsString>) -> Result<(), Error> {
    let args = child_args(args);
    let children = Children::default();
    let stopping = Arc::new(AtomicBool::new(false));
    let forward = {
        let (children, stopping) = (children.clone(), stopping.clone());
        move || {
            stopping.store(true, Ordering::SeqCst);
            children.signal(libc::SIGTERM);
        }
    };
    on_stop_signals(forward.clone(), forward)?;
    let mut policy = RestartPolicy::new(launch.restarts, launch.restart_window);
    for restarts in 0.. {
        let Some(failed) = run_cluster(launch, &args, restarts, &children)? else {
            return Ok(());
        };
        if launch.restarts == 0 || stopping.load(Ordering::SeqCst) {
            return Err(failed.error);
        }
        let resume_epoch = launch.recovery_directory.as_deref().and_then(|dir| {
            crate::recovery::next_resume_epoch(dir)
                .inspect_err(|err| {
                    tracing::warn!(%err, "cannot read the resume epoch: a repeated failure will be retried")
                })
                .ok()
        });
        let attempt = FailedAttempt {
            failure: failed.error.to_string(),
            message: failed.message,
            resume_epoch,
        };
        match policy.decide(Instant::now(), attempt) {
            Decision::Restart { after } => {
                let err = &failed.error;
                tracing::warn!(
                    %err, ?resume_epoch, backoff = ?after,
                    "restarting the local cluster from the recovery store"
                );
                thread::sleep(after);
                if stopping.load(Ordering::SeqCst) {
                    return Err(failed.error);
                }
            }
            Decision::GiveUp(err) => return Err(err),
        }
    }
    unreachable!("the restart policy gives up long before u64::MAX restarts")
}

/// Starts the processes of `launch` with `args`, each told its process id, the cluster
/// addresses, its metrics address and the `restarts` so far through the environment;
/// waits for all of them. When one fails, stops the others and returns which one failed
/// and how; `None` if all succeeded.
fn run_cluster(
    launch: &Launch,
    args: &[OsString],
    restarts: u64,
    children: &Children,
) -> Result<Option<Failed>, Error> {
    let processes = launch.processes;
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| Error::Io { context, source }
    };
    // Each child inherits its bound listening socket: no port is found, released and bound
    // again (another program could take it in between).
    let mut listeners = match processes {
        1 => Vec::new(),
        _ => local_listeners(processes).map_err(io("binding localhost ports"))?,
    };
    let addresses = listeners
        .iter()
        .map(|l| l.local_addr().map(|a| a.to_string()))
        .collect::<std::io::Result<Vec<_>>>()
        .map_err(io("reading the cluster's ports"))?;
    let program = std::env::current_exe().map_err(io("finding this program's path"))?;
    let mut pids = Vec::with_capacity(processes);
    let mut stderrs = Vec::with_capacity(processes);
    let (exits, exited) = mpsc::channel::<(usize, std::io::Result<ExitStatus>)>();
    for process in 0..processes {
        let mut command = Command::new(&program);
        command.args(args).stderr(Stdio::piped()).process_group(0);
        LAUNCHER_ENV.iter().for_each(|var| {
            command.env_remove(var);
        });
        command.env(RESTARTS_ENV, restarts.to_string());
        if let Some(addr) = launch.metrics_addr {
            command.env(
                "WEIR_METRICS_ADDR",
                process_metrics_addr(addr, process)?.to_string(),
            );
        }
        let listener = (processes > 1).then(|| listeners.remove(0));
        if let Some(listener) = &listener {
            command
                .env("WEIR_PROCESS_ID", process.to_string())
                .env("WEIR_ADDRESSES", addresses.join(";"))
                .env(LISTEN_FD_ENV, listener.as_raw_fd().to_string());
        }
        let spawned = inheriting(listener.as_ref(), || command.spawn());
        // The child has its copy of the listener; ours closes here.
        drop(listener);
        let mut child = spawned.map_err(io(&format!("starting process {process} of the local cluster")))?;
        pids.push(child.id());
        children.started(child.id());
        stderrs.push(tee_stderr(child.stderr.take().expect("stderr is piped")));
        let exits = exits.clone();
        let children = children.clone();
        thread::spawn(move || {
            let status = child.wait();
            children.exited(child.id());
            let _ = exits.send((process, status));
        });
    }
    tracing::info!(processes, addresses = %addresses.join(";"), "started local cluster");
    let mut running = vec![true; processes];
    let mut first_failure = None;
    for (process, status) in exited.iter().take(processes) {
        running[process] = false;
        let failed = match status {
            Ok(status) if status.success() => None,
            Ok(status) => Some(status.to_string()),
            Err(e) => Some(format!("could not wait for it: {e}")),
        };
        if let Some(status) = failed
            && first_failure.is_none()
        {
            tracing::error!(process, %status, "process failed; stopping the others");
            for (other, _) in running.iter().enumerate().filter(|(_, r)| **r) {
                // SAFETY: plain kill(2) of our own child, which has not been reaped yet.
                unsafe { libc::kill(pids[other] as libc::pid_t, libc::SIGKILL) };
            }
            first_failure = Some((process, status));
        }
    }
    let messages: Vec<Option<String>> = stderrs.into_iter().map(|t| t.join().unwrap_or(None)).collect();
    Ok(first_failure.map(|(process, status)| Failed {
        error: Error::ProcessFailed { process, status },
        // A process that lost its peer prints no error line: the peer's explains it.
        message: messages[process]
            .clone()
            .or_else(|| messages.iter().flatten().next().cloned()),
    }))
}

/// The processes of the running cluster, for forwarding signals.
#[derive(Clone, Default)]
struct Children(Arc<Mutex<Vec<u32>>>);

impl Children {
    fn started(&self, pid: u32) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(pid);
    }

    /// Forgets a process that was waited for (its pid may be reused).
    fn exited(&self, pid: u32) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|p| *p != pid);
    }

    fn signal(&self, signal: libc::c_int) {
        for pid in self.0.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            // SAFETY: kill(2) of a child that was not waited for (`exited` forgets them, a
            // moment after the wait).
            unsafe { libc::kill(*pid as libc::pid_t, signal) };
        }
    }
}

/// The metrics address of `process`: `addr`'s port + `process` (port 0 stays 0: any
/// free port).
fn process_metrics_addr(mut addr: SocketAddr, process: usize) -> Result<SocketAddr, Error> {
    if addr.port() != 0 {
        let port = u16::try_from(process)
            .ok()
            .and_then(|p| addr.port().checked_add(p))
            .ok_or_else(|| {
                Error::Config(format!(
                    "--metrics-addr {addr}: process {process} would need a port above 65535; \
                     choose a lower port"
                ))
            })?;
        addr.set_port(port);
    }
    Ok(addr)
}

/// Copies a child's stderr to ours, line by line; returns the message of its last
/// `error: ` line (how a weir program reports why it failed).
fn tee_stderr(stderr: ChildStderr) -> JoinHandle<Option<String>> {
    thread::spawn(move || {
        let mut reader = BufReader::new(stderr);
        let mut line = Vec::new();
        let mut last_error = None;
        while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
            if !line.ends_with(b"\n") {
                // A child killed in the middle of a line: end it, so what we print next
                // starts a line of its own.
                line.push(b'\n');
            }
            let _ = std::io::stderr().lock().write_all(&line);
            let text = String::from_utf8_lossy(&line);
            if let Some(message) = text.trim_end().strip_prefix("error: ")
                && !message.trim().is_empty()
            {
                last_error = Some(message.to_owned());
            }
            line.clear();
        }
        last_error
    })
}

/// `count` listening sockets on free localhost ports.
fn local_listeners(count: usize) -> std::io::Result<Vec<TcpListener>> {
    (0..count).map(|_| TcpListener::bind("127.0.0.1:0")).collect()
}

/// Runs `spawn` with `listener` (if any) inheritable by the child it starts, and
/// close-on-exec again afterwards (children are started one at a time, from this thread).
fn inheriting<T>(
    listener: Option<&TcpListener>,
    spawn: impl FnOnce() -> std::io::Result<T>,
) -> std::io::Result<T> {
    let Some(listener) = listener else {
        return spawn();
    };
    let fd = listener.as_raw_fd();
    let set_cloexec = |on: bool| {
        // SAFETY: fcntl(2) on a descriptor `listener` owns and keeps open meanwhile.
        let flags = unsafe { libc::fcntl(fd, libc::F_GETFD) };
        let flags = if on {
            flags | libc::FD_CLOEXEC
        } else {
            flags & !libc::FD_CLOEXEC
        };
        if flags < 0 || unsafe { libc::fcntl(fd, libc::F_SETFD, flags) } < 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    };
    set_cloexec(false)?;
    let spawned = spawn();
    set_cloexec(true)?;
    spawned
}

/// The arguments without the launcher's own flags, in every spelling (`-p N`, `-pN`,
/// `--processes N`, `--processes=N`, `--restart N`, `--restart=N`, …).
fn child_args(args: Vec<OsString>) -> Vec<OsString> {
    let mut kept = Vec::with_capacity(args.len());
    let mut skip_value = false;
    for arg in args {
        if std::mem::take(&mut skip_value) {
            continue;
        }
        let text = arg.to_string_lossy();
        for (short, long) in LAUNCHER_FLAGS {
            if text == long || short == Some(&*text) {
                skip_value = true;
            }
        }
        let attached = LAUNCHER_FLAGS.iter().any(|(short, long)| {
            text.strip_prefix(long).is_some_and(|rest| rest.starts_with('='))
                || short.is_some_and(|s| text.starts_with(s) && !text.starts_with("--"))
        });
        if !skip_value && !attached {
            kept.push(arg);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(args: &[&str]) -> Vec<String> {
        child_args(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn removes_every_spelling_of_the_launcher_flags() {
        assert_eq!(strip(&["-p", "2", "-w", "2"]), ["-w", "2"]);
        assert_eq!(strip(&["-p3", "--input", "x"]), ["--input", "x"]);
        assert_eq!(strip(&["--processes", "2", "-s", "1"]), ["-s", "1"]);
        assert_eq!(strip(&["--processes=2", "--output", "o"]), ["--output", "o"]);
        assert_eq!(strip(&["--restart", "2", "-r", "s", "--restart=3"]), ["-r", "s"]);
        assert_eq!(
            strip(&["--restart-window", "9", "--restart-window=1", "--running"]),
            ["--running"]
        );
    }

    #[test]
    fn listeners_are_on_distinct_ports() {
        let mut addresses: Vec<String> = local_listeners(3)
            .unwrap()
            .iter()
            .map(|l| l.local_addr().unwrap().to_string())
            .collect();
        addresses.sort();
        addresses.dedup();
        assert_eq!(addresses.len(), 3);
    }
}
