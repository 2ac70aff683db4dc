//! Sources made in one call from a closure that builds partitions: one per worker
//! ([`PerWorker`]), or one per named partition ([`NamedParts`]), with shorthands for
//! iterators and async streams.

use std::marker::PhantomData;

use futures::Stream;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::inputs::async_runtime::async_runtime;
use crate::inputs::{
    DynamicSource, FixedPartitionedSource, IterPartition, ResumableIter, ResumableStream,
    StatefulSourcePartition, StatelessSourcePartition, StreamPartition,
};
use crate::{BoxError, Data, StepId};

/// Items per batch of the shorthands ([`iter_per_worker`], [`stream_per_partition`], …).
pub const DEFAULT_BATCH_SIZE: usize = 1024;

/// A [`DynamicSource`] whose partition on each worker is `build(worker_index,
/// worker_count)`.
pub struct PerWorker<F> {
    build: F,
}

impl<F> PerWorker<F> {
    /// Builds each worker's partition with `build(worker_index, worker_count)`.
    pub fn new<P>(build: F) -> Self
    where
        F: Fn(usize, usize) -> Result<P, BoxError>,
    {
        PerWorker { build }
    }
}

impl<F, P> DynamicSource for PerWorker<F>
where
    F: Fn(usize, usize) -> Result<P, BoxError> + Send + Sync + 'static,
    P: StatelessSourcePartition,
    P::Item: Data,
{
    type Item = P::Item;
    type Partition = P;

    fn build(&self, _: &StepId, worker_index: usize, worker_count: usize) -> Result<P, BoxError> {
        (self.build)(worker_index, worker_count)
    }
}

/// A [`FixedPartitionedSource`] with the partitions `parts`, each built by
/// `build(part, resume_state)`.
pub struct NamedParts<F, S> {
    parts: Vec<String>,
    build: F,
    _state: PhantomData<fn(S)>,
}

impl<F, S> NamedParts<F, S> {
    /// The partitions `parts` (every process can reach each), built by `build`.
    pub fn new<P>(parts: impl IntoIterator<Item = impl Into<String>>, build: F) -> Self
    where
        P: StatefulSourcePartition<State = S>,
        F: Fn(&str, Option<S>) -> Result<P, BoxError>,
    {
        NamedParts {
            parts: parts.into_iter().map(Into::into).collect(),
            build,
            _state: PhantomData,
        }
    }
}

impl<F, P, S> FixedPartitionedSource for NamedParts<F, S>
where
    F: Fn(&str, Option<S>) -> Result<P, BoxError> + Send + Sync + 'static,
    P: StatefulSourcePartition<State = S>,
    P::Item: Data,
    S: Serialize + DeserializeOwned + 'static,
{
    type Item = P::Item;
    type State = S;
    type Partition = P;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok(self.parts.clone())
    }

    fn build_part(&self, _: &StepId, part: &str, resume: Option<S>) -> Result<P, BoxError> {
        (self.build)(part, resume)
    }
}

/// One iterator per worker, `build(worker_index, worker_count)`, each worker reading its
/// own (not resumable).
pub fn iter_per_worker<I>(
    build: impl Fn(usize, usize) -> I + Send + Sync + 'static,
) -> impl DynamicSource<Item = I::Item>
where
    I: IntoIterator,
    I::Item: Data,
    I::IntoIter: 'static,
{
    PerWorker::new(move |worker, workers| Ok(IterPartition::new(build(worker, workers), DEFAULT_BATCH_SIZE)))
}

/// One iterator of `(state, item)` per named partition, `build(part, resume_state)`
/// seeked to just after the item whose state it was given (see [`ResumableIter`]).
pub fn iter_per_partition<I, S, T>(
    parts: impl IntoIterator<Item = impl Into<String>>,
    build: impl Fn(&str, Option<S>) -> I + Send + Sync + 'static,
) -> impl FixedPartitionedSource<Item = T, State = Option<S>>
where
    T: Data,
    S: Serialize + DeserializeOwned,
    I: IntoIterator<Item = (S, T)>,
    I::IntoIter: 'static,
    S: Clone + 'static,
{
    NamedParts::new(parts, move |part: &str, resume: Option<Option<S>>| {
        Ok(ResumableIter::new(
            build(part, resume.flatten()),
            DEFAULT_BATCH_SIZE,
        ))
    })
}

/// One async stream per worker, `build(worker_index, worker_count)`, called inside the
/// process's [`async_runtime`](crate::inputs::async_runtime) (see [`StreamPartition`]).
pub fn stream_per_worker<St, T, E>(
    build: impl Fn(usize, usize) -> St + Send + Sync + 'static,
) -> impl DynamicSource<Item = T>
where
    T: Data,
    St: Stream<Item = Result<T, E>> + Send + 'static,
    T: Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    PerWorker::new(move |worker, workers| {
        let _context = async_runtime()?.enter();
        StreamPartition::new(build(worker, workers), DEFAULT_BATCH_SIZE)
    })
}

/// One async stream of `(state, item)` per named partition, `build(part, resume_state)`,
/// called inside the process's [`async_runtime`](crate::inputs::async_runtime) (see
/// [`ResumableStream`]).
pub fn stream_per_partition<St, S, T, E>(
    parts: impl IntoIterator<Item = impl Into<String>>,
    build: impl Fn(&str, Option<S>) -> St + Send + Sync + 'static,
) -> impl FixedPartitionedSource<Item = T, State = Option<S>>
where
    T: Data,
    S: Serialize + DeserializeOwned,
    St: Stream<Item = Result<(S, T), E>> + Send + 'static,
    S: Clone + Send + 'static,
    T: Send + 'static,
    E: Into<BoxError> + Send + 'static,
{
    NamedParts::new(parts, move |part: &str, resume: Option<Option<S>>| {
        let _context = async_runtime()?.enter();
        ResumableStream::new(build(part, resume.flatten()), DEFAULT_BATCH_SIZE)
    })
}
