//! One recovery partition: a SQLite file with STRICT tables, locked by one execution.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::ids::StorePartition;
use crate::recovery::resume::{ExecutionRecord, PartitionInfo, ResumePoint};
use crate::{Epoch, Error};

/// Version of the schema below; a store with another version is refused.
const SCHEMA_VERSION: i64 = 1;

const SCHEMA: &str = "
CREATE TABLE meta (
    id INTEGER PRIMARY KEY CHECK (id = 0),
    schema_version INTEGER NOT NULL CHECK (schema_version >= 1),
    partition_index INTEGER NOT NULL CHECK (partition_index >= 0),
    partition_count INTEGER NOT NULL CHECK (partition_count >= 1),
    gc_epoch INTEGER NOT NULL DEFAULT 0 CHECK (gc_epoch >= 0),
    CHECK (partition_index < partition_count)
) STRICT;
CREATE TABLE executions (
    execution INTEGER PRIMARY KEY CHECK (execution >= 0),
    worker_count INTEGER NOT NULL CHECK (worker_count >= 1),
    resume_epoch INTEGER NOT NULL CHECK (resume_epoch >= 0)
) STRICT;
CREATE TABLE fronts (
    execution INTEGER NOT NULL REFERENCES executions (execution),
    worker INTEGER NOT NULL CHECK (worker >= 0),
    epoch INTEGER NOT NULL CHECK (epoch >= 0),
    PRIMARY KEY (execution, worker)
) STRICT;
CREATE TABLE snaps (
    step TEXT NOT NULL CHECK (length(step) BETWEEN 1 AND 128),
    key TEXT NOT NULL,
    epoch INTEGER NOT NULL CHECK (epoch >= 1),
    value BLOB,
    PRIMARY KEY (step, key, epoch)
) STRICT, WITHOUT ROWID;
";

/// `(epoch, step, key, state or None for a deletion)`: one row of the `snaps` table.
pub(crate) type StoredRow = (Epoch, String, String, Option<Vec<u8>>);

fn sql_error(path: &Path, doing: &str) -> impl Fn(rusqlite::Error) -> Error + use<> {
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

/// Creates the recovery directory `dir` (if needed) with `partitions` empty partition files.
pub fn init(dir: &Path, partitions: usize) -> Result<(), Error> {
    if partitions == 0 {
        return Err(Error::Recovery(
            "a recovery store needs at least one partition".into(),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|source| Error::Io {
        context: format!("creating recovery directory {}", dir.display()),
        source,
    })?;
    if let Some(existing) = list_partitions(dir)?.first() {
        return Err(Error::Recovery(format!(
            "{} already holds a recovery store ({existing}); use a new directory",
            dir.display()
        )));
    }
    for index in 0..partitions {
        let path = dir.join(StorePartition(index).to_string());
        let fail = sql_error(&path, "creating");
        let conn = Connection::open(&path).map_err(&fail)?;
        conn.pragma_update(None, "journal_mode", "WAL").map_err(&fail)?;
        conn.execute_batch(SCHEMA).map_err(&fail)?;
        conn.execute(
            "INSERT INTO meta (id, schema_version, partition_index, partition_count) VALUES (0, ?1, ?2, ?3)",
            params![SCHEMA_VERSION, index as i64, partitions as i64],
        )
        .map_err(&fail)?;
    }
    Ok(())
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
    path: PathBuf,
    conn: Connection,
    /// Holds the partition's lock (`flock` on `part-N.sqlite3.lock`) while open; the OS
    /// releases it when the process dies.
    _lock: File,
}

/// Takes the lock of the partition at `path`: exclusive for an execution, shared for a
/// reader. Fails at once if another execution holds it.
fn lock(path: &Path, exclusive: bool) -> Result<File, Error> {
    let lock_path = path.with_extension("sqlite3.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::Recovery(format!("cannot open lock file {}: {e}", lock_path.display())))?;
    let mode = if exclusive { libc::LOCK_EX } else { libc::LOCK_SH };
    // SAFETY: flock(2) on a descriptor this function owns.
    if unsafe { libc::flock(file.as_raw_fd(), mode | libc::LOCK_NB) } != 0 {
        return Err(Error::Recovery(format!(
            "{} is in use: another execution holds it; two executions cannot share a recovery store",
            path.display()
        )));
    }
    Ok(file)
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
        let conn = Connection::open_with_flags(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(&fail)?;
        if !read_only {
            conn.pragma_update(None, "locking_mode", "EXCLUSIVE")
                .map_err(&fail)?;
        }
        conn.pragma_update(None, "journal_mode", "WAL").map_err(&fail)?;
        conn.pragma_update(None, "synchronous", "NORMAL").map_err(&fail)?;
        conn.pragma_update(None, "cache_size", -65536).map_err(&fail)?;
        if !read_only {
            conn.execute_batch("BEGIN EXCLUSIVE; COMMIT;").map_err(&fail)?;
        }
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
        if version != SCHEMA_VERSION {
            return Err(Error::Recovery(format!(
                "{} has schema version {version}, this weir reads version {SCHEMA_VERSION}",
                path.display()
            )));
        }
        if index != partition.0 as i64 {
            return Err(Error::Recovery(format!(
                "{} records partition index {index}: files were renamed; give each file back \
                 its name part-{index}.sqlite3",
                path.display()
            )));
        }
        Ok(PartitionStore {
            partition,
            path,
            conn,
            _lock: lock,
        })
    }

    fn fail(&self, doing: &str) -> impl Fn(rusqlite::Error) -> Error + use<> {
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
            .prepare("SELECT execution, max(epoch) FROM fronts GROUP BY execution ORDER BY execution")
            .map_err(&fail)?;
        let fronts = stmt
            .query_map([], |r| {
                Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as Epoch))
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
        let tx = self.conn.transaction().map_err(&fail)?;
        tx.execute("DELETE FROM snaps WHERE epoch > ?1", params![point.epoch as i64])
            .map_err(&fail)?;
        tx.execute(
            "INSERT INTO executions (execution, worker_count, resume_epoch) VALUES (?1, ?2, ?3)",
            params![point.execution as i64, worker_count as i64, point.epoch as i64],
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

    /// Calls `each(step, key, state)` for the latest snapshot at or before `epoch` of every
    /// (step, key) that was not deleted: one pass in primary-key order, no sort.
    pub(crate) fn for_each_latest(
        &self,
        epoch: Epoch,
        mut each: impl FnMut(String, String, Vec<u8>),
    ) -> Result<(), Error> {
        let fail = self.fail("reading snapshots from");
        let mut stmt = self
            .conn
            .prepare("SELECT step, key, value FROM snaps WHERE epoch <= ?1 ORDER BY step, key, epoch")
            .map_err(&fail)?;
        let mut rows = stmt.query(params![epoch as i64]).map_err(&fail)?;
        let mut last: Option<(String, String, Option<Vec<u8>>)> = None;
        while let Some(row) = rows.next().map_err(&fail)? {
            let step = row.get_ref(0).and_then(|v| Ok(v.as_str()?)).map_err(&fail)?;
            let key = row.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(&fail)?;
            let value: Option<Vec<u8>> = row.get(2).map_err(&fail)?;
            match &mut last {
                Some((s, k, v)) if s == step && k == key => *v = value,
                _ => {
                    if let Some((s, k, Some(v))) = last.take() {
                        each(s, k, v);
                    }
                    last = Some((step.to_owned(), key.to_owned(), value));
                }
            }
        }
        if let Some((s, k, Some(v))) = last {
            each(s, k, v);
        }
        Ok(())
    }

    /// Makes `rows` (sorted by epoch, step, key) durable and records that every snapshot of
    /// epochs `<= frontier` routed here is written, in one transaction.
    pub(crate) fn commit(
        &mut self,
        execution: u64,
        owner: usize,
        rows: &[StoredRow],
        frontier: Epoch,
    ) -> Result<(), Error> {
        let fail = self.fail("writing snapshots to");
        let tx = self.conn.transaction().map_err(&fail)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR REPLACE INTO snaps (step, key, epoch, value) VALUES (?1, ?2, ?3, ?4)",
                )
                .map_err(&fail)?;
            for (epoch, step, key, value) in rows {
                insert
                    .execute(params![step, key, *epoch as i64, value])
                    .map_err(&fail)?;
            }
            tx.execute(
                "INSERT OR REPLACE INTO fronts (execution, worker, epoch) VALUES (?1, ?2, ?3)",
                params![execution as i64, owner as i64, frontier as i64],
            )
            .map_err(&fail)?;
        }
        // Crash tests stop here: rows written, transaction not committed.
        fail::fail_point!("weir::recovery::commit");
        tx.commit().map_err(&fail)
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

    /// Deletes snapshots superseded by a newer one at or before `gc_epoch`, then deletion
    /// markers at or before it (nothing older than them is left to hide).
    pub(crate) fn collect_garbage(&mut self, gc_epoch: Epoch) -> Result<(), Error> {
        let fail = self.fail("collecting garbage in");
        let tx = self.conn.transaction().map_err(&fail)?;
        tx.execute(
            "DELETE FROM snaps WHERE (step, key, epoch) IN (
                SELECT step, key, epoch FROM (
                    SELECT step, key, epoch,
                           lead(epoch) OVER (PARTITION BY step, key ORDER BY epoch) AS next
                    FROM snaps WHERE epoch <= ?1)
                WHERE next IS NOT NULL)",
            params![gc_epoch as i64],
        )
        .map_err(&fail)?;
        tx.execute(
            "DELETE FROM snaps WHERE value IS NULL AND epoch <= ?1",
            params![gc_epoch as i64],
        )
        .map_err(&fail)?;
        tx.execute(
            "UPDATE meta SET gc_epoch = max(gc_epoch, ?1) WHERE id = 0",
            params![gc_epoch as i64],
        )
        .map_err(&fail)?;
        tx.commit().map_err(&fail)
    }

    /// Rows and deletion markers per step: `(step, rows, tombstones)`.
    pub(crate) fn snapshot_counts(&self) -> Result<Vec<(String, u64, u64)>, Error> {
        let fail = self.fail("reading");
        let mut stmt = self
            .conn
            .prepare("SELECT step, count(*), sum(value IS NULL) FROM snaps GROUP BY step ORDER BY step")
            .map_err(&fail)?;
        stmt.query_map([], |r| {
            Ok((r.get(0)?, r.get::<_, i64>(1)? as u64, r.get::<_, i64>(2)? as u64))
        })
        .and_then(|rows| rows.collect())
        .map_err(&fail)
    }

    /// Committed frontier per worker of every execution: `(execution, worker, epoch)`.
    pub(crate) fn worker_fronts(&self) -> Result<Vec<(u64, usize, Epoch)>, Error> {
        let fail = self.fail("reading");
        let mut stmt = self
            .conn
            .prepare("SELECT execution, worker, epoch FROM fronts ORDER BY execution, worker")
            .map_err(&fail)?;
        stmt.query_map([], |r| {
            Ok((
                r.get::<_, i64>(0)? as u64,
                r.get::<_, i64>(1)? as usize,
                r.get::<_, i64>(2)? as Epoch,
            ))
        })
        .and_then(|rows| rows.collect())
        .map_err(&fail)
    }
}
