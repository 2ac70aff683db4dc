//! The visible file of a [`FileSink`](crate::connectors::FileSink) partition with
//! [`Visibility::WhenDurable`](crate::connectors::Visibility): it only grows, by appending
//! what the partition's pending file holds once that is durable.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::BoxError;

/// Bytes copied per read from the pending file.
const CHUNK: usize = 1 << 16;

/// A `part-N` file that readers see, and how much of the pending file it holds.
pub(crate) struct PublishedFile {
    path: PathBuf,
    file: File,
    length: u64,
}

impl PublishedFile {
    /// Opens the visible file at `path` for a partition resuming from `resume` pending
    /// bytes: without a resume state it starts empty; with one it may lag behind (it is
    /// caught up from the pending file) but never hold more than is durable.
    pub(crate) fn open(path: &Path, resume: Option<u64>) -> Result<Self, BoxError> {
        let fail = |e: std::io::Error| format!("cannot open output file {}: {e}", path.display());
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(fail)?;
        let mut length = file.metadata().map_err(fail)?.len();
        match resume {
            None => {
                file.set_len(0).map_err(fail)?;
                length = 0;
            }
            Some(durable) if length > durable => {
                return Err(format!(
                    "output file {} holds {length} bytes but only {durable} were ever made visible: \
                     it was written outside weir; restore it, or start over with an empty output \
                     directory and a new recovery store",
                    path.display()
                )
                .into());
            }
            Some(_) => {}
        }
        Ok(PublishedFile {
            path: path.to_owned(),
            file,
            length,
        })
    }

    /// Appends bytes `length..through` of `pending` (flushed) to the visible file and syncs
    /// it.
    pub(crate) fn append_from(&mut self, pending: &File, through: u64) -> Result<(), BoxError> {
        if self.length >= through {
            return Ok(());
        }
        let mut buf = vec![0; CHUNK];
        while self.length < through {
            let want = CHUNK.min((through - self.length) as usize);
            let read = pending.read_at(&mut buf[..want], self.length)?;
            if read == 0 {
                return Err(format!(
                    "the pending output of {} ends at byte {} before byte {through}",
                    self.path.display(),
                    self.length
                )
                .into());
            }
            self.file
                .write_all(&buf[..read])
                .map_err(|e| format!("appending to {}: {e}", self.path.display()))?;
            self.length += read as u64;
        }
        // What readers saw survives an OS crash too: the file only ever grows.
        self.file
            .sync_data()
            .map_err(|e| format!("cannot sync {} to disk: {e}", self.path.display()).into())
    }
}
