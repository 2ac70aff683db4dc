//! A keyed step over two inputs: each side's values are tagged and fed to one stateful core.

use std::sync::Arc;

use serde::{Deserialize, Serialize};
use timely::dataflow::StreamVec;
use timely::dataflow::operators::core::Concatenate;
use timely::dataflow::operators::vec::Map;

use crate::dataflow::PortId;
use crate::dataflow::flow::{EventTimeRole, StepSpec};
use crate::engine::{BuildCtx, Time};
use crate::key::route_stored;
use crate::operators::KeyedProcess;
use crate::operators::stateful::stateful_operator;
use crate::{Data, Key, KeyedStream, Stream};

/// A value of the left or the right input of a two-sided step.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) enum Side<L, R> {
    Left(L),
    Right(R),
}

impl<L, R> Side<L, R> {
    /// The left value, if it is one.
    pub(crate) fn into_left(self) -> Option<L> {
        match self {
            Side::Left(l) => Some(l),
            Side::Right(_) => None,
        }
    }

    /// The right value, if it is one.
    pub(crate) fn into_right(self) -> Option<R> {
        match self {
            Side::Left(_) => None,
            Side::Right(r) => Some(r),
        }
    }

    /// The value as a pair with one side set.
    pub(crate) fn into_pair(self) -> (Option<L>, Option<R>) {
        match self {
            Side::Left(l) => (Some(l), None),
            Side::Right(r) => (None, Some(r)),
        }
    }
}

/// The current step's two inputs, tagged by side, as one stream.
pub(crate) fn tagged_inputs<'s, K: Key, L: Data, R: Data>(
    ctx: &mut BuildCtx<'s>,
) -> StreamVec<'s, Time, (K, Side<L, R>)> {
    let lefts = ctx.input::<(K, L)>(0).map(|(k, l)| (k, Side::<L, R>::Left(l)));
    let rights = ctx.input::<(K, R)>(1).map(|(k, r)| (k, Side::<L, R>::Right(r)));
    ctx.scope().concatenate([lefts, rights])
}

/// The spec of a keyed step over `left` and `right`.
pub(crate) fn two_input_spec<K: Key, L: Data, R: Data>(
    left: &KeyedStream<L, K>,
    right: &KeyedStream<R, K>,
    kind: &'static str,
    output_count: usize,
    event_time: EventTimeRole,
) -> StepSpec {
    keyed_spec::<K>(vec![left.port(), right.port()], kind, output_count, event_time)
}

/// The spec of a step keyed by `K` over the streams at `inputs`.
pub(crate) fn keyed_spec<K: Key>(
    inputs: Vec<PortId>,
    kind: &'static str,
    output_count: usize,
    event_time: EventTimeRole,
) -> StepSpec {
    StepSpec {
        keyed_state: Some(route_stored::<K>),
        event_time,
        ..StepSpec::plain(kind, inputs, output_count)
    }
}

/// Adds a step whose per-key `logic` (built by `builder(resume_state)`) sees the values of
/// `left` and `right` as [`Side`]s, in epoch order.
pub(crate) fn two_sided_step<K, L, R, P, B>(
    left: &KeyedStream<L, K>,
    right: &KeyedStream<R, K>,
    step_id: &str,
    kind: &'static str,
    event_time: EventTimeRole,
    builder: B,
) -> KeyedStream<P::Out, K>
where
    K: Key,
    L: Data,
    R: Data,
    P: KeyedProcess<In = Side<L, R>>,
    P::Out: Data,
    B: Fn(Option<P::State>) -> P + Send + Sync + 'static,
{
    let builder = Arc::new(builder);
    let spec = two_input_spec(left, right, kind, 1, event_time);
    let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
        let both = tagged_inputs::<K, L, R>(ctx);
        let out = stateful_operator(ctx, both, builder.clone());
        ctx.set_output(0, out);
    });
    let port = left.graph().borrow_mut().add(step_id, spec, build)[0];
    Stream::from_port(left.graph().clone(), port)
}
