//! Leaving a view: the net changes of each epoch, once the epoch is complete, as
//! `Change`s, `Upsert`s or `ChangeRow`s.

use differential_dataflow::AsCollection;
use differential_dataflow::consolidation::consolidate;
use timely::container::CapacityContainerBuilder;
use timely::dataflow::StreamVec;
use timely::dataflow::channels::pact::{Exchange, Pipeline};
use timely::dataflow::operators::generic::operator::empty;
use timely::dataflow::operators::{Capability, Operator};

use crate::engine::{EpochQueue, StepCtx, Time, at, enter_step, frontier_epoch};
use crate::key::hash_route;
use crate::views::view::Update;
use crate::views::{Change, ChangeRow, Op, Upsert, View, ViewData};
use crate::{Data, Epoch};

/// An epoch's updates waiting for the epoch to complete, and a capability to send its net
/// changes at.
struct Pending<K, V> {
    cap: Option<Capability<Time>>,
    updates: Vec<((K, V), isize)>,
}

impl<K, V> Default for Pending<K, V> {
    fn default() -> Self {
        Pending {
            cap: None,
            updates: Vec::new(),
        }
    }
}

impl<K: ViewData, V: ViewData> View<K, V> {
    /// The view's changelog: at the end of each epoch, its net changes in that epoch, as
    /// [`Change`]s sorted by key and value (changes that cancel out within the epoch are not
    /// reported). Consolidating the whole changelog (adding up the diffs of each record)
    /// gives the view's contents.
    ///
    /// On resume from a recovery store, the view is recomputed from the snapshotted
    /// inputs, and what that recomputation yields for the epochs the crashed run completed
    /// is dropped: the changelog goes on exactly where it stood. (So a changelog step added
    /// to a flow that resumes starts with the changes after the resume point, not with the
    /// view's contents.)
    pub fn changelog(&self, step_id: &str) -> crate::Stream<Change<K, V>> {
        self.updates()
            .unary_step_ctx(step_id, "view_changelog", |ctx, updates| {
                let none = empty(ctx.scope());
                leave(ctx.step(), updates, none, |_, changes, out| {
                    out.extend(
                        changes
                            .into_iter()
                            .map(|((key, value), diff)| Change { key, value, diff }),
                    );
                })
            })
    }

    /// The view's net changes per epoch as upserts, for a system that keeps one value per
    /// key: a key whose value was replaced or inserted is a [`Upsert::Put`], a key whose
    /// value left is a [`Upsert::Delete`]. A key that holds more than one record (two
    /// values, or a value twice) fails the step (checked exactly: the step counts each
    /// key's records); reduce the view to one value per key first.
    pub fn upserts(&self, step_id: &str) -> crate::Stream<Upsert<K, V>> {
        self.updates()
            .unary_step_ctx(step_id, "view_upserts", |ctx, updates| {
                // Keys whose records (values with a positive multiplicity, counted with
                // it) number more than one.
                let crowded = updates
                    .clone()
                    .as_collection()
                    .threshold(|_, count| (*count).max(0))
                    .map(|(key, _)| key)
                    .threshold(|_, count| if *count > 1 { 1 } else { 0 })
                    .inner;
                leave(ctx.step(), updates, crowded, upserts_of)
            })
    }

    /// The view's net changes per epoch in append-only form: one [`ChangeRow`] per record
    /// that entered (`Op::Insert`) or left (`Op::Delete`) the view, repeated for a
    /// multiplicity above one.
    pub fn rows(&self, step_id: &str) -> crate::Stream<ChangeRow<K, V>> {
        self.updates()
            .unary_step_ctx(step_id, "view_rows", |ctx, updates| {
                let none = empty(ctx.scope());
                leave(ctx.step(), updates, none, |_, changes, out| {
                    for ((key, value), diff) in changes {
                        let op = if diff > 0 { Op::Insert } else { Op::Delete };
                        let row = ChangeRow { op, key, value };
                        out.extend(std::iter::repeat_n(row, diff.unsigned_abs()));
                    }
                })
            })
    }
}

/// Turns an epoch's net changes, sorted by key, into one upsert per key: a key whose
/// changes insert one record is a put, one whose changes only delete is a delete, one whose
/// changes insert more than one record fails the step.
fn upserts_of<K: ViewData, V: ViewData>(
    step: &StepCtx,
    changes: Vec<((K, V), isize)>,
    out: &mut Vec<Upsert<K, V>>,
) {
    let mut changes = changes.into_iter().peekable();
    while let Some(((key, value), diff)) = changes.next() {
        let (mut put, mut inserted) = (None, 0);
        let mut apply = |value: V, diff: isize| {
            if diff > 0 {
                inserted += diff;
                put = Some(value);
            }
        };
        apply(value, diff);
        while let Some(((_, value), diff)) = changes.next_if(|((next, _), _)| *next == key) {
            apply(value, diff);
        }
        match (put, inserted) {
            (Some(value), 1) => out.push(Upsert::Put(key, value)),
            (None, _) => out.push(Upsert::Delete(key)),
            (Some(_), _) => step.fail(too_many(&key)),
        }
    }
}

fn too_many<K: std::fmt::Debug>(key: &K) -> crate::BoxError {
    format!(
        "key {key:?} holds more than one record in the view (two values, or a value twice); an \
         upsert keeps one value per key: reduce the view to one value per key first (reduce, \
         distinct, or a key that tells the values apart)"
    )
    .into()
}

/// Holds each epoch's updates until the epoch is complete (and every key of `crowded`, the
/// keys holding more than one record, was checked), then sends `finish` of its net changes
/// at that epoch. Updates of epochs before this execution's first are dropped: they were
/// recomputed from resumed state, and the crashed run emitted them already.
fn leave<'s, K: ViewData, V: ViewData, O: Data>(
    step: &StepCtx,
    updates: StreamVec<'s, Time, Update<K, V>>,
    crowded: StreamVec<'s, Time, (K, Time, isize)>,
    mut finish: impl FnMut(&StepCtx, Vec<((K, V), isize)>, &mut Vec<O>) + 'static,
) -> StreamVec<'s, Time, O> {
    let step = step.clone();
    let first: Epoch = step.start_epoch();
    let route = Exchange::new(|((key, _), _, _): &Update<K, V>| hash_route(key));
    let name = step.id.to_string();
    updates.binary_frontier::<_, CapacityContainerBuilder<Vec<O>>, _, _, _, _>(
        crowded,
        route,
        Pipeline,
        &name,
        move |_, _| {
            let mut pending: EpochQueue<Pending<K, V>> = EpochQueue::new();
            let mut out = Vec::new();
            move |(updates, frontier), (crowded, crowded_frontier), output| {
                let _in_step = enter_step(&step.name);
                updates.for_each(|cap, data| {
                    for (record, time, diff) in data.drain(..) {
                        if time.outer < first {
                            continue;
                        }
                        let epoch = pending.at(time.outer);
                        let at_epoch = at(time.outer, u64::MAX);
                        epoch.cap.get_or_insert_with(|| cap.delayed(&at_epoch, 0));
                        epoch.updates.push((record, diff));
                    }
                });
                crowded.for_each(|_, data| {
                    if let Some((key, _, _)) = data.iter().find(|(_, _, diff)| *diff > 0) {
                        step.fail(too_many(key));
                    }
                });
                if step.has_failed() {
                    // Keep every epoch's capability: nothing more of this run may look done.
                    return;
                }
                let complete = [frontier, crowded_frontier]
                    .into_iter()
                    .filter_map(|f| frontier_epoch(&f.frontier()))
                    .min();
                for (_, mut epoch) in pending.take_complete(complete) {
                    consolidate(&mut epoch.updates);
                    finish(&step, epoch.updates, &mut out);
                    if let Some(cap) = epoch.cap.filter(|_| !out.is_empty()) {
                        output.session(&cap).give_container(&mut out);
                    }
                }
            }
        },
    )
}
