//! Connectors: files and directories, CSV, stdin and stdout.

mod changed;
mod csv_source;
mod dir_source;
mod file_position;
mod file_sink;
mod file_source;
mod published_file;
mod stdio;

pub use changed::Changed;
pub use csv_source::CsvSource;
pub use dir_source::DirSource;
pub use file_position::FilePosition;
pub use file_sink::{FileSink, FileSinkPartition, Visibility};
pub use file_source::{FilePartition, FileSource};
pub use stdio::{StdInSource, StdOutSink};
