//! Streams of one worker's dataflow under construction, indexed by port.
//!
//! Timely streams borrow their scope (`StreamVec<'s, ..>`), so they cannot be stored as
//! `Box<dyn Any>` (which needs `'static`). The table stores each stream type-erased with its
//! item `TypeId` and casts back after checking it; this is the only `unsafe` in weir.

use std::any::TypeId;

use timely::dataflow::StreamVec;

use crate::Data;
use crate::dataflow::PortId;
use crate::engine::time::Time;

/// Any value; used only to own a type-erased stream.
trait Erased {}
impl<X> Erased for X {}

struct Slot<'s> {
    item_type: TypeId,
    item_type_name: &'static str,
    stream: Box<dyn Erased + 's>,
}

/// The built stream of every port so far.
pub(crate) struct PortTable<'s> {
    slots: Vec<Option<Slot<'s>>>,
}

impl<'s> PortTable<'s> {
    pub(crate) fn new(port_count: usize) -> Self {
        PortTable {
            slots: (0..port_count).map(|_| None).collect(),
        }
    }

    pub(crate) fn insert<T: Data>(&mut self, port: PortId, stream: StreamVec<'s, Time, T>) {
        self.slots[port] = Some(Slot {
            item_type: TypeId::of::<T>(),
            item_type_name: std::any::type_name::<T>(),
            stream: Box::new(stream),
        });
    }

    pub(crate) fn get<T: Data>(&self, port: PortId) -> StreamVec<'s, Time, T> {
        let slot = self.slots[port]
            .as_ref()
            .expect("steps are built in the order they were added, so inputs exist");
        assert_eq!(
            slot.item_type,
            TypeId::of::<T>(),
            "port {port} holds {} but {} was asked for",
            slot.item_type_name,
            std::any::type_name::<T>()
        );
        let erased: *const (dyn Erased + 's) = &*slot.stream;
        // SAFETY: `insert` is the only writer of slots and boxed a `StreamVec<'s, Time, X>`
        // with `item_type == TypeId::of::<X>()`; the assertion above proves `X == T`, so the
        // box holds a `StreamVec<'s, Time, T>` and the thin pointer cast points at one.
        let stream = unsafe { &*(erased as *const StreamVec<'s, Time, T>) };
        stream.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Epoch;
    use timely::dataflow::operators::vec::ToStream;

    #[test]
    fn returns_the_stream_it_was_given() {
        timely::execute_directly(|worker| {
            worker.dataflow::<Epoch, _, _>(|top| {
                top.scoped::<Time, _, _>("t", |scope| {
                    let mut table = PortTable::new(1);
                    table.insert::<u32>(0, (0..3u32).to_stream(scope));
                    let _again: StreamVec<'_, Time, u32> = table.get::<u32>(0);
                })
            });
        });
    }

    #[test]
    #[should_panic(expected = "holds u32")]
    fn refuses_the_wrong_type() {
        timely::execute_directly(|worker| {
            worker.dataflow::<Epoch, _, _>(|top| {
                top.scoped::<Time, _, _>("t", |scope| {
                    let mut table = PortTable::new(1);
                    table.insert::<u32>(0, (0..3u32).to_stream(scope));
                    let _wrong = table.get::<String>(0);
                })
            });
        });
    }
}
