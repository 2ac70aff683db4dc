//! A cluster across hosts: three processes in three network namespaces, each with its own
//! address on a bridge (nothing on localhost), one SIGKILLed, then resumed exactly once.
//! Needs the privilege to create network namespaces (root); skipped with a message where
//! the test lacks it.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::nexmark::{dumped, oracle, path};
use crate::support::{dir_bytes, example, kill, output_lines, wait_exit, wait_until};
use crate::windows_oracle::assert_same;

const LIMIT: Duration = Duration::from_secs(120);
const EVENTS: usize = 30_000;
const PORT: u16 = 2101;

fn ip(args: &[&str]) -> Result<(), String> {
    let output = Command::new("ip")
        .args(args)
        .output()
        .map_err(|err| format!("cannot run `ip` (iproute2): {err}"))?;
    if !output.status.success() {
        return Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        ));
    }
    Ok(())
}

/// Three host namespaces on a bridge in a fourth; deleted (with their links) when dropped.
struct Hosts {
    namespaces: Vec<String>,
}

impl Drop for Hosts {
    fn drop(&mut self) {
        for namespace in &self.namespaces {
            let _ = ip(&["netns", "del", namespace]);
        }
    }
}

impl Hosts {
    fn new(count: usize) -> Result<Hosts, String> {
        let tag = std::process::id();
        let bridge = format!("weir{tag}br");
        ip(&["netns", "add", &bridge])?;
        let mut hosts = Hosts {
            namespaces: vec![bridge.clone()],
        };
        ip(&["-n", &bridge, "link", "add", "br0", "type", "bridge"])?;
        ip(&["-n", &bridge, "link", "set", "br0", "up"])?;
        for i in 0..count {
            let host = format!("weir{tag}h{i}");
            ip(&["netns", "add", &host])?;
            hosts.namespaces.push(host.clone());
            let port = format!("b{i}");
            ip(&[
                "-n", &host, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns", &bridge,
            ])?;
            ip(&["-n", &bridge, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &bridge, "link", "set", &port, "up"])?;
            ip(&[
                "-n",
                &host,
                "addr",
                "add",
                &format!("{}/24", Hosts::address(i)),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &host, "link", "set", "eth0", "up"])?;
            ip(&["-n", &host, "link", "set", "lo", "up"])?;
        }
        Ok(hosts)
    }

    fn address(i: usize) -> String {
        format!("10.77.0.{}", i + 1)
    }

    /// Runs `program args` on host `i`.
    fn spawn(&self, i: usize, program: &std::path::Path, args: &[&str]) -> Child {
        Command::new("ip")
            .args(["netns", "exec", &self.namespaces[i + 1]])
            .arg(program)
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start a process in a namespace")
    }
}

#[test]
fn a_cluster_of_three_hosts_loses_one_and_resumes_exactly_once() {
    let hosts = match Hosts::new(3) {
        Ok(hosts) => hosts,
        Err(err) => {
            eprintln!(
                "skipped: cannot create network namespaces here ({err}); run as root to test a cluster across hosts"
            );
            return;
        }
    };
    let (out, store, dump) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    weir::recovery::init(store.path(), 3).unwrap();
    let addresses: Vec<String> = (0..3).map(|i| format!("{}:{PORT}", Hosts::address(i))).collect();
    let addresses = addresses.join(";");
    let events = EVENTS.to_string();
    let dump = dump.path().join("events.jsonl");
    let start = |i: usize, extra: &[&str]| {
        let id = i.to_string();
        let mut args = vec![
            "--query",
            "q5",
            "--events",
            &events,
            "--partitions",
            "6",
            "--output",
            path(out.path()),
            "-r",
            path(store.path()),
            "-s",
            "0.1",
            "-i",
            &id,
            "-a",
            &addresses,
        ];
        args.extend_from_slice(extra);
        hosts.spawn(i, &example("nexmark"), &args)
    };
    // Paced, so that the kill comes mid-run.
    let before = dir_bytes(store.path());
    let mut running: Vec<Child> = (0..3).map(|i| start(i, &["--rate", "5000"])).collect();
    wait_until("a commit of the cluster", LIMIT, || {
        dir_bytes(store.path()) > before
    });
    kill(running[2].id(), libc::SIGKILL);
    assert_eq!(
        wait_exit(&mut running[2], LIMIT).0,
        None,
        "host 2's process was killed"
    );
    for (i, process) in running.iter_mut().take(2).enumerate() {
        assert_eq!(wait_exit(process, LIMIT).0, Some(75), "host {i} lost its peer");
    }
    // All three hosts again: they resume from the store and run to the end.
    let mut resumed: Vec<Child> = (0..3)
        .map(|i| {
            if i == 0 {
                start(i, &["--dump-events", path(&dump)])
            } else {
                start(i, &[])
            }
        })
        .collect();
    for (i, process) in resumed.iter_mut().enumerate() {
        assert_eq!(wait_exit(process, LIMIT).0, Some(0), "host {i} finished");
    }
    let expected = oracle("q5", &dumped(&dump, EVENTS));
    assert_same(
        "3 hosts, one killed, resumed",
        &output_lines(out.path()),
        &expected,
    );
}
