//! Processing-time operators under a `TestClock`: time moves only at the script's
//! `Advance` markers, so results are exact, with no sleep, on any worker count.

use std::time::{Duration, SystemTime};

use weir::operators::{Ctx, KeyedProcess, Retention};
use weir::testing::{TestClock, TestEvent, TestingSink, TestingSource};
use weir::{Dataflow, KeyedStream, RunConfig};

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

/// Items `(key, value)` and clock advances, in script order.
enum Step {
    Item(u8, u32),
    Advance(u64),
}

fn script(steps: &[Step]) -> Vec<TestEvent<(u8, u32)>> {
    steps
        .iter()
        .map(|s| match s {
            Step::Item(k, v) => TestEvent::Item((*k, *v)),
            Step::Advance(by) => TestEvent::Advance(secs(*by)),
        })
        .collect()
}

/// Emits each value with the processing time (seconds after the start) it reached this
/// step at.
struct Stamp;

impl KeyedProcess for Stamp {
    type In = u32;
    type Out = (u32, u64);
    type State = ();
    fn on_item(&mut self, ctx: &mut Ctx<'_, (u32, u64)>, value: u32) -> Retention {
        let at = ctx
            .now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        ctx.emit((value, at));
        Retention::Discard
    }
    fn snapshot(&self) {}
}

fn run<O: weir::Data + Ord>(
    steps: &[Step],
    workers: usize,
    op: impl Fn(&KeyedStream<u32, u8>) -> KeyedStream<O, u8>,
) -> Vec<(u8, O)> {
    let mut flow = Dataflow::new("clocked");
    let out = TestingSink::new();
    let keyed = flow
        .input("in", TestingSource::from_events(script(steps)))
        .key_on("key", |p: &(u8, u32)| p.0)
        .map_value("value", |p: (u8, u32)| p.1);
    op(&keyed).output("out", out.clone());
    let config = RunConfig {
        processing_clock: Some(TestClock::new(SystemTime::UNIX_EPOCH)),
        ..RunConfig::threads(workers)
    };
    weir::run(flow, config).unwrap();
    out.sorted()
}

#[test]
fn timed_windows_close_when_the_clock_passes_their_interval() {
    use Step::*;
    let steps = [
        Item(1, 1),
        Item(2, 10),
        Advance(4),
        Item(1, 2),
        Advance(6),
        Item(1, 3),
        Item(2, 11),
        Advance(3),
    ];
    for workers in [1, 3] {
        let got = run(&steps, workers, |s| s.timed_window("per_10s", secs(10)));
        // Key 1: 1 (t=0) and 2 (t=4) close at t=10, before 3 (t=10) arrives; 3 goes out at
        // the end. Key 2: 10 (t=0) closes at t=10, 11 (t=10) at the end.
        assert_eq!(
            got,
            vec![(1, vec![1, 2]), (1, vec![3]), (2, vec![10]), (2, vec![11])],
            "{workers} workers"
        );
    }
}

#[test]
fn collect_emits_by_size_or_by_the_clock() {
    use Step::*;
    let steps = [
        Item(1, 1),
        Item(1, 2),
        Item(1, 3),
        Advance(5),
        Item(1, 4),
        Advance(5),
        Item(1, 5),
    ];
    for workers in [1, 2] {
        let got = run(&steps, workers, |s| s.collect("two_or_5s", secs(5), 2));
        assert_eq!(
            got,
            vec![(1, vec![1, 2]), (1, vec![3]), (1, vec![4]), (1, vec![5])]
        );
    }
}

/// Runs `op`, then stamps its outputs with the time they came out.
fn stamped(
    steps: &[Step],
    workers: usize,
    op: impl Fn(&KeyedStream<u32, u8>) -> KeyedStream<u32, u8>,
) -> Vec<(u32, u64)> {
    let got = run(steps, workers, |s| op(s).process("stamp", |_: Option<()>| Stamp));
    got.into_iter().map(|(_, stamp)| stamp).collect()
}

#[test]
fn delay_releases_each_value_its_interval_later_not_at_the_end() {
    use Step::*;
    let steps = [
        Item(1, 1),
        Advance(4),
        Item(1, 2),
        Advance(6),
        Item(1, 3),
        Advance(10),
        Advance(1000),
    ];
    for workers in [1, 3] {
        for (value, at) in stamped(&steps, workers, |s| s.delay("delay", secs(10))) {
            let entered = [0, 4, 10][value as usize - 1];
            assert!(
                at >= entered + 10,
                "value {value} entered at {entered}s, left at {at}s"
            );
            assert!(at < 1020, "value {value} waited for the end of the input ({at}s)");
        }
    }
}

#[test]
fn rate_limit_spaces_values_by_the_clock() {
    use Step::*;
    let mut steps: Vec<Step> = (1..=4).map(|v| Item(1, v)).collect();
    steps.extend((0..5).map(|_| Advance(10)));
    steps.push(Advance(1000));
    for workers in [1, 2] {
        let mut out = stamped(&steps, workers, |s| s.rate_limit("limit", secs(10)));
        out.sort();
        let times: Vec<u64> = out.iter().map(|(_, at)| *at).collect();
        assert_eq!(times.len(), 4);
        for (i, at) in times.iter().enumerate() {
            assert!(
                *at >= 10 * i as u64 && *at < 1050,
                "value {} left at {at}s: {times:?}",
                i + 1
            );
        }
    }
}

#[test]
fn a_resumed_run_counts_each_clock_advance_once() {
    let events = vec![
        TestEvent::Item((1u8, 1u32)),
        TestEvent::Advance(secs(5)),
        TestEvent::Abort,
        TestEvent::Item((1, 2)),
    ];
    let store = tempfile::tempdir().unwrap();
    weir::recovery::init(store.path(), 1).unwrap();
    let clock = TestClock::new(SystemTime::UNIX_EPOCH);
    let source = TestingSource::from_events(events);
    let out = TestingSink::new();
    let run = || {
        let mut flow = Dataflow::new("resumed");
        flow.input("in", source.clone())
            .key_on("key", |p: &(u8, u32)| p.0)
            .map_value("value", |p: (u8, u32)| p.1)
            .process("stamp", |_: Option<()>| Stamp)
            .output("out", out.clone());
        let config = RunConfig {
            processing_clock: Some(clock.clone()),
            ..RunConfig::threads(1).with_recovery(store.path())
        };
        weir::run(flow, config)
    };
    assert!(run().is_err(), "the first run aborts after the advance");
    run().unwrap();
    let stamps: Vec<(u32, u64)> = out.sorted().into_iter().map(|(_, s)| s).collect();
    assert_eq!(stamps.last(), Some(&(2, 5)), "2 came 5 s in, once: {stamps:?}");
}
