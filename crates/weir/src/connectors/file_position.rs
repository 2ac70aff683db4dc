//! `FilePosition`: where a file partition resumes, and which file it had read up to there.

use std::fmt;
use std::fs::File;
use std::io;
use std::os::unix::fs::{FileExt, MetadataExt};

use serde::{Deserialize, Serialize};

/// How many bytes before the offset the fingerprint covers.
const FINGERPRINT_BYTES: u64 = 4096;

/// The resume state of a file partition: the byte offset after the last line emitted,
/// and what identifies the file read up to there.
///
/// At resume the file at the path must still be that file: the same inode, at least
/// `offset` bytes long, and the same hash of the (up to) 4 KiB before `offset`. A file that
/// only grew is the same file. The device number is not compared: a partition may resume
/// on another machine, which mounts the same share under another device number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilePosition {
    offset: u64,
    inode: u64,
    fingerprint: u64,
    at_end: bool,
}

/// How the file at a path differs from the one a [`FilePosition`] was taken in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Change {
    /// Another file has the path now.
    Replaced { was: u64, now: u64 },
    /// The file is shorter than the offset.
    Truncated { len: u64 },
    /// Same inode and long enough, but the bytes before the offset are other bytes.
    Rewritten,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Replaced { was, now } => {
                write!(f, "another file has its name now (inode {now}, was {was})")
            }
            Change::Truncated { len } => write!(f, "it was truncated to {len} bytes"),
            Change::Rewritten => write!(f, "the bytes before that offset were rewritten"),
        }
    }
}

impl FilePosition {
    /// The start of `file`.
    pub(crate) fn start(file: &File) -> io::Result<Self> {
        Ok(FilePosition {
            offset: 0,
            inode: file.metadata()?.ino(),
            fingerprint: fingerprint(file, 0)?,
            at_end: false,
        })
    }

    /// The byte offset after the last line emitted.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Whether `offset` was the end of the file when this position was taken.
    pub fn at_end(&self) -> bool {
        self.at_end
    }

    /// Moves to `offset` of the same `file`, after reading up to there.
    pub(crate) fn advance(&mut self, file: &File, offset: u64, at_end: bool) -> io::Result<()> {
        debug_assert!(offset >= self.offset, "a file is read forwards");
        if offset != self.offset {
            self.fingerprint = fingerprint(file, offset)?;
            self.offset = offset;
        }
        self.at_end = at_end;
        Ok(())
    }

    /// How `file` differs from the file this position was taken in, if it does. Nothing
    /// was read at offset 0, so any file continues such a position.
    pub(crate) fn change_in(&self, file: &File) -> io::Result<Option<Change>> {
        if self.offset == 0 {
            return Ok(None);
        }
        let meta = file.metadata()?;
        Ok(if meta.ino() != self.inode {
            Some(Change::Replaced {
                was: self.inode,
                now: meta.ino(),
            })
        } else if meta.len() < self.offset {
            Some(Change::Truncated { len: meta.len() })
        } else if fingerprint(file, self.offset)? != self.fingerprint {
            Some(Change::Rewritten)
        } else {
            None
        })
    }
}

/// The hash of the (up to) `FINGERPRINT_BYTES` bytes of `file` before `offset`.
fn fingerprint(file: &File, offset: u64) -> io::Result<u64> {
    let from = offset.saturating_sub(FINGERPRINT_BYTES);
    let mut window = vec![0; (offset - from) as usize];
    file.read_exact_at(&mut window, from)?;
    Ok(xxhash_rust::xxh3::xxh3_64(&window))
}
