//! The lock that keeps two executions out of one partition: `flock` on a lock file beside
//! it, released by the OS when the process dies.

use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::Path;

use crate::Error;

/// Takes the lock of the partition at `path`: exclusive for an execution, shared for a
/// reader. Fails at once if another execution holds it.
pub(crate) fn lock(path: &Path, exclusive: bool) -> Result<File, Error> {
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
