//! Source partitions from async streams (`futures::Stream`), driven by the process's async
//! runtime.

use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicBool, Ordering, fence};
use std::sync::{Arc, Mutex};
use std::task::Waker;
use std::time::{Duration, Instant};

use futures::{FutureExt, Stream, StreamExt};
use tokio::sync::mpsc::{self, error::TryRecvError};
use tokio::task::JoinHandle;

use crate::BoxError;
use crate::error::panic_message;
use crate::inputs::async_runtime::async_runtime;
use crate::inputs::{Batch, StatefulSourcePartition, StatelessSourcePartition};

/// How long a partition that waits for its stream goes without a poll at most: a safety
/// net only, since the stream's task wakes it when an item arrives or the stream ends.
const PARKED_RECHECK: Duration = Duration::from_millis(100);

/// A stream's items as a partition reads them: the stream runs as a task on the
/// process's async runtime and hands its items over a channel of `batch_size` places (so a
/// stream runs at most one batch ahead of the dataflow). `next_batch` never waits: when the
/// channel is empty the partition parks, and the task rings its doorbell on the next item
/// or at its end.
struct Forwarded<T> {
    items: mpsc::Receiver<Result<T, BoxError>>,
    task: JoinHandle<()>,
    doorbell: Arc<Doorbell>,
    batch_size: usize,
    /// An error that came after items of a batch: returned by the next call.
    failed: Option<BoxError>,
    ended: bool,
}

/// How a stream's task wakes its partition: only when the partition found nothing and
/// waits (`parked`), so a busy stream costs no wake-up per item.
#[derive(Default)]
struct Doorbell {
    parked: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl Doorbell {
    /// Parks the partition. The caller then looks at the channel once more: with the fence
    /// here and the one in `ring` (a send, then a look at `parked`), either that look sees
    /// the item or the ring sees the park.
    fn park(&self) {
        self.parked.store(true, Ordering::SeqCst);
        fence(Ordering::SeqCst);
    }

    fn ring(&self) {
        fence(Ordering::SeqCst);
        if self.parked.swap(false, Ordering::SeqCst)
            && let Ok(waker) = self.waker.lock()
            && let Some(waker) = waker.as_ref()
        {
            waker.wake_by_ref();
        }
    }
}

/// Rings the doorbell when the task ends, however it ends (a panic included).
struct RingOnDrop(Arc<Doorbell>);

impl Drop for RingOnDrop {
    fn drop(&mut self) {
        self.0.ring();
    }
}

/// Sends the items of `stream` until it ends, fails, or nobody reads them any more; rings
/// the doorbell after each. The stream is dropped here.
async fn forward<T, E: Into<BoxError>>(
    stream: impl Stream<Item = Result<T, E>>,
    sender: &mpsc::Sender<Result<T, BoxError>>,
    doorbell: &Doorbell,
) {
    let mut stream = std::pin::pin!(stream);
    while let Some(item) = stream.next().await {
        let item = item.map_err(Into::into);
        let failed = item.is_err();
        if sender.send(item).await.is_err() || failed {
            return;
        }
        doorbell.ring();
    }
}

impl<T: Send + 'static> Forwarded<T> {
    fn spawn<E: Into<BoxError> + Send + 'static>(
        stream: impl Stream<Item = Result<T, E>> + Send + 'static,
        batch_size: usize,
    ) -> Result<Self, BoxError> {
        let batch_size = batch_size.max(1);
        let (sender, items) = mpsc::channel(batch_size);
        let doorbell = Arc::new(Doorbell::default());
        let ring = RingOnDrop(doorbell.clone());
        let task = async_runtime()?.spawn(async move {
            // A panic anywhere in the stream (its items, its errors' conversion, its drop)
            // becomes its last item, an error.
            let forwarding = AssertUnwindSafe(forward(stream, &sender, &ring.0));
            if let Err(panic) = forwarding.catch_unwind().await {
                let message = panic_message(panic.as_ref());
                let _ = sender
                    .send(Err(format!("the async stream panicked: {message}").into()))
                    .await;
            }
            drop(sender);
            drop(ring);
        });
        Ok(Forwarded {
            items,
            task,
            doorbell,
            batch_size,
            failed: None,
            ended: false,
        })
    }

    /// Up to `batch_size` items ready now, without waiting.
    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        if let Some(err) = self.failed.take() {
            return Err(err);
        }
        if self.ended {
            return Ok(Batch::Eof);
        }
        let mut items = Vec::new();
        let mut parked = false;
        while items.len() < self.batch_size {
            match self.items.try_recv() {
                Ok(Ok(item)) => items.push(item),
                Ok(Err(err)) if items.is_empty() => return Err(err),
                Ok(Err(err)) => {
                    self.failed = Some(err);
                    break;
                }
                // Park, then look once more: an item sent in between must not wait for a
                // ring that came before the park.
                Err(TryRecvError::Empty) if items.is_empty() && !parked => {
                    self.doorbell.park();
                    parked = true;
                }
                Err(TryRecvError::Empty) => break,
                // The task ended (it sent its error, if any, first).
                Err(TryRecvError::Disconnected) if items.is_empty() => {
                    self.ended = true;
                    return Ok(Batch::Eof);
                }
                Err(TryRecvError::Disconnected) => break,
            }
        }
        if !items.is_empty() {
            self.doorbell.parked.store(false, Ordering::Release);
            return Ok(Batch::Items(items));
        }
        Ok(Batch::Pending)
    }

    /// When to poll again: soon after items (more may be ready), else when woken.
    fn next_awake(&self) -> Option<Instant> {
        let waits = self.doorbell.parked.load(Ordering::Acquire) && self.has_waker();
        waits.then(|| Instant::now() + PARKED_RECHECK)
    }

    fn has_waker(&self) -> bool {
        self.doorbell.waker.lock().is_ok_and(|waker| waker.is_some())
    }

    fn set_waker(&mut self, waker: Waker) {
        if let Ok(mut slot) = self.doorbell.waker.lock() {
            *slot = Some(waker);
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
/// items that are ready (at most `batch_size`) and never waits: when none is, the partition
/// is polled again as soon as the stream sends its next item or ends (its task wakes the
/// input), so an idle stream costs the worker nothing (`benches/idle_source.rs` measures a
/// busy source beside an idle stream). The end of the stream ends the input; an `Err`
/// item (after the items before it) or a panic in the stream stops the dataflow with the
/// step's name. Not resumable: see [`ResumableStream`].
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
        Ok(StreamPartition(Forwarded::spawn(stream, batch_size)?))
    }
}

impl<T: Send + 'static> StatelessSourcePartition for StreamPartition<T> {
    type Item = T;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        self.0.next_batch()
    }

    fn next_awake(&self) -> Option<Instant> {
        self.0.next_awake()
    }

    fn set_waker(&mut self, waker: Waker) {
        self.0.set_waker(waker)
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
            items: Forwarded::spawn(stream, batch_size)?,
            state: None,
        })
    }
}

impl<T: Send + 'static, S: Clone + Send + 'static> StatefulSourcePartition for ResumableStream<T, S> {
    type Item = T;
    type State = Option<S>;

    fn next_batch(&mut self) -> Result<Batch<T>, BoxError> {
        Ok(self.items.next_batch()?.split_states(&mut self.state))
    }

    fn next_awake(&self) -> Option<Instant> {
        self.items.next_awake()
    }

    fn set_waker(&mut self, waker: Waker) {
        self.items.set_waker(waker)
    }

    fn snapshot(&self) -> Option<S> {
        self.state.clone()
    }
}
