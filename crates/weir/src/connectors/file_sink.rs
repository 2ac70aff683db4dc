//! `FileSink`: lines partitioned by key into `part-N` files, resumable by byte offset.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::connectors::published_file::PublishedFile;
use crate::engine::route_key;
use crate::outputs::{FixedPartitionedSink, StatefulSinkPartition};
use crate::{BoxError, Epoch, StepId};

/// Writes `(key, line)` items as lines into `DIR/part-0` … `DIR/part-{N-1}`, the file
/// chosen by a hash of the key.
///
/// Each partition's state is the number of bytes it has written, synced to disk before the
/// recovery store records it; a partition rebuilt from a state truncates its file to that
/// length first, so output written after the state was taken is written again exactly once.
/// A file that is missing or shorter than its state is an error (weir never pads it).
/// Without a state the file starts empty.
///
/// When lines become visible to readers of `part-N` is a [`Visibility`]: at once (the
/// default: a reader may see lines that a resume then cuts and writes again), or only once
/// their epoch is durable (a reader never sees a line taken back).
pub struct FileSink {
    dir: PathBuf,
    parts: usize,
    visibility: Visibility,
}

/// When the lines a [`FileSink`] writes become visible in its `part-N` files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Visibility {
    /// As soon as they are written. After a failure, the resume truncates each file to its
    /// last snapshot and writes what followed again: a reader that looked in between may
    /// have seen lines that were then cut (they come back, exactly once, in the end).
    #[default]
    Immediate,
    /// Only once the epoch they belong to is committed in the recovery store on every
    /// worker, so no resume can take them back: lines are written to a hidden
    /// `.part-N.pending` file first and appended to `part-N`, which only ever grows, when
    /// their epoch is durable. Without a recovery store, at the end of the run.
    WhenDurable,
}

impl FileSink {
    /// Writes into `dir` (created if missing) with 4 partitions, visible at once.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileSink {
            dir: dir.into(),
            parts: 4,
            visibility: Visibility::Immediate,
        }
    }

    /// Uses `parts` files (at least 1). Keep it fixed across restarts.
    pub fn with_parts(mut self, parts: usize) -> Self {
        self.parts = parts.max(1);
        self
    }

    /// Sets when lines become visible (keep it fixed across restarts).
    pub fn with_visibility(mut self, visibility: Visibility) -> Self {
        self.visibility = visibility;
        self
    }
}

impl FixedPartitionedSink for FileSink {
    type Item = String;
    type State = u64;
    type Partition = FileSinkPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..self.parts).map(|i| format!("part-{i}")).collect())
    }

    fn part_fn(&self, item_key: &str) -> usize {
        (route_key(item_key) % self.parts as u64) as usize
    }

    fn build_part(
        &self,
        _: &StepId,
        for_part: &str,
        resume_state: Option<u64>,
    ) -> Result<FileSinkPartition, BoxError> {
        std::fs::create_dir_all(&self.dir)
            .map_err(|e| format!("cannot create output directory {}: {e}", self.dir.display()))?;
        let visible = self.dir.join(for_part);
        let (path, published) = match self.visibility {
            Visibility::Immediate => (visible, None),
            Visibility::WhenDurable => {
                let pending = self.dir.join(format!(".{for_part}.pending"));
                let published = PublishedFile::open(&visible, resume_state)?;
                (pending, Some(published))
            }
        };
        let file = match resume_state {
            None => OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(true)
                .open(&path)
                .map_err(|e| format!("cannot create output file {}: {e}", path.display()))?,
            Some(offset) => reopen_at(&path, offset)?,
        };
        let mut partition = FileSinkPartition {
            path,
            writer: BufWriter::with_capacity(1 << 16, file),
            written: resume_state.unwrap_or(0),
            published,
        };
        // Everything up to a resume state is durable: publish what a crash left behind.
        partition.publish_through(partition.written)?;
        Ok(partition)
    }
}

/// Opens a part file the recovery store says holds `offset` bytes and cuts what was
/// written after that snapshot. A missing or shorter file is an error: it would have to
/// be made up (or silently lost lines would stay lost).
fn reopen_at(path: &Path, offset: u64) -> Result<File, BoxError> {
    let lost = |what: String| -> BoxError {
        format!(
            "{what}, but the recovery store records {offset} bytes written to it: the output was \
             changed outside weir; restore the file, or start over with an empty output directory \
             and a new recovery store"
        )
        .into()
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(lost(format!("output file {} is missing", path.display())));
        }
        Err(e) => return Err(format!("cannot open output file {}: {e}", path.display()).into()),
    };
    let length = file
        .metadata()
        .map_err(|e| format!("cannot read the length of {}: {e}", path.display()))?
        .len();
    if length < offset {
        return Err(lost(format!(
            "output file {} holds only {length} bytes",
            path.display()
        )));
    }
    file.set_len(offset)
        .and_then(|()| file.seek(SeekFrom::Start(offset)).map(drop))
        .and_then(|()| file.sync_data())
        .map_err(|e| format!("cannot truncate {} to byte {offset}: {e}", path.display()))?;
    Ok(file)
}

/// One open `part-N` file of a [`FileSink`] (or its pending file, with
/// [`Visibility::WhenDurable`]).
pub struct FileSinkPartition {
    path: PathBuf,
    writer: BufWriter<File>,
    written: u64,
    published: Option<PublishedFile>,
}

impl FileSinkPartition {
    /// Makes the first `through` bytes written visible (with [`Visibility::WhenDurable`]).
    fn publish_through(&mut self, through: u64) -> Result<(), BoxError> {
        match &mut self.published {
            Some(published) => {
                self.writer.flush()?;
                published.append_from(self.writer.get_ref(), through)
            }
            None => Ok(()),
        }
    }
}

impl StatefulSinkPartition for FileSinkPartition {
    type Item = String;
    type State = u64;

    fn write_batch(&mut self, lines: Vec<String>) -> Result<(), BoxError> {
        let fail = |e: std::io::Error| format!("writing {}: {e}", self.path.display());
        for line in &lines {
            self.writer.write_all(line.as_bytes()).map_err(fail)?;
            self.writer.write_all(b"\n").map_err(fail)?;
            self.written += line.len() as u64 + 1;
        }
        self.writer.flush().map_err(fail)?;
        Ok(())
    }

    fn snapshot(&mut self) -> Result<u64, BoxError> {
        self.writer.flush()?;
        self.writer
            .get_ref()
            .sync_data()
            .map_err(|e| format!("cannot sync {} to disk: {e}", self.path.display()))?;
        Ok(self.written)
    }

    fn on_durable(&mut self, _: Epoch, written: u64) -> Result<(), BoxError> {
        self.publish_through(written)
    }

    fn close(&mut self) -> Result<(), BoxError> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        // Without a recovery store nothing was published before the end.
        self.publish_through(self.written)
    }
}
