//! The timely timestamp of every weir dataflow: an epoch and an event-time watermark.
//!
//! `Time = Product<Epoch, u64>`, ordered as a product (both coordinates). The epoch is the
//! unit of snapshots and output commits; the inner coordinate is a lower bound on the event
//! time of every item an upstream clocked source can still emit, so timely's progress
//! tracking carries each source partition's watermark to every downstream worker — in
//! order with the items read before it, since an item is never sent at a time whose inner
//! coordinate exceeds its source's watermark. Sources without an event clock hold the
//! inner coordinate at its maximum ("no bound from me").

use timely::order::Product;
use timely::progress::Stamp;

use crate::{Epoch, Timestamp};

/// The timestamp every item of a weir dataflow carries.
pub(crate) type Time = Product<Epoch, u64>;

/// The inner coordinate of a watermark: order-preserving (`i64::MIN` → 0, `i64::MAX` →
/// `u64::MAX`).
pub(crate) fn encode_watermark(ts: Timestamp) -> u64 {
    (ts as u64) ^ (1 << 63)
}

/// The watermark an inner coordinate stands for.
pub(crate) fn decode_watermark(inner: u64) -> Timestamp {
    (inner ^ (1 << 63)) as Timestamp
}

/// Whether `watermark` has passed event time `ts`: no on-time item at or before `ts` can
/// still arrive. The end of time (`Timestamp::MAX`, all input ended) passes everything,
/// an item stamped `Timestamp::MAX` included.
pub(crate) fn passed(watermark: Timestamp, ts: Timestamp) -> bool {
    ts < watermark || watermark == Timestamp::MAX
}

/// The time of epoch `epoch` under watermark coordinate `inner`.
pub(crate) fn at(epoch: Epoch, inner: u64) -> Time {
    Product::new(epoch, inner)
}

/// The epoch of a received batch (weir sends every batch under one time).
pub(crate) fn received_epoch(stamp: &Stamp<Time>) -> Epoch {
    stamp
        .iter()
        .map(|t| t.outer)
        .min()
        .expect("weir sends every batch under a capability")
}

/// The earliest epoch a frontier can still deliver (`None`: the input ended).
pub(crate) fn frontier_epoch(frontier: &[Time]) -> Option<Epoch> {
    frontier.iter().map(|t| t.outer).min()
}

/// The watermark of a frontier: no item sent at a lower inner coordinate can still arrive
/// (`Timestamp::MAX` once the input ended).
pub(crate) fn frontier_watermark(frontier: &[Time]) -> Timestamp {
    frontier
        .iter()
        .map(|t| decode_watermark(t.inner))
        .min()
        .unwrap_or(Timestamp::MAX)
}

/// The greatest time below every element of a frontier (`None`: the input ended). An
/// operator that holds one capability downgrades it to this.
pub(crate) fn frontier_meet(frontier: &[Time]) -> Option<Time> {
    let epoch = frontier_epoch(frontier)?;
    let inner = frontier.iter().map(|t| t.inner).min()?;
    Some(at(epoch, inner))
}

/// The watermark coordinates of batches an operator received but has not applied yet.
///
/// Once a batch is received, timely's frontier no longer counts it; an operator that queues
/// batches (later epochs wait for earlier ones) must hold its watermark at the least of
/// them itself, so that the watermark its logic sees never passes an item not yet applied.
#[derive(Default)]
pub(crate) struct QueuedWatermarks {
    counts: std::collections::BTreeMap<u64, usize>,
}

impl QueuedWatermarks {
    pub(crate) fn add(&mut self, inner: u64) {
        *self.counts.entry(inner).or_default() += 1;
    }

    pub(crate) fn remove(&mut self, inner: u64) {
        if let Some(count) = self.counts.get_mut(&inner) {
            *count -= 1;
            if *count == 0 {
                self.counts.remove(&inner);
            }
        }
    }

    /// Where the operator's capabilities may go under a frontier whose meet is `meet`: not
    /// past a queued batch's watermark, so outputs derived from it are not sent behind a
    /// watermark that passed it.
    pub(crate) fn hold(&self, meet: Time) -> Time {
        let queued = self.counts.keys().next().copied().unwrap_or(u64::MAX);
        at(meet.outer, meet.inner.min(queued))
    }

    /// The watermark under `frontier`, held back by the queued batches.
    pub(crate) fn watermark(&self, frontier: &[Time]) -> Timestamp {
        let queued = self
            .counts
            .keys()
            .next()
            .map_or(Timestamp::MAX, |inner| decode_watermark(*inner));
        frontier_watermark(frontier).min(queued)
    }
}

/// The watermark coordinate of a received batch.
pub(crate) fn received_inner(stamp: &Stamp<Time>) -> u64 {
    stamp
        .iter()
        .map(|t| t.inner)
        .min()
        .expect("weir sends every batch under a capability")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watermark_coordinates_keep_the_order_of_timestamps() {
        let stamps = [
            Timestamp::MIN,
            -1_000,
            -1,
            0,
            1,
            1_700_000_000_000,
            Timestamp::MAX,
        ];
        for pair in stamps.windows(2) {
            assert!(encode_watermark(pair[0]) < encode_watermark(pair[1]));
        }
        for ts in stamps {
            assert_eq!(decode_watermark(encode_watermark(ts)), ts);
        }
        assert_eq!(encode_watermark(Timestamp::MAX), u64::MAX);
    }

    #[test]
    fn a_frontier_bounds_epochs_and_watermarks_separately() {
        let frontier = [at(5, encode_watermark(100)), at(6, encode_watermark(50))];
        assert_eq!(frontier_epoch(&frontier), Some(5));
        assert_eq!(frontier_watermark(&frontier), 50);
        assert_eq!(frontier_meet(&frontier), Some(at(5, encode_watermark(50))));
        assert_eq!(frontier_epoch(&[]), None);
        assert_eq!(frontier_watermark(&[]), Timestamp::MAX);
    }
}
