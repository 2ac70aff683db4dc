//! The tables of a partition file: creating a store, and migrating older partitions.

use std::path::Path;

use rusqlite::{Connection, TransactionBehavior, params};

use crate::ids::StorePartition;
use crate::recovery::snapshot_table::BatchWriter;
use crate::recovery::store::{BUSY_TIMEOUT, list_partitions, sql_error};
use crate::{Epoch, Error};

/// Version of the schema below; older versions are migrated, newer ones refused.
pub(crate) const SCHEMA_VERSION: i64 = 3;

/// How long opening an old partition waits for another reader's migration of it.
const MIGRATION_WAIT: std::time::Duration = std::time::Duration::from_secs(600);

/// The tables of a partition file (version [`SCHEMA_VERSION`]), but for the snapshots ([`BATCHES`]).
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
    resume_epoch INTEGER NOT NULL CHECK (resume_epoch >= 0),
    host TEXT,
    pid INTEGER
) STRICT;
CREATE TABLE fronts (
    execution INTEGER NOT NULL REFERENCES executions (execution),
    worker INTEGER NOT NULL CHECK (worker >= 0),
    epoch INTEGER NOT NULL CHECK (epoch >= 0),
    finished INTEGER NOT NULL DEFAULT 0 CHECK (finished IN (0, 1)),
    PRIMARY KEY (execution, worker)
) STRICT;
";

/// The snapshot table (version 3; before it, `snaps` held one row per key and epoch): one
/// row per batch of a step's key snapshots at an epoch (`recovery/batch.rs`).
const BATCHES: &str = "
CREATE TABLE snap_batches (
    step TEXT NOT NULL CHECK (length(step) BETWEEN 1 AND 128),
    epoch INTEGER NOT NULL CHECK (epoch >= 1),
    seq INTEGER NOT NULL CHECK (seq >= 0),
    keys INTEGER NOT NULL CHECK (keys >= 1),
    deleted INTEGER NOT NULL CHECK (deleted BETWEEN 0 AND keys),
    entries BLOB NOT NULL,
    PRIMARY KEY (step, epoch, seq)
) STRICT;
";

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
        conn.execute_batch(BATCHES).map_err(&fail)?;
        conn.execute(
            "INSERT INTO meta (id, schema_version, partition_index, partition_count) VALUES (0, ?1, ?2, ?3)",
            params![SCHEMA_VERSION, index as i64, partitions as i64],
        )
        .map_err(&fail)?;
    }
    Ok(())
}

/// Brings a partition of schema `version` up to [`SCHEMA_VERSION`] in one transaction;
/// refuses versions it does not know.
pub(crate) fn migrate(conn: &mut Connection, path: &Path, version: i64) -> Result<(), Error> {
    if known(path, version)? {
        return Ok(());
    }
    let fail = sql_error(path, &format!("migrating to schema version {SCHEMA_VERSION}"));
    // Of two readers opening an old partition at once, the second waits for the first's
    // migration, which takes as long as rewriting the partition does.
    conn.busy_timeout(MIGRATION_WAIT).map_err(&fail)?;
    let migrated = migrate_once(conn, path, &fail);
    conn.busy_timeout(BUSY_TIMEOUT).map_err(&fail)?;
    migrated
}

/// The migration's transaction: immediate, and the version read again inside, so a reader
/// that waited for another's migration finds the partition migrated.
fn migrate_once(
    conn: &mut Connection,
    path: &Path,
    fail: &dyn Fn(rusqlite::Error) -> Error,
) -> Result<(), Error> {
    let tx = (conn.transaction_with_behavior(TransactionBehavior::Immediate)).map_err(fail)?;
    let version: i64 =
        (tx.query_row("SELECT schema_version FROM meta WHERE id = 0", [], |r| r.get(0))).map_err(fail)?;
    if known(path, version)? {
        return Ok(());
    }
    if version < 2 {
        // Version 2 records which host and process runs each execution (fencing), and
        // which executions finished in a partition.
        tx.execute_batch(
            "ALTER TABLE executions ADD COLUMN host TEXT;
             ALTER TABLE executions ADD COLUMN pid INTEGER;
             ALTER TABLE fronts ADD COLUMN finished INTEGER NOT NULL DEFAULT 0
                 CHECK (finished IN (0, 1));",
        )
        .map_err(fail)?;
    }
    tx.execute_batch(BATCHES).map_err(fail)?;
    {
        let mut rows = tx
            .prepare("SELECT epoch, step, key, value FROM snaps ORDER BY step, epoch, key")
            .map_err(fail)?;
        let mut rows = rows.query([]).map_err(fail)?;
        let mut batches = BatchWriter::new(&tx, path);
        while let Some(row) = rows.next().map_err(fail)? {
            let epoch: i64 = row.get(0).map_err(fail)?;
            let step = row.get_ref(1).and_then(|v| Ok(v.as_str()?)).map_err(fail)?;
            let key = row.get_ref(2).and_then(|v| Ok(v.as_str()?)).map_err(fail)?;
            let value = row
                .get_ref(3)
                .and_then(|v| Ok(v.as_blob_or_null()?))
                .map_err(fail)?;
            batches.push(epoch as Epoch, step, key, value)?;
        }
        batches.finish()?;
    }
    tx.execute_batch(&format!(
        "DROP TABLE snaps; UPDATE meta SET schema_version = {SCHEMA_VERSION} WHERE id = 0;"
    ))
    .map_err(fail)?;
    tx.commit().map_err(fail)
}

/// Whether `version` is the current one: `false` for one this weir migrates, an error for
/// one it does not know.
fn known(path: &Path, version: i64) -> Result<bool, Error> {
    match version {
        SCHEMA_VERSION => Ok(true),
        1..SCHEMA_VERSION => Ok(false),
        _ => Err(Error::Recovery(format!(
            "{} has schema version {version}, this weir reads versions 1 to {SCHEMA_VERSION}: \
             use the weir that wrote it",
            path.display()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::recovery::PartitionStore;
    use crate::recovery::resume::ResumePoint;

    /// A store of one partition written by weir's schema `version` (1 or 2), holding a
    /// few snapshots, and that partition's path.
    fn old_store(version: i64) -> (tempfile::TempDir, std::path::PathBuf) {
        // Version 1 had neither hosts, pids nor finished fronts; versions 1 and 2 kept one
        // row per snapshot in `snaps`.
        let changes = match version {
            1 => {
                "ALTER TABLE executions DROP COLUMN host;
                 ALTER TABLE executions DROP COLUMN pid;
                 ALTER TABLE fronts DROP COLUMN finished;"
            }
            _ => "",
        };
        let dir = tempfile::tempdir().unwrap();
        init(dir.path(), 1).unwrap();
        let path = dir.path().join("part-0.sqlite3");
        let old = format!(
            "{changes}
             DROP TABLE snap_batches;
             CREATE TABLE snaps (
                 step TEXT NOT NULL, key TEXT NOT NULL, epoch INTEGER NOT NULL, value BLOB,
                 PRIMARY KEY (step, key, epoch)
             ) STRICT, WITHOUT ROWID;
             INSERT INTO snaps VALUES ('count', 'a', 1, x'01'), ('count', 'a', 2, x'02'),
                 ('count', 'b', 1, x'03'), ('count', 'b', 2, NULL), ('count', 'c', 3, x'04'),
                 ('sum', 'a', 1, x'05');
             UPDATE meta SET schema_version = {version};"
        );
        Connection::open(&path).unwrap().execute_batch(&old).unwrap();
        (dir, path)
    }

    #[test]
    fn version_1_and_2_partitions_are_migrated_with_their_snapshots_and_a_future_one_refused() {
        for version in [1, 2] {
            let (dir, path) = old_store(version);
            let store = PartitionStore::open(dir.path(), StorePartition(0), false).unwrap();
            let mut latest = Vec::new();
            store
                .for_each_latest(2, None, |step, key, state| latest.push((step, key, state)))
                .unwrap();
            let expected = [("count", "a", vec![2]), ("sum", "a", vec![5])];
            let expected = expected.map(|(s, k, v)| (s.to_owned(), k.to_owned(), v));
            assert_eq!(latest, expected, "the latest state of each key at epoch 2");
            drop(store);
            let mut store = PartitionStore::open(dir.path(), StorePartition(0), false).unwrap();
            store
                .begin_execution(
                    ResumePoint {
                        execution: 0,
                        epoch: 0,
                    },
                    1,
                    0,
                )
                .unwrap();
            drop(store);
            let conn = Connection::open(&path).unwrap();
            let version: i64 = conn
                .query_row("SELECT schema_version FROM meta", [], |r| r.get(0))
                .unwrap();
            assert_eq!(version, SCHEMA_VERSION);
            conn.execute("UPDATE meta SET schema_version = 99", []).unwrap();
            let err = PartitionStore::open(dir.path(), StorePartition(0), false)
                .err()
                .unwrap()
                .to_string();
            assert!(
                err.contains("schema version 99") && err.contains("use the weir that wrote it"),
                "{err}"
            );
        }
    }

    #[test]
    fn opening_an_old_partition_waits_for_another_readers_migration_longer_than_a_statement_would() {
        let (dir, path) = old_store(2);
        let (held, hold) = (std::sync::mpsc::channel(), std::time::Duration::from_secs(3));
        assert!(hold > BUSY_TIMEOUT);
        // Another reader inside its migration's transaction for longer than the ordinary
        // busy timeout.
        let other = std::thread::spawn(move || {
            let mut conn = Connection::open(&path).unwrap();
            let tx = conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .unwrap();
            held.0.send(()).unwrap();
            std::thread::sleep(hold);
            tx.commit().unwrap();
        });
        held.1.recv().unwrap();
        let store = PartitionStore::open(dir.path(), StorePartition(0), false);
        other.join().unwrap();
        let store = store.unwrap_or_else(|err| panic!("{err}"));
        let mut keys = 0;
        store.for_each_latest(3, None, |_, _, _| keys += 1).unwrap();
        assert_eq!(keys, 3, "count/a, count/c and sum/a, migrated");
    }
}
