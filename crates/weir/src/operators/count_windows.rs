//! `sliding_window` and `partition`: windows by count, per key (streamz's
//! `sliding_window(n)` and `partition(n)`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::dataflow::KeyedStream;
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key};

/// A key's last values (sliding) or its values since the last emitted group (partition).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Recent<V>(VecDeque<V>);

struct Sliding<V> {
    size: usize,
    partial: bool,
    recent: Recent<V>,
}

impl<V: Data> KeyedProcess for Sliding<V> {
    type In = V;
    type Out = Vec<V>;
    type State = Recent<V>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Vec<V>>, value: V) -> Retention {
        let recent = &mut self.recent.0;
        recent.push_back(value);
        if recent.len() > self.size {
            recent.pop_front();
        }
        if self.partial || recent.len() == self.size {
            ctx.emit(recent.iter().cloned().collect());
        }
        Retention::Keep
    }

    fn snapshot(&self) -> Recent<V> {
        self.recent.clone()
    }
}

struct Groups<V> {
    size: usize,
    group: Recent<V>,
}

impl<V: Data> KeyedProcess for Groups<V> {
    type In = V;
    type Out = Vec<V>;
    type State = Recent<V>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Vec<V>>, value: V) -> Retention {
        self.group.0.push_back(value);
        if self.group.0.len() < self.size {
            return Retention::Keep;
        }
        ctx.emit(self.group.0.drain(..).collect());
        Retention::Discard
    }

    /// The last, shorter group is emitted at the end of the input: nothing is dropped.
    fn on_eof(&mut self, ctx: &mut Ctx<'_, Vec<V>>) -> Retention {
        ctx.emit(self.group.0.drain(..).collect());
        Retention::Discard
    }

    fn snapshot(&self) -> Recent<V> {
        self.group.clone()
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// After every value, emits the key's last `size` values, oldest first; with
    /// `partial`, also the shorter lists before the key has `size` values.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("pairs");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 3]))
    ///     .key_on("all", |_: &i32| ())
    ///     .sliding_window("last_two", 2, false)
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![vec![1, 2], vec![2, 3]]);
    /// ```
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn sliding_window(&self, step_id: &str, size: usize, partial: bool) -> KeyedStream<Vec<V>, K> {
        assert!(size > 0, "a sliding window holds at least one value");
        self.process_as(step_id, "sliding_window", move |resume: Option<Recent<V>>| {
            Sliding {
                size,
                partial,
                recent: resume.unwrap_or(Recent(VecDeque::new())),
            }
        })
    }

    /// Groups each key's values into lists of `size`, emitted when full; the last, shorter
    /// list at the end of the input.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("groups");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![1, 2, 3]))
    ///     .key_on("all", |_: &i32| ())
    ///     .partition("by_two", 2)
    ///     .key_rm("unkey")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![vec![1, 2], vec![3]]);
    /// ```
    ///
    /// # Panics
    /// If `size` is 0.
    pub fn partition(&self, step_id: &str, size: usize) -> KeyedStream<Vec<V>, K> {
        assert!(size > 0, "a group holds at least one value");
        self.process_as(step_id, "partition", move |resume: Option<Recent<V>>| Groups {
            size,
            group: resume.unwrap_or(Recent(VecDeque::new())),
        })
    }
}
