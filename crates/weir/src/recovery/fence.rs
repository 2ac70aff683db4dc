//! Fencing: only the latest execution may write to a partition. Every write transaction
//! checks it, so a stale process (a zombie, a partitioned host, or a second host that
//! reaches the same store over shared storage) cannot overwrite a newer execution's rows.

use std::path::Path;

use rusqlite::{Connection, OptionalExtension};

use crate::Error;

/// The process running an execution, as recorded in the partitions it starts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Holder {
    pub host: String,
    pub pid: u32,
}

impl Holder {
    /// This process.
    pub(crate) fn this_process() -> Self {
        Holder {
            host: host_name(),
            pid: std::process::id(),
        }
    }
}

/// The host name, or `"unknown"` if the OS does not say.
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: gethostname(2) writes at most `buf.len()` bytes into a buffer we own.
    let ok = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) } == 0;
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(name) if ok && !name.is_empty() => name.to_owned(),
        _ => "unknown".to_owned(),
    }
}

/// Fails unless `execution` is still the latest execution recorded in the partition at
/// `path`. Call it inside a write transaction (`BEGIN IMMEDIATE`), before writing.
pub(crate) fn check_latest(conn: &Connection, path: &Path, execution: u64) -> Result<(), Error> {
    let fail = |e: rusqlite::Error| Error::Recovery(format!("checking the fence of {}: {e}", path.display()));
    let latest: Option<(i64, Option<String>, Option<i64>)> = conn
        .query_row(
            "SELECT execution, host, pid FROM executions ORDER BY execution DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(fail)?;
    let Some((newer, host, pid)) = latest.filter(|(latest, ..)| *latest as u64 != execution) else {
        return Ok(());
    };
    let me = Holder::this_process();
    let by = match (host, pid) {
        (Some(host), Some(pid)) if host != me.host => format!(
            "host {host} (pid {pid}) while this process runs on host {}: the same store is \
             reachable from two hosts",
            me.host
        ),
        (Some(_), Some(pid)) => format!("process {pid} on this host"),
        _ => "another process".to_owned(),
    };
    Err(Error::Recovery(format!(
        "{} was taken over: execution {newer} was started there by {by}; this process runs \
         execution {execution}, which is stale, and stops without writing. Only one execution \
         may use a store at a time",
        path.display()
    )))
}

#[cfg(test)]
mod tests {
    use crate::ids::StorePartition;
    use crate::recovery::PartitionStore;
    use crate::recovery::resume::ResumePoint;

    fn row(epoch: u64, key: &str) -> crate::recovery::store::StoredRow {
        (epoch, "sum".to_owned(), key.to_owned(), Some(vec![1]))
    }

    #[test]
    fn a_stale_execution_cannot_write_after_a_newer_one_started() {
        let dir = tempfile::tempdir().unwrap();
        crate::recovery::init(dir.path(), 1).unwrap();
        let open = || PartitionStore::open(dir.path(), StorePartition(0), false).unwrap();
        let mut stale = open();
        stale
            .begin_execution(
                ResumePoint {
                    execution: 0,
                    epoch: 0,
                },
                1,
                0,
            )
            .unwrap();
        stale.commit(0, 0, &[row(1, "a")], 1, false).unwrap();
        // A second host, whose lock does not conflict with this one (locks on a network
        // file system need not reach across hosts), starts the next execution on the file.
        crate::recovery::lock::release_behind_holders_back(&dir.path().join("part-0.sqlite3"));
        let mut newer = open();
        newer
            .begin_execution(
                ResumePoint {
                    execution: 1,
                    epoch: 1,
                },
                1,
                0,
            )
            .unwrap();
        rusqlite::Connection::open(dir.path().join("part-0.sqlite3"))
            .unwrap()
            .execute(
                "UPDATE executions SET host = 'other-host' WHERE execution = 1",
                [],
            )
            .unwrap();
        let err = stale
            .commit(0, 0, &[row(2, "stale")], 2, false)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("execution 1 was started there by host other-host")
                && err.contains("reachable from two hosts")
                && err.contains("stops without writing"),
            "{err}"
        );
        let err = stale.collect_garbage(0, 1).unwrap_err().to_string();
        assert!(err.contains("taken over"), "{err}");
        newer.commit(1, 0, &[row(2, "b")], 2, false).unwrap();
        let mut keys = Vec::new();
        newer
            .for_each_latest(2, None, |_, key, _| keys.push(key))
            .unwrap();
        assert_eq!(keys, ["a", "b"], "the stale row was not written");
    }
}
