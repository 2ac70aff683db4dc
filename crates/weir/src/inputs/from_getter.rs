//! Source partitions from getters: a function called for one item at a time that answers
//! an item, nothing yet, or the end.

use std::task::Poll;

use crate::BoxError;
use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};

/// What a getter answers: `Ready(Some(item))`, `Pending` (nothing yet: the batch ends
/// here, and the runtime asks again later), or `Ready(None)` (the end of the input); an
/// error stops the dataflow with the step's name.
pub type Got<T> = Result<Poll<Option<T>>, BoxError>;

/// Calls `get` until it has `batch_size` items, has nothing yet, or is at its end.
fn gather<T>(
    get: &mut impl FnMut() -> Got<T>,
    batch_size: usize,
    ended: &mut bool,
) -> Result<Batch<T>, BoxError> {
    let mut items = Vec::new();
    while !*ended && items.len() < batch_size {
        match get()? {
            Poll::Ready(Some(item)) => items.push(item),
            Poll::Ready(None) => *ended = true,
            Poll::Pending => break,
        }
    }
    Ok(match (items.is_empty(), *ended) {
        (false, _) => Batch::Items(items),
        (true, true) => Batch::Eof,
        (true, false) => Batch::Pending,
    })
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
    batch_size: usize,
    ended: bool,
}

impl<F> GetterPartition<F> {
    /// Calls `get`, at most `batch_size` items per batch (at least 1).
    pub fn new<T>(get: F, batch_size: usize) -> Self
    where
        F: FnMut() -> Got<T>,
    {
        GetterPartition {
            get,
            batch_size: batch_size.max(1),
            ended: false,
        }
    }
}

impl<F, T> StatelessSourcePartition for GetterPartition<F>
where
    F: FnMut() -> Got<T> + 'static,
{
    type Item = T;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        gather(&mut self.get, self.batch_size, &mut self.ended)
    }
}

/// A resumable partition from a getter of `(state, item)`: `state` is where the getter
/// stands after `item`. The resume state is the state of the last item emitted (`None`
/// before the first); build the getter from it to resume exactly after that item.
pub struct ResumableGetter<F, S> {
    get: F,
    batch_size: usize,
    ended: bool,
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
            batch_size: batch_size.max(1),
            ended: false,
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
        let batch = gather(&mut self.get, self.batch_size, &mut self.ended)?;
        Ok(batch.split_states(&mut self.state))
    }

    fn snapshot(&self) -> Option<S> {
        self.state.clone()
    }
}
