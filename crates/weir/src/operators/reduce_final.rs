//! `reduce_final`: combine the values of each key with an associative function, at the end.

use std::marker::PhantomData;
use std::sync::Arc;

use timely::dataflow::StreamVec;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::dataflow::flow::EventTimeRole;
use crate::engine::BuildCtx;
use crate::engine::Time;
use crate::operators::combine::combine_per_epoch;
use crate::operators::fold_final::Folding;
use crate::operators::stateful::stateful_operator;

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
        let reducer = Arc::new(reducer);
        self.keyed_state_step(
            step_id,
            "reduce_final",
            EventTimeRole::Unrelated,
            move |ctx, input| reduce_core(ctx, input, |v| v, reducer.clone()),
        )
    }
}

/// Lifts each value into an accumulator, pre-combines per worker and epoch, then reduces
/// per key after the exchange.
pub(crate) fn reduce_core<'s, K, V, A, R>(
    ctx: &mut BuildCtx<'s>,
    input: StreamVec<'s, Time, (K, V)>,
    lift: impl Fn(V) -> A + 'static,
    reducer: Arc<R>,
) -> StreamVec<'s, Time, (K, A)>
where
    K: Key,
    V: Data,
    A: Data,
    R: Fn(A, A) -> A + Send + Sync + 'static,
{
    let combined = combine_per_epoch(ctx.step(), input, lift, reducer.clone());
    // The first value of a key becomes its accumulator.
    let folder = Arc::new(move |acc: Option<A>, value: A| {
        Some(match acc {
            Some(acc) => reducer(acc, value),
            None => value,
        })
    });
    let builder = Arc::new(move |resume: Option<Option<A>>| Folding {
        acc: Some(resume.flatten()),
        folder: folder.clone(),
        _input: PhantomData,
    });
    let flattened = stateful_operator(ctx, combined, builder);
    crate::operators::per_batch::per_batch(ctx.step(), flattened, |data: &mut Vec<(K, Option<A>)>, out| {
        out.extend(data.drain(..).filter_map(|(key, value)| value.map(|v| (key, v))))
    })
}
