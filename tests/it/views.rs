//! Incremental views against an independent oracle: random upsert/delete streams through
//! the `orders_view` example (join + sum) give, consolidated, the view computed directly
//! from the inputs' final state — on 1 worker, on 2 processes of 2 workers, and after
//! SIGKILLs and a resume at another worker count; each epoch carries net changes only.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tempfile::TempDir;

use weir::testing::{TestEvent, TestingSink, TestingSource, run_main};
use weir::views::Change;
use weir::{Dataflow, RunConfig};

use crate::support::{Rng, example, kill, output_lines, run_with_limit, spawn, wait_exit, wait_until};

const REGIONS: [&str; 4] = ["north", "south", "east", "west"];

/// Random orders and customers CSV files in `orders` and `customers` (each key in one
/// file); returns the view the final state of the inputs gives: total per region.
pub fn write_inputs(orders: &Path, customers: &Path, lines: usize, seed: u64) -> BTreeMap<String, i64> {
    let mut rng = Rng(seed);
    let mut live_customers: BTreeMap<String, String> = BTreeMap::new();
    let customer_files = 2;
    let mut texts = vec![String::new(); customer_files];
    for _ in 0..lines / 10 {
        let id = rng.next() % 40;
        let file = (id % customer_files as u64) as usize;
        let id = format!("c{id}");
        if rng.next().is_multiple_of(5) {
            texts[file].push_str(&format!("delete,{id}\n"));
            live_customers.remove(&id);
        } else {
            let region = REGIONS[(rng.next() % 4) as usize];
            texts[file].push_str(&format!("upsert,{id},{region}\n"));
            live_customers.insert(id, region.to_owned());
        }
    }
    for (file, text) in texts.iter().enumerate() {
        std::fs::write(customers.join(format!("customers-{file}.csv")), text).unwrap();
    }
    let mut live_orders: BTreeMap<String, (String, i64)> = BTreeMap::new();
    let order_files = 3;
    let mut texts = vec![String::new(); order_files];
    for _ in 0..lines {
        let id = rng.next() % 500;
        let file = (id % order_files as u64) as usize;
        let id = format!("o{id}");
        if rng.next().is_multiple_of(4) {
            texts[file].push_str(&format!("delete,{id}\n"));
            live_orders.remove(&id);
        } else {
            // Some customers never exist: their orders join nothing.
            let customer = format!("c{}", rng.next() % 50);
            let amount = (rng.next() % 1_000) as i64;
            texts[file].push_str(&format!("upsert,{id},{customer},{amount}\n"));
            live_orders.insert(id, (customer, amount));
        }
    }
    for (file, text) in texts.iter().enumerate() {
        std::fs::write(orders.join(format!("orders-{file}.csv")), text).unwrap();
    }
    let mut totals = BTreeMap::new();
    for (customer, amount) in live_orders.values() {
        if let Some(region) = live_customers.get(customer) {
            *totals.entry(region.clone()).or_insert(0) += amount;
        }
    }
    totals
}

/// The changelog lines `region<TAB>total<TAB>diff` in `dir`, consolidated: each row's
/// multiplicity, the rows that add up to zero left out.
pub fn consolidated(dir: &Path) -> BTreeMap<(String, i64), i64> {
    let mut rows = BTreeMap::new();
    for line in output_lines(dir) {
        let fields: Vec<&str> = line.split('\t').collect();
        assert_eq!(fields.len(), 3, "a changelog line: {line:?}");
        let diff: i64 = fields[2].parse().unwrap();
        assert!(diff == 1 || diff == -1, "diff 1 or -1: {line:?}");
        *rows
            .entry((fields[0].to_owned(), fields[1].parse().unwrap()))
            .or_insert(0) += diff;
    }
    rows.retain(|_, multiplicity| *multiplicity != 0);
    rows
}

/// Fails unless the consolidated changelog is exactly `expected`, each row once.
pub fn assert_view(rows: &BTreeMap<(String, i64), i64>, expected: &BTreeMap<String, i64>, what: &str) {
    let got: BTreeMap<(String, i64), i64> = expected.iter().map(|(r, t)| ((r.clone(), *t), 1)).collect();
    assert_eq!(
        rows, &got,
        "{what}: the consolidated changelog is the oracle's view, each row once"
    );
}

/// Fresh random inputs of `orders_view`, an output directory, and the oracle's view.
pub struct ViewRun {
    orders: TempDir,
    customers: TempDir,
    pub out: TempDir,
    pub expected: BTreeMap<String, i64>,
}

impl ViewRun {
    pub fn new(lines: usize, seed: u64) -> ViewRun {
        let (orders, customers) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let expected = write_inputs(orders.path(), customers.path(), lines, seed);
        let out = tempfile::tempdir().unwrap();
        ViewRun {
            orders,
            customers,
            out,
            expected,
        }
    }

    /// The example's inputs.
    pub fn inputs(&self) -> Vec<&str> {
        let (orders, customers) = (self.orders.path(), self.customers.path());
        vec![
            "--orders",
            orders.to_str().unwrap(),
            "--customers",
            customers.to_str().unwrap(),
        ]
    }

    /// The inputs, the changelog's directory and epochs of `epoch` seconds.
    pub fn args_with_epochs<'a>(&'a self, epoch: &'a str) -> Vec<&'a str> {
        let mut args = self.inputs();
        args.extend(["--output", self.out.path().to_str().unwrap(), "-s", epoch]);
        args
    }

    /// The inputs and the changelog's directory, with 20 ms epochs.
    pub fn args(&self) -> Vec<&str> {
        self.args_with_epochs("0.02")
    }
}

/// Runs `orders_view` to its end on fresh inputs and checks it against the oracle.
fn run_orders_view(runtime: &[&str], seed: u64) {
    let run = ViewRun::new(20_000, seed);
    let args = [&run.args()[..], runtime].concat();
    let done = run_with_limit(&example("orders_view"), &args, Duration::from_secs(300));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    assert_view(
        &consolidated(run.out.path()),
        &run.expected,
        &format!("{runtime:?}"),
    );
}

#[test]
fn random_upserts_and_deletes_give_the_oracles_view_on_1_worker() {
    run_orders_view(&["-w", "1"], 1);
}

#[test]
fn random_upserts_and_deletes_give_the_oracles_view_on_2_processes_of_2_workers() {
    run_orders_view(&["-p", "2", "-w", "2"], 2);
}

#[test]
fn each_epoch_carries_only_its_net_changes() {
    use TestEvent::{Advance, Item};
    let write = |key: u8, value: Option<&str>| Item((key, value.map(str::to_owned)));
    let events = vec![
        write(1, Some("a")),
        write(2, Some("x")),
        Advance(Duration::ZERO),
        // Epoch 2: b is inserted and replaced within the epoch, x deleted and restored.
        write(1, Some("b")),
        write(1, Some("c")),
        write(2, None),
        write(2, Some("x")),
        Advance(Duration::ZERO),
        write(2, None),
    ];
    let mut flow = Dataflow::new("net");
    let out = TestingSink::new();
    flow.input("in", TestingSource::from_events(events))
        .as_table("table")
        .changelog("changes")
        .output("out", out.clone());
    run_main(flow).unwrap();
    let change = |key: u8, value: &str, diff| Change {
        key,
        value: value.to_owned(),
        diff,
    };
    assert_eq!(
        out.items(),
        [
            change(1, "a", 1),
            change(2, "x", 1),
            change(1, "a", -1),
            change(1, "c", 1),
            change(2, "x", -1),
        ]
    );
}

#[test]
fn each_epoch_carries_only_its_net_changes_through_a_join_and_an_aggregate() {
    use TestEvent::{Advance, Item};
    let order = |id: u64, customer: u64, amount: i64| Item((id, Some((customer, amount))));
    let customer = |id: u64, region: Option<&str>| Item((id, region.map(str::to_owned)));
    let orders = vec![
        order(1, 1, 10),
        order(2, 2, 5),
        Advance(Duration::ZERO),
        // Epoch 2: order 1 amended and restored (east unchanged), order 2 amended.
        order(1, 1, 20),
        order(1, 1, 10),
        order(2, 2, 7),
        Advance(Duration::ZERO),
        order(3, 2, 1),
    ];
    let customers = vec![
        customer(1, Some("east")),
        customer(2, Some("west")),
        Advance(Duration::ZERO),
        // Epoch 2: customer 2 moves east and back (west would have emptied).
        customer(2, Some("east")),
        customer(2, Some("west")),
        Advance(Duration::ZERO),
        // Epoch 3: customer 1 leaves, and east with it.
        customer(1, None),
    ];
    let mut flow = Dataflow::new("net_join");
    let out = TestingSink::new();
    let regions = flow
        .input("customers", TestingSource::from_events(customers))
        .as_table("customers_table");
    flow.input("orders", TestingSource::from_events(orders))
        .as_table("orders_table")
        .map("by_customer", |(_, (customer, amount))| (customer, amount))
        .join("with_region", &regions)
        .map("by_region", |(_, (amount, region))| (region, amount))
        .sum("total")
        .changelog("changes")
        .output("out", out.clone());
    run_main(flow).unwrap();
    let change = |region: &str, value: i64, diff| Change {
        key: region.to_owned(),
        value,
        diff,
    };
    // Every intermediate total (east 30 or 15, west 0) would add a retracted pair.
    let mut expected = vec![
        change("east", 10, 1),
        change("west", 5, 1),
        change("west", 5, -1),
        change("west", 7, 1),
        change("east", 10, -1),
        change("west", 7, -1),
        change("west", 8, 1),
    ];
    expected.sort();
    assert_eq!(out.sorted(), expected);
}

#[test]
fn a_view_is_the_same_on_every_worker_count_in_process() {
    // Joins and aggregates across workers: keys move between workers at every step.
    let writes: Vec<(u64, Option<(u64, i64)>)> = (0..3_000u64)
        .map(|i| (i % 97, (i % 7 != 0).then_some((i % 13, i as i64))))
        .collect();
    let mut results = Vec::new();
    for workers in [1, 3] {
        let mut flow = Dataflow::new("workers");
        let out = TestingSink::new();
        flow.input("in", TestingSource::new(writes.clone()).with_batch_size(50))
            .as_table("table")
            .map("by_group", |(_, (group, amount))| (group, amount))
            .sum("sum")
            .changelog("changes")
            .output("out", out.clone());
        weir::run(flow, RunConfig::threads(workers)).unwrap();
        let mut view: BTreeMap<(u64, i64), isize> = BTreeMap::new();
        for change in out.items() {
            *view.entry((change.key, change.value)).or_insert(0) += change.diff;
        }
        view.retain(|_, m| *m != 0);
        results.push(view);
    }
    let mut last: BTreeMap<u64, (u64, i64)> = BTreeMap::new();
    for (key, write) in &writes {
        match write {
            Some(order) => last.insert(*key, *order),
            None => last.remove(key),
        };
    }
    let mut expected: BTreeMap<(u64, i64), isize> = BTreeMap::new();
    let mut sums: BTreeMap<u64, i64> = BTreeMap::new();
    for (group, amount) in last.values() {
        *sums.entry(*group).or_insert(0) += amount;
    }
    for (group, sum) in sums {
        expected.insert((group, sum), 1);
    }
    assert_eq!(results[0], expected, "1 worker");
    assert_eq!(results[1], expected, "3 workers");
}

/// One crash-and-resume configuration of `orders_view`.
struct KillPlan {
    store_partitions: usize,
    epoch: &'static str,
    /// Worker counts of the runs killed, then of the run that finishes.
    killed: [&'static str; 2],
    last: &'static str,
    /// Changelog lines each killed run writes before its SIGKILL.
    lines_before_kill: usize,
}

#[test]
fn sigkills_and_a_resume_at_another_worker_count_leave_the_failure_free_changelog() {
    let plans = [
        KillPlan {
            store_partitions: 7,
            epoch: "0.02",
            killed: ["2", "1"],
            last: "3",
            lines_before_kill: 50,
        },
        KillPlan {
            store_partitions: 1,
            epoch: "0.05",
            killed: ["1", "3"],
            last: "2",
            lines_before_kill: 20,
        },
        KillPlan {
            store_partitions: 16,
            epoch: "0.1",
            killed: ["3", "2"],
            last: "1",
            lines_before_kill: 10,
        },
    ];
    for (seed, plan) in plans.iter().enumerate() {
        kill_twice_and_resume(plan, seed as u64 + 7);
    }
}

fn kill_twice_and_resume(plan: &KillPlan, seed: u64) {
    let (run, store) = (ViewRun::new(400_000, seed), tempfile::tempdir().unwrap());
    let out = &run.out;
    weir::recovery::init(store.path(), plan.store_partitions).unwrap();
    let mut common = run.args_with_epochs(plan.epoch);
    common.extend(["-r", store.path().to_str().unwrap()]);
    let bin = example("orders_view");
    let what = format!(
        "{} store partitions, {} s epochs, killed at {:?} workers, finished at {}",
        plan.store_partitions, plan.epoch, plan.killed, plan.last
    );
    // (The store can be inspected only while no execution holds it.)
    let resume_epoch = || weir::recovery::inspect(store.path()).unwrap().resume_epoch;
    let mut resumed = 0;
    for workers in plan.killed {
        let written = output_lines(out.path()).len();
        let mut child = spawn(&bin, &[&common[..], &["-w", workers]].concat(), Stdio::null());
        // Killed mid-run: several more epochs of changes were written.
        wait_until("changes", Duration::from_secs(120), || {
            output_lines(out.path()).len() >= written + plan.lines_before_kill
        });
        kill(child.id(), libc::SIGKILL);
        assert_eq!(
            wait_exit(&mut child, Duration::from_secs(30)).0,
            None,
            "killed mid-run: {what}"
        );
        assert!(
            resume_epoch() >= resumed,
            "the resume point never goes back: {what}"
        );
        resumed = resume_epoch();
    }
    assert!(
        resumed > 0,
        "the kills came after commits, the last run resumes mid-way: {what}"
    );
    let args: Vec<&str> = common.iter().copied().chain(["-w", plan.last]).collect();
    let done = run_with_limit(&bin, &args, Duration::from_secs(300));
    assert!(
        done.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&done.stderr)
    );
    assert_view(
        &consolidated(out.path()),
        &run.expected,
        &format!("{what}, resumed from epoch {resumed}"),
    );
}

#[test]
fn upserts_refuse_a_key_with_more_than_one_value() {
    use TestEvent::{Advance, Item};
    // Key 1 holds "a" from the first epoch; the second inserts "b" beside it.
    let events = vec![
        Item((1u8, "a".to_owned())),
        Advance(Duration::ZERO),
        Item((1, "b".to_owned())),
    ];
    let mut flow = Dataflow::new("crowded");
    flow.input("in", TestingSource::from_events(events))
        .as_collection("bag")
        .upserts("upserts")
        .output("out", TestingSink::new());
    let err = run_main(flow).unwrap_err().to_string();
    assert!(
        err.contains("step \"upserts\"") && err.contains("key 1 holds more than one record"),
        "{err}"
    );
}

/// Runs `bin args` to its end; returns its peak resident memory in KiB, its `VmHWM` read
/// from `/proc` while it runs. (Not `wait4`'s rusage: a child's maximum there includes its
/// parent's peak before `exec`, the test process's own memory.)
fn peak_rss_kib(bin: &Path, args: &[&str]) -> u64 {
    let mut child = std::process::Command::new(bin)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let status = format!("/proc/{}/status", child.id());
    let mut peak = 0;
    loop {
        let read = std::fs::read_to_string(&status).unwrap_or_default();
        let hwm = read.lines().find_map(|line| line.strip_prefix("VmHWM:"));
        if let Some(kib) = hwm.and_then(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok()) {
            peak = peak.max(kib);
        }
        if let Some(exit) = child.try_wait().unwrap() {
            assert!(exit.success(), "{bin:?} failed: {exit}");
            return peak;
        }
        // A sample of a value that only grows: the last one before the exit is the peak
        // up to then.
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Peak memory of `orders_view` over 200 k and 2 M rewrites of the same 500 orders and 40
/// customers, with recovery on or off, asserting it stays bounded. Arrangements that kept
/// every update would hold tens of bytes per update; compacted as epochs complete, the
/// memory is the live set's plus what is in flight (which varies with the machine's load,
/// so the bound is on the growth per extra update, well below a kept update). With
/// recovery, the writer holds an epoch's snapshot rows of a bounded set of keys.
fn assert_memory_bounded(recovery: bool) {
    let runs = [200_000, 2_000_000];
    let mut peaks = Vec::new();
    for lines in runs {
        let run = ViewRun::new(lines, 9);
        let store = tempfile::tempdir().unwrap();
        let mut args = run.args();
        if recovery {
            weir::recovery::init(store.path(), 2).unwrap();
            args.extend(["-r", store.path().to_str().unwrap()]);
        }
        peaks.push(peak_rss_kib(&example("orders_view"), &args));
    }
    let (small, large) = (peaks[0], peaks[1]);
    let per_update = large.saturating_sub(small) as f64 * 1024.0 / (runs[1] - runs[0]) as f64;
    assert!(
        per_update < 10.0,
        "peak memory {small} KiB for {} updates, {large} KiB for {}: {per_update:.1} bytes per extra update",
        runs[0],
        runs[1]
    );
}

#[test]
fn memory_stays_bounded_for_a_bounded_live_set() {
    assert_memory_bounded(false);
}

#[test]
fn memory_stays_bounded_for_a_bounded_live_set_with_recovery() {
    assert_memory_bounded(true);
}

#[test]
fn upserts_refuse_a_value_held_twice_and_a_second_value_beside_a_negative_one() {
    use TestEvent::{Advance, Item};
    let cases = [
        // "a" enters twice, in two epochs.
        vec![
            Item((1u8, ("a".to_owned(), 1))),
            Advance(Duration::ZERO),
            Item((1, ("a".to_owned(), 1))),
        ],
        // "a" and a negative "c" add up to one record; "b" makes two values.
        vec![
            Item((1, ("a".to_owned(), 1))),
            Item((1, ("c".to_owned(), -1))),
            Advance(Duration::ZERO),
            Item((1, ("b".to_owned(), 1))),
        ],
    ];
    for (case, events) in cases.into_iter().enumerate() {
        let mut flow = Dataflow::new("crowded");
        flow.input("in", TestingSource::from_events(events))
            .as_changes("changes")
            .upserts("upserts")
            .output("out", TestingSink::new());
        let err = run_main(flow).unwrap_err().to_string();
        assert!(
            err.contains("key 1 holds more than one record"),
            "case {case}: {err}"
        );
    }
}

#[test]
fn a_step_that_acts_on_the_watermark_sees_no_clock_through_a_view() {
    use weir::inputs::EventClock;
    let mut flow = Dataflow::new("clock");
    let clock = EventClock::new(|item: &(u8, i64)| item.1, Duration::ZERO);
    let input = flow.input_with_clock("in", TestingSource::new(vec![(1u8, 5i64)]), clock);
    input
        .on_time
        .as_collection("view")
        .changelog("changes")
        .map("keyed", |change: Change<u8, i64>| (change.key, change.value))
        .sort_by_time("sorted", |value| *value)
        .output("out", TestingSink::new());
    let err = run_main(flow).unwrap_err();
    assert!(
        matches!(&err, weir::Error::NoEventClock { step } if step == "sorted"),
        "{err}"
    );
}

/// The consolidated contents of a changelog: each record's multiplicity, zeros left out.
fn contents<K: Ord + Clone, V: Ord + Clone>(changes: &[Change<K, V>]) -> BTreeMap<(K, V), isize> {
    let mut view = BTreeMap::new();
    for change in changes {
        *view
            .entry((change.key.clone(), change.value.clone()))
            .or_insert(0) += change.diff;
    }
    view.retain(|_, multiplicity| *multiplicity != 0);
    view
}

#[test]
fn every_operator_follows_updates_and_deletes_to_the_inputs_final_state() {
    use TestEvent::{Advance, Item};
    // Items (person id -> (city, age)), rewritten and deleted across three epochs; cities
    // (city -> country) likewise.
    let people = vec![
        Item((1u32, Some(("oslo".to_owned(), 30u32)))),
        Item((2, Some(("rome".to_owned(), 40)))),
        Item((3, Some(("oslo".to_owned(), 50)))),
        Advance(Duration::ZERO),
        Item((2, Some(("oslo".to_owned(), 41)))),
        Item((4, Some(("lima".to_owned(), 20)))),
        Advance(Duration::ZERO),
        Item((3, None)),
        Item((5, Some(("rome".to_owned(), 60)))),
    ];
    let cities = vec![
        Item(("oslo".to_owned(), Some("norway".to_owned()))),
        Item(("rome".to_owned(), Some("italy".to_owned()))),
        Advance(Duration::ZERO),
        Advance(Duration::ZERO),
        Item(("rome".to_owned(), None)),
    ];
    let mut flow = Dataflow::new("operators");
    let by_city = flow
        .input("people", TestingSource::from_events(people))
        .as_table("people_table")
        .map("by_city", |(id, (city, age))| (city, (id, age)));
    let countries = flow
        .input("cities", TestingSource::from_events(cities))
        .as_table("cities_table");
    let sinks: Vec<TestingSink<Change<String, String>>> = (0..5).map(|_| TestingSink::new()).collect();
    let shown = |stream: weir::views::View<String, String>,
                 name: &str,
                 sink: &TestingSink<Change<String, String>>| {
        stream
            .changelog(&format!("{name}_changes"))
            .output(&format!("{name}_out"), sink.clone());
    };
    shown(
        by_city
            .count("count")
            .map("count_text", |(c, n)| (c, n.to_string())),
        "count",
        &sinks[0],
    );
    shown(
        by_city
            .map("ages", |(c, (_, age))| (c, (age / 10).to_string()))
            .distinct("decades"),
        "distinct",
        &sinks[1],
    );
    shown(
        by_city
            .left_join("country", &countries)
            .map("country_text", |(c, ((id, _), country))| {
                (c, format!("{id}:{country:?}"))
            }),
        "left_join",
        &sinks[2],
    );
    shown(
        by_city
            .filter("adults_over_35", |(_, (_, age))| *age > 35)
            .flat_map("both", |(c, (id, _))| {
                [(c.clone(), format!("id{id}")), (c, "someone".to_owned())]
            })
            .consolidate("consolidated"),
        "flat_map",
        &sinks[3],
    );
    let rows = TestingSink::new();
    by_city
        .map("ids", |(c, (id, _))| (c, id.to_string()))
        .rows("rows")
        .output("rows_out", rows.clone());
    shown(
        by_city.map("ids2", |(c, (id, _))| (c, id.to_string())),
        "ids",
        &sinks[4],
    );
    run_main(flow).unwrap();

    let view = |pairs: &[(&str, &str)]| -> BTreeMap<(String, String), isize> {
        let mut view = BTreeMap::new();
        for (k, v) in pairs {
            *view.entry((k.to_string(), v.to_string())).or_insert(0) += 1;
        }
        view
    };
    // Final state: 1 oslo 30, 2 oslo 41, 4 lima 20, 5 rome 60; oslo -> norway only.
    assert_eq!(
        contents(&sinks[0].items()),
        view(&[("lima", "1"), ("oslo", "2"), ("rome", "1")])
    );
    assert_eq!(
        contents(&sinks[1].items()),
        view(&[("lima", "2"), ("oslo", "3"), ("oslo", "4"), ("rome", "6")])
    );
    assert_eq!(
        contents(&sinks[2].items()),
        view(&[
            ("lima", "4:None"),
            ("oslo", "1:Some(\"norway\")"),
            ("oslo", "2:Some(\"norway\")"),
            ("rome", "5:None"),
        ])
    );
    assert_eq!(
        contents(&sinks[3].items()),
        view(&[
            ("oslo", "id2"),
            ("oslo", "someone"),
            ("rome", "id5"),
            ("rome", "someone")
        ])
    );
    // The append-only rows replay the same changes as the changelog, one row per unit.
    let mut replayed: BTreeMap<(String, String), isize> = BTreeMap::new();
    for row in rows.items() {
        let diff = if row.op == weir::views::Op::Insert { 1 } else { -1 };
        *replayed.entry((row.key, row.value)).or_insert(0) += diff;
    }
    replayed.retain(|_, m| *m != 0);
    assert_eq!(replayed, contents(&sinks[4].items()));
    assert_eq!(
        replayed,
        view(&[("lima", "4"), ("oslo", "1"), ("oslo", "2"), ("rome", "5")])
    );
}
