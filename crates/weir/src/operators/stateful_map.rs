//! `stateful_map`: map each value with the state of its key.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::{Retention, StatefulLogic};

/// The per-key logic of [`KeyedStream::stateful_map`] and
/// [`KeyedStream::stateful_flat_map`]: the key's state and the user function.
pub struct MapWithState<V, S, I, F> {
    pub(crate) state: Option<S>,
    pub(crate) mapper: Arc<F>,
    pub(crate) _types: PhantomData<fn(V) -> I>,
}

impl<V, S, I, F> StatefulLogic for MapWithState<V, S, I, F>
where
    V: 'static,
    S: Data,
    F: Fn(Option<S>, V) -> (Option<S>, I) + 'static,
    I: IntoIterator + 'static,
{
    type In = V;
    type Out = I::Item;
    type State = S;

    fn on_item(&mut self, value: V, out: &mut Vec<I::Item>) -> Retention {
        let (state, emitted) = (self.mapper)(self.state.take(), value);
        out.extend(emitted);
        self.state = state;
        if self.state.is_some() {
            Retention::Keep
        } else {
            Retention::Discard
        }
    }

    fn snapshot(&self) -> S {
        self.state
            .clone()
            .expect("a key without state is discarded, never snapshotted")
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Maps each value with its key's state: `mapper(state, value) -> (new_state, output)`.
    /// Returning `None` as the new state forgets the key.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("running");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![5, 1, 4]))
    ///     .key_on("all", |_: &u64| "all".to_string())
    ///     .stateful_map("max_so_far", |max: Option<u64>, x: u64| {
    ///         let max = max.map_or(x, |m| m.max(x));
    ///         (Some(max), max)
    ///     })
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// let all = |n| ("all".to_string(), n);
    /// assert_eq!(out.items(), vec![all(5), all(5), all(5)]);
    /// ```
    pub fn stateful_map<S: Data, W: Data>(
        &self,
        step_id: &str,
        mapper: impl Fn(Option<S>, V) -> (Option<S>, W) + Send + Sync + 'static,
    ) -> KeyedStream<W, K> {
        self.stateful_flat_map(step_id, move |state, value| {
            let (state, out) = mapper(state, value);
            (state, Some(out))
        })
    }
}
