//! The `nexmark` example against an oracle: the events it dumps (`--dump-events`, the
//! `nexmark` crate's serde form) are read back and each query is recomputed over them in
//! memory, without weir; the result files must hold exactly those lines, under one worker,
//! a local cluster of 2 processes × 2 workers, and SIGKILLs with a resume from a store.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use nexmark::event::Event;

use crate::support::{
    children_of, dir_bytes, example, kill, output_lines, run_with_limit, wait_exit, wait_until,
};
use crate::windows_oracle::assert_same;

/// Tumbling windows of q7 and q8, in ms.
const WINDOW: u64 = 10_000;

/// The result lines of `query` over `events`, computed directly.
pub(crate) fn oracle(query: &str, events: &[Event]) -> Vec<String> {
    let bids = events.iter().filter_map(|event| match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    });
    let persons = events.iter().filter_map(|event| match event {
        Event::Person(person) => Some(person),
        _ => None,
    });
    let auctions = events.iter().filter_map(|event| match event {
        Event::Auction(auction) => Some(auction),
        _ => None,
    });
    let mut lines: Vec<String> = match query {
        "q0" => bids
            .map(|b| {
                let fields = [
                    b.auction.to_string(),
                    b.bidder.to_string(),
                    b.price.to_string(),
                    b.channel.clone(),
                    b.url.clone(),
                    b.date_time.to_string(),
                    b.extra.clone(),
                ];
                fields.join("\t")
            })
            .collect(),
        "q1" => bids
            .map(|b| {
                format!(
                    "{}\t{}\t{:.3}\t{}",
                    b.auction,
                    b.bidder,
                    b.price as f64 * 0.908,
                    b.date_time
                )
            })
            .collect(),
        "q2" => bids
            .filter(|b| b.auction.is_multiple_of(123))
            .map(|b| format!("{}\t{}", b.auction, b.price))
            .collect(),
        "q3" => {
            let west: BTreeMap<usize, _> = persons
                .filter(|p| ["OR", "ID", "CA"].contains(&p.state.to_uppercase().as_str()))
                .map(|p| (p.id, p))
                .collect();
            auctions
                .filter(|a| a.category == 10)
                .filter_map(|a| {
                    let p = west.get(&a.seller)?;
                    Some(format!("{}\t{}\t{}\t{}", p.name, p.city, p.state, a.id))
                })
                .collect()
        }
        "q4" | "q9" => {
            let lifetimes: BTreeMap<usize, _> = auctions.map(|a| (a.id, a)).collect();
            // Per auction: its best bid in its lifetime as (price, earliest, lowest bidder).
            let mut best: BTreeMap<usize, (usize, Reverse<u64>, Reverse<usize>)> = BTreeMap::new();
            for b in bids {
                let Some(a) = lifetimes.get(&b.auction) else {
                    continue;
                };
                if a.date_time <= b.date_time && b.date_time <= a.expires {
                    let candidate = (b.price, Reverse(b.date_time), Reverse(b.bidder));
                    let held = best.entry(a.id).or_insert(candidate);
                    *held = (*held).max(candidate);
                }
            }
            if query == "q9" {
                best.iter()
                    .map(|(auction, (price, _, Reverse(bidder)))| format!("{auction}\t{bidder}\t{price}"))
                    .collect()
            } else {
                let mut categories: BTreeMap<usize, (u64, u64)> = BTreeMap::new();
                for (auction, (price, _, _)) in &best {
                    let entry = categories.entry(lifetimes[auction].category).or_default();
                    *entry = (entry.0 + 1, entry.1 + *price as u64);
                }
                categories
                    .iter()
                    .map(|(category, (n, sum))| format!("{category}\t{:.3}", *sum as f64 / *n as f64))
                    .collect()
            }
        }
        "q5" => {
            // Hopping windows [k·2 s, k·2 s + 10 s) holding each bid.
            let mut windows: BTreeMap<u64, BTreeMap<usize, u64>> = BTreeMap::new();
            for b in bids {
                let last = b.date_time / 2_000 * 2_000;
                for start in (0..5).map(|k| last.saturating_sub(k * 2_000)) {
                    if start + WINDOW > b.date_time {
                        *windows
                            .entry(start + WINDOW)
                            .or_default()
                            .entry(b.auction)
                            .or_default() += 1;
                    }
                }
            }
            let mut lines = Vec::new();
            for (end, counts) in windows {
                let top = counts.values().max().unwrap();
                for (auction, n) in counts.iter().filter(|(_, n)| *n == top) {
                    lines.push(format!("{end}\t{auction}\t{n}"));
                }
            }
            lines
        }
        "q7" => {
            let mut windows: BTreeMap<u64, Vec<_>> = BTreeMap::new();
            for b in bids {
                windows
                    .entry(b.date_time / WINDOW * WINDOW + WINDOW)
                    .or_default()
                    .push(b);
            }
            let mut lines = Vec::new();
            for (end, bids) in windows {
                let top = bids.iter().map(|b| b.price).max().unwrap();
                for b in bids.iter().filter(|b| b.price == top) {
                    lines.push(format!("{end}\t{}\t{}\t{}", b.auction, b.bidder, b.price));
                }
            }
            lines
        }
        "q8" => {
            let window = |ts: u64| ts / WINDOW * WINDOW;
            let sellers: BTreeSet<(u64, usize)> = auctions.map(|a| (window(a.date_time), a.seller)).collect();
            persons
                .filter(|p| sellers.contains(&(window(p.date_time), p.id)))
                .map(|p| format!("{}\t{}\t{}", window(p.date_time), p.id, p.name))
                .collect()
        }
        "q11" => {
            let mut times: BTreeMap<usize, Vec<u64>> = BTreeMap::new();
            for b in bids {
                times.entry(b.bidder).or_default().push(b.date_time);
            }
            let mut lines = Vec::new();
            for (bidder, mut times) in times {
                times.sort();
                let mut start = 0;
                for i in 1..=times.len() {
                    if i == times.len() || times[i] - times[i - 1] > WINDOW {
                        let (first, last) = (times[start], times[i - 1]);
                        lines.push(format!("{bidder}\t{}\t{first}\t{}", i - start, last + WINDOW));
                        start = i;
                    }
                }
            }
            lines
        }
        other => panic!("no oracle for {other}"),
    };
    lines.sort();
    lines
}

pub(crate) fn path(dir: &Path) -> &str {
    dir.to_str().expect("a UTF-8 temporary path")
}

/// Runs the example to completion (it must succeed); its output.
pub(crate) fn run_to_end(args: &[&str]) -> std::process::Output {
    let output = run_with_limit(&example("nexmark"), args, Duration::from_secs(300));
    assert!(
        output.status.success(),
        "nexmark {args:?} failed ({}): {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

/// The events of a dump, one per line, in order; each offset once.
pub(crate) fn dumped(path: &Path, events: usize) -> Vec<Event> {
    let text = std::fs::read_to_string(path).expect("the dump");
    let parsed: Vec<Event> = text
        .lines()
        .map(|line| serde_json::from_str(line).expect("a dumped event"))
        .collect();
    assert_eq!(parsed.len(), events, "every event once in the dump");
    parsed
}

/// Events of the oracle test: 15 s of event time, so windows close inside the input.
const EVENTS: usize = 150_000;

#[test]
fn every_query_writes_the_oracle_s_lines_on_one_worker_and_on_two_processes_of_two() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("events.jsonl");
    let events = EVENTS.to_string();
    let mut oracle_events: Option<Vec<Event>> = None;
    for query in ["q0", "q1", "q2", "q3", "q4", "q5", "q7", "q8", "q9", "q11"] {
        for cluster in [&["-w", "1"][..], &["-p", "2", "-w", "2"]] {
            let out = tempfile::tempdir().unwrap();
            let mut args = vec!["--query", query, "--events", &events, "--partitions", "4"];
            args.extend(["--output", path(out.path()), "-s", "0.2"]);
            args.extend(cluster);
            // Dumped once: the events depend on the count and partitions only.
            if oracle_events.is_none() {
                args.extend(["--dump-events", path(&dump)]);
            }
            run_to_end(&args);
            let events = oracle_events.get_or_insert_with(|| dumped(&dump, EVENTS));
            let expected = oracle(query, events);
            assert!(!expected.is_empty(), "{query} has results");
            let what = format!("{query} {cluster:?}");
            assert_same(&what, &output_lines(out.path()), &expected);
        }
        // `--sink null` counts the results it drops: as many as the oracle's.
        let expected = oracle(query, oracle_events.as_ref().expect("dumped"));
        let args = ["--query", query, "--events", &events, "--partitions", "4"];
        let output = run_to_end(&[&args[..], &["--sink", "null", "-w", "2"]].concat());
        let told = format!("{query}: {} results in this process", expected.len());
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(&told), "expected {told:?} in: {stderr}");
    }
}

/// `query` SIGKILLed twice with a recovery store of `store_partitions`, then finished with another worker count:
/// its lines are the oracle's. Kills wait for progress on disk: the store growing (an
/// epoch committed), since queries that emit at the end of the input write nothing before.
fn kill_and_resume(query: &str, events: usize, store_partitions: usize) {
    let (out, store, dump) = (
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    );
    weir::recovery::init(store.path(), store_partitions).unwrap();
    let dump = dump.path().join("events.jsonl");
    let (o, r, n) = (path(out.path()), path(store.path()), events.to_string());
    let common = [
        "--query",
        query,
        "--events",
        &n,
        "--partitions",
        "4",
        "--output",
        o,
        "-r",
        r,
        "-s",
        "0.05",
    ];
    let spawn = |extra: &[&str]| {
        Command::new(example("nexmark"))
            .args(common.iter().chain(extra))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nexmark")
    };
    let progress = || dir_bytes(store.path());

    // One process of 2 workers, SIGKILLed once it committed an epoch.
    let before = progress();
    let mut child = spawn(&["-w", "2"]);
    wait_until(&format!("{query}: a commit"), Duration::from_secs(60), || {
        progress() > before
    });
    kill(child.id(), libc::SIGKILL);
    assert_eq!(
        wait_exit(&mut child, Duration::from_secs(30)).0,
        None,
        "{query}: killed"
    );

    // A local cluster of 2 processes resumes; one is SIGKILLed once it committed more.
    let before = progress();
    let mut launcher = spawn(&["-p", "2", "-w", "1"]);
    wait_until(&format!("{query}: more commits"), Duration::from_secs(60), || {
        progress() > before
    });
    let children = children_of(launcher.id());
    assert_eq!(
        children.len(),
        2,
        "{query}: the launcher's processes: {children:?}"
    );
    kill(children[1], libc::SIGKILL);
    let (code, _) = wait_exit(&mut launcher, Duration::from_secs(60));
    assert_ne!(code, Some(0), "{query}: the launcher reports the killed process");

    // Three workers finish from the store, and dump the events for the oracle.
    let mut last: Vec<&str> = common.to_vec();
    last.extend(["-w", "3", "--dump-events", path(&dump)]);
    run_to_end(&last);
    let events = dumped(&dump, events);
    let what = format!("{query} after two kills");
    assert_same(&what, &output_lines(out.path()), &oracle(query, &events));
}

#[test]
fn stateless_queries_killed_twice_resume_to_exactly_the_oracle_s_lines() {
    for query in ["q0", "q1", "q2"] {
        kill_and_resume(query, 300_000, 3);
    }
}

#[test]
fn join_queries_killed_twice_resume_to_exactly_the_oracle_s_lines() {
    // More than 10 store partitions: where routing once broke.
    for query in ["q3", "q4", "q8", "q9"] {
        kill_and_resume(query, 150_000, 13);
    }
}

#[test]
fn window_queries_killed_twice_resume_to_exactly_the_oracle_s_lines() {
    for query in ["q5", "q7", "q11"] {
        kill_and_resume(query, 150_000, 7);
    }
}
