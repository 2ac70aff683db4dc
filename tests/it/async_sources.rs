//! Sources from iterators, getters and async streams, inside dataflows: batch sizes and
//! the end of input, a parked stream woken by its next item, an idle async source beside a
//! busy one, errors after items, and errors and panics of a stream named by step.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::Poll;

use futures::StreamExt;
use weir::inputs::{
    Batch, GetterPartition, PerWorker, StatelessSourcePartition, StreamPartition, iter_per_partition,
    iter_per_worker, stream_per_worker,
};
use weir::testing::{TestingSink, run_main};
use weir::{Dataflow, RunConfig};

#[test]
fn an_iterator_per_worker_is_read_whole_on_every_worker_count() {
    for workers in [1, 3] {
        let mut flow = Dataflow::new("iters");
        let out = TestingSink::new();
        // Worker w reads w*1000 .. w*1000+2500: batches of 1024, 1024 and 452.
        let source = iter_per_worker(|worker, _| (0..2_500).map(move |i| worker * 1_000_000 + i));
        flow.dynamic_input("read", source).output("out", out.clone());
        weir::run(flow, RunConfig::threads(workers)).unwrap();
        let expected: Vec<usize> = (0..workers)
            .flat_map(|w| (0..2_500).map(move |i| w * 1_000_000 + i))
            .collect();
        assert_eq!(out.sorted(), expected, "{workers} workers");
    }
}

#[test]
fn a_resumable_iterator_per_partition_is_read_whole() {
    let mut flow = Dataflow::new("seekable");
    let out = TestingSink::new();
    let source = iter_per_partition(["a", "b"], |part: &str, resume: Option<usize>| {
        let part = part.to_string();
        (resume.unwrap_or(0)..1_500).map(move |i| (i + 1, format!("{part}{i}")))
    });
    flow.input("read", source).output("out", out.clone());
    run_main(flow).unwrap();
    let items = out.sorted();
    assert_eq!(items.len(), 3_000);
    assert!(items.contains(&"a0".to_string()) && items.contains(&"b1499".to_string()));
}

#[test]
fn a_getter_batches_until_it_has_nothing_yet_and_ends_at_its_end() {
    let answers = [
        Poll::Ready(Some(1)),
        Poll::Ready(Some(2)),
        Poll::Ready(Some(3)),
        Poll::Pending,
        Poll::Ready(Some(4)),
        Poll::Ready(None),
    ];
    let mut answers = answers.into_iter();
    let mut part = GetterPartition::new(move || Ok(answers.next().expect("not called after the end")), 2);
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![1, 2]));
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![3]));
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![4]));
    assert_eq!(part.next_batch().unwrap(), Batch::Eof);
    assert_eq!(
        part.next_batch().unwrap(),
        Batch::Eof,
        "the getter is not called again"
    );
}

#[test]
fn a_stream_is_read_in_batches_of_at_most_n_and_ends_with_it() {
    let stream = futures::stream::iter((0..10).map(Ok::<_, std::io::Error>));
    let mut part = StreamPartition::new(stream, 4).unwrap();
    let mut read = Vec::new();
    loop {
        match part.next_batch().unwrap() {
            Batch::Items(items) => {
                assert!(items.len() <= 4, "a batch of {}", items.len());
                read.extend(items);
            }
            Batch::Pending => std::thread::yield_now(),
            Batch::Eof => break,
        }
    }
    assert_eq!(read, (0..10).collect::<Vec<_>>());
}

#[test]
fn a_stream_with_nothing_to_say_parks_and_its_next_item_wakes_it() {
    /// Tells the test each time the partition is woken.
    struct Woken(std::sync::mpsc::Sender<()>);
    impl std::task::Wake for Woken {
        fn wake(self: Arc<Self>) {
            let _ = self.0.send(());
        }
    }
    let (wakes, woken) = std::sync::mpsc::channel();
    let (feed, items) = futures::channel::mpsc::unbounded::<u8>();
    let mut part = StreamPartition::new(items.map(Ok::<u8, std::io::Error>), 4).unwrap();
    part.set_waker(std::task::Waker::from(Arc::new(Woken(wakes))));
    assert_eq!(part.next_batch().unwrap(), Batch::Pending, "nothing sent yet");
    assert!(
        part.next_awake().is_some(),
        "a parked partition names a (late) recheck"
    );
    feed.unbounded_send(7).unwrap();
    let signal = std::time::Duration::from_secs(30);
    woken.recv_timeout(signal).expect("the item wakes the partition");
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![7]));
    assert_eq!(part.next_batch().unwrap(), Batch::Pending);
    drop(feed);
    woken
        .recv_timeout(signal)
        .expect("the end of the stream wakes the partition");
    assert_eq!(part.next_batch().unwrap(), Batch::Eof);
}

#[test]
fn iterators_are_read_in_batches_of_at_most_n_up_to_their_end() {
    use weir::inputs::{IterPartition, ResumableIter, StatefulSourcePartition};

    let mut part = IterPartition::new(0..2_500, 1_024);
    let sizes: Vec<usize> = std::iter::from_fn(|| match part.next_batch().unwrap() {
        Batch::Items(items) => Some(items.len()),
        _ => None,
    })
    .collect();
    assert_eq!(sizes, [1_024, 1_024, 452]);
    assert_eq!(part.next_batch().unwrap(), Batch::Eof);

    let mut part = ResumableIter::new((0..5).map(|k| (k + 1, k)), 2);
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![0, 1]));
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![2, 3]));
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![4]));
    assert_eq!(part.next_batch().unwrap(), Batch::Eof);
    assert_eq!(part.snapshot(), Some(5));
}

#[test]
fn an_error_after_items_comes_after_them() {
    let mut answers = vec![
        Ok(Poll::Ready(Some(1))),
        Ok(Poll::Ready(Some(2))),
        Err("broken".into()),
    ]
    .into_iter();
    let mut part = GetterPartition::new(move || answers.next().expect("not called after the error"), 10);
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![1, 2]));
    assert_eq!(part.next_batch().unwrap_err().to_string(), "broken");

    let stream = futures::stream::iter([Ok(1), Ok(2), Err(std::io::Error::other("broken"))]);
    let mut part = StreamPartition::new(stream, 10).unwrap();
    let mut read = Vec::new();
    let err = loop {
        match part.next_batch() {
            Ok(Batch::Items(items)) => read.extend(items),
            Ok(Batch::Pending) => std::thread::yield_now(),
            Ok(Batch::Eof) => panic!("the stream failed, it did not end"),
            Err(err) => break err,
        }
    };
    assert_eq!((read, err.to_string()), (vec![1, 2], "broken".to_string()));
}

#[test]
fn an_idle_async_source_does_not_hold_up_a_busy_one_in_the_same_worker() {
    // The async source says nothing until the sink saw every item of the other source.
    let (done, idle_until) = tokio::sync::oneshot::channel::<()>();
    let idle_until = Arc::new(Mutex::new(Some(idle_until)));
    let done = Arc::new(Mutex::new(Some(done)));
    let mut flow = Dataflow::new("idle_beside_busy");
    let idle = stream_per_worker(move |_, _| {
        let until = idle_until.lock().unwrap().take().expect("one worker");
        futures::stream::once(until).map(|_| Ok::<u64, std::io::Error>(u64::MAX))
    });
    let busy = iter_per_worker(|_, _| 0..200_000u64);
    let out = TestingSink::new();
    let seen = AtomicU64::new(0);
    let busy = flow.dynamic_input("busy", busy).inspect("signal", move |_| {
        if seen.fetch_add(1, Ordering::SeqCst) + 1 == 200_000
            && let Some(done) = done.lock().unwrap().take()
        {
            let _ = done.send(());
        }
    });
    let idle = flow.dynamic_input("idle", idle);
    busy.merge("both", &[&idle]).output("out", out.clone());
    run_main(flow).unwrap();
    assert_eq!(out.items().len(), 200_001);
}

#[test]
fn an_erroring_stream_stops_the_dataflow_naming_its_step() {
    let mut flow = Dataflow::new("errors");
    let stream = stream_per_worker(|_, _| {
        futures::stream::iter([Ok(1), Err(std::io::Error::other("the feed broke"))])
    });
    flow.dynamic_input("feed", stream)
        .output("out", TestingSink::<i32>::new());
    let err = run_main(flow).unwrap_err().to_string();
    assert!(
        err.contains("step \"feed\"") && err.contains("the feed broke"),
        "{err}"
    );
}

#[test]
fn a_panicking_stream_stops_the_dataflow_naming_its_step_and_the_panic() {
    let mut flow = Dataflow::new("panics");
    let source = PerWorker::new(|_, _| {
        let stream = futures::stream::iter([1, 2]).map(|n| {
            if n == 2 {
                panic!("no second item");
            }
            Ok::<i32, std::io::Error>(n)
        });
        StreamPartition::new(stream, 8)
    });
    flow.dynamic_input("feed", source)
        .output("out", TestingSink::<i32>::new());
    let err = run_main(flow).unwrap_err().to_string();
    assert!(
        err.contains("step \"feed\"") && err.contains("no second item"),
        "{err}"
    );
}

#[test]
fn a_seekable_iterator_partition_resumes_exactly_once_after_sigkill() {
    use crate::support::{
        dir_bytes, example, kill, output_lines, run_with_limit, spawn, wait_exit, wait_until,
    };
    use std::process::Stdio;
    use std::time::Duration;

    let (out, store) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    weir::recovery::init(store.path(), 3).unwrap();
    let (o, r) = (out.path().to_str().unwrap(), store.path().to_str().unwrap());
    let common = [
        "--parts", "4", "--count", "300000", "--output", o, "-r", r, "-s", "0.05",
    ];
    let bin = example("seekable_iter");
    for workers in ["2", "1"] {
        let before = dir_bytes(store.path());
        let mut child = spawn(&bin, &[&common[..], &["-w", workers]].concat(), Stdio::null());
        wait_until("a commit", Duration::from_secs(60), || {
            dir_bytes(store.path()) > before
        });
        kill(child.id(), libc::SIGKILL);
        assert_eq!(wait_exit(&mut child, Duration::from_secs(30)).0, None, "killed");
    }
    let args: Vec<&str> = common.iter().copied().chain(["-w", "3"]).collect();
    let done = run_with_limit(&bin, &args, Duration::from_secs(300));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let mut lines = output_lines(out.path());
    lines.sort();
    let mut expected: Vec<String> = (0..4)
        .flat_map(|p| (0..300_000).map(move |k| format!("p{p}\t{k}")))
        .collect();
    expected.sort();
    assert_eq!(lines.len(), expected.len(), "every line once");
    assert!(lines == expected, "the lines differ from the expected ones");
}

#[test]
fn the_timer_example_ticks_as_often_as_asked() {
    let bin = crate::support::example("timer");
    let args = ["--interval-ms", "20", "--ticks", "3"];
    let out = crate::support::run_with_limit(&bin, &args, std::time::Duration::from_secs(60));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let ticks: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|line| line.split(" at ").next().unwrap().to_owned())
        .collect();
    assert_eq!(ticks, ["tick 1", "tick 2", "tick 3"]);
}

#[test]
fn resumable_getters_and_streams_snapshot_the_state_of_their_last_item() {
    use weir::inputs::{ResumableGetter, ResumableStream, StatefulSourcePartition};

    // A getter over 0..5 whose state after k is k + 1, built from a resume state.
    let getter = |next: Option<u32>| {
        let mut k = next.unwrap_or(0);
        ResumableGetter::new(
            move || {
                let item = (k < 5).then(|| (k + 1, k));
                k += 1;
                Ok(Poll::Ready(item))
            },
            2,
        )
    };
    let mut part = getter(None);
    assert_eq!(part.snapshot(), None);
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![0, 1]));
    assert_eq!(part.snapshot(), Some(2));
    let mut resumed = getter(part.snapshot());
    assert_eq!(resumed.next_batch().unwrap(), Batch::Items(vec![2, 3]));
    assert_eq!(resumed.next_batch().unwrap(), Batch::Items(vec![4]));
    assert_eq!(resumed.next_batch().unwrap(), Batch::Eof);
    assert_eq!(resumed.snapshot(), Some(5));

    let stream = futures::stream::iter([Ok::<_, std::io::Error>((10, 'a')), Ok((20, 'b'))]);
    let mut part = ResumableStream::new(stream, 1).unwrap();
    let mut read = Vec::new();
    loop {
        match part.next_batch().unwrap() {
            Batch::Items(items) => {
                assert_eq!(items.len(), 1);
                read.extend(items);
                assert_eq!(part.snapshot(), Some(read.len() as i32 * 10));
            }
            Batch::Pending => std::thread::yield_now(),
            Batch::Eof => break,
        }
    }
    assert_eq!(read, ['a', 'b']);
    assert_eq!(part.snapshot(), Some(20), "the end keeps the last item's state");
}

#[test]
fn a_stream_that_panics_when_dropped_fails_instead_of_ending() {
    /// Two items, then the end; its drop panics.
    struct PanicsOnDrop(u8);
    impl futures::Stream for PanicsOnDrop {
        type Item = Result<u8, std::io::Error>;
        fn poll_next(
            mut self: std::pin::Pin<&mut Self>,
            _: &mut std::task::Context<'_>,
        ) -> Poll<Option<Self::Item>> {
            self.0 += 1;
            Poll::Ready((self.0 <= 2).then_some(Ok(self.0)))
        }
    }
    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            panic!("dropped badly");
        }
    }
    let mut part = StreamPartition::new(PanicsOnDrop(0), 8).unwrap();
    let mut read = Vec::new();
    let err = loop {
        match part.next_batch() {
            Ok(Batch::Items(items)) => read.extend(items),
            Ok(Batch::Pending) => std::thread::yield_now(),
            Ok(Batch::Eof) => panic!("the stream's drop panicked: not a clean end"),
            Err(err) => break err.to_string(),
        }
    };
    assert_eq!(read, [1, 2]);
    assert!(err.contains("dropped badly"), "{err}");
}
