//! `CsvSource`: the rows of a CSV file as vectors of fields.

use std::path::PathBuf;

use crate::connectors::FilePartition;
use crate::connectors::file_source::check_readable;
use crate::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use crate::{BoxError, StepId};

/// Reads a CSV file, one record per line (quoted fields may hold commas and quotes, not
/// line breaks). Resumable by byte offset. The header line is skipped unless
/// [`with_header_row`](CsvSource::with_header_row) asks for it.
pub struct CsvSource {
    path: PathBuf,
    skip_header: bool,
}

impl CsvSource {
    /// Reads `path`, skipping its first line.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        CsvSource {
            path: path.into(),
            skip_header: true,
        }
    }

    /// Emits the first line as a row too.
    pub fn with_header_row(mut self) -> Self {
        self.skip_header = false;
        self
    }
}

impl FixedPartitionedSource for CsvSource {
    type Item = Vec<String>;
    type State = u64;
    type Partition = CsvPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        check_readable(&self.path)?;
        Ok(vec![self.path.display().to_string()])
    }

    fn build_part(&self, _: &StepId, _: &str, resume_state: Option<u64>) -> Result<CsvPartition, BoxError> {
        let offset = resume_state.unwrap_or(0);
        Ok(CsvPartition {
            skip_next: self.skip_header && offset == 0,
            lines: FilePartition::open(&self.path, offset)?,
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
    type State = u64;

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

    fn snapshot(&self) -> u64 {
        self.lines.offset()
    }
}
