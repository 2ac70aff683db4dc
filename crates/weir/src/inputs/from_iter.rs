//! Source partitions from iterators: any `Iterator`, read in batches of at most N items.

use crate::BoxError;
use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};

/// A partition that reads an iterator in batches of at most `batch_size` items; the end of
/// the iterator is the end of the partition's input. Not resumable: see [`ResumableIter`].
///
/// ```
/// use weir::inputs::{Batch, IterPartition, StatelessSourcePartition};
///
/// let mut part = IterPartition::new(1..=5, 2);
/// assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![1, 2]));
/// assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![3, 4]));
/// assert_eq!(part.next_batch().unwrap(), Batch::Items(vec![5]));
/// assert_eq!(part.next_batch().unwrap(), Batch::Eof);
/// ```
pub struct IterPartition<I> {
    iter: std::iter::Fuse<I>,
    batch_size: usize,
}

impl<I: Iterator> IterPartition<I> {
    /// Reads `iter`, at most `batch_size` items per batch (at least 1).
    pub fn new(iter: impl IntoIterator<IntoIter = I>, batch_size: usize) -> Self {
        IterPartition {
            iter: iter.into_iter().fuse(),
            batch_size: batch_size.max(1),
        }
    }
}

/// The next at most `size` items of `iter`; `Eof` once it has none.
fn batch_of<I: Iterator>(iter: &mut I, size: usize) -> Batch<I::Item> {
    let items: Vec<I::Item> = iter.take(size).collect();
    match items.is_empty() {
        true => Batch::Eof,
        false => Batch::Items(items),
    }
}

impl<I: Iterator + 'static> StatelessSourcePartition for IterPartition<I> {
    type Item = I::Item;

    fn next_batch(&mut self) -> Result<Batch<I::Item>, BoxError> {
        Ok(batch_of(&mut self.iter, self.batch_size))
    }
}

/// A resumable partition from an iterator of `(state, item)`: `state` is where the
/// iterator stands after `item` (an offset, a cursor). The partition's resume state is
/// the state of the last item it emitted (`None` before the first), so an iterator built
/// from it (seeked there) resumes exactly after that item.
///
/// ```
/// use weir::inputs::{Batch, ResumableIter, StatefulSourcePartition};
///
/// const LINES: [&str; 3] = ["a", "b", "c"];
/// // The state after a line is the index of the next one.
/// let from = |resume: Option<usize>| {
///     let start = resume.unwrap_or(0);
///     ResumableIter::new((start..LINES.len()).map(|i| (i + 1, LINES[i])), 2)
/// };
/// let mut part = from(None);
/// assert_eq!(part.next_batch().unwrap(), Batch::Items(vec!["a", "b"]));
/// let mut resumed = from(part.snapshot());
/// assert_eq!(resumed.next_batch().unwrap(), Batch::Items(vec!["c"]));
/// assert_eq!(resumed.next_batch().unwrap(), Batch::Eof);
/// ```
pub struct ResumableIter<I, S> {
    iter: std::iter::Fuse<I>,
    batch_size: usize,
    state: Option<S>,
}

impl<I, S, T> ResumableIter<I, S>
where
    I: Iterator<Item = (S, T)>,
{
    /// Reads `iter`, at most `batch_size` items per batch (at least 1).
    pub fn new(iter: impl IntoIterator<IntoIter = I>, batch_size: usize) -> Self {
        ResumableIter {
            iter: iter.into_iter().fuse(),
            batch_size: batch_size.max(1),
            state: None,
        }
    }
}

impl<I, S, T> StatefulSourcePartition for ResumableIter<I, S>
where
    I: Iterator<Item = (S, T)> + 'static,
    S: Clone + 'static,
{
    type Item = T;
    type State = Option<S>;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        Ok(batch_of(&mut self.iter, self.batch_size).split_states(&mut self.state))
    }

    fn snapshot(&self) -> Option<S> {
        self.state.clone()
    }
}
