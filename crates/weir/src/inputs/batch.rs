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

impl<S, T> Batch<(S, T)> {
    /// The items without their states, `last` set to the state of the last one (for the
    /// resumable adapters, whose items carry where their source stands after them).
    pub(crate) fn split_states(self, last: &mut Option<S>) -> Batch<T> {
        match self {
            Batch::Items(items) => {
                let mut values = Vec::with_capacity(items.len());
                for (state, item) in items {
                    *last = Some(state);
                    values.push(item);
                }
                Batch::Items(values)
            }
            Batch::Pending => Batch::Pending,
            Batch::Eof => Batch::Eof,
        }
    }
}
