//! What one poll of a source partition returns.

/// The answer of a partition's `next_batch`: items, nothing yet, or the end of its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch<T> {
    /// Items read now. An empty vector means the same as [`Batch::Pending`].
    Items(Vec<T>),
    /// Nothing to read yet; the runtime polls again at `next_awake` (or in 1 ms).
    Pending,
    /// The partition has no more input; the runtime calls `close` and stops polling it.
    Eof,
}
