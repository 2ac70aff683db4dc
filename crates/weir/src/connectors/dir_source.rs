//! `DirSource`: the lines of every file in a directory, one partition per file.

use std::path::PathBuf;

use crate::connectors::{Changed, FilePartition, FilePosition};
use crate::inputs::FixedPartitionedSource;
use crate::{BoxError, StepId};

/// Reads every regular file of a directory (names not starting with `.`), one partition
/// per file name, each read and resumed like a [`FileSource`](crate::connectors::FileSource)
/// (see there for a last line without a line ending, and for grown or changed files).
///
/// Files may come and go between runs. A new file is read from its start. A file that is
/// gone at resume is fine if it had been read to its end; if it had not, the run stops
/// with an error naming it (or, with [`Changed::ReadAsNew`], goes on without its rest).
/// The resume state of a gone file stays in the recovery store: a file that later appears
/// under the same name is another file, and is refused unless
/// [`on_changed`](DirSource::on_changed) says to read it as a new file.
pub struct DirSource {
    dir: PathBuf,
    on_changed: Changed,
}

impl DirSource {
    /// Reads the files of `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        DirSource {
            dir: dir.into(),
            on_changed: Changed::Fail,
        }
    }

    /// What to do at resume if a file is not the one read before (default: fail).
    pub fn on_changed(mut self, on_changed: Changed) -> Self {
        self.on_changed = on_changed;
        self
    }
}

impl FixedPartitionedSource for DirSource {
    type Item = String;
    type State = FilePosition;
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
        resume_state: Option<FilePosition>,
    ) -> Result<FilePartition, BoxError> {
        FilePartition::open(&self.dir.join(for_part), resume_state, self.on_changed)
    }

    fn unlisted_part(&self, _: &StepId, part: &str, state: FilePosition) -> Result<(), BoxError> {
        self.on_changed.resolve_gone(&self.dir.join(part), &state)
    }
}
