//! `NullSink`: counts results and discards them (benchmarks and `--sink null`).

use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::{BoxError, Data, StepId};

/// A sink that counts the items of every worker of this process and drops them.
pub struct NullSink<T> {
    count: Arc<AtomicU64>,
    items: PhantomData<fn(T)>,
}

impl<T> NullSink<T> {
    /// A sink counting from 0.
    pub fn new() -> Self {
        NullSink {
            count: Arc::default(),
            items: PhantomData,
        }
    }

    /// Items written so far by this process's workers.
    pub fn count(&self) -> u64 {
        self.count.load(Ordering::Relaxed)
    }
}

impl<T> Default for NullSink<T> {
    fn default() -> Self {
        NullSink::new()
    }
}

impl<T> Clone for NullSink<T> {
    fn clone(&self) -> Self {
        NullSink {
            count: self.count.clone(),
            items: PhantomData,
        }
    }
}

impl<T: Data> DynamicSink for NullSink<T> {
    type Item = T;
    type Partition = NullSink<T>;

    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<NullSink<T>, BoxError> {
        Ok(self.clone())
    }
}

impl<T: Data> StatelessSinkPartition for NullSink<T> {
    type Item = T;

    fn write_batch(&mut self, items: Vec<T>) -> Result<(), BoxError> {
        self.count.fetch_add(items.len() as u64, Ordering::Relaxed);
        Ok(())
    }
}
