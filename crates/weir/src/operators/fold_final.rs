//! `fold_final`: fold the values of each key and emit the result when the input ends.

use std::marker::PhantomData;
use std::sync::Arc;

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::{Retention, StatefulLogic};

/// The per-key logic of [`KeyedStream::fold_final`]: the accumulator (always `Some`
/// between calls) and the folder.
pub struct Folding<V, S, F> {
    pub(crate) acc: Option<S>,
    pub(crate) folder: Arc<F>,
    pub(crate) _input: PhantomData<fn(V)>,
}

impl<V: 'static, S: Data, F: Fn(S, V) -> S + 'static> StatefulLogic for Folding<V, S, F> {
    type In = V;
    type Out = S;
    type State = S;

    fn on_item(&mut self, value: V, _out: &mut Vec<S>) -> Retention {
        let acc = self
            .acc
            .take()
            .expect("the accumulator is put back after every call");
        self.acc = Some((self.folder)(acc, value));
        Retention::Keep
    }

    fn on_eof(&mut self, out: &mut Vec<S>) -> Retention {
        out.extend(self.acc.take());
        Retention::Discard
    }

    fn snapshot(&self) -> S {
        self.acc
            .clone()
            .expect("the accumulator is put back after every call")
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Folds each key's values into an accumulator starting at `init()`; emits one
    /// `(key, accumulator)` per key when the input ends.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("fold");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(["b", "a", "b"].map(String::from)))
    ///     .key_on("self", |s: &String| s.clone())
    ///     .fold_final("concat", String::new, |acc: String, s: String| acc + &s)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![("a".into(), "a".into()), ("b".into(), "bb".into())]);
    /// ```
    pub fn fold_final<S: Data>(
        &self,
        step_id: &str,
        init: impl Fn() -> S + Send + Sync + 'static,
        folder: impl Fn(S, V) -> S + Send + Sync + 'static,
    ) -> KeyedStream<S, K> {
        let folder = Arc::new(folder);
        self.stateful(step_id, move |resume: Option<S>| Folding {
            acc: Some(resume.unwrap_or_else(&init)),
            folder: folder.clone(),
            _input: PhantomData,
        })
    }
}
