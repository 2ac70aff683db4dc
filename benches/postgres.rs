//! `PostgresSink` rows/s against a private PostgreSQL server started here (Debian's
//! `postgresql` must be installed): `cargo bench --bench postgres` (release). ROWS rows
//! (default 200 k) of `(word, n)` over 10 k words, 4 sink partitions, 1 s epochs, at 1 and
//! 2 workers; upsert (key `word`) and append; exactly-once (with a recovery store: rows
//! wait for their epoch to be durable, then one fenced transaction per partition) and
//! without a store (each epoch's rows written at its end). Prints rows/s and the cost of
//! exactly-once.

#[path = "../tests/it/postgres_server.rs"]
mod postgres_server;

use std::time::{Duration, Instant};

use weir::inputs::iter_per_worker;
use weir::{Dataflow, RunConfig};
use weir_postgres::{Mode, PostgresSink, ToRow};

/// A row: a word and a number.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Count(String, i64);

impl ToRow for Count {
    fn to_row(&self) -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> {
        vec![Box::new(self.0.clone()), Box::new(self.1)]
    }
}

/// Seconds to write `rows` rows into a fresh table.
fn run(
    server: &postgres_server::Postgres,
    rows: u64,
    workers: usize,
    upsert: bool,
    exactly_once: bool,
) -> Duration {
    let table = format!("bench_{}", std::process::id());
    server
        .client()
        .batch_execute(&format!("DROP TABLE IF EXISTS {table}; DELETE FROM weir_fences"))
        .ok();
    let (mode, definitions) = match upsert {
        true => (
            Mode::Upsert {
                key: vec!["word".into()],
            },
            "word text PRIMARY KEY, n bigint",
        ),
        false => (Mode::Append, "word text, n bigint"),
    };
    let sink = PostgresSink::new(&server.url(), &table, ["word", "n"])
        .creating(definitions)
        .with_mode(mode)
        .with_parts(4);
    let mut flow = Dataflow::new("postgres_bench");
    flow.dynamic_input(
        "rows",
        iter_per_worker(move |w, n| (w as u64..rows).step_by(n).map(|i| format!("word{}", i % 10_000))),
    )
    .map("row", |word: String| (word.clone(), Count(word, 1)))
    .output("write", sink);
    let store = tempfile::tempdir().unwrap();
    let mut config = RunConfig::threads(workers).with_epoch_interval(Duration::from_secs(1));
    if exactly_once {
        weir::recovery::init(store.path(), 4).unwrap();
        config = config.with_recovery(store.path());
    }
    let start = Instant::now();
    weir::run(flow, config).expect("the flow runs");
    let took = start.elapsed();
    let written: i64 = server
        .client()
        .query_one(&format!("SELECT count(*) FROM {table}"), &[])
        .unwrap()
        .get(0);
    let expected = if upsert { rows.min(10_000) } else { rows };
    assert_eq!(written as u64, expected, "every row written once");
    took
}

fn main() {
    let rows: u64 = std::env::var("ROWS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(200_000);
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(2);
    let server = postgres_server::Postgres::start();
    println!("postgres: {rows} rows, 10 k distinct words, 4 partitions, 1 s epochs, best of {runs}");
    for workers in [1, 2] {
        for upsert in [true, false] {
            let mut best = [Duration::MAX; 2];
            for _ in 0..runs {
                for (i, exactly_once) in [false, true].into_iter().enumerate() {
                    best[i] = best[i].min(run(&server, rows, workers, upsert, exactly_once));
                }
            }
            let rate = |took: Duration| rows as f64 / took.as_secs_f64();
            let mode = if upsert { "upsert" } else { "append" };
            println!(
                "workers={workers} {mode}: without a store {:.0} rows/s, exactly-once {:.0} rows/s (cost {:.1}%)",
                rate(best[0]),
                rate(best[1]),
                (1.0 - rate(best[1]) / rate(best[0])) * 100.0
            );
        }
    }
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
