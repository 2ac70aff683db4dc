//! `FileSource`: the lines of one file, one partition, resumable from a [`FilePosition`].

use std::fs::File;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::connectors::{Changed, FilePosition};
use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::{BoxError, StepId};

/// Lines returned per poll.
const LINES_PER_BATCH: usize = 1024;

/// Reads the lines of one text file (without line endings) as one partition.
///
/// The partition is the file's path; its resume state is a [`FilePosition`]: the byte
/// offset after the last line emitted, and what identifies the file read. Every worker
/// that can open the file lists it; one reads it.
///
/// - **A last line without a line ending** is emitted when the end of the file is reached,
///   once: the resume offset is then the file's end, so a resumed run does not emit it
///   again. The file is read as it is: if it grows later, a resumed run reads on after
///   that line, so its continuation becomes a line of its own.
/// - **A file that grew** since the resume state was taken is read on from the offset.
/// - **A replaced, truncated or rewritten file** (another inode, shorter than the offset,
///   or other bytes before it) stops the run with an error naming the file and the offset,
///   unless [`on_changed`](FileSource::on_changed) says to read it as a new file.
pub struct FileSource {
    path: PathBuf,
    on_changed: Changed,
}

impl FileSource {
    /// Reads `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource {
            path: path.into(),
            on_changed: Changed::Fail,
        }
    }

    /// What to do at resume if the file is not the one read before (default: fail).
    pub fn on_changed(mut self, on_changed: Changed) -> Self {
        self.on_changed = on_changed;
        self
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
    type State = FilePosition;
    type Partition = FilePartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        check_readable(&self.path)?;
        Ok(vec![self.path.display().to_string()])
    }

    fn build_part(
        &self,
        _: &StepId,
        _: &str,
        resume_state: Option<FilePosition>,
    ) -> Result<FilePartition, BoxError> {
        FilePartition::open(&self.path, resume_state, self.on_changed)
    }
}

/// An open file being read line by line from a [`FilePosition`].
pub struct FilePartition {
    path: PathBuf,
    reader: BufReader<File>,
    position: FilePosition,
    line: String,
}

impl FilePartition {
    /// Opens `path` at `resume` (or at its start), after checking that it is still the
    /// file `resume` was taken in; if it is not, `on_changed` decides.
    pub(crate) fn open(
        path: &Path,
        resume: Option<FilePosition>,
        on_changed: Changed,
    ) -> Result<Self, BoxError> {
        let shown = path.display();
        let mut file = File::open(path).map_err(|e| format!("cannot open input file {shown}: {e}"))?;
        let checked = |e| format!("cannot check input file {shown} against its resume state: {e}");
        let position = match resume {
            Some(stored) => match stored.change_in(&file).map_err(checked)? {
                None => stored,
                Some(change) => {
                    on_changed.resolve(path, &stored, change)?;
                    FilePosition::start(&file).map_err(checked)?
                }
            },
            None => FilePosition::start(&file).map_err(checked)?,
        };
        let offset = position.offset();
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| format!("cannot seek to byte {offset} of {shown}: {e}"))?;
        Ok(FilePartition {
            path: path.to_owned(),
            reader: BufReader::with_capacity(1 << 16, file),
            position,
            line: String::new(),
        })
    }

    /// The byte offset of the next line.
    pub(crate) fn offset(&self) -> u64 {
        self.position.offset()
    }
}

impl StatefulSourcePartition for FilePartition {
    type Item = String;
    type State = FilePosition;

    fn next_batch(&mut self) -> Result<Batch<String>, BoxError> {
        let mut offset = self.position.offset();
        let mut at_end = false;
        let mut lines = Vec::with_capacity(LINES_PER_BATCH);
        while lines.len() < LINES_PER_BATCH {
            self.line.clear();
            let read = self
                .reader
                .read_line(&mut self.line)
                .map_err(|e| format!("reading {} at byte {offset}: {e}", self.path.display()))?;
            if read == 0 {
                at_end = true;
                break;
            }
            offset += read as u64;
            lines.push(self.line.trim_end_matches(['\n', '\r']).to_owned());
        }
        self.position
            .advance(self.reader.get_ref(), offset, at_end)
            .map_err(|e| format!("reading {} before byte {offset}: {e}", self.path.display()))?;
        Ok(if lines.is_empty() {
            Batch::Eof
        } else {
            Batch::Items(lines)
        })
    }

    fn snapshot(&self) -> FilePosition {
        self.position.clone()
    }
}
