//! `merge`: combine several streams of the same type into one.

use std::sync::Arc;

use timely::dataflow::operators::core::Concatenate;

use crate::dataflow::flow::{StepSpec, add_step};
use crate::engine::BuildCtx;
use crate::{Data, Stream};

impl<T: Data> Stream<T> {
    /// Interleaves this stream with `others` (no order between them).
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("merge");
    /// let out = TestingSink::new();
    /// let a = flow.input("a", TestingSource::new(vec![1, 2]));
    /// let b = flow.input("b", TestingSource::new(vec![3]));
    /// a.merge("both", &[&b]).output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.sorted(), vec![1, 2, 3]);
    /// ```
    pub fn merge(&self, step_id: &str, others: &[&Stream<T>]) -> Stream<T> {
        let inputs: Vec<usize> = std::iter::once(self.port())
            .chain(others.iter().map(|s| s.port()))
            .collect();
        let count = inputs.len();
        let spec = StepSpec::plain("merge", inputs, 1);
        let build = Arc::new(move |ctx: &mut BuildCtx<'_>| {
            let streams: Vec<_> = (0..count).map(|i| ctx.input::<T>(i)).collect();
            let merged = ctx.scope().concatenate(streams);
            ctx.set_output(0, merged);
        });
        add_step(self.graph(), step_id, spec, build)
            .pop()
            .expect("one output")
    }
}
