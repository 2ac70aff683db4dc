//! `DirSource`: the lines of every file in a directory, one partition per file.

use std::path::PathBuf;

use crate::connectors::FilePartition;
use crate::inputs::FixedPartitionedSource;
use crate::{BoxError, StepId};

/// Reads every regular file of a directory (names not starting with `.`), one partition
/// per file name, each resumable by byte offset like [`FileSource`](crate::connectors::FileSource).
pub struct DirSource {
    dir: PathBuf,
}

impl DirSource {
    /// Reads the files of `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirSource { dir: dir.into() }
    }
}

impl FixedPartitionedSource for DirSource {
    type Item = String;
    type State = u64;
    type Partition = FilePartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        let entries = std::fs::read_dir(&self.dir)
            .map_err(|e| format!("cannot list input directory {}: {e}", self.dir.display()))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| format!("listing {}: {e}", self.dir.display()))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !name.starts_with('.') && entry.file_type().is_ok_and(|t| t.is_file()) {
                names.push(name);
            }
        }
        names.sort();
        Ok(names)
    }

    fn build_part(
        &self,
        _: &StepId,
        for_part: &str,
        resume_state: Option<u64>,
    ) -> Result<FilePartition, BoxError> {
        FilePartition::open(&self.dir.join(for_part), resume_state.unwrap_or(0))
    }
}
