//! Event-time windows: tumbling, sliding and session windows over the watermark of the
//! clocked inputs upstream (see [`EventClock`](crate::inputs::EventClock)).
//!
//! Window steps are keyed (partitioned): each key's windows live on the worker that owns
//! the key, in the stateful core, and are snapshotted with it. A window closes — its
//! result is emitted — as soon as the watermark reaches it (not at an epoch's end), and a
//! key without open windows frees its state, in memory and in the recovery store.
//!
//! Every window step returns a [`WindowOut`]: results, items that found their windows
//! already closed, and window metadata. Lateness is decided at the source (the input's
//! `late` stream), so items that reach a window step through stateless steps never find
//! their window closed and `late` stays empty; it catches items delayed by a stateful step
//! in between, or stamped differently from the source's clock (then, which items are late
//! depends on timing).
//!
//! The result of a tumbling or sliding window happens at its last millisecond, `end - 1`:
//! the step holds its output's watermark there until the window closes, so a window step
//! downstream that stamps results with `|(w, _)| w.end - 1` finds none late (two-stage
//! aggregations: per key, then over keys). Session results are sent at the watermark that
//! closed them, and are late to a window step downstream.
//!
//! ```
//! use std::time::Duration;
//! use weir::inputs::EventClock;
//! use weir::testing::{run_main, TestingSink, TestingSource};
//! use weir::windows::{Window, Windower};
//! use weir::Dataflow;
//!
//! // (timestamp_ms, user) clicks, at most 1 s out of order.
//! let clicks: Vec<(i64, String)> = [(1_000, "ann"), (4_000, "bob"), (11_000, "ann"), (12_000, "ann")]
//!     .into_iter()
//!     .map(|(ts, user)| (ts, user.to_string()))
//!     .collect();
//! let mut flow = Dataflow::new("clicks");
//! let out = TestingSink::new();
//! let clock = EventClock::new(|c: &(i64, String)| c.0, Duration::from_secs(1));
//! let input = flow.input_with_clock("in", TestingSource::new(clicks), clock);
//! input.on_time
//!     .key_on("user", |c| c.1.clone())
//!     .count_window("per_10s", |c| c.0, Windower::tumbling(Duration::from_secs(10)))
//!     .down
//!     .output("out", out.clone());
//! run_main(flow).unwrap();
//! let w = |start, end| Window { start, end };
//! assert_eq!(
//!     out.sorted(),
//!     vec![
//!         ("ann".into(), (w(0, 10_000), 1)),
//!         ("ann".into(), (w(10_000, 20_000), 2)),
//!         ("bob".into(), (w(0, 10_000), 1)),
//!     ]
//! );
//! ```

mod fixed_windows;
mod join_window;
mod key_windows;
mod operators;
mod sort_by_time;
mod windower;

use serde::{Deserialize, Serialize};

use crate::{Data, KeyedStream, Timestamp};

pub use join_window::Joined;
pub use windower::{Window, Windower};

/// An item that reached a window step after (some of) its windows closed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Late<V> {
    /// The item.
    pub value: V,
    /// Its event time.
    pub timestamp: Timestamp,
    /// The windows it would have been in that had already closed.
    pub missed: Vec<Window>,
}

/// What happened to a key's windows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum WindowMeta {
    /// The first item of a window arrived.
    Opened(Window),
    /// A session's bounds changed: an item extended session `from` (one window), or
    /// bridged sessions `from` (several), which became the one session `into`.
    Merged {
        /// The sessions merged, by start.
        from: Vec<Window>,
        /// The session they became.
        into: Window,
    },
    /// The watermark closed the window; its result was emitted.
    Closed(Window),
}

/// Custom logic of one window of one key, for [`window`](crate::KeyedStream::window).
pub trait WindowLogic: Data {
    /// The values the window receives.
    type In;
    /// The window's result.
    type Out: Data;

    /// Takes one value (in arrival order) with its timestamp.
    fn on_value(&mut self, value: Self::In, timestamp: Timestamp);

    /// Absorbs `other`, a session this one merged with.
    fn merge(&mut self, other: Self);

    /// The result of the closed `window`.
    fn close(self, window: &Window) -> Self::Out;
}

/// The three streams of a window step.
pub struct WindowOut<R, V, K = String> {
    /// One `(window, result)` per closed window, per key, in the order windows close.
    pub down: KeyedStream<(Window, R), K>,
    /// Items that found windows already closed (see the [module docs](self)).
    pub late: KeyedStream<Late<V>, K>,
    /// Windows opened, merged and closed.
    pub meta: KeyedStream<WindowMeta, K>,
}
