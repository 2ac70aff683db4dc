//! `collect`: gather the values of each key into lists, by size or by time.

use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::Data;
use crate::Key;
use crate::dataflow::KeyedStream;
use crate::operators::{Ctx, KeyedProcess, Retention};

/// The values gathered for one key and when they must be emitted.
#[derive(Serialize, Deserialize)]
pub struct Collecting<V> {
    values: Vec<V>,
    deadline: Option<SystemTime>,
    max_size: usize,
    timeout: Duration,
}

impl<V: Data> KeyedProcess for Collecting<V> {
    type In = V;
    type Out = Vec<V>;
    type State = Collecting<V>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, Vec<V>>, value: V) -> Retention {
        if self.values.is_empty() {
            self.deadline = Some(ctx.now() + self.timeout);
        }
        self.values.push(value);
        if self.values.len() >= self.max_size {
            ctx.emit(std::mem::take(&mut self.values));
            return Retention::Discard;
        }
        Retention::Keep
    }

    fn on_timer(&mut self, ctx: &mut Ctx<'_, Vec<V>>) -> Retention {
        ctx.emit(std::mem::take(&mut self.values));
        Retention::Discard
    }

    fn on_eof(&mut self, ctx: &mut Ctx<'_, Vec<V>>) -> Retention {
        self.on_timer(ctx)
    }

    fn processing_timer(&self) -> Option<SystemTime> {
        self.deadline
    }

    fn snapshot(&self) -> Collecting<V> {
        Collecting {
            values: self.values.clone(),
            deadline: self.deadline,
            max_size: self.max_size,
            timeout: self.timeout,
        }
    }
}

impl<K: Key, V: Data> KeyedStream<V, K> {
    /// Emits the values of each key as a list once `max_size` arrived or `timeout` passed
    /// since the first of them (processing time; the deadline is part of the state).
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("collect");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(1..=5))
    ///     .key_on("one", |_: &u32| "k".to_string())
    ///     .collect("pairs", Duration::from_secs(60), 2)
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// let k = || "k".to_string();
    /// assert_eq!(out.items(), vec![(k(), vec![1, 2]), (k(), vec![3, 4]), (k(), vec![5])]);
    /// ```
    pub fn collect(&self, step_id: &str, timeout: Duration, max_size: usize) -> KeyedStream<Vec<V>, K> {
        let max_size = max_size.max(1);
        self.process_as(step_id, "collect", move |resume: Option<Collecting<V>>| {
            resume.unwrap_or(Collecting {
                values: Vec::new(),
                deadline: None,
                max_size,
                timeout,
            })
        })
    }
}
