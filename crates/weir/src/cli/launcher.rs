//! `-p N`: run this program as a local cluster of N processes on free localhost ports.

use std::ffi::OsString;
use std::net::TcpListener;
use std::process::{Child, Command, ExitStatus};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use crate::Error;

/// Runs the local cluster; when it fails, restarts all of it (it resumes from the recovery
/// store) up to `restarts` times, waiting longer before each attempt.
pub(crate) fn supervise(processes: usize, restarts: u32, args: Vec<OsString>) -> Result<(), Error> {
    let mut attempt = 0;
    loop {
        match launch(processes, args.clone()) {
            Err(err @ Error::ProcessFailed { .. }) if attempt < restarts => {
                attempt += 1;
                let backoff = Duration::from_millis(200) * 2u32.pow(attempt.min(5));
                tracing::warn!(%err, attempt, of = restarts, ?backoff, "restarting the local cluster from the recovery store");
                thread::sleep(backoff);
            }
            result => return result,
        }
    }
}

/// Starts `processes` copies of this program (with `args`, minus `-p`), each told its
/// process id and the cluster addresses through the environment; waits for all of them.
/// When one fails, stops the others and reports which one failed and how.
fn launch(processes: usize, args: Vec<OsString>) -> Result<(), Error> {
    let io = |context: &str| {
        let context = context.to_owned();
        move |source| Error::Io { context, source }
    };
    let addresses = free_local_addresses(processes).map_err(io("finding free localhost ports"))?;
    let program = std::env::current_exe().map_err(io("finding this program's path"))?;
    let child_args = without_processes_flag(args);
    let mut pids = Vec::with_capacity(processes);
    let (exits, exited) = mpsc::channel::<(usize, std::io::Result<ExitStatus>)>();
    for process in 0..processes {
        let child: Child = Command::new(&program)
            .args(&child_args)
            .env("WEIR_PROCESS_ID", process.to_string())
            .env("WEIR_ADDRESSES", addresses.join(";"))
            .env_remove("WEIR_PROCESSES")
            .spawn()
            .map_err(io(&format!("starting process {process} of the local cluster")))?;
        pids.push(child.id());
        let exits = exits.clone();
        thread::spawn(move || {
            let mut child = child;
            let _ = exits.send((process, child.wait()));
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
            first_failure = Some(Error::ProcessFailed { process, status });
        }
    }
    first_failure.map_or(Ok(()), Err)
}

/// `count` distinct localhost addresses whose ports were free a moment ago.
fn free_local_addresses(count: usize) -> std::io::Result<Vec<String>> {
    let listeners = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<Vec<_>>>()?;
    listeners
        .iter()
        .map(|l| Ok(l.local_addr()?.to_string()))
        .collect()
}

/// The arguments without `-p N`, `-pN`, `--processes N` or `--processes=N`.
fn without_processes_flag(args: Vec<OsString>) -> Vec<OsString> {
    let mut kept = Vec::with_capacity(args.len());
    let mut skip_next = false;
    for arg in args {
        if std::mem::take(&mut skip_next) {
            continue;
        }
        let text = arg.to_string_lossy();
        if text == "-p" || text == "--processes" {
            skip_next = true;
        } else if !(text.starts_with("--processes=") || (text.starts_with("-p") && !text.starts_with("--"))) {
            kept.push(arg);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strip(args: &[&str]) -> Vec<String> {
        without_processes_flag(args.iter().map(OsString::from).collect())
            .into_iter()
            .map(|a| a.into_string().unwrap())
            .collect()
    }

    #[test]
    fn removes_every_spelling_of_the_processes_flag() {
        assert_eq!(strip(&["-p", "2", "-w", "2"]), ["-w", "2"]);
        assert_eq!(strip(&["-p3", "--input", "x"]), ["--input", "x"]);
        assert_eq!(strip(&["--processes", "2", "-s", "1"]), ["-s", "1"]);
        assert_eq!(strip(&["--processes=2", "--output", "o"]), ["--output", "o"]);
    }

    #[test]
    fn free_addresses_are_distinct() {
        let addresses = free_local_addresses(3).unwrap();
        let mut unique = addresses.clone();
        unique.dedup();
        assert_eq!(unique.len(), 3);
    }
}
