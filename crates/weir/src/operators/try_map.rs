//! `try_map`: transform every item, sending failures to their own stream.

use crate::operators::split::{Side, split_step};
use crate::{Data, Stream};

/// The two outputs of [`Stream::try_map`].
pub struct Attempts<U, E> {
    /// What `f` returned for the items it took.
    pub ok: Stream<U>,
    /// The errors of the items it refused (a message that does not decode, say), for the
    /// flow to count, log or write somewhere: they do not stop it.
    pub errors: Stream<E>,
}

impl<T: Data> Stream<T> {
    /// Transforms every item with `f`; an `Err` goes to the `errors` stream instead of
    /// stopping the dataflow (per-message decode errors).
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("decode");
    /// let (numbers, errors) = (TestingSink::new(), TestingSink::new());
    /// let lines = vec!["1".to_string(), "x".to_string(), "3".to_string()];
    /// let attempts = flow.input("in", TestingSource::new(lines))
    ///     .try_map("parse", |line: String| line.parse::<u32>().map_err(|e| format!("{line:?}: {e}")));
    /// attempts.ok.output("numbers", numbers.clone());
    /// attempts.errors.output("errors", errors.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(numbers.sorted(), vec![1, 3]);
    /// assert_eq!(errors.items(), vec!["\"x\": invalid digit found in string".to_string()]);
    /// ```
    pub fn try_map<U: Data, E: Data>(
        &self,
        step_id: &str,
        f: impl Fn(T) -> Result<U, E> + Send + Sync + 'static,
    ) -> Attempts<U, E> {
        let (ok, errors) = split_step(self, step_id, "try_map", move |item| match f(item) {
            Ok(value) => Side::First(value),
            Err(err) => Side::Second(err),
        });
        Attempts { ok, errors }
    }
}
