//! An idle async source beside a busy source in the same worker: `cargo bench --bench
//! idle_source` (release). Prints the busy source's items/s alone and beside an async
//! stream that says nothing until the busy one is done, and the ratio. "Alone" has the same
//! steps beside a source that ends at once. The partitions of a worker are polled in turn;
//! the idle stream's partition parks (it is polled again when its stream wakes it, or
//! after a late recheck), so it should cost the busy one next to nothing.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::StreamExt;
use weir::inputs::{PerWorker, StreamPartition, iter_per_worker};
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::{BoxError, Dataflow, RunConfig, StepId};

const ITEMS: u64 = 5_000_000;

/// Counts what it is given.
#[derive(Clone, Default)]
struct Count(Arc<AtomicU64>);

impl DynamicSink for Count {
    type Item = u64;
    type Partition = Count;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<Count, BoxError> {
        Ok(self.clone())
    }
}

impl StatelessSinkPartition for Count {
    type Item = u64;
    fn write_batch(&mut self, items: Vec<u64>) -> Result<(), BoxError> {
        self.0.fetch_add(items.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Seconds to read ITEMS from an iterator, beside an idle stream or not.
fn run(idle: bool) -> Duration {
    let mut flow = Dataflow::new("idle_source");
    let counted = Count::default();
    let busy = flow.dynamic_input("busy", iter_per_worker(|_, _| 0..ITEMS));
    let (done, until) = tokio::sync::oneshot::channel::<()>();
    let done = Arc::new(Mutex::new(Some(done)));
    let read = AtomicU64::new(0);
    let busy = busy.inspect("signal", move |_| {
        if read.fetch_add(1, Ordering::Relaxed) + 1 == ITEMS
            && let Some(done) = done.lock().unwrap().take()
        {
            let _ = done.send(());
        }
    });
    let all = match idle {
        // The same steps, beside a source that ends at once.
        false => {
            drop(until);
            let empty = flow.dynamic_input("idle", iter_per_worker(|_, _| 0..0u64));
            busy.merge("both", &[&empty])
        }
        true => {
            let until = Mutex::new(Some(until));
            let source = PerWorker::new(move |_, _| {
                let until = until.lock().unwrap().take().expect("one worker");
                let stream = futures::stream::once(until).map(|_| Ok::<u64, std::io::Error>(0));
                StreamPartition::new(stream, 1024)
            });
            busy.merge("both", &[&flow.dynamic_input("idle", source)])
        }
    };
    all.output("count", counted.clone());
    let start = Instant::now();
    weir::run(flow, RunConfig::threads(1)).expect("the flow runs");
    assert!(counted.0.load(Ordering::Relaxed) >= ITEMS);
    start.elapsed()
}

fn main() {
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let setups = [("alone", false), ("beside an idle stream", true)];
    let mut best = [Duration::MAX; 2];
    for _ in 0..runs {
        for (i, (_, idle)) in setups.iter().enumerate() {
            best[i] = best[i].min(run(*idle));
        }
    }
    println!("idle_source: {ITEMS} items from an iterator, 1 worker, best of {runs}");
    for (i, (name, _)) in setups.iter().enumerate() {
        let rate = ITEMS as f64 / best[i].as_secs_f64() / 1e6;
        let ratio = best[0].as_secs_f64() / best[i].as_secs_f64();
        println!("{name}: {rate:.2} M items/s, {ratio:.2} of alone");
    }
}
