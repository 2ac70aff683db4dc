//! The snapshot table: batching, reading the latest state, garbage collection, resume.

use super::*;
use crate::ids::StorePartition;
use crate::recovery::resume::ResumePoint;

fn started(dir: &Path, execution: u64, epoch: Epoch) -> PartitionStore {
    let mut store = PartitionStore::open(dir, StorePartition(0), false).unwrap();
    store
        .begin_execution(ResumePoint { execution, epoch }, 1, 0)
        .unwrap();
    store
}

fn row(epoch: Epoch, step: &str, key: usize, state: Option<u8>) -> StoredRow {
    let state = state.map(|s| vec![s; 1000]);
    (epoch, step.to_owned(), format!("k{key}"), state)
}

/// Per step, its live keys at `epoch` with their state's first byte.
fn latest(store: &PartitionStore, epoch: Epoch) -> Vec<(String, String, u8)> {
    let mut got = Vec::new();
    (store.for_each_latest(epoch, None, |step, key, state| got.push((step, key, state[0])))).unwrap();
    got
}

#[test]
fn the_latest_snapshot_of_each_key_survives_batching_and_garbage_collection() {
    let dir = tempfile::tempdir().unwrap();
    crate::recovery::init(dir.path(), 1).unwrap();
    let mut store = started(dir.path(), 0, 0);
    // Epoch 1: 600 keys of 1 kB, more than two batches; epoch 2 rewrites the even keys,
    // deletes the multiples of 3 and writes key 5 twice (the later wins). Step "c" only
    // adds a key in each epoch, in batches too small to keep.
    let mut first: Vec<_> = (0..600).map(|k| row(1, "a", k, Some(1))).collect();
    first.push(row(1, "c", 0, Some(3)));
    store.commit(0, 0, &first, 1, false).unwrap();
    let mut second: Vec<_> = (0..600).step_by(2).map(|k| row(2, "a", k, Some(2))).collect();
    second.extend((0..600).step_by(3).map(|k| row(2, "a", k, None)));
    second.extend([row(2, "a", 5, Some(8)), row(2, "a", 5, Some(9))]);
    second.extend([row(2, "b", 0, Some(7)), row(2, "c", 1, Some(4))]);
    store.commit(0, 0, &second, 2, false).unwrap();
    let expected = |epoch: Epoch| {
        let mut live: Vec<_> = (0..600)
            .filter(|k| epoch < 2 || k % 3 != 0)
            .map(|k| {
                let state = match k {
                    5 if epoch >= 2 => 9,
                    k if epoch >= 2 && k % 2 == 0 => 2,
                    _ => 1,
                };
                ("a".to_owned(), format!("k{k}"), state)
            })
            .collect();
        live.push(("c".to_owned(), "k0".to_owned(), 3));
        if epoch >= 2 {
            live.push(("b".to_owned(), "k0".to_owned(), 7));
            live.push(("c".to_owned(), "k1".to_owned(), 4));
        }
        live.sort();
        live
    };
    assert_eq!(latest(&store, 1), expected(1));
    assert_eq!(latest(&store, 2), expected(2));
    let batches_of = |store: &PartitionStore, step: &str| {
        let mut stmt = (store.conn)
            .prepare("SELECT epoch, seq FROM snap_batches WHERE step = ?1 ORDER BY epoch, seq")
            .unwrap();
        let rows = stmt.query_map([step], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?)));
        rows.unwrap().collect::<Result<Vec<_>, _>>().unwrap()
    };
    let first_batches = batches_of(&store, "a")
        .iter()
        .filter(|(epoch, _)| *epoch == 1)
        .count();
    assert!(
        first_batches >= 3,
        "600 kB of states make several batches, not {first_batches}"
    );
    let counts = |store: &PartitionStore| store.snapshot_counts().unwrap();
    let (b, c) = (("b".to_owned(), 1, 0), ("c".to_owned(), 2, 0));
    let a = ("a".to_owned(), 600 + 300 + 200 + 2, 200);
    assert_eq!(counts(&store), [a, b.clone(), c.clone()]);

    store.collect_garbage(0, 2).unwrap();
    assert_eq!(
        latest(&store, 2),
        expected(2),
        "garbage collection changes no state"
    );
    let live = expected(2).iter().filter(|(step, _, _)| step == "a").count() as u64;
    assert_eq!(counts(&store), [("a".to_owned(), live, 0), b, c]);
    let merged = [(2, 0)];
    assert_eq!(
        batches_of(&store, "c"),
        merged,
        "small batches are merged at the GC epoch"
    );
    let compacted = batches_of(&store, "a");
    store.collect_garbage(0, 2).unwrap();
    assert_eq!(latest(&store, 2), expected(2), "collecting twice changes nothing");
    assert_eq!(batches_of(&store, "a"), compacted, "nor rewrites anything");

    // Epoch 3 is written but never committed everywhere: a resume at 2 forgets it.
    store.commit(0, 0, &[row(3, "a", 1, None)], 3, false).unwrap();
    assert_ne!(latest(&store, 3), expected(2));
    drop(store);
    let store = started(dir.path(), 1, 2);
    assert_eq!(latest(&store, 3), expected(2));
}

#[test]
fn a_batch_that_lost_entries_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    crate::recovery::init(dir.path(), 1).unwrap();
    let mut store = started(dir.path(), 0, 0);
    let rows: Vec<_> = (0..3).map(|k| row(1, "a", k, Some(1))).collect();
    store.commit(0, 0, &rows, 1, false).unwrap();
    // Cut after the first of its three entries: what is left decodes, but is not all.
    let first_entry = 4 + 2 + 1 + 4 + 1000;
    (store.conn)
        .execute(
            "UPDATE snap_batches SET entries = substr(entries, 1, ?1)",
            [first_entry],
        )
        .unwrap();
    let err = store
        .for_each_latest(1, None, |_, _, _| {})
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(r#"(step "a", epoch 1, seq 0)"#) && err.contains("counts 3 entries, it holds 1"),
        "{err}"
    );
}

#[test]
fn gc_keeps_full_live_batches_and_merges_the_rest_after_them() {
    let dir = tempfile::tempdir().unwrap();
    crate::recovery::init(dir.path(), 1).unwrap();
    let mut store = started(dir.path(), 0, 0);
    // States of 100 kB: two fill a batch past half (a third would overflow it).
    let big = |epoch: Epoch, key: usize, state: u8| {
        (
            epoch,
            "a".to_owned(),
            format!("k{key}"),
            Some(vec![state; 100_000]),
        )
    };
    let first: Vec<_> = (0..4).map(|k| big(1, k, 1)).collect();
    store.commit(0, 0, &first, 1, false).unwrap();
    store
        .commit(0, 0, &[big(2, 0, 2), big(2, 10, 2), big(2, 11, 2)], 2, false)
        .unwrap();
    let batches = |store: &PartitionStore| {
        let mut stmt = (store.conn)
            .prepare("SELECT epoch, seq, keys FROM snap_batches ORDER BY epoch, seq")
            .unwrap();
        let rows = stmt.query_map([], |r| {
            Ok((r.get::<_, i64>(0)?, r.get::<_, i64>(1)?, r.get::<_, i64>(2)?))
        });
        rows.unwrap().collect::<Result<Vec<_>, _>>().unwrap()
    };
    assert_eq!(
        batches(&store),
        [(1, 0, 2), (1, 1, 2), (2, 0, 2), (2, 1, 1)],
        "a batch closes before it overflows"
    );
    let expected: Vec<_> = [(0, 2), (1, 1), (10, 2), (11, 2), (2, 1), (3, 1)]
        .map(|(k, s)| ("a".to_owned(), format!("k{k}"), s))
        .into_iter()
        .collect();
    assert_eq!(latest(&store, 2), expected);
    store.collect_garbage(0, 2).unwrap();
    assert_eq!(latest(&store, 2), expected);
    // (1, 0) held a superseded k0 and (2, 1) was small: their live keys k1 and k11 are
    // merged into a batch numbered after the kept (2, 0).
    assert_eq!(batches(&store), [(1, 1, 2), (2, 0, 2), (2, 1, 2)]);
    store.collect_garbage(0, 2).unwrap();
    assert_eq!(
        batches(&store),
        [(1, 1, 2), (2, 0, 2), (2, 1, 2)],
        "nothing left to collect"
    );
    assert_eq!(latest(&store, 2), expected);
}
