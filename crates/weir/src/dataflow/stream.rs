//! `Stream<T>`: a typed handle to the output of a step, used to add further steps.

use std::cell::RefCell;
use std::marker::PhantomData;
use std::rc::Rc;
use std::sync::Arc;

use timely::dataflow::StreamVec;

use crate::dataflow::PortId;
use crate::dataflow::flow::{EventTimeRole, Graph, StepSpec, add_step};
use crate::engine::Time;
use crate::engine::{BuildCtx, StepCtx};
use crate::key::{KeyRoute, route_stored};
use crate::{Data, Key};

/// A typed stream of items: the output of one step of a [`Dataflow`](crate::Dataflow).
///
/// Cloning the handle lets several steps read the same stream (fan-out).
pub struct Stream<T> {
    graph: Rc<RefCell<Graph>>,
    port: PortId,
    _items: PhantomData<fn() -> T>,
}

/// A stream of `(key, value)` pairs: keyed operators route by the key (a [`Key`](crate::Key):
/// `String` unless said otherwise).
pub type KeyedStream<V, K = String> = Stream<(K, V)>;

impl<T> Clone for Stream<T> {
    fn clone(&self) -> Self {
        Stream {
            graph: self.graph.clone(),
            port: self.port,
            _items: PhantomData,
        }
    }
}

impl<T: Data> Stream<T> {
    pub(crate) fn from_port(graph: Rc<RefCell<Graph>>, port: PortId) -> Self {
        Stream {
            graph,
            port,
            _items: PhantomData,
        }
    }

    pub(crate) fn port(&self) -> PortId {
        self.port
    }

    pub(crate) fn graph(&self) -> &Rc<RefCell<Graph>> {
        &self.graph
    }

    /// Adds a step with this stream as its only input and one output, built by `build`.
    pub(crate) fn unary_step<U: Data>(
        &self,
        step_id: &str,
        kind: &'static str,
        build: impl for<'s> Fn(&StepCtx, StreamVec<'s, Time, T>) -> StreamVec<'s, Time, U> + Send + Sync + 'static,
    ) -> Stream<U> {
        self.add_unary(
            step_id,
            kind,
            None,
            EventTimeRole::Unrelated,
            move |ctx, input| build(ctx.step(), input),
        )
    }

    /// [`unary_step`](Self::unary_step) with the whole build context (to build extra
    /// operators in the step's scope).
    pub(crate) fn unary_step_ctx<U: Data>(
        &self,
        step_id: &str,
        kind: &'static str,
        build: impl for<'s> Fn(&mut BuildCtx<'s>, StreamVec<'s, Time, T>) -> StreamVec<'s, Time, U>
        + Send
        + Sync
        + 'static,
    ) -> Stream<U> {
        self.add_unary(step_id, kind, None, EventTimeRole::Unrelated, build)
    }

    fn add_unary<U: Data>(
        &self,
        step_id: &str,
        kind: &'static str,
        keyed_state: Option<KeyRoute>,
        event_time: EventTimeRole,
        build: impl for<'s> Fn(&mut BuildCtx<'s>, StreamVec<'s, Time, T>) -> StreamVec<'s, Time, U>
        + Send
        + Sync
        + 'static,
    ) -> Stream<U> {
        let spec = StepSpec {
            keyed_state,
            event_time,
            ..StepSpec::plain(kind, vec![self.port], 1)
        };
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let input = ctx.input::<T>(0);
            let output = build(ctx, input);
            ctx.set_output(0, output);
        });
        add_step(&self.graph, step_id, spec, build)
            .pop()
            .expect("one output was declared")
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Adds a step with keyed state (snapshotted per key by recovery) built by `build`, which
    /// sees the whole build context (to register its snapshot stream); `event_time` says
    /// whether it acts on the watermark (then a clocked input must be upstream).
    pub(crate) fn keyed_state_step<U: Data>(
        &self,
        step_id: &str,
        kind: &'static str,
        event_time: EventTimeRole,
        build: impl for<'s> Fn(&mut BuildCtx<'s>, StreamVec<'s, Time, (K, V)>) -> StreamVec<'s, Time, U>
        + Send
        + Sync
        + 'static,
    ) -> Stream<U> {
        let route = Some(route_stored::<K> as KeyRoute);
        self.add_unary(step_id, kind, route, event_time, build)
    }
}
