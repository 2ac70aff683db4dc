//! `Changed`: what a file source does at resume with a file that is not the one it read.

use std::path::Path;

use crate::BoxError;
use crate::connectors::file_position::{Change, FilePosition};

/// What a file source ([`FileSource`](crate::connectors::FileSource),
/// [`DirSource`](crate::connectors::DirSource), [`CsvSource`](crate::connectors::CsvSource))
/// does at resume when a file is no longer the one its resume state was taken in:
/// replaced by another file, truncated, or rewritten in place. A file that only grew is
/// not a change: reading goes on after what was read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Changed {
    /// Stop with an error naming the file, the resume offset and the change (the default).
    #[default]
    Fail,
    /// Read the file from its start, as a new file (with a warning). What was read from
    /// the old file stays read. A `DirSource` file that is gone before it was read to its
    /// end is left out (with a warning) instead of stopping the run.
    ReadAsNew,
}

impl Changed {
    /// Decides about `path`, which differs by `change` from the file `stored` was taken in:
    /// `Ok` to read it from its start, or the error to stop with.
    pub(crate) fn resolve(self, path: &Path, stored: &FilePosition, change: Change) -> Result<(), BoxError> {
        let (path, offset) = (path.display(), stored.offset());
        match self {
            Changed::Fail => Err(format!(
                "input file {path} changed since its resume state was taken at byte {offset}: \
                 {change}; put the file that was read back, read it as a new file with \
                 `.on_changed(Changed::ReadAsNew)` on the source, or start from a fresh store"
            )
            .into()),
            Changed::ReadAsNew => {
                tracing::warn!(
                    "input file {path} changed since its resume state was taken at byte {offset}: \
                     {change}; reading it from the start as a new file"
                );
                Ok(())
            }
        }
    }

    /// Decides about `path`, which is gone at resume: fine if it had been read to its end,
    /// otherwise the error to stop with (or, with `ReadAsNew`, a warning).
    pub(crate) fn resolve_gone(self, path: &Path, stored: &FilePosition) -> Result<(), BoxError> {
        let (path, offset) = (path.display(), stored.offset());
        if stored.at_end() {
            tracing::debug!("input file {path} was read to its end ({offset} bytes) and is gone");
            return Ok(());
        }
        match self {
            Changed::Fail => Err(format!(
                "input file {path} is gone, but it was read only up to byte {offset}, not to its \
                 end; put it back, go on without the rest with `.on_changed(Changed::ReadAsNew)` \
                 on the source, or start from a fresh store"
            )
            .into()),
            Changed::ReadAsNew => {
                tracing::warn!(
                    "input file {path} is gone after it was read up to byte {offset}; \
                     its unread rest is left out"
                );
                Ok(())
            }
        }
    }
}
