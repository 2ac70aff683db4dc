//! `serve`: publish the latest value per key of a keyed stream over HTTP.

use std::sync::Arc;

use serde::Serialize;
use timely::dataflow::operators::vec::Map;

use crate::dataflow::KeyedStream;
use crate::dataflow::flow::EventTimeRole;
use crate::key::route_stored;
use crate::metrics::Table;
use crate::operators::stateful::stateful_operator;
use crate::operators::{Retention, StatefulLogic};
use crate::{Data, Key};

impl<K: Key, V: Data + Serialize> KeyedStream<V, K> {
    /// Publishes the latest value of each key at `GET /state/{step_id}/{key}` (JSON) on the
    /// metrics address (`--metrics-addr`), and every update as a server-sent event at
    /// `/state/{step_id}/updates`; passes the stream on unchanged.
    ///
    /// A key is answered by the process that owns it (keys are spread across workers like
    /// any keyed state); another process redirects there (307). The latest values are the
    /// step's state: with a recovery store they are snapshotted and come back on resume,
    /// served before any new item arrives. (A key whose text is `updates` is only seen in
    /// the updates stream.)
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("served");
    /// let out = TestingSink::new();
    /// flow.input("in", TestingSource::new(vec![("a".to_string(), 1u64), ("a".to_string(), 2)]))
    ///     .serve("latest")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![("a".to_string(), 1), ("a".to_string(), 2)]);
    /// ```
    pub fn serve(&self, step_id: &str) -> KeyedStream<V, K> {
        let name = step_id.to_owned();
        self.keyed_state_step(step_id, "serve", EventTimeRole::Unrelated, move |ctx, input| {
            let table = ctx.step().served_table(&name, route_stored::<K>);
            let builder =
                Arc::new(move |resume: Option<(String, String)>| Latest::new(table.clone(), resume));
            let with_keys = input.map(|(key, value)| {
                let text = key.text();
                (key, (text, value))
            });
            stateful_operator(ctx, with_keys, builder)
        })
    }
}

/// One key's latest value as JSON, with the key's text (so a restored key republishes).
struct Latest<V> {
    table: Arc<Table>,
    latest: Option<(String, String)>,
    _values: std::marker::PhantomData<V>,
}

impl<V> Latest<V> {
    fn new(table: Arc<Table>, resume: Option<(String, String)>) -> Self {
        if let Some((key, value)) = &resume {
            table.publish(key, value.clone());
        }
        Latest {
            table,
            latest: resume,
            _values: std::marker::PhantomData,
        }
    }
}

impl<V: Serialize + 'static> StatefulLogic for Latest<V> {
    type In = (String, V);
    type Out = V;
    type State = (String, String);

    fn on_item(&mut self, (key, value): (String, V), out: &mut Vec<V>) -> Retention {
        let json = serde_json::to_string(&value).unwrap_or_else(|err| {
            let message = serde_json::to_string(&err.to_string()).expect("a string serialises");
            format!("{{\"error\":{message}}}")
        });
        self.table.publish(&key, json.clone());
        self.latest = Some((key, json));
        out.push(value);
        Retention::Keep
    }

    fn snapshot(&self) -> (String, String) {
        self.latest
            .clone()
            .expect("a key's state exists once it had an item")
    }
}
