//! The snapshots of a partition (`snap_batches`): batches of key snapshots (see `batch`)
//! per `(step, epoch, seq)`. Writing them, reading every key's latest state, and
//! collecting what newer snapshots superseded.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::recovery::batch::{BATCH_BYTES, for_each_entry, push_entry};
use crate::recovery::fence::check_latest;
use crate::recovery::store::{PartitionStore, StoredRow, sql_error};
use crate::{Epoch, Error};

/// Per key of one step, its latest entry (`None`: deleted).
type Latest = HashMap<String, Option<Vec<u8>>>;

/// Writes snapshots as batches, closing a batch when the step or epoch changes or it is
/// full. Rows of one step and epoch must come together, in the order they were taken.
pub(crate) struct BatchWriter<'c> {
    conn: &'c Connection,
    path: &'c Path,
    open: Option<(Epoch, String)>,
    entries: Vec<u8>,
    keys: i64,
    deleted: i64,
}

impl<'c> BatchWriter<'c> {
    pub(crate) fn new(conn: &'c Connection, path: &'c Path) -> Self {
        BatchWriter {
            conn,
            path,
            open: None,
            entries: Vec::new(),
            keys: 0,
            deleted: 0,
        }
    }

    pub(crate) fn push(
        &mut self,
        epoch: Epoch,
        step: &str,
        key: &str,
        state: Option<&[u8]>,
    ) -> Result<(), Error> {
        if self.open.as_ref().is_some_and(|(e, s)| *e != epoch || s != step) {
            self.flush()?;
        }
        if self.open.is_none() {
            self.open = Some((epoch, step.to_owned()));
        }
        push_entry(&mut self.entries, step, key, state)?;
        self.keys += 1;
        self.deleted += i64::from(state.is_none());
        if self.entries.len() >= BATCH_BYTES {
            self.flush()?;
        }
        Ok(())
    }

    /// Writes the open batch.
    pub(crate) fn finish(mut self) -> Result<(), Error> {
        self.flush()
    }

    fn flush(&mut self) -> Result<(), Error> {
        let Some((epoch, step)) = self.open.take() else {
            return Ok(());
        };
        let fail = sql_error(self.path, "writing snapshots to");
        self.conn
            .prepare_cached(
                "INSERT INTO snap_batches (step, epoch, seq, keys, deleted, entries) VALUES (?1, ?2, \
                 (SELECT coalesce(max(seq) + 1, 0) FROM snap_batches WHERE step = ?1 AND epoch = ?2), \
                 ?3, ?4, ?5)",
            )
            .and_then(|mut insert| {
                insert.execute(params![step, epoch as i64, self.keys, self.deleted, self.entries])
            })
            .map_err(fail)?;
        self.entries.clear();
        (self.keys, self.deleted) = (0, 0);
        Ok(())
    }
}

/// Merges the batches `query` selects (`step, epoch, seq, entries`, ordered by step,
/// epoch and seq) into each step's latest entries, and hands them to `each_step`.
fn for_each_step_latest(
    conn: &Connection,
    path: &Path,
    query: &str,
    args: impl rusqlite::Params,
    mut each_step: impl FnMut(String, Latest) -> Result<(), Error>,
) -> Result<(), Error> {
    let fail = sql_error(path, "reading snapshots from");
    let mut stmt = conn.prepare(query).map_err(&fail)?;
    let mut rows = stmt.query(args).map_err(&fail)?;
    let mut current: Option<(String, Latest)> = None;
    while let Some(row) = rows.next().map_err(&fail)? {
        let step = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(&fail)?;
        let (epoch, seq): (i64, i64) = (row.get(1).map_err(&fail)?, row.get(2).map_err(&fail)?);
        let entries = row.get_ref(3).and_then(|v| Ok(v.as_blob()?)).map_err(&fail)?;
        if current.as_ref().is_none_or(|(s, _)| s != step) {
            if let Some((done, latest)) = current.take() {
                each_step(done, latest)?;
            }
            current = Some((step.to_owned(), Latest::new()));
        }
        let (_, latest) = current.as_mut().expect("a step is open");
        let what = || {
            format!(
                "the snapshot batch (step {step:?}, epoch {epoch}, seq {seq}) in {}",
                path.display()
            )
        };
        for_each_entry(entries, &what, |key, state| match latest.get_mut(key) {
            Some(held) => *held = state.map(<[u8]>::to_vec),
            None => {
                latest.insert(key.to_owned(), state.map(<[u8]>::to_vec));
            }
        })?;
    }
    match current {
        Some((step, latest)) => each_step(step, latest),
        None => Ok(()),
    }
}

/// A step's live keys (deleted ones left out), sorted by key.
fn live_sorted(latest: Latest) -> Vec<(String, Vec<u8>)> {
    let mut live: Vec<_> = latest.into_iter().filter_map(|(k, v)| Some((k, v?))).collect();
    live.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    live
}

impl PartitionStore {
    /// Makes `rows` (sorted by epoch and step, each step's rows in the order they were
    /// taken) durable and records that every snapshot of epochs `<= frontier` routed here
    /// is written (of every epoch, if `finished`), in one transaction.
    pub(crate) fn commit(
        &mut self,
        execution: u64,
        owner: usize,
        rows: &[StoredRow],
        frontier: Epoch,
        finished: bool,
    ) -> Result<(), Error> {
        let fail = self.fail("writing snapshots to");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        check_latest(&tx, &self.path, execution)?;
        let mut batches = BatchWriter::new(&tx, &self.path);
        for (epoch, step, key, state) in rows {
            batches.push(*epoch, step, key, state.as_deref())?;
        }
        batches.finish()?;
        tx.execute(
            "INSERT OR REPLACE INTO fronts (execution, worker, epoch, finished) VALUES (?1, ?2, ?3, ?4)",
            params![execution as i64, owner as i64, frontier as i64, finished],
        )
        .map_err(&fail)?;
        // Crash tests stop here (`sleep`) or fail here (`return`): rows written, transaction
        // not committed.
        fail::fail_point!("weir::recovery::commit", |_| {
            Err(Error::Recovery("injected commit failure (fail point)".into()))
        });
        tx.commit().map_err(&fail)
    }

    /// Calls `each(step, key, state)` for the latest snapshot at or before `epoch` of every
    /// (step, key) that was not deleted, by step and key. Holds one step's keys at a time.
    pub(crate) fn for_each_latest(
        &self,
        epoch: Epoch,
        mut each: impl FnMut(String, String, Vec<u8>),
    ) -> Result<(), Error> {
        for_each_step_latest(
            &self.conn,
            &self.path,
            "SELECT step, epoch, seq, entries FROM snap_batches WHERE epoch <= ?1 ORDER BY step, epoch, seq",
            params![epoch as i64],
            |step, latest| {
                for (key, state) in live_sorted(latest) {
                    each(step.clone(), key, state);
                }
                Ok(())
            },
        )
    }

    /// Keeps of the snapshots at or before `gc_epoch` only each live key's latest, as
    /// batches at `gc_epoch`: superseded snapshots and deletions are gone. Steps with one
    /// epoch at or before it and no deletions are left as they are.
    pub(crate) fn collect_garbage(&mut self, execution: u64, gc_epoch: Epoch) -> Result<(), Error> {
        let fail = self.fail("collecting garbage in");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        check_latest(&tx, &self.path, execution)?;
        let steps: Vec<String> = tx
            .prepare(
                "SELECT step FROM snap_batches WHERE epoch <= ?1 GROUP BY step \
                 HAVING count(DISTINCT epoch) > 1 OR sum(deleted) > 0",
            )
            .and_then(|mut stmt| {
                let rows = stmt.query_map(params![gc_epoch as i64], |r| r.get(0))?;
                rows.collect()
            })
            .map_err(&fail)?;
        for step in steps {
            let mut compacted = Vec::new();
            for_each_step_latest(
                &tx,
                &self.path,
                "SELECT step, epoch, seq, entries FROM snap_batches WHERE step = ?1 AND epoch <= ?2 \
                 ORDER BY step, epoch, seq",
                params![step, gc_epoch as i64],
                |_, latest| {
                    compacted = live_sorted(latest);
                    Ok(())
                },
            )?;
            tx.execute(
                "DELETE FROM snap_batches WHERE step = ?1 AND epoch <= ?2",
                params![step, gc_epoch as i64],
            )
            .map_err(&fail)?;
            let mut batches = BatchWriter::new(&tx, &self.path);
            for (key, state) in &compacted {
                batches.push(gc_epoch, &step, key, Some(state))?;
            }
            batches.finish()?;
        }
        tx.execute(
            "UPDATE meta SET gc_epoch = max(gc_epoch, ?1) WHERE id = 0",
            params![gc_epoch as i64],
        )
        .map_err(&fail)?;
        tx.commit().map_err(&fail)
    }

    /// Snapshots and deletion markers per step: `(step, snapshots, deletions)`.
    pub(crate) fn snapshot_counts(&self) -> Result<Vec<(String, u64, u64)>, Error> {
        let fail = self.fail("reading");
        let mut stmt = self
            .conn
            .prepare("SELECT step, sum(keys), sum(deleted) FROM snap_batches GROUP BY step ORDER BY step")
            .map_err(&fail)?;
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))
        })
        .and_then(|rows| rows.collect())
        .map_err(&fail)
    }
}

#[cfg(test)]
mod tests {
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
        (store.for_each_latest(epoch, |step, key, state| got.push((step, key, state[0])))).unwrap();
        got
    }

    #[test]
    fn the_latest_snapshot_of_each_key_survives_batching_and_garbage_collection() {
        let dir = tempfile::tempdir().unwrap();
        crate::recovery::init(dir.path(), 1).unwrap();
        let mut store = started(dir.path(), 0, 0);
        // Epoch 1: 600 keys of 1 kB, more than two batches; epoch 2 rewrites the even keys,
        // deletes the multiples of 3 and writes key 5 twice (the later wins).
        let first: Vec<_> = (0..600).map(|k| row(1, "a", k, Some(1))).collect();
        store.commit(0, 0, &first, 1, false).unwrap();
        let mut second: Vec<_> = (0..600).step_by(2).map(|k| row(2, "a", k, Some(2))).collect();
        second.extend((0..600).step_by(3).map(|k| row(2, "a", k, None)));
        second.extend([
            row(2, "a", 5, Some(8)),
            row(2, "a", 5, Some(9)),
            row(2, "b", 0, Some(7)),
        ]);
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
            if epoch >= 2 {
                live.push(("b".to_owned(), "k0".to_owned(), 7));
            }
            live.sort();
            live
        };
        assert_eq!(latest(&store, 1), expected(1));
        assert_eq!(latest(&store, 2), expected(2));
        let batches: i64 = (store.conn)
            .query_row(
                "SELECT count(*) FROM snap_batches WHERE step = 'a' AND epoch = 1",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert!(
            batches >= 3,
            "600 kB of states make several batches, not {batches}"
        );
        let counts = |store: &PartitionStore| store.snapshot_counts().unwrap();
        assert_eq!(
            counts(&store),
            [("a".to_owned(), 600 + 300 + 200 + 2, 200), ("b".to_owned(), 1, 0)]
        );

        store.collect_garbage(0, 2).unwrap();
        assert_eq!(
            latest(&store, 2),
            expected(2),
            "garbage collection changes no state"
        );
        let live = expected(2).iter().filter(|(step, _, _)| step == "a").count() as u64;
        assert_eq!(
            counts(&store),
            [("a".to_owned(), live, 0), ("b".to_owned(), 1, 0)]
        );
        store.collect_garbage(0, 2).unwrap();
        assert_eq!(latest(&store, 2), expected(2), "collecting twice changes nothing");

        // Epoch 3 is written but never committed everywhere: a resume at 2 forgets it.
        store.commit(0, 0, &[row(3, "a", 1, None)], 3, false).unwrap();
        assert_ne!(latest(&store, 3), expected(2));
        drop(store);
        let store = started(dir.path(), 1, 2);
        assert_eq!(latest(&store, 3), expected(2));
    }
}
