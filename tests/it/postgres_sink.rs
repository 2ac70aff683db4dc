//! `PostgresSink` against a real PostgreSQL server: the word count's running counts land
//! in the table exactly once across SIGKILLs of a 2-process cluster and a resume at another
//! worker count; without a store, every row once; a server gone for good gives retries,
//! then an error naming it.

use std::process::Stdio;
use std::time::Duration;

use crate::postgres_server::Postgres;
use crate::support::{
    Rng, example, expected_wordcount, kill_a_cluster_process_after_a_commit, run_with_limit, spawn,
    wait_until, write_corpus,
};

/// The table's rows as `word<TAB>n` lines, sorted.
fn table_lines(server: &Postgres) -> Vec<String> {
    let rows = server
        .client()
        .query("SELECT word, n FROM wordcount_running", &[])
        .unwrap();
    let mut lines: Vec<String> = rows
        .iter()
        .map(|row| format!("{}\t{}", row.get::<_, String>(0), row.get::<_, i64>(1)))
        .collect();
    lines.sort();
    lines
}

#[test]
fn running_counts_land_exactly_once_across_kills_and_a_rescale() {
    let server = Postgres::start();
    let (input, store) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let text = write_corpus(input.path(), 4, 40_000, 2_000, 11);
    weir::recovery::init(store.path(), 5).unwrap();
    let url = server.url();
    let (i, r) = (input.path().to_str().unwrap(), store.path().to_str().unwrap());
    let common = [
        "--input",
        i,
        "--running",
        "--postgres",
        &url,
        "-r",
        r,
        "-s",
        "0.05",
    ];
    let mut rng = Rng(42);
    for round in 0..2 {
        let wait = Duration::from_millis(rng.next() % 120);
        kill_a_cluster_process_after_a_commit(&example("wordcount"), &common, store.path(), wait, round);
    }
    let args: Vec<&str> = common.iter().copied().chain(["-w", "3"]).collect();
    let done = run_with_limit(&example("wordcount"), &args, Duration::from_secs(300));
    assert!(done.status.success(), "{}", String::from_utf8_lossy(&done.stderr));
    let expected = expected_wordcount(&text, true);
    let got = table_lines(&server);
    assert_eq!(got.len(), expected.len(), "every running count exactly once");
    assert!(got == expected, "the rows differ from the failure-free ones");
}

#[test]
fn without_a_store_every_row_lands_once_and_a_rerun_appends() {
    let server = Postgres::start();
    let input = tempfile::tempdir().unwrap();
    let text = write_corpus(input.path(), 2, 3_000, 200, 5);
    let url = server.url();
    let args = [
        "--input",
        input.path().to_str().unwrap(),
        "--running",
        "--postgres",
        &url,
        "-w",
        "2",
    ];
    let out = run_with_limit(&example("wordcount"), &args, Duration::from_secs(120));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(table_lines(&server), expected_wordcount(&text, true));
    let out = run_with_limit(&example("wordcount"), &args, Duration::from_secs(120));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        table_lines(&server).len(),
        2 * expected_wordcount(&text, true).len()
    );
}

#[test]
fn a_database_gone_for_good_gives_retries_then_an_error_naming_it() {
    let server = Postgres::start();
    let url = server.url();
    server.stop();
    let input = tempfile::tempdir().unwrap();
    write_corpus(input.path(), 1, 100, 10, 3);
    let args = [
        "--input",
        input.path().to_str().unwrap(),
        "--running",
        "--postgres",
        &url,
    ];
    let out = run_with_limit(&example("wordcount"), &args, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("PostgreSQL at")
            && stderr.contains(&url)
            && stderr.contains("failed 6 times in a row"),
        "{stderr}"
    );
}

#[test]
fn a_database_stopped_mid_run_gives_retries_then_an_error_naming_it() {
    let server = Postgres::start();
    let (input, store) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_corpus(input.path(), 4, 200_000, 2_000, 13);
    weir::recovery::init(store.path(), 2).unwrap();
    let url = server.url();
    let (i, r) = (input.path().to_str().unwrap(), store.path().to_str().unwrap());
    let args = [
        "--input",
        i,
        "--running",
        "--postgres",
        &url,
        "-r",
        r,
        "-s",
        "0.05",
    ];
    let child = spawn(&example("wordcount"), &args, Stdio::piped());
    let mut client = server.client();
    wait_until("the first rows", Duration::from_secs(60), || {
        let fence = client.query_opt("SELECT 1 FROM weir_fences LIMIT 1", &[]);
        fence.is_ok_and(|row| row.is_some())
    });
    drop(client);
    server.stop();
    let out = crate::support::wait_output(child, Duration::from_secs(120));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "the run went on without its database");
    assert!(
        stderr.contains("PostgreSQL at")
            && stderr.contains(&url)
            && stderr.contains("failed 6 times in a row"),
        "{stderr}"
    );
}

/// A row of the upsert test: a key and a value.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct Latest(String, i64);

impl weir_postgres::ToRow for Latest {
    fn to_row(&self) -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> {
        vec![Box::new(self.0.clone()), Box::new(self.1)]
    }
}

#[test]
fn an_upsert_keeps_the_last_row_of_each_key_in_a_batch_and_across_epochs() {
    use weir_postgres::{Mode, PostgresSink};
    let server = Postgres::start();
    for run in 0..2 {
        let sink = PostgresSink::new(&server.url(), "latest", ["k", "v"])
            .creating("k text PRIMARY KEY, v bigint NOT NULL")
            .with_mode(Mode::Upsert {
                key: vec!["k".into()],
            })
            .with_parts(2);
        let mut flow = weir::Dataflow::new("upsert");
        // Keys k0..k9, each given the values 0..100 in order (+1000 in the second run).
        let values = weir::inputs::iter_per_worker(move |_, _| {
            (0..1_000i64).map(move |i| (i % 10, i / 10 + run * 1_000))
        });
        flow.dynamic_input("values", values)
            .map("row", |(k, v): (i64, i64)| {
                (format!("k{k}"), Latest(format!("k{k}"), v))
            })
            .output("write", sink);
        weir::run(flow, weir::RunConfig::threads(2)).unwrap();
        let rows = server
            .client()
            .query("SELECT k, v FROM latest ORDER BY k", &[])
            .unwrap();
        let got: Vec<(String, i64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        let expected: Vec<(String, i64)> = (0..10).map(|k| (format!("k{k}"), 99 + run * 1_000)).collect();
        assert_eq!(got, expected, "run {run}");
    }
}
