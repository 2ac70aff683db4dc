//! Source partitions from async streams (`futures::Stream`), driven by the process's async
//! runtime.

use std::time::Duration;

use futures::{Stream, StreamExt};
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::task::JoinHandle;

use crate::BoxError;
use crate::error::panic_message;
use crate::inputs::async_runtime::async_runtime;
use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};

/// A stream's items as a partition reads them: the stream runs as a task on the
/// process's async runtime and hands its items over a channel of `batch_size` places (so a
/// stream runs at most one batch ahead of the dataflow).
struct Forwarded<T> {
    items: mpsc::Receiver<Result<T, BoxError>>,
    task: JoinHandle<()>,
    batch_size: usize,
    timeout: Duration,
    ended: bool,
}

impl<T: Send + 'static> Forwarded<T> {
    fn spawn<E: Into<BoxError> + Send + 'static>(
        stream: impl Stream<Item = Result<T, E>> + Send + 'static,
        batch_size: usize,
        timeout: Duration,
    ) -> Result<Self, BoxError> {
        let batch_size = batch_size.max(1);
        let (sender, items) = mpsc::channel(batch_size);
        let task = async_runtime()?.spawn(async move {
            let mut stream = std::pin::pin!(stream);
            while let Some(item) = stream.next().await {
                let item: Result<T, BoxError> = item.map_err(Into::into);
                let failed = item.is_err();
                if sender.send(item).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Forwarded {
            items,
            task,
            batch_size,
            timeout,
            ended: false,
        })
    }

    /// Up to `batch_size` items ready now; if none is, waits up to `timeout` for one.
    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        if self.ended {
            return Ok(Batch::Eof);
        }
        let mut items = Vec::new();
        while items.len() < self.batch_size {
            match self.items.try_recv() {
                Ok(item) => items.push(item?),
                Err(TryRecvError::Empty) if items.is_empty() && !self.timeout.is_zero() => {
                    let (timeout, waiting) = (self.timeout, &mut self.items);
                    // Made inside the runtime, whose timer the timeout needs.
                    let waited = async move { tokio::time::timeout(timeout, waiting.recv()).await };
                    match async_runtime()?.block_on(waited) {
                        Ok(Some(item)) => items.push(item?),
                        Ok(None) => return self.end(),
                        Err(_elapsed) => break,
                    }
                }
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) if items.is_empty() => return self.end(),
                Err(TryRecvError::Disconnected) => break,
            }
        }
        Ok(match items.is_empty() {
            true => Batch::Pending,
            false => Batch::Items(items),
        })
    }

    /// The stream ended, or its task panicked (an error naming the panic).
    fn end(&mut self) -> Result<Batch<T>, BoxError> {
        self.ended = true;
        match async_runtime()?.block_on(&mut self.task) {
            Err(err) if err.is_panic() => {
                let message = panic_message(err.into_panic().as_ref());
                Err(format!("the async stream panicked: {message}").into())
            }
            _ => Ok(Batch::Eof),
        }
    }
}

impl<T> Drop for Forwarded<T> {
    /// A partition dropped early (the dataflow failed elsewhere) stops its stream.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// A partition that reads an async stream of `Result<T, E>`: the stream runs on the
/// process's [`async_runtime`](crate::inputs::async_runtime); each `next_batch` takes the
/// items that are ready (at most `batch_size`) and, when none is, waits at most `timeout`
/// for one (default zero: never blocks the worker; a wait blocks the whole worker, so every
/// other partition it polls waits too: `benches/idle_source.rs` measures a busy source
/// beside an idle stream at 0.95–0.98 of its speed alone with no wait, and 0.26 with a
/// 1 ms wait). The end of the stream ends the input;
/// an `Err` item or a panic in the stream stops the dataflow with the step's name. Not
/// resumable: see [`ResumableStream`].
///
/// ```
/// use weir::inputs::{Batch, StatelessSourcePartition, StreamPartition};
///
/// let stream = futures::stream::iter([Ok::<_, std::io::Error>(1), Ok(2)]);
/// let mut part = StreamPartition::new(stream, 10).unwrap();
/// let mut read = Vec::new();
/// loop {
///     match part.next_batch().unwrap() {
///         Batch::Items(items) => read.extend(items),
///         Batch::Pending => std::thread::yield_now(),
///         Batch::Eof => break,
///     }
/// }
/// assert_eq!(read, [1, 2]);
/// ```
pub struct StreamPartition<T>(Forwarded<T>);

impl<T: Send + 'static> StreamPartition<T> {
    /// Reads `stream`, at most `batch_size` items per batch (at least 1).
    pub fn new<E: Into<BoxError> + Send + 'static>(
        stream: impl Stream<Item = Result<T, E>> + Send + 'static,
        batch_size: usize,
    ) -> Result<Self, BoxError> {
        Ok(StreamPartition(Forwarded::spawn(
            stream,
            batch_size,
            Duration::ZERO,
        )?))
    }

    /// Lets `next_batch` wait up to `timeout` for an item when none is ready.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.0.timeout = timeout;
        self
    }
}

impl<T: Send + 'static> StatelessSourcePartition for StreamPartition<T> {
    type Item = T;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        self.0.next_batch()
    }
}

/// A resumable partition from an async stream of `Result<(state, item), E>`: `state` is
/// where the stream stands after `item` (an offset, a cursor, an event id). The resume
/// state is the state of the last item emitted (`None` before the first); build the
/// stream from it to resume exactly after that item. Otherwise as [`StreamPartition`].
pub struct ResumableStream<T, S> {
    items: Forwarded<(S, T)>,
    state: Option<S>,
}

impl<T: Send + 'static, S: Send + 'static> ResumableStream<T, S> {
    /// Reads `stream`, at most `batch_size` items per batch (at least 1).
    pub fn new<E: Into<BoxError> + Send + 'static>(
        stream: impl Stream<Item = Result<(S, T), E>> + Send + 'static,
        batch_size: usize,
    ) -> Result<Self, BoxError> {
        Ok(ResumableStream {
            items: Forwarded::spawn(stream, batch_size, Duration::ZERO)?,
            state: None,
        })
    }

    /// Lets `next_batch` wait up to `timeout` for an item when none is ready.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.items.timeout = timeout;
        self
    }
}

impl<T: Send + 'static, S: Clone + Send + 'static> StatefulSourcePartition for ResumableStream<T, S> {
    type Item = T;
    type State = Option<S>;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        Ok(self.items.next_batch()?.split_states(&mut self.state))
    }

    fn snapshot(&self) -> Option<S> {
        self.state.clone()
    }
}
