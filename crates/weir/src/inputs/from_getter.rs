//! Source partitions from getters: a function called for one item at a time that answers
//! an item, nothing yet, or the end.

use std::task::Poll;

use crate::BoxError;
use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};

/// What a getter answers: `Ready(Some(item))`, `Pending` (nothing yet: the batch ends
/// here, and the runtime asks again later), or `Ready(None)` (the end of the input); an
/// error stops the dataflow with the step's name.
pub type Got<T> = Result<Poll<Option<T>>, BoxError>;

/// Where a getter stands between batches.
struct Gatherer {
    batch_size: usize,
    ended: bool,
    /// An error that came after items of a batch: returned by the next call.
    failed: Option<BoxError>,
}

impl Gatherer {
    fn new(batch_size: usize) -> Self {
        Gatherer {
            batch_size: batch_size.max(1),
            ended: false,
            failed: None,
        }
    }

    /// Calls `get` until it has `batch_size` items, has nothing yet, is at its end or
    /// fails (the items before an error come first).
    fn gather<T>(&mut self, get: &mut impl FnMut() -> Got<T>) -> Result<Batch<T>, BoxError> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        let mut items = Vec::new();
        while !self.ended && items.len() < self.batch_size {
            match get() {
                Ok(Poll::Ready(Some(item))) => items.push(item),
                Ok(Poll::Ready(None)) => self.ended = true,
                Ok(Poll::Pending) => break,
                Err(err) if items.is_empty() => return Err(err),
                Err(err) => {
                    self.failed = Some(err);
                    break;
                }
            }
        }
        Ok(match (items.is_empty(), self.ended) {
            (false, _) => Batch::Items(items),
            (true, true) => Batch::Eof,
            (true, false) => Batch::Pending,
        })
    }
}

/// A partition that calls a getter for items, in batches of at most `batch_size`, ending
/// a batch early when the getter has nothing yet. Not resumable: see [`ResumableGetter`].
///
/// ```
/// use std::task::Poll;
/// use weir::inputs::{Batch, GetterPartition, StatelessSourcePartition};
///
/// let mut answers = vec![Poll::Ready(Some(1)), Poll::Pending, Poll::Ready(Some(2)), Poll::Ready(None)].into_iter();
/// let mut part = GetterPartition::new(move || Ok(answers.next().unwrap()), 10);
/// assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![1]));
/// assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![2]));
/// assert_eq!(part.next_batch().unwrap(), Batch::Eof);
/// ```
pub struct GetterPartition<F> {
    get: F,
    gatherer: Gatherer,
}

impl<F> GetterPartition<F> {
    /// Calls `get`, at most `batch_size` items per batch (at least 1).
    pub fn new<T>(get: F, batch_size: usize) -> Self
    where
        F: FnMut() -> Got<T>,
    {
        GetterPartition {
            get,
            gatherer: Gatherer::new(batch_size),
        }
    }
}

impl<F, T> StatelessSourcePartition for GetterPartition<F>
where
    F: FnMut() -> Got<T> + 'static,
{
    type Item = T;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        self.gatherer.gather(&mut self.get)
    }
}

/// A resumable partition from a getter of `(state, item)`: `state` is where the getter
/// stands after `item`. The resume state is the state of the last item emitted (`None`
/// before the first); build the getter from it to resume exactly after that item.
pub struct ResumableGetter<F, S> {
    get: F,
    gatherer: Gatherer,
    state: Option<S>,
}

impl<F, S> ResumableGetter<F, S> {
    /// Calls `get`, at most `batch_size` items per batch (at least 1).
    pub fn new<T>(get: F, batch_size: usize) -> Self
    where
        F: FnMut() -> Got<(S, T)>,
    {
        ResumableGetter {
            get,
            gatherer: Gatherer::new(batch_size),
            state: None,
        }
    }
}

impl<F, S, T> StatefulSourcePartition for ResumableGetter<F, S>
where
    F: FnMut() -> Got<(S, T)> + 'static,
    S: Clone + 'static,
{
    type Item = T;
    type State = Option<S>;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        let batch = self.gatherer.gather(&mut self.get)?;
        Ok(batch.split_states(&mut self.state))
    }

    fn snapshot(&self) -> Option<S> {
        self.state.clone()
    }
}
