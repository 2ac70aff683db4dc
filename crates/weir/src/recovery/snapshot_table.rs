//! The snapshots of a partition (`snap_batches`): batches of key snapshots (see `batch`)
//! per `(step, epoch, seq)`. Writing them, reading every key's latest state, and
//! collecting what newer snapshots superseded.

use std::collections::HashMap;
use std::path::Path;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::recovery::batch::{BATCH_BYTES, entry_size, for_each_entry, push_entry};
use crate::recovery::fence::check_latest;
use crate::recovery::store::{PartitionStore, StoredRow, sql_error};
use crate::{Epoch, Error};

/// A batch's row, but its entries.
#[derive(Clone, Copy)]
struct BatchRow {
    epoch: i64,
    seq: i64,
    keys: i64,
    bytes: usize,
}

/// One step's batches as read, in order, and per key its latest entry (`None`: deleted)
/// with the index of the batch holding it.
#[derive(Default)]
struct StepBatches {
    batches: Vec<BatchRow>,
    latest: HashMap<String, (usize, Option<Vec<u8>>)>,
}

impl StepBatches {
    /// The live keys whose latest entry is in a batch `keep` accepts (by index), sorted by
    /// key.
    fn live_sorted(self, keep: impl Fn(usize) -> bool) -> Vec<(String, Vec<u8>)> {
        let latest = self.latest.into_iter();
        let mut live: Vec<_> = latest
            .filter_map(|(k, (b, v))| Some((k, v.filter(|_| keep(b))?)))
            .collect();
        live.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        live
    }
}

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
        let other = self.open.as_ref().is_some_and(|(e, s)| *e != epoch || s != step);
        let size = entry_size(key, state);
        if other || (!self.entries.is_empty() && self.entries.len() + size > BATCH_BYTES) {
            self.flush()?;
        }
        if self.open.is_none() {
            self.open = Some((epoch, step.to_owned()));
        }
        push_entry(&mut self.entries, step, key, state)?;
        self.keys += 1;
        self.deleted += i64::from(state.is_none());
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

/// Reads the batches at or before `through` (of step `only`, or of every step) and hands
/// each step's to `each_step`.
fn for_each_step(
    conn: &Connection,
    path: &Path,
    through: Epoch,
    only: Option<&str>,
    mut each_step: impl FnMut(String, StepBatches) -> Result<(), Error>,
) -> Result<(), Error> {
    let fail = sql_error(path, "reading snapshots from");
    let sql = match only {
        None => {
            "SELECT step, epoch, seq, keys, entries FROM snap_batches WHERE epoch <= ?1 \
                 ORDER BY step, epoch, seq"
        }
        Some(_) => {
            "SELECT step, epoch, seq, keys, entries FROM snap_batches WHERE step = ?2 \
                    AND epoch <= ?1 ORDER BY epoch, seq"
        }
    };
    let mut stmt = conn.prepare(sql).map_err(&fail)?;
    let mut rows = match only {
        None => stmt.query(params![through as i64]),
        Some(step) => stmt.query(params![through as i64, step]),
    }
    .map_err(&fail)?;
    let mut current: Option<(String, StepBatches)> = None;
    while let Some(row) = rows.next().map_err(&fail)? {
        let step = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(&fail)?;
        let entries = row.get_ref(4).and_then(|v| Ok(v.as_blob()?)).map_err(&fail)?;
        let batch = BatchRow {
            epoch: row.get(1).map_err(&fail)?,
            seq: row.get(2).map_err(&fail)?,
            keys: row.get(3).map_err(&fail)?,
            bytes: entries.len(),
        };
        if current.as_ref().is_none_or(|(s, _)| s != step) {
            if let Some((done, batches)) = current.take() {
                each_step(done, batches)?;
            }
            current = Some((step.to_owned(), StepBatches::default()));
        }
        let (_, read) = current.as_mut().expect("a step is open");
        let index = read.batches.len();
        read.batches.push(batch);
        let what = || {
            format!(
                "the snapshot batch (step {step:?}, epoch {}, seq {}) in {}",
                batch.epoch,
                batch.seq,
                path.display()
            )
        };
        let (latest, mut decoded) = (&mut read.latest, 0);
        for_each_entry(entries, &what, |key, state| {
            decoded += 1;
            let entry = (index, state.map(<[u8]>::to_vec));
            match latest.get_mut(key) {
                Some(held) => *held = entry,
                None => {
                    latest.insert(key.to_owned(), entry);
                }
            }
        })?;
        if decoded != batch.keys {
            return Err(Error::Recovery(format!(
                "{} is corrupt (its row counts {} entries, it holds {decoded}): restore the store \
                 from a backup",
                what(),
                batch.keys
            )));
        }
    }
    match current {
        Some((step, batches)) => each_step(step, batches),
        None => Ok(()),
    }
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
    /// (step, key) that was not deleted (of step `only`, or of every step), by step and key.
    /// Holds one step's keys at a time.
    pub(crate) fn for_each_latest(
        &self,
        epoch: Epoch,
        only: Option<&str>,
        mut each: impl FnMut(String, String, Vec<u8>),
    ) -> Result<(), Error> {
        for_each_step(&self.conn, &self.path, epoch, only, |step, batches| {
            for (key, state) in batches.live_sorted(|_| true) {
                each(step.clone(), key, state);
            }
            Ok(())
        })
    }

    /// Drops what is superseded at or before `gc_epoch`: a batch there at least half full
    /// whose entries are all live and latest is kept; the others are deleted, and the live
    /// latest entries they held are written again as batches at `gc_epoch` (so small
    /// batches are merged). A sweep writes the batches that hold something superseded,
    /// not the whole state. Steps with one epoch at or before `gc_epoch` and no deletions
    /// are not read. No epoch before `gc_epoch` can be rebuilt afterwards: `resume_point`
    /// refuses to resume from one.
    pub(crate) fn collect_garbage(&mut self, execution: u64, gc_epoch: Epoch) -> Result<(), Error> {
        let fail = self.fail("collecting garbage in");
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        check_latest(&tx, &self.path, execution)?;
        // One step's state in memory at a time.
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
            let mut batches = StepBatches::default();
            for_each_step(&tx, &self.path, gc_epoch, Some(&step), |_, read| {
                batches = read;
                Ok(())
            })?;
            let mut live = vec![0; batches.batches.len()];
            for (batch, state) in batches.latest.values() {
                live[*batch] += i64::from(state.is_some());
            }
            let rewritten: Vec<bool> = (batches.batches.iter().zip(&live))
                .map(|(batch, live)| *live < batch.keys || batch.bytes < BATCH_BYTES / 2)
                .collect();
            for (batch, _) in batches.batches.iter().zip(&rewritten).filter(|(_, r)| **r) {
                tx.execute(
                    "DELETE FROM snap_batches WHERE step = ?1 AND epoch = ?2 AND seq = ?3",
                    params![step, batch.epoch, batch.seq],
                )
                .map_err(&fail)?;
            }
            let mut writer = BatchWriter::new(&tx, &self.path);
            for (key, state) in batches.live_sorted(|batch| rewritten[batch]) {
                writer.push(gc_epoch, &step, &key, Some(&state))?;
            }
            writer.finish()?;
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
#[path = "snapshot_table_tests.rs"]
mod tests;
