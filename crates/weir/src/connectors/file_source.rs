//! `FileSource`: the lines of one file, one partition, resumable by byte offset.

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::{BoxError, StepId};

/// Lines returned per poll.
const LINES_PER_BATCH: usize = 1024;

/// Reads the lines of one text file (without line endings) as one partition.
///
/// The partition is the file's path; its resume state is the byte offset after the last
/// line emitted. Every worker that can open the file lists it; one reads it.
pub struct FileSource {
    path: PathBuf,
}

impl FileSource {
    /// Reads `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource { path: path.into() }
    }
}

/// Checks that `path` is a readable file, with an error that names it.
pub(crate) fn check_readable(path: &Path) -> Result<(), BoxError> {
    let meta =
        std::fs::metadata(path).map_err(|e| format!("cannot read input file {}: {e}", path.display()))?;
    if !meta.is_file() {
        return Err(format!("input {} is not a regular file", path.display()).into());
    }
    Ok(())
}

impl FixedPartitionedSource for FileSource {
    type Item = String;
    type State = u64;
    type Partition = FilePartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        check_readable(&self.path)?;
        Ok(vec![self.path.display().to_string()])
    }

    fn build_part(&self, _: &StepId, _: &str, resume_state: Option<u64>) -> Result<FilePartition, BoxError> {
        FilePartition::open(&self.path, resume_state.unwrap_or(0))
    }
}

/// An open file being read line by line from a byte offset.
pub struct FilePartition {
    path: PathBuf,
    reader: BufReader<File>,
    offset: u64,
    line: String,
}

impl FilePartition {
    /// Opens `path` and seeks to `offset`.
    pub(crate) fn open(path: &Path, offset: u64) -> Result<Self, BoxError> {
        let mut file =
            File::open(path).map_err(|e| format!("cannot open input file {}: {e}", path.display()))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| format!("cannot seek to byte {offset} of {}: {e}", path.display()))?;
        Ok(FilePartition {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 16, file),
            offset,
            line: String::new(),
        })
    }

    /// The byte offset of the next line.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }
}

impl StatefulSourcePartition for FilePartition {
    type Item = String;
    type State = u64;

    fn next_batch(&mut self) -> Result<Batch<String>, BoxError> {
        let mut lines = Vec::with_capacity(LINES_PER_BATCH);
        while lines.len() < LINES_PER_BATCH {
            self.line.clear();
            let read = self
                .reader
                .read_line(&mut self.line)
                .map_err(|e| format!("reading {} at byte {}: {e}", self.path.display(), self.offset))?;
            if read == 0 {
                break;
            }
            self.offset += read as u64;
            let line = self.line.trim_end_matches(['\n', '\r']);
            lines.push(line.to_owned());
        }
        Ok(if lines.is_empty() {
            Batch::Eof
        } else {
            Batch::Items(lines)
        })
    }

    fn snapshot(&self) -> u64 {
        self.offset
    }
}
