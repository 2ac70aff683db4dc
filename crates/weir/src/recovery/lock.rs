//! The lock that keeps two executions out of one partition: a POSIX record lock
//! (`fcntl(F_SETLK)`) on a lock file beside it, released by the OS when the process dies.
//!
//! Not `flock`: an `flock` belongs to the open file, which a child process shares from
//! `fork` until its `exec` closes it, so a run that spawns processes (a test suite, a
//! step that starts a program) could keep a finished execution's lock held for a moment
//! and fail the next one. Record locks belong to the process and are not inherited. They
//! do not exclude threads of one process from each other, and closing any descriptor of
//! the file drops them, so this process's holders are counted in [`HELD`] and the file is
//! opened once per process.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use crate::Error;

/// The partitions this process holds locked, by canonical path.
static HELD: Mutex<BTreeMap<PathBuf, Held>> = Mutex::new(BTreeMap::new());

/// One locked partition: its open lock file (closing it releases the record lock), the
/// mode, and how many holders in this process share it.
struct Held {
    _file: File,
    exclusive: bool,
    holders: usize,
}

/// A partition's lock, held until dropped.
pub(crate) struct StoreLock {
    partition: PathBuf,
}

/// Takes the lock of the partition at `path` (an existing file): exclusive for an
/// execution, shared for a reader. Fails at once if another execution, in this process or
/// another, holds it.
pub(crate) fn lock(path: &Path, exclusive: bool) -> Result<StoreLock, Error> {
    let in_use = || {
        Error::Recovery(format!(
            "{} is in use: another execution holds it; two executions cannot share a recovery store",
            path.display()
        ))
    };
    let partition = path
        .canonicalize()
        .map_err(|e| Error::Recovery(format!("cannot resolve {}: {e}", path.display())))?;
    let mut held = held();
    if let Some(entry) = held.get_mut(&partition) {
        if exclusive || entry.exclusive {
            return Err(in_use());
        }
        entry.holders += 1;
        return Ok(StoreLock { partition });
    }
    let lock_path = partition.with_extension("sqlite3.lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .open(&lock_path)
        .map_err(|e| Error::Recovery(format!("cannot open lock file {}: {e}", lock_path.display())))?;
    if !record_lock(&file, exclusive) {
        return Err(in_use());
    }
    let entry = Held {
        _file: file,
        exclusive,
        holders: 1,
    };
    held.insert(partition.clone(), entry);
    Ok(StoreLock { partition })
}

impl Drop for StoreLock {
    /// The last holder in this process closes the lock file, which releases the lock.
    fn drop(&mut self) {
        let mut held = held();
        if let Some(entry) = held.get_mut(&self.partition) {
            entry.holders -= 1;
            if entry.holders == 0 {
                held.remove(&self.partition);
            }
        }
    }
}

/// Releases the lock of the partition at `path` as if it had never been taken, leaving its
/// holders unaware: what a lock that does not reach another host looks like to it.
#[cfg(test)]
pub(crate) fn release_behind_holders_back(path: &Path) {
    held().remove(&path.canonicalize().unwrap());
}

fn held() -> MutexGuard<'static, BTreeMap<PathBuf, Held>> {
    // Every update of the map is a single step, so a panic cannot leave it half-done.
    HELD.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
/// Takes a whole-file record lock without waiting; false if another process holds one
/// that conflicts.
fn record_lock(file: &File, exclusive: bool) -> bool {
    // SAFETY: an all-zero `flock` is a valid value; the fields that matter are set below.
    let mut request: libc::flock = unsafe { std::mem::zeroed() };
    request.l_type = if exclusive { libc::F_WRLCK } else { libc::F_RDLCK } as libc::c_short;
    request.l_whence = libc::SEEK_SET as libc::c_short;
    // l_start = 0 and l_len = 0: the whole file.
    // SAFETY: fcntl(2) F_SETLK on a descriptor `file` owns, with a valid `flock`.
    unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &request) == 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partition() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("part-0.sqlite3");
        File::create(&path).unwrap();
        (dir, path)
    }

    #[test]
    fn an_execution_excludes_every_other_holder_until_dropped() {
        let (_dir, path) = partition();
        let execution = lock(&path, true).unwrap();
        let err = lock(&path, true).err().unwrap().to_string();
        assert!(err.contains("is in use"), "{err}");
        assert!(lock(&path, false).is_err(), "a reader waits for the execution");
        drop(execution);
        let readers = (lock(&path, false).unwrap(), lock(&path, false).unwrap());
        assert!(lock(&path, true).is_err(), "readers exclude an execution");
        drop(readers.0);
        assert!(lock(&path, true).is_err(), "one reader still holds it");
        drop(readers.1);
        lock(&path, true).unwrap();
    }

    #[test]
    fn another_process_cannot_take_a_held_lock() {
        let (_dir, path) = partition();
        let _execution = lock(&path, true).unwrap();
        let lock_file = std::ffi::CString::new(
            path.with_extension("sqlite3.lock")
                .into_os_string()
                .into_encoded_bytes(),
        )
        .unwrap();
        // SAFETY: the child only calls open(2), fcntl(2) and _exit(2), all
        // async-signal-safe; it allocates nothing.
        let child = unsafe { libc::fork() };
        if child == 0 {
            use std::os::fd::FromRawFd;
            // SAFETY: a fresh descriptor this child owns (or -1, which fcntl rejects).
            let file = unsafe { File::from_raw_fd(libc::open(lock_file.as_ptr(), libc::O_RDWR)) };
            let refused = !record_lock(&file, false);
            // SAFETY: ends the child without running the parent's atexit handlers.
            unsafe { libc::_exit(if refused { 0 } else { 1 }) };
        }
        assert!(child > 0, "fork failed");
        let mut status = 0;
        // SAFETY: waits for the child this test forked.
        unsafe { libc::waitpid(child, &mut status, 0) };
        assert!(
            libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
            "the other process got the lock"
        );
    }

    #[test]
    fn a_forked_child_does_not_keep_the_lock() {
        let (_dir, path) = partition();
        let execution = lock(&path, true).unwrap();
        // A child between fork and exec holds copies of every descriptor; this one never
        // gets to exec.
        // SAFETY: the child only calls pause(2), which is async-signal-safe.
        let child = unsafe { libc::fork() };
        if child == 0 {
            loop {
                // SAFETY: pause(2) has no preconditions.
                unsafe { libc::pause() };
            }
        }
        assert!(child > 0, "fork failed");
        drop(execution);
        let relocked = lock(&path, true).map(drop);
        // SAFETY: kill(2) and waitpid(2) on the child this test forked.
        unsafe {
            libc::kill(child, libc::SIGKILL);
            libc::waitpid(child, std::ptr::null_mut(), 0);
        }
        relocked.unwrap();
    }
}
