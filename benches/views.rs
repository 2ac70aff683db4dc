//! An incremental view, `cargo bench --bench views` (release). UPDATES order writes
//! (default 12 M: several 1 s epochs, so the figures are steady throughput more than
//! start-up and the last commit; upserts of ORDERS order ids, default 200 k, a tenth of
//! them deletes) over CUSTOMERS customers (default 20 k) in 8 regions go through
//! `as_table` → join with the customers' table → total per region (`sum`) → `changelog`,
//! counted and dropped; at 1 and 2 workers, without and with recovery; epochs of EPOCH_S
//! seconds (default 1).
//!
//! Beside it, in the same run and taking turns with it: the same computation written
//! directly in differential-dataflow. Each worker sends its share of the writes to their
//! order's owner, where a hash map turns them into insertions and retractions (what weir's
//! table step does); it joins, sums with `reduce`, and advances its input's time once per
//! epoch, keeping at most one epoch in flight (it steps its dataflow every 16 k writes:
//! smaller batches cost differential more).
//!
//! Each speed is the best of RUNS runs (default 2), the cost of recovery the median of the
//! runs' ratios (the two weir runs of each round run one after the other, so a noisy moment
//! hits both); WORKERS=2 runs only that worker count. Prints updates/s and the ratios.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use differential_dataflow::AsCollection;
use differential_dataflow::input::Input;
use rustc_hash::FxHashMap;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::InputHandleVec;
use timely::dataflow::channels::pact::Exchange;
use timely::dataflow::operators::Operator;
use timely::dataflow::operators::vec::Input as _;
use weir::inputs::iter_per_worker;
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::views::Change;
use weir::{BoxError, Dataflow, RunConfig, StepId};

#[path = "support/median.rs"]
mod median;
use median::median;

const REGIONS: u64 = 8;

/// An order write: the order id, and its customer and amount (`None`: deleted).
type Write = (u64, Option<(u64, i64)>);

fn env_or<T: std::str::FromStr>(name: &str, default: T) -> T {
    let value = std::env::var(name).ok().and_then(|v| v.parse().ok());
    value.unwrap_or(default)
}

/// The epoch length of both programs.
fn epoch_interval() -> Duration {
    Duration::from_secs_f64(env_or("EPOCH_S", 1.0))
}

/// splitmix64: the same writes on every run.
fn mixed(i: u64) -> u64 {
    let mut z = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn writes(updates: u64, orders: u64, customers: u64) -> Vec<Write> {
    (0..updates)
        .map(|i| {
            let r = mixed(i);
            let order = r % orders;
            let write = !(r >> 40).is_multiple_of(10);
            (
                order,
                write.then_some(((r >> 20) % customers, ((r >> 8) % 1_000) as i64)),
            )
        })
        .collect()
}

/// Worker `w` of `n` reads the writes of the orders `order % n == w` (both programs: the
/// writes of an order come from one worker, in order).
fn share(all: Arc<Vec<Write>>, w: usize, n: usize) -> impl Iterator<Item = Write> {
    (0..all.len())
        .map(move |i| all[i])
        .filter(move |(order, _)| *order as usize % n == w)
}

/// Counts what it is given.
#[derive(Clone, Default)]
struct Count(Arc<AtomicU64>);

impl DynamicSink for Count {
    type Item = Change<u64, i64>;
    type Partition = Count;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<Count, BoxError> {
        Ok(self.clone())
    }
}

impl StatelessSinkPartition for Count {
    type Item = Change<u64, i64>;
    fn write_batch(&mut self, items: Vec<Change<u64, i64>>) -> Result<(), BoxError> {
        self.0.fetch_add(items.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Seconds for weir to run the view over `all`.
fn weir_view(all: &Arc<Vec<Write>>, customers: u64, workers: usize, recovery: bool) -> Duration {
    let epoch = epoch_interval();
    let store = tempfile::tempdir().unwrap();
    let mut config = RunConfig::threads(workers).with_epoch_interval(epoch);
    if recovery {
        weir::recovery::init(store.path(), 4).unwrap();
        config = config.with_recovery(store.path());
        config.max_epochs_in_flight = env_or("IN_FLIGHT", 2);
    }
    let mut flow = Dataflow::new("view_bench");
    let writes = all.clone();
    let orders = flow.dynamic_input("orders", iter_per_worker(move |w, n| share(writes.clone(), w, n)));
    let regions = flow.dynamic_input(
        "customers",
        iter_per_worker(move |w, n| {
            let mine = (0..customers).filter(move |c| *c as usize % n == w);
            mine.map(|c| (c, Some(c % REGIONS))).collect::<Vec<_>>()
        }),
    );
    let changes = Count::default();
    orders
        .as_table("orders_table")
        .map("by_customer", |(_, (customer, amount))| (customer, amount))
        .join("with_region", &regions.as_table("customers_table"))
        .map("by_region", |(_, (amount, region))| (region, amount))
        .sum("total")
        .changelog("changes")
        .output("count", changes.clone());
    let start = Instant::now();
    weir::run(flow, config).expect("the view runs");
    assert!(changes.0.load(Ordering::Relaxed) > 0);
    start.elapsed()
}

/// Seconds for the same computation written in differential-dataflow directly: each
/// worker sends its share of the writes to their order's owner (by a hash of the order, as
/// weir routes keys), where a hash map turns them into insertions and retractions.
fn differential_view(all: &Arc<Vec<Write>>, customers: u64, workers: usize) -> Duration {
    let all = all.clone();
    let start = Instant::now();
    timely::execute(timely::Config::process(workers), move |worker| {
        let (w, n) = (worker.index(), worker.peers());
        let mut writes = InputHandleVec::<u64, Write>::new();
        let (mut regions, probe) = worker.dataflow::<u64, _, _>(|scope| {
            let owned = Exchange::new(|(order, _): &Write| mixed(*order));
            let orders = scope
                .input_from(&mut writes)
                .unary::<CapacityContainerBuilder<Vec<((u64, i64), u64, isize)>>, _, _, _>(
                    owned,
                    "upsert",
                    |_, _| {
                        let mut current: FxHashMap<u64, (u64, i64)> = FxHashMap::default();
                        move |input, output| {
                            input.for_each(|cap, data| {
                                let time = *cap.least().expect("sent at a time");
                                let mut session = output.session(&cap);
                                for (order, write) in data.drain(..) {
                                    if let Some(old) = current.remove(&order) {
                                        session.give((old, time, -1));
                                    }
                                    if let Some(new) = write {
                                        current.insert(order, new);
                                        session.give((new, time, 1));
                                    }
                                }
                            });
                        }
                    },
                )
                .as_collection();
            let (regions_in, regions) = scope.new_collection::<(u64, u64), isize>();
            let totals = orders
                .join(regions)
                .map(|(_, (amount, region))| (region, amount))
                .reduce(|_, values, output| {
                    let sum: i64 = values.iter().map(|(amount, diff)| **amount * *diff as i64).sum();
                    output.push((sum, 1));
                });
            (regions_in, totals.probe().0)
        });
        for customer in (0..customers).filter(|c| *c as usize % n == w) {
            regions.insert((customer, customer % REGIONS));
        }
        let epoch = epoch_interval();
        let mut epoch_ends = Instant::now() + epoch;
        for (i, write) in share(all.clone(), w, n).enumerate() {
            writes.send(write);
            if i % 16_384 == 0 {
                worker.step();
                if Instant::now() >= epoch_ends {
                    let next = writes.time() + 1;
                    writes.advance_to(next);
                    regions.advance_to(next);
                    regions.flush();
                    worker.step_while(|| probe.less_than(&(next - 1)));
                    epoch_ends += epoch;
                }
            }
        }
    })
    .expect("the differential program runs");
    start.elapsed()
}

fn main() {
    let updates: u64 = env_or("UPDATES", 12_000_000);
    let orders: u64 = env_or("ORDERS", 200_000);
    let customers: u64 = env_or("CUSTOMERS", 20_000);
    let runs: usize = env_or("RUNS", 2).max(1);
    let all = Arc::new(writes(updates, orders, customers));
    println!(
        "views: {updates} order writes over {orders} orders, {customers} customers in {REGIONS} regions; \
         join + sum, {:?} epochs; best of {runs}",
        epoch_interval()
    );
    let rate = |took: Duration| updates as f64 / took.as_secs_f64() / 1e6;
    let worker_counts: Vec<usize> = std::env::var("WORKERS")
        .unwrap_or_else(|_| "1,2".to_owned())
        .split(',')
        .filter_map(|w| w.parse().ok())
        .collect();
    for workers in worker_counts {
        let (mut weir, mut durable, mut dd) = (Duration::MAX, Duration::MAX, Duration::MAX);
        let mut recovery_ratios = Vec::new();
        for _ in 0..runs {
            dd = dd.min(differential_view(&all, customers, workers));
            let plain = weir_view(&all, customers, workers, false);
            let recovering = weir_view(&all, customers, workers, true);
            (weir, durable) = (weir.min(plain), durable.min(recovering));
            recovery_ratios.push(plain.as_secs_f64() / recovering.as_secs_f64());
        }
        println!(
            "{workers} worker(s): differential alone {:.2} M updates/s; weir {:.2} M ({:.2} of differential); \
             weir with recovery {:.2} M (costs {:.0} %)",
            rate(dd),
            rate(weir),
            dd.as_secs_f64() / weir.as_secs_f64(),
            rate(durable),
            (1.0 - median(recovery_ratios)) * 100.0,
        );
    }
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
