//! The source of the example: a directory's number files, read whole in creation order.
//!
//! Without `follow` the input ends once every file present has been read, and a last line
//! without a newline counts. With `follow`, a file whose last line has no newline yet is a
//! file still being written: it is read once the newline arrives, and files created after
//! it wait for it (creation order holds). A file is read in one go, so a writer should
//! create it whole (or write it elsewhere and rename it in); a file that changes after it
//! was read gets a new ctime and is read again, as a new file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::{BoxError, StepId};

/// Files read per batch, like bream's `num_files_per_batch`.
const FILES_PER_BATCH: usize = 3;

/// Where reading resumes: after the file with this (creation time in ns, name).
pub type Offset = Option<(i128, String)>;

/// The directory as one partition, read in creation order.
pub struct NumbersByCtime {
    dir: PathBuf,
    follow: bool,
}

impl NumbersByCtime {
    /// Reads the files of `dir`; with `follow`, keeps watching it for new files.
    pub fn new(dir: &Path, follow: bool) -> Self {
        NumbersByCtime {
            dir: dir.to_owned(),
            follow,
        }
    }
}

impl FixedPartitionedSource for NumbersByCtime {
    type Item = (String, Vec<i64>);
    type State = Offset;
    type Partition = NumbersPartition;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        std::fs::read_dir(&self.dir).map_err(|e| format!("cannot list {}: {e}", self.dir.display()))?;
        Ok(vec![self.dir.display().to_string()])
    }

    fn build_part(&self, _: &StepId, _: &str, resume: Option<Offset>) -> Result<NumbersPartition, BoxError> {
        Ok(NumbersPartition {
            dir: self.dir.clone(),
            follow: self.follow,
            read_after: resume.flatten(),
            awake: None,
        })
    }
}

/// The one partition of [`NumbersByCtime`].
pub struct NumbersPartition {
    dir: PathBuf,
    follow: bool,
    read_after: Offset,
    awake: Option<Instant>,
}

/// The files of `dir` by (creation time, name); files removed meanwhile are skipped.
fn files_by_ctime(dir: &Path) -> Result<Vec<(i128, String)>, BoxError> {
    use std::os::unix::fs::MetadataExt;
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let Ok(meta) = entry.metadata() else { continue };
        if meta.is_file() {
            let ctime = i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec());
            files.push((ctime, entry.file_name().to_string_lossy().into_owned()));
        }
    }
    files.sort();
    Ok(files)
}

/// The integers of `text`, one per non-blank line (the last line may lack its newline).
fn numbers(path: &Path, text: &str) -> Result<Vec<i64>, BoxError> {
    let parse = |line: &str| {
        line.trim()
            .parse::<i64>()
            .map_err(|e| format!("{}: {line:?} is not an integer: {e}", path.display()).into())
    };
    text.lines().filter(|l| !l.trim().is_empty()).map(parse).collect()
}

impl StatefulSourcePartition for NumbersPartition {
    type Item = (String, Vec<i64>);
    type State = Offset;

    fn next_batch(&mut self) -> Result<Batch<Self::Item>, BoxError> {
        let files = files_by_ctime(&self.dir)?;
        let new: Vec<_> = files
            .into_iter()
            .filter(|f| self.read_after.as_ref().is_none_or(|after| f > after))
            .take(FILES_PER_BATCH)
            .collect();
        let mut batch = Vec::new();
        for (ctime, name) in new {
            let path = self.dir.join(&name);
            let text =
                std::fs::read_to_string(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
            if self.follow && !text.is_empty() && !text.ends_with('\n') {
                // A writer is still on the last line: wait for its newline (which moves the
                // file's ctime), and read nothing created after it before it.
                break;
            }
            batch.push((name.clone(), numbers(&path, &text)?));
            self.read_after = Some((ctime, name));
        }
        if batch.is_empty() {
            if !self.follow {
                return Ok(Batch::Eof);
            }
            self.awake = Some(Instant::now() + Duration::from_millis(100));
            return Ok(Batch::Pending);
        }
        self.awake = None;
        Ok(Batch::Items(batch))
    }

    fn next_awake(&self) -> Option<Instant> {
        self.awake
    }

    fn snapshot(&self) -> Offset {
        self.read_after.clone()
    }
}
