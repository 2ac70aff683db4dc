//! `reduce_final`: combine the values of each key with an associative function, at the end.

use std::sync::Arc;

use timely::dataflow::StreamVec;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::dataflow::flow::EventTimeRole;
use crate::engine::BuildCtx;
use crate::engine::Time;
use crate::operators::combine::combine_per_epoch;
use crate::operators::stateful::stateful_operator;
use crate::operators::{Retention, StatefulLogic};

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Combines each key's values with `reducer` and emits one `(key, result)` per key when
    /// the input ends. `reducer` must be associative: values are pre-combined on each worker
    /// per epoch before they cross the network.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("sum");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 1), ("a".to_string(), 2)]))
    ///     .reduce_final("sum", |x: i32, y| x + y)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("a".to_string(), 3)]);
    /// ```
    pub fn reduce_final(
        &self,
        step_id: &str,
        reducer: impl Fn(V, V) -> V + Send + Sync + 'static,
    ) -> KeyedStream<V, K> {
        self.reduce_final_leaving(step_id, reducer, |_, _| false)
    }

    /// `reduce_final` where `leaves(acc, value)` says that reducing `acc` with `value` gives
    /// `acc` back exactly (nothing new to snapshot).
    pub(crate) fn reduce_final_leaving(
        &self,
        step_id: &str,
        reducer: impl Fn(V, V) -> V + Send + Sync + 'static,
        leaves: impl Fn(&V, &V) -> bool + Send + Sync + 'static,
    ) -> KeyedStream<V, K> {
        let (reducer, leaves) = (Arc::new(reducer), Arc::new(leaves));
        self.keyed_state_step(
            step_id,
            "reduce_final",
            EventTimeRole::Unrelated,
            move |ctx, input| {
                let leaves = leaves.clone();
                reduce_core(
                    ctx,
                    input,
                    |v| v,
                    reducer.clone(),
                    move |acc: &V, v: &V| leaves(acc, v),
                )
            },
        )
    }
}

/// The per-key logic of `reduce_core`: the accumulator (`None` until the first value), the
/// reducer, and whether a value leaves an accumulator exactly as it is (then the key is
/// not snapshotted again).
struct Reducing<A, R, L> {
    acc: Option<A>,
    reducer: Arc<R>,
    leaves: Arc<L>,
}

impl<A, R, L> StatefulLogic for Reducing<A, R, L>
where
    A: Data,
    R: Fn(A, A) -> A + 'static,
    L: Fn(&A, &A) -> bool + 'static,
{
    type In = A;
    type Out = A;
    type State = Option<A>;

    fn on_item(&mut self, value: A, _out: &mut Vec<A>) -> Retention {
        match self.acc.take() {
            Some(acc) if (self.leaves)(&acc, &value) => {
                self.acc = Some(acc);
                Retention::Unchanged
            }
            Some(acc) => {
                self.acc = Some((self.reducer)(acc, value));
                Retention::Keep
            }
            None => {
                self.acc = Some(value);
                Retention::Keep
            }
        }
    }

    fn on_eof(&mut self, out: &mut Vec<A>) -> Retention {
        out.extend(self.acc.take());
        Retention::Discard
    }

    fn snapshot(&self) -> Option<A> {
        self.acc.clone()
    }
}

/// Lifts each value into an accumulator, pre-combines per worker and epoch, then reduces
/// per key after the exchange. `leaves(acc, value)`: reducing `acc` with `value` gives
/// `acc` back exactly (a maximum not beaten), so the key has nothing new to snapshot.
pub(crate) fn reduce_core<'s, K, V, A, R>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Time, (K, V)>,
    lift: impl Fn(V) -> A + 'static,
    reducer: Arc<R>,
    leaves: impl Fn(&A, &A) -> bool + Send + Sync + 'static,
) -> StreamVec<'s, Time, (K, A)>
where
    K: Key,
    V: Data,
    A: Data,
    R: Fn(A, A) -> A + Send + Sync + 'static,
{
    let combined = combine_per_epoch(ctx.step(), input, lift, reducer.clone());
    let leaves = Arc::new(leaves);
    let builder = Arc::new(move |resume: Option<Option<A>>| Reducing {
        acc: resume.flatten(),
        reducer: reducer.clone(),
        leaves: leaves.clone(),
    });
    stateful_operator(ctx, combined, builder)
}
