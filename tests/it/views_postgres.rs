//! The `orders_view` example keeping its view in PostgreSQL through the upsert sink: after
//! SIGKILLs of a 2-process cluster at seeded moments and a resume at another worker count,
//! the table `region_totals` equals the view computed directly from the inputs.

use std::collections::BTreeMap;
use std::time::Duration;

use weir::Dataflow;
use weir::testing::{TestingSource, run_main};
use weir::views::Upsert;
use weir_postgres::{Mode, PostgresSink, ToRow};

use crate::postgres_server::Postgres;
use crate::support::{Rng, example, kill_a_cluster_process_after_a_commit, run_with_limit};
use crate::views::ViewRun;

#[test]
fn the_region_totals_table_equals_the_oracle_after_seeded_kills() {
    let server = Postgres::start();
    let (run, store) = (ViewRun::new(400_000, 5), tempfile::tempdir().unwrap());
    weir::recovery::init(store.path(), 5).unwrap();
    let url = server.url();
    let mut common = run.inputs();
    common.extend([
        "--postgres",
        &url,
        "-r",
        store.path().to_str().unwrap(),
        "-s",
        "0.02",
    ]);
    let bin = example("orders_view");
    let mut rng = Rng(3);
    for round in 0..2 {
        let wait = Duration::from_millis(rng.next() % 300);
        kill_a_cluster_process_after_a_commit(&bin, &common, store.path(), wait, round);
    }
    let args: Vec<&str> = common.iter().copied().chain(["-w", "3"]).collect();
    let done = run_with_limit(&bin, &args, Duration::from_secs(300));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let rows = server
        .client()
        .query("SELECT region, total FROM region_totals", &[])
        .unwrap();
    let table: BTreeMap<String, i64> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    assert_eq!(table, run.expected, "the table is the oracle's view");
}

/// A row of a `totals(k text primary key, total bigint)` table, or its deletion.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Total(Upsert<String, i64>);

impl ToRow for Total {
    fn to_row(&self) -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> {
        match &self.0 {
            Upsert::Put(key, total) => vec![Box::new(key.clone()), Box::new(*total)],
            Upsert::Delete(key) => vec![Box::new(key.clone()), Box::new(0i64)],
        }
    }

    fn is_delete(&self) -> bool {
        matches!(self.0, Upsert::Delete(_))
    }
}

#[test]
fn a_key_that_leaves_the_view_is_deleted_from_the_table_and_a_new_value_replaces_the_old() {
    use weir::testing::TestEvent::{Advance, Item};
    let server = Postgres::start();
    let write = |key: &str, value: Option<i64>| Item((key.to_owned(), value));
    let events = vec![
        write("a", Some(1)),
        write("b", Some(2)),
        write("c", Some(3)),
        Advance(Duration::ZERO),
        write("a", None),
        write("b", Some(20)),
    ];
    let mut flow = Dataflow::new("upserts");
    let sink = PostgresSink::new(&server.url(), "totals", ["k", "total"])
        .creating("k text PRIMARY KEY, total bigint NOT NULL")
        .with_mode(Mode::Upsert {
            key: vec!["k".into()],
        });
    flow.input("in", TestingSource::from_events(events))
        .as_table("table")
        .upserts("upserts")
        .map("row", |upsert: Upsert<String, i64>| {
            (upsert.key().clone(), Total(upsert))
        })
        .output("write", sink);
    run_main(flow).unwrap();
    let rows = server.client().query("SELECT k, total FROM totals", &[]).unwrap();
    let table: BTreeMap<String, i64> = rows.iter().map(|row| (row.get(0), row.get(1))).collect();
    let expected: BTreeMap<String, i64> = [("b".to_owned(), 20), ("c".to_owned(), 3)].into();
    assert_eq!(table, expected);
}
