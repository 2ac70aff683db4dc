//! The sessions of one key: the per-key logic session windows run on the stateful core
//! (fixed windows are held per window: [`FixedWindows`](crate::windows::fixed_windows)).

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use smallvec::SmallVec;

use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::windows::windower::Kind;
use crate::windows::{Late, Window, WindowMeta, Windower};
use crate::{Data, Timestamp};

/// Folds a value (with its timestamp) into an accumulator in place.
type Fold<V, A> = dyn Fn(&mut A, V, Timestamp) + Send + Sync;

/// Turns a closed window's accumulator into its result.
type Finish<A, R> = dyn Fn(A, &Window) -> R + Send + Sync;

/// What a window operator does with values: stamp them, start, fold and merge
/// accumulators, and turn a closed window's accumulator into its result.
pub(crate) struct WindowSpec<V, A, R> {
    pub windower: Windower,
    pub timestamp: Box<dyn Fn(&V) -> Timestamp + Send + Sync>,
    pub init: Box<dyn Fn() -> A + Send + Sync>,
    /// Folds a value into an accumulator in place.
    pub fold: Box<Fold<V, A>>,
    pub merge: Box<dyn Fn(A, A) -> A + Send + Sync>,
    pub finish: Box<Finish<A, R>>,
}

/// One event of a window step, before it is split into its three streams.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum WindowEvent<R, V> {
    Result(Window, R),
    Late(Late<V>),
    Meta(WindowMeta),
}

impl<R, V> WindowEvent<R, V> {
    /// The same event with a late item's value mapped.
    pub(crate) fn map_late<W>(self, f: impl FnOnce(V) -> W) -> WindowEvent<R, W> {
        match self {
            WindowEvent::Result(window, result) => WindowEvent::Result(window, result),
            WindowEvent::Late(late) => WindowEvent::Late(Late {
                value: f(late.value),
                timestamp: late.timestamp,
                missed: late.missed,
            }),
            WindowEvent::Meta(meta) => WindowEvent::Meta(meta),
        }
    }
}

/// The open windows of a key, by start, each with its accumulator: a key's snapshot. The
/// first two live inline, in the key's entry: a key's windows cost no second cache miss.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct OpenWindows<A> {
    open: SmallVec<[(Window, A); 2]>,
}

impl<A> OpenWindows<A> {
    /// Windows given by start.
    pub(crate) fn from_windows(windows: impl Iterator<Item = (Window, A)>) -> Self {
        OpenWindows {
            open: windows.collect(),
        }
    }

    pub(crate) fn into_windows(self) -> impl Iterator<Item = (Window, A)> {
        self.open.into_iter()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.open.is_empty()
    }
}

/// A window step on one worker: its spec, and whether anyone reads its metadata.
pub(crate) struct WindowWorker<V, A, R> {
    pub spec: Arc<WindowSpec<V, A, R>>,
    /// Whether to emit `Opened` and `Closed` events (nobody may read the metadata stream).
    pub meta: bool,
}

/// Per-key window logic.
pub(crate) struct KeyWindows<V, A, R> {
    worker: Arc<WindowWorker<V, A, R>>,
    state: OpenWindows<A>,
}

impl<V: Clone, A: Clone, R> KeyWindows<V, A, R> {
    pub(crate) fn new(worker: Arc<WindowWorker<V, A, R>>, resume: Option<OpenWindows<A>>) -> Self {
        KeyWindows {
            worker,
            state: resume.unwrap_or(OpenWindows {
                open: SmallVec::new(),
            }),
        }
    }

    fn spec(&self) -> &WindowSpec<V, A, R> {
        &self.worker.spec
    }

    /// When the watermark closes a session: once it passes its end (an item at the end
    /// still joins).
    fn closes_at(&self, window: &Window) -> Timestamp {
        window.end.saturating_add(1)
    }

    fn on_session(&mut self, ctx: &mut Ctx<'_, WindowEvent<R, V>>, value: V, ts: Timestamp, gap: Timestamp) {
        let alone = Window {
            start: ts,
            end: ts.saturating_add(gap),
        };
        let alone_closes = self.closes_at(&alone);
        let spec = &self.worker.spec;
        let open = &mut self.state.open;
        // Sessions this item touches (its timestamp is within the gap of their items): a
        // run of the open sessions, which are disjoint and sorted by start (and end).
        let first = open.partition_point(|(w, _)| w.end < ts);
        let end = open
            .partition_point(|(w, _)| w.start.saturating_sub(gap) <= ts)
            .max(first);
        if first == end && alone_closes <= ctx.watermark() {
            ctx.emit(WindowEvent::Late(Late {
                value,
                timestamp: ts,
                missed: vec![alone],
            }));
            return;
        }
        if end == first + 1 {
            // The common case: the item joins one session, which grows in place (it touched
            // no other, so the order of sessions holds).
            let (window, slot) = &mut open[first];
            let grown = Window {
                start: window.start.min(alone.start),
                end: window.end.max(alone.end),
            };
            (spec.fold)(slot, value, ts);
            if self.worker.meta && grown != *window {
                ctx.emit(WindowEvent::Meta(WindowMeta::Merged {
                    from: vec![*window],
                    into: grown,
                }));
            }
            *window = grown;
            return;
        }
        let mut merged = alone;
        let mut acc = (spec.init)();
        let touched: Vec<(Window, A)> = open.drain(first..end).collect();
        let from: Vec<Window> = touched.iter().map(|(w, _)| *w).collect();
        for (window, other) in touched {
            merged.start = merged.start.min(window.start);
            merged.end = merged.end.max(window.end);
            acc = (spec.merge)(acc, other);
        }
        (spec.fold)(&mut acc, value, ts);
        if self.worker.meta {
            match from.len() {
                0 => ctx.emit(WindowEvent::Meta(WindowMeta::Opened(merged))),
                1 if from[0] == merged => {}
                _ => ctx.emit(WindowEvent::Meta(WindowMeta::Merged { from, into: merged })),
            }
        }
        let at = open.partition_point(|(w, _)| w.start < merged.start);
        open.insert(at, (merged, acc));
    }
}

impl<V: Data, A: Data, R: Data> KeyedProcess for KeyWindows<V, A, R> {
    type In = V;
    type Out = WindowEvent<R, V>;
    type State = OpenWindows<A>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Self::Out>, value: V) -> Retention {
        let ts = (self.spec().timestamp)(&value);
        match self.spec().windower.kind {
            Kind::Session { gap } => self.on_session(ctx, value, ts, gap),
            Kind::Sliding { .. } => unreachable!("fixed windows are held per window: FixedWindows"),
        }
        self.retention()
    }

    /// Closes, in the order they close, every window the watermark has reached: a prefix
    /// of the open ones, since by start is by end (fixed windows have one length, sessions
    /// are disjoint).
    fn on_timer(&mut self, ctx: &mut Ctx<'_, Self::Out>) -> Retention {
        let watermark = ctx.watermark();
        let closed = self
            .state
            .open
            .partition_point(|(w, _)| self.closes_at(w) <= watermark);
        for (window, acc) in self.state.open.drain(..closed) {
            ctx.emit(WindowEvent::Result(
                window,
                (self.worker.spec.finish)(acc, &window),
            ));
            if self.worker.meta {
                ctx.emit(WindowEvent::Meta(WindowMeta::Closed(window)));
            }
        }
        self.retention()
    }

    /// The first open window closes first.
    fn event_timer(&self) -> Option<Timestamp> {
        self.state.open.first().map(|(w, _)| self.closes_at(w))
    }

    fn snapshot(&self) -> OpenWindows<A> {
        self.state.clone()
    }
}

impl<V, A, R> KeyWindows<V, A, R> {
    /// A key without open windows frees its state, in memory and in the store.
    fn retention(&self) -> Retention {
        match self.state.open.is_empty() {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }
}
