//! `StdInSource` and `StdOutSink`: lines from standard input, items to standard output.

use std::fmt::Display;
use std::io::{BufRead, Write};
use std::marker::PhantomData;
use std::sync::mpsc::{self, Receiver, TryRecvError};
use std::thread;

use crate::inputs::{Batch, DynamicSource, StatelessSourcePartition};
use crate::outputs::{DynamicSink, StatelessSinkPartition};
use crate::{BoxError, Data, StepId};

/// Lines read per poll at most.
const LINES_PER_BATCH: usize = 1024;

/// Reads standard input line by line on worker 0 (other workers read nothing).
///
/// A background thread does the blocking reads, so the worker is never blocked.
pub struct StdInSource;

impl DynamicSource for StdInSource {
    type Item = String;
    type Partition = StdInPartition;

    fn build(&self, _: &StepId, worker_index: usize, _: usize) -> Result<StdInPartition, BoxError> {
        if worker_index != 0 {
            return Ok(StdInPartition { lines: None });
        }
        let (tx, rx) = mpsc::sync_channel(LINES_PER_BATCH * 4);
        thread::Builder::new().name("weir:stdin".into()).spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let sent = match line {
                    Ok(line) => tx.send(Ok(line)),
                    Err(e) => tx.send(Err(e.to_string())),
                };
                if sent.is_err() {
                    break;
                }
            }
        })?;
        Ok(StdInPartition { lines: Some(rx) })
    }
}

/// The partition of [`StdInSource`] on one worker.
pub struct StdInPartition {
    lines: Option<Receiver<Result<String, String>>>,
}

impl StatelessSourcePartition for StdInPartition {
    type Item = String;

    fn next_batch(&mut self) -> Result<Batch<String>, BoxError> {
        let Some(lines) = &self.lines else {
            return Ok(Batch::Eof);
        };
        let mut batch = Vec::new();
        while batch.len() < LINES_PER_BATCH {
            match lines.try_recv() {
                Ok(Ok(line)) => batch.push(line),
                Ok(Err(e)) => return Err(format!("reading standard input: {e}").into()),
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) if batch.is_empty() => return Ok(Batch::Eof),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        Ok(Batch::Items(batch))
    }
}

/// Prints every item on its own line to standard output.
pub struct StdOutSink<T>(PhantomData<fn(T)>);

impl<T> Default for StdOutSink<T> {
    fn default() -> Self {
        StdOutSink(PhantomData)
    }
}

impl<T> StdOutSink<T> {
    /// A sink printing to stdout.
    pub fn new() -> Self {
        Self::default()
    }
}

impl<T: Data + Display> DynamicSink for StdOutSink<T> {
    type Item = T;
    type Partition = StdOutSink<T>;

    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<StdOutSink<T>, BoxError> {
        Ok(StdOutSink::new())
    }
}

impl<T: Data + Display> StatelessSinkPartition for StdOutSink<T> {
    type Item = T;

    fn write_batch(&mut self, items: Vec<T>) -> Result<(), BoxError> {
        let mut out = std::io::stdout().lock();
        for item in items {
            writeln!(out, "{item}")?;
        }
        out.flush()?;
        Ok(())
    }
}
