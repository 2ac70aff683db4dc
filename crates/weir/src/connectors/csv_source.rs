//! `CsvSource`: the rows of a CSV file as vectors of fields.

use std::path::PathBuf;

use crate::connectors::file_source::check_readable;
use crate::connectors::{Changed, FilePartition, FilePosition};
use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::{BoxError, StepId};

/// Reads a CSV file, one record per line (quoted fields may hold commas and quotes, not
/// line breaks). The header line is skipped unless
/// [`with_header_row`](CsvSource::with_header_row) asks for it.
///
/// Resumable from a [`FilePosition`] and read like a
/// [`FileSource`](crate::connectors::FileSource): a last row without a line ending is read
/// at the end of the file, and a replaced, truncated or rewritten file stops the run unless
/// [`on_changed`](CsvSource::on_changed) says to read it as a new file (its header
/// skipped again).
pub struct CsvSource {
    path: PathBuf,
    skip_header: bool,
    on_changed: Changed,
}

impl CsvSource {
    /// Reads `path`, skipping its first line.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvSource {
            path: path.into(),
            skip_header: true,
            on_changed: Changed::Fail,
        }
    }

    /// What to do at resume if the file is not the one read before (default: fail).
    pub fn on_changed(mut self, on_changed: Changed) -> Self {
        self.on_changed = on_changed;
        self
    }

    /// Emits the first line as a row too.
    pub fn with_header_row(mut self) -> Self {
        self.skip_header = false;
        self
    }
}

impl FixedPartitionedSource for CsvSource {
    type Item = Vec<String>;
    type State = FilePosition;
    type Partition = CsvPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        check_readable(&self.path)?;
        Ok(vec![self.path.display().to_string()])
    }

    fn build_part(
        &self,
        _: &StepId,
        _: &str,
        resume_state: Option<FilePosition>,
    ) -> Result<CsvPartition, BoxError> {
        let lines = FilePartition::open(&self.path, resume_state, self.on_changed)?;
        Ok(CsvPartition {
            skip_next: self.skip_header && lines.offset() == 0,
            lines,
            path: self.path.clone(),
        })
    }
}

/// The partition of a [`CsvSource`].
pub struct CsvPartition {
    lines: FilePartition,
    skip_next: bool,
    path: PathBuf,
}

impl StatefulSourcePartition for CsvPartition {
    type Item = Vec<String>;
    type State = FilePosition;

    fn next_batch(&mut self) -> Result<Batch<Vec<String>>, BoxError> {
        let start = self.lines.offset();
        let lines = match self.lines.next_batch()? {
            Batch::Items(lines) => lines,
            Batch::Pending => return Ok(Batch::Pending),
            Batch::Eof => return Ok(Batch::Eof),
        };
        let skip = std::mem::take(&mut self.skip_next) as usize;
        let mut rows = Vec::with_capacity(lines.len());
        for line in lines.iter().skip(skip).filter(|l| !l.is_empty()) {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .from_reader(line.as_bytes());
            let record = reader
                .records()
                .next()
                .transpose()
                .map_err(|e| format!("bad CSV in {} after byte {start}: {e}", self.path.display()))?;
            rows.push(
                record
                    .map(|r| r.iter().map(str::to_owned).collect())
                    .unwrap_or_default(),
            );
        }
        Ok(Batch::Items(rows))
    }

    fn snapshot(&self) -> FilePosition {
        self.lines.snapshot()
    }
}
