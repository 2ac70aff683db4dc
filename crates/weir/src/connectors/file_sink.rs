//! `FileSink`: lines partitioned by key into `part-N` files, resumable by byte offset.

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::PathBuf;

use crate::engine::route_key;
use crate::outputs::{FixedPartitionedSink, StatefulSinkPartition};
use crate::{BoxError, StepId};

/// Writes `(key, line)` items as lines into `DIR/part-0` … `DIR/part-{N-1}`, the file
/// chosen by a hash of the key.
///
/// Each partition's state is the number of bytes it has written; a partition rebuilt from
/// a state truncates its file to that length first, so output written after the state was
/// taken is written again exactly once. Without a state the file starts empty.
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
        let offset = resume_state.unwrap_or(0);
        let mut file = OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(false)
            .open(&path)
            .map_err(|e| format!("cannot open output file {}: {e}", path.display()))?;
        file.set_len(offset)
            .and_then(|()| file.seek(SeekFrom::Start(offset)).map(drop))
            .map_err(|e| format!("cannot truncate {} to byte {offset}: {e}", path.display()))?;
        Ok(FileSinkPartition {
            path,
            writer: BufWriter::with_capacity(1 << 16, file),
            written: offset,
        })
    }
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

    fn snapshot(&self) -> u64 {
        self.written
    }

    fn close(&mut self) -> Result<(), BoxError> {
        self.writer.flush()?;
        self.writer.get_ref().sync_data()?;
        Ok(())
    }
}
