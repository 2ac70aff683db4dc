//! Entering a view from a keyed stream: the boundary steps. Each is a stateful step whose
//! per-key state is the key's consolidated contents (`views/contents.rs`): an item updates
//! them and emits the difference as updates stamped with the item's epoch.

use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::dataflow::KeyedStream;
use crate::dataflow::flow::EventTimeRole;
use crate::engine::{BuildCtx, Time, at, received_epoch};
use crate::operators::keyed_core::keyed_state_operator;
use crate::views::contents::{Bag, Contents, Row, ViewInput};
use crate::views::view::Update;
use crate::views::{View, ViewData};
use crate::{Data, Key};

impl<K: Key, V: ViewData> KeyedStream<Option<V>, K> {
    /// This stream as a table: `Some(value)` upserts the key's one value, `None` deletes it.
    /// Within an epoch the last write of a key wins (in the order its items arrive, which
    /// is its partition's order).
    ///
    /// A stateful step: with recovery, each key's value is snapshotted at epoch ends, and
    /// on resume the view is recomputed from them.
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::views::Change;
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("table");
    /// let out = TestingSink::new();
    /// let writes = vec![(1u64, Some("a".to_string())), (1, Some("b".to_string())), (2, Some("c".to_string())), (2, None)];
    /// flow.input("in", TestingSource::new(writes))
    ///     .as_table("table")
    ///     .changelog("changes")
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// // One epoch: only its net change leaves the view.
    /// assert_eq!(out.items(), [Change { key: 1, value: "b".to_string(), diff: 1 }]);
    /// ```
    pub fn as_table(&self, step_id: &str) -> View<K, V> {
        enter::<K, V, Row<V>, _>(self, step_id, "view_table", |write| write)
    }
}

impl<K: Key, V: ViewData> KeyedStream<V, K> {
    /// This stream as a collection of insertions: each item adds one record.
    pub fn as_collection(&self, step_id: &str) -> View<K, V> {
        enter::<K, V, Bag<V>, _>(self, step_id, "view_collection", |value| (value, 1))
    }
}

impl<K: Key, V: ViewData> KeyedStream<(V, isize), K> {
    /// This stream as explicit changes: `(value, diff)` adds `diff` records `(key, value)`
    /// (a negative `diff` removes them).
    pub fn as_changes(&self, step_id: &str) -> View<K, V> {
        enter::<K, V, Bag<V>, _>(self, step_id, "view_changes", |change| change)
    }
}

/// Adds the boundary step: the stateful core over `C` contents (each received item made a
/// `C` item by `item`), then its updates stamped.
fn enter<K: Key, V: ViewData, C, In: Data>(
    stream: &KeyedStream<In, K>,
    step_id: &str,
    kind: &'static str,
    item: fn(In) -> C::Item,
) -> View<K, V>
where
    C: Contents<V>,
    C::Item: Data,
{
    let updates = stream.keyed_state_step(step_id, kind, EventTimeRole::Unclocked, move |ctx, input| {
        let state = |snapshotting| ViewInput::<K, V, C, In>::new(snapshotting, item);
        let changes = keyed_state_operator(ctx, input, state);
        stamp(ctx, changes)
    });
    View::from_updates(updates)
}

/// Turns `(key, (value, diff))` items into updates at `(epoch, u64::MAX)`: views ignore
/// the watermark coordinate, so their times are ordered by epoch alone.
fn stamp<'s, K: Data, V: Data>(
    ctx: &BuildCtx<'s>,
    changes: StreamVec<'s, Time, (K, (V, isize))>,
) -> StreamVec<'s, Time, Update<K, V>> {
    let name = format!("{}_updates", ctx.step().id);
    changes.unary::<CapacityContainerBuilder<Vec<Update<K, V>>>, _, _, _>(Pipeline, &name, |_, _| {
        move |input, output| {
            input.for_each(|cap, data| {
                let time = at(received_epoch(cap.stamp()), u64::MAX);
                let updates = data
                    .drain(..)
                    .map(|(key, (value, diff))| ((key, value), time, diff));
                output.session(&cap.delayed(&time, 0)).give_iterator(updates);
            });
        }
    })
}
