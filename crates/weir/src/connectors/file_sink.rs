//! `FileSink`: lines partitioned by key into `part-N` files, resumable by byte offset.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::engine::route_key;
use crate::outputs::{FixedPartitionedSink, StatefulSinkPartition};
use crate::{BoxError, StepId};

/// Writes `(key, line)` items as lines into `DIR/part-0` … `DIR/part-{N-1}`, the file
/// chosen by a hash of the key.
///
/// Each partition's state is the number of bytes it has written, synced to disk before the
/// recovery store records it; a partition rebuilt from a state truncates its file to that
/// length first, so output written after the state was taken is written again exactly once.
/// A file that is missing or shorter than its state is an error (weir never pads it).
/// Without a state the file starts empty.
pub struct FileSink {
    dir: PathBuf,
    parts: usize,
}

impl FileSink {
    /// Writes into `dir` (created if missing) with 4 partitions.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        FileSink {
            dir: dir.into(),
            parts: 4,
        }
    }

    /// Uses `parts` files (at least 1). Keep it fixed across restarts.
    pub fn with_parts(mut self, parts: usize) -> Self {
        self.parts = parts.max(1);
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
        let path = self.dir.join(for_part);
        let file = match resume_state {
            None => File::create(&path)
                .map_err(|e| format!("cannot create output file {}: {e}", path.display()))?,
            Some(offset) => reopen_at(&path, offset)?,
        };
        Ok(FileSinkPartition {
            path,
            writer: BufWriter::with_capacity(1 << 16, file),
            written: resume_state.unwrap_or(0),
        })
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
    let mut file = match OpenOptions::new().write(true).open(path) {
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

/// One open `part-N` file of a [`FileSink`].
pub struct FileSinkPartition {
    path: PathBuf,
    writer: BufWriter<File>,
    written: u64,
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

    fn close(&mut self) -> Result<(), BoxError> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        Ok(())
    }
}
