//! The window operators: thin layers over the stateful core running fixed windows
//! ([`FixedWindows`]) or sessions ([`KeyWindows`]), each splitting the core's events into the
//! three streams of a [`WindowOut`].

use std::sync::Arc;

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::OutputBuilder;
use timely::dataflow::operators::generic::builder_rc::OperatorBuilder;

use crate::Key;
use crate::dataflow::flow::{EventTimeRole, StepSpec};
use crate::engine::{BuildCtx, Time, enter_step};
use crate::key::route_stored;
use crate::operators::keyed_core::keyed_state_operator;
use crate::operators::stateful::stateful_operator;
use crate::windows::fixed_windows::FixedWindows;
use crate::windows::key_windows::{KeyWindows, WindowEvent, WindowSpec, WindowWorker};
use crate::windows::windower::Kind;
use crate::windows::{Late, Window, WindowLogic, WindowMeta, WindowOut, Windower};
use crate::{Data, KeyedStream, Stream, Timestamp};

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Folds each window's values per key: `fold(acc, value)` from `init()`, and, when an
    /// item merges two sessions, `merge(acc, acc)` (`init()` must be neutral for it).
    /// Values arrive in arrival order, which across partitions depends on timing: use an
    /// order-independent fold for deterministic results.
    pub fn fold_window<A: Data>(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
        init: impl Fn() -> A + Send + Sync + 'static,
        fold: impl Fn(A, V) -> A + Send + Sync + 'static,
        merge: impl Fn(A, A) -> A + Send + Sync + 'static,
    ) -> WindowOut<A, V, K> {
        let init = Arc::new(init);
        let placeholder = init.clone();
        self.window_step(
            step_id,
            "fold_window",
            WindowSpec {
                windower,
                timestamp: Box::new(timestamp),
                init: Box::new(move || init()),
                fold: Box::new(move |acc, value, _| {
                    let taken = std::mem::replace(acc, placeholder());
                    *acc = fold(taken, value);
                }),
                merge: Box::new(merge),
                finish: Box::new(|acc, _| acc),
            },
        )
    }

    /// Runs custom per-window logic: each window of a key gets its own `builder()`, which
    /// sees the window's values ([`WindowLogic::on_value`]), absorbs another when sessions
    /// merge, and makes the window's result when it closes. The logic is the window's
    /// state: it is snapshotted with the key.
    pub fn window<W: WindowLogic<In = V>>(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
        builder: impl Fn() -> W + Send + Sync + 'static,
    ) -> WindowOut<W::Out, V, K> {
        self.window_step(
            step_id,
            "window",
            WindowSpec {
                windower,
                timestamp: Box::new(timestamp),
                init: Box::new(builder),
                fold: Box::new(|logic: &mut W, value, ts| logic.on_value(value, ts)),
                merge: Box::new(|mut logic, other| {
                    logic.merge(other);
                    logic
                }),
                finish: Box::new(|logic, window| logic.close(window)),
            },
        )
    }

    /// Collects each window's values per key, in timestamp order (values with equal
    /// timestamps in arrival order).
    pub fn collect_window(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
    ) -> WindowOut<Vec<V>, V, K> {
        self.window_step(
            step_id,
            "collect_window",
            WindowSpec {
                windower,
                timestamp: Box::new(timestamp),
                init: Box::new(Vec::new),
                fold: Box::new(|acc: &mut Vec<(Timestamp, V)>, value, ts| acc.push((ts, value))),
                merge: Box::new(|mut a, b| {
                    a.extend(b);
                    a
                }),
                finish: Box::new(|mut acc, _| {
                    acc.sort_by_key(|(ts, _)| *ts);
                    acc.into_iter().map(|(_, value)| value).collect()
                }),
            },
        )
    }

    /// Reduces each window's values per key with `reducer` (associative; across
    /// partitions, values arrive in an order that depends on timing).
    pub fn reduce_window(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
        reducer: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> WindowOut<V, V, K> {
        self.reduce_step(step_id, "reduce_window", timestamp, windower, reducer)
    }

    /// Counts each window's values per key.
    pub fn count_window(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
    ) -> WindowOut<u64, V, K> {
        self.window_step(
            step_id,
            "count_window",
            WindowSpec {
                windower,
                timestamp: Box::new(timestamp),
                init: Box::new(|| 0u64),
                fold: Box::new(|count: &mut u64, _, _| *count += 1),
                merge: Box::new(|a, b| a + b),
                finish: Box::new(|count, _| count),
            },
        )
    }

    fn reduce_step(
        &self,
        step_id: &str,
        kind: &'static str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
        reducer: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> WindowOut<V, V, K> {
        let reducer = Arc::new(reducer);
        let merger = reducer.clone();
        self.window_step(
            step_id,
            kind,
            WindowSpec {
                windower,
                timestamp: Box::new(timestamp),
                init: Box::new(|| None),
                fold: Box::new(move |acc: &mut Option<V>, value, _| {
                    *acc = Some(match acc.take() {
                        Some(acc) => reducer(acc, value),
                        None => value,
                    })
                }),
                merge: Box::new(move |a, b| match (a, b) {
                    (Some(a), Some(b)) => Some(merger(a, b)),
                    (a, b) => a.or(b),
                }),
                finish: Box::new(|acc, _| acc.expect("a window holds at least one value")),
            },
        )
    }

    /// The step: the stateful core running the windows, then a split of its events.
    pub(crate) fn window_step<A: Data, R: Data>(
        &self,
        step_id: &str,
        kind: &'static str,
        spec: WindowSpec<V, A, R>,
    ) -> WindowOut<R, V, K> {
        let spec = Arc::new(spec);
        let step_spec = StepSpec {
            kind,
            inputs: vec![self.port()],
            output_count: 3,
            list_parts: None,
            unlisted_part: None,
            is_output: false,
            keyed_state: Some(route_stored::<K>),
            event_time: EventTimeRole::NeedsClock,
        };
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let input = ctx.input::<(K, V)>(0);
            let events = window_events(ctx, input, spec.clone());
            split_events::<K, R, V>(ctx, events);
        });
        let ports = self.graph().borrow_mut().add(step_id, step_spec, build);
        let graph = self.graph().clone();
        WindowOut {
            down: Stream::from_port(graph.clone(), ports[0]),
            late: Stream::from_port(graph.clone(), ports[1]),
            meta: Stream::from_port(graph, ports[2]),
        }
    }
}

impl<K: Key, V: Data + Ord> KeyedStream<V, K> {
    /// The greatest value of each window, per key.
    pub fn max_window(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
    ) -> WindowOut<V, V, K> {
        self.reduce_step(step_id, "max_window", timestamp, windower, std::cmp::max)
    }

    /// The least value of each window, per key.
    pub fn min_window(
        &self,
        step_id: &str,
        timestamp: impl Fn(&V) -> Timestamp + Send + Sync + 'static,
        windower: Windower,
    ) -> WindowOut<V, V, K> {
        self.reduce_step(step_id, "min_window", timestamp, windower, std::cmp::min)
    }
}

/// Splits the core's events into results, late items and metadata (outputs 0, 1, 2 of the
/// current step), each under the time it was emitted at.
pub(crate) fn split_events<'s, K: Key, R: Data, V: Data>(
    ctx: &mut BuildCtx<'s>,
    events: StreamVec<'s, Time, (K, WindowEvent<R, V>)>,
) {
    let step = ctx.step().clone();
    let mut op = OperatorBuilder::new(format!("{}.split", step.id), ctx.scope());
    let mut input = op.new_input(events, Pipeline);
    let (down, down_stream) = op.new_output::<Vec<(K, (Window, R))>>();
    let (late, late_stream) = op.new_output::<Vec<(K, Late<V>)>>();
    let (meta, meta_stream) = op.new_output::<Vec<(K, WindowMeta)>>();
    let mut down = OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, (Window, R))>>>::from(down);
    let mut late = OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, Late<V>)>>>::from(late);
    let mut meta = OutputBuilder::<_, CapacityContainerBuilder<Vec<(K, WindowMeta)>>>::from(meta);
    op.build(move |_| {
        move |_frontiers| {
            let _in_step = enter_step(&step.name);
            let (mut down, mut late, mut meta) = (down.activate(), late.activate(), meta.activate());
            input.for_each(|cap, events| {
                let (mut d, mut l, mut m) = (down.session(&cap), late.session(&cap), meta.session(&cap));
                for (key, event) in events.drain(..) {
                    match event {
                        WindowEvent::Result(window, result) => d.give((key, (window, result))),
                        WindowEvent::Late(item) => l.give((key, item)),
                        WindowEvent::Meta(event) => m.give((key, event)),
                    }
                }
            });
        }
    });
    ctx.set_output(0, down_stream);
    ctx.set_output(1, late_stream);
    ctx.set_output(2, meta_stream);
}

/// The stateful core running a window step: fixed windows held per window, sessions per
/// key. Emits results, late items and (if output 2 is read) metadata.
pub(crate) fn window_events<'s, K: Key, V: Data, A: Data, R: Data>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Time, (K, V)>,
    spec: Arc<WindowSpec<V, A, R>>,
) -> StreamVec<'s, Time, (K, WindowEvent<R, V>)> {
    let worker = Arc::new(WindowWorker {
        spec,
        meta: ctx.output_is_read(2),
    });
    match worker.spec.windower.kind {
        Kind::Sliding { .. } => {
            keyed_state_operator(ctx, input, |snapshotting| FixedWindows::new(worker, snapshotting))
        }
        Kind::Session { .. } => {
            let builder = Arc::new(move |resume| KeyWindows::new(worker.clone(), resume));
            stateful_operator(ctx, input, builder)
        }
    }
}
