//! Sources from iterators, getters and async streams, inside dataflows: batch sizes and
//! the end of input, an idle async source beside a busy one, and errors and panics of a
//! stream named by step.

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
    assert!(err.contains("feed") && err.contains("the feed broke"), "{err}");
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
    assert!(err.contains("feed") && err.contains("no second item"), "{err}");
}
