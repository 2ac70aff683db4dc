//! One recovery partition: a SQLite file with STRICT tables, locked by one execution and
//! written only by the latest one (see `fence`).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::ids::StorePartition;
use crate::recovery::fence::Holder;
use crate::recovery::lock::{StoreLock, lock};
use crate::recovery::resume::{ExecutionRecord, Front, PartitionInfo, ResumePoint};
use crate::recovery::schema::migrate;
use crate::{Epoch, Error};

/// How long a statement waits for another connection's write lock before failing.
pub(super) const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// `(epoch, step, key, state or None for a deletion)`: one key's snapshot, as committed.
pub(crate) type StoredRow = (Epoch, String, String, Option<Vec<u8>>);

pub(crate) fn sql_error(path: &Path, doing: &str) -> impl Fn(rusqlite::Error) -> Error + use<> {
    let path = path.display().to_string();
    let doing = doing.to_owned();
    move |e| {
        let hint = match e.sqlite_error_code() {
            Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked) => {
                "; another execution holds it: two executions cannot share a recovery store"
            }
            Some(rusqlite::ErrorCode::NotADatabase | rusqlite::ErrorCode::DatabaseCorrupt) => {
                "; the file is corrupt or truncated: restore the store from a backup"
            }
            _ => "",
        };
        Error::Recovery(format!("{doing} {path}: {e}{hint}"))
    }
}

/// The partitions whose files are in `dir`, in index order; an error if `dir` is not a
/// recovery store or holds a partition file whose name is not `part-N.sqlite3`.
pub(crate) fn list_partitions(dir: &Path) -> Result<Vec<StorePartition>, Error> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Error::Recovery(format!(
            "cannot read recovery directory {}: {e}; create it with `weir recovery init {} --partitions N`",
            dir.display(),
            dir.display()
        ))
    })?;
    let mut partitions = Vec::new();
    for entry in entries.filter_map(|e| e.ok()) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(number) = name
            .strip_prefix("part-")
            .and_then(|n| n.strip_suffix(".sqlite3"))
        else {
            continue;
        };
        let partition = number
            .parse::<usize>()
            .ok()
            .map(StorePartition)
            .filter(|p| p.to_string() == name)
            .ok_or_else(|| {
                Error::Recovery(format!(
                    "{} holds {name}, which is not a partition name weir writes (part-N.sqlite3): \
                     was it renamed? Move it out of the store",
                    dir.display()
                ))
            })?;
        partitions.push(partition);
    }
    partitions.sort();
    Ok(partitions)
}

/// An open, locked recovery partition.
pub(crate) struct PartitionStore {
    pub partition: StorePartition,
    pub(super) path: PathBuf,
    pub(super) conn: Connection,
    /// Holds the partition's lock (on `part-N.sqlite3.lock`) while open; the OS releases
    /// it when the process dies.
    _lock: StoreLock,
}

impl PartitionStore {
    /// Opens `partition` in `dir`, checks it is a weir partition of the current schema, and
    /// takes an exclusive lock held until the store is dropped (unless `read_only`).
    pub(crate) fn open(dir: &Path, partition: StorePartition, read_only: bool) -> Result<Self, Error> {
        let path = dir.join(partition.to_string());
        if !path.is_file() {
            return Err(Error::Recovery(format!(
                "recovery partition {} does not exist",
                path.display()
            )));
        }
        let lock = lock(&path, !read_only)?;
        let fail = sql_error(&path, "opening recovery partition");
        // Normal (not exclusive) SQLite locking: every transaction sees what another
        // process committed, which the fence check relies on.
        let mut conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&fail)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(&fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(&fail)?;
        conn.pragma_update(None, "cache_size", -65536).map_err(&fail)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(&fail)?;
        let meta: Option<(i64, i64)> = conn
            .query_row(
                "SELECT schema_version, partition_index FROM meta WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| {
                Error::Recovery(format!(
                    "{} is not a weir recovery partition ({e}); create stores with `weir recovery init`",
                    path.display()
                ))
            })?;
        let (version, index) = meta.ok_or_else(|| {
            Error::Recovery(format!(
                "{} has no metadata row: not a weir recovery partition",
                path.display()
            ))
        })?;
        if index != partition.0 as i64 {
            return Err(Error::Recovery(format!(
                "{} records partition index {index}: files were renamed; give each file back \
                 its name part-{index}.sqlite3",
                path.display()
            )));
        }
        // Readers migrate too: a one-time upgrade that `inspect` may be the first to see.
        migrate(&mut conn, &path, version)?;
        Ok(PartitionStore {
            partition,
            path,
            conn,
            _lock: lock,
        })
    }

    pub(super) fn fail(&self, doing: &str) -> impl Fn(rusqlite::Error) -> Error + use<> {
        sql_error(&self.path, doing)
    }

    /// What this partition records about past executions.
    pub(crate) fn info(&self) -> Result<PartitionInfo, Error> {
        let fail = self.fail("reading");
        let (partition_count, gc_epoch): (i64, i64) = self
            .conn
            .query_row(
                "SELECT partition_count, gc_epoch FROM meta WHERE id = 0",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .map_err(&fail)?;
        let mut stmt = self
            .conn
            .prepare("SELECT execution, worker_count, resume_epoch FROM executions ORDER BY execution")
            .map_err(&fail)?;
        let executions = stmt
            .query_map([], |r| {
                Ok(ExecutionRecord {
                    execution: r.get::<_, i64>(0)? as u64,
                    worker_count: r.get::<_, i64>(1)? as u64,
                    resume_epoch: r.get::<_, i64>(2)? as Epoch,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(&fail)?;
        let mut stmt = self
            .conn
            .prepare(
                "SELECT execution, max(epoch), max(finished) FROM fronts GROUP BY execution \
                 ORDER BY execution",
            )
            .map_err(&fail)?;
        let fronts = stmt
            .query_map([], |r| {
                Ok(Front {
                    execution: r.get::<_, i64>(0)? as u64,
                    epoch: r.get::<_, i64>(1)? as Epoch,
                    finished: r.get::<_, i64>(2)? == 1,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(&fail)?;
        Ok(PartitionInfo {
            partition: self.partition,
            partition_count: partition_count as usize,
            gc_epoch: gc_epoch as Epoch,
            executions,
            fronts,
        })
    }

    /// Starts execution `point.execution` owned here by `owner`: forgets snapshots after the
    /// resume epoch (they belong to an execution that did not commit them everywhere) and
    /// records the execution and its starting frontier, in one transaction.
    pub(crate) fn begin_execution(
        &mut self,
        point: ResumePoint,
        worker_count: usize,
        owner: usize,
    ) -> Result<(), Error> {
        let fail = self.fail("starting an execution in");
        let holder = Holder::this_process();
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(&fail)?;
        tx.execute(
            "DELETE FROM snap_batches WHERE epoch > ?1",
            params![point.epoch as i64],
        )
        .map_err(&fail)?;
        tx.execute(
            "INSERT INTO executions (execution, worker_count, resume_epoch, host, pid) \
             VALUES (?1, ?2, ?3, ?4, ?5)",
            params![
                point.execution as i64,
                worker_count as i64,
                point.epoch as i64,
                holder.host,
                holder.pid
            ],
        )
        .map_err(&fail)?;
        tx.execute(
            "INSERT INTO fronts (execution, worker, epoch) VALUES (?1, ?2, ?3)",
            params![point.execution as i64, owner as i64, point.epoch as i64],
        )
        .map_err(&fail)?;
        tx.commit().map_err(&fail)?;
        // The writer counts what it resumed from as on disk.
        self.sync()
    }

    /// Makes every commit so far survive an OS crash: a full checkpoint syncs the WAL,
    /// copies it into the database file and syncs that.
    pub(crate) fn sync(&mut self) -> Result<(), Error> {
        let fail = self.fail("syncing to disk");
        let busy: i64 = self
            .conn
            .query_row("PRAGMA wal_checkpoint(FULL)", [], |r| r.get(0))
            .map_err(&fail)?;
        if busy != 0 {
            return Err(Error::Recovery(format!(
                "syncing {} to disk: the checkpoint could not complete (another connection is \
                 reading it?); two executions cannot share a recovery store",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Committed frontier per worker of every execution: `(execution, worker, epoch,
    /// finished)`.
    pub(crate) fn worker_fronts(&self) -> Result<Vec<(u64, usize, Epoch, bool)>, Error> {
        let fail = self.fail("reading");
        let mut stmt = self
            .conn
            .prepare("SELECT execution, worker, epoch, finished FROM fronts ORDER BY execution, worker")
            .map_err(&fail)?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as usize,
                r.get::<_, i64>(2)? as Epoch,
                r.get::<_, i64>(3)? == 1,
            ))
        })
        .and_then(|rows| rows.collect())
        .map_err(&fail)
    }
}
