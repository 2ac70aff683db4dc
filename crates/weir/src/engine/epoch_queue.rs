//! What an epoch-ordered operator received but has not applied yet, by epoch.
//!
//! Every operator that must see epochs in order — the stateful core, sinks, the per-epoch
//! pre-aggregation and the recovery writer — keeps one of these. Items of the epoch at the
//! input frontier may be applied at once (nothing earlier can still arrive); later epochs
//! wait; an epoch below the frontier is complete.

use std::collections::BTreeMap;

use crate::Epoch;

/// Per-epoch contents `C` (batches, rows, partial aggregates) not yet applied.
pub(crate) struct EpochQueue<C> {
    epochs: BTreeMap<Epoch, C>,
}

impl<C: Default> EpochQueue<C> {
    pub(crate) fn new() -> Self {
        EpochQueue {
            epochs: BTreeMap::new(),
        }
    }

    /// The contents of `epoch`, created empty if absent.
    pub(crate) fn at(&mut self, epoch: Epoch) -> &mut C {
        self.epochs.entry(epoch).or_default()
    }

    /// The earliest queued epoch, if it may be applied under the input `frontier` epoch
    /// (`None`: the input ended, everything may be applied).
    pub(crate) fn first_ready(&mut self, frontier: Option<Epoch>) -> Option<(Epoch, &mut C)> {
        let (epoch, contents) = self.epochs.iter_mut().next()?;
        frontier.is_none_or(|f| *epoch <= f).then_some((*epoch, contents))
    }

    /// Removes the earliest queued epoch.
    pub(crate) fn remove_first(&mut self) {
        self.epochs.pop_first();
    }

    /// Removes and returns, in order, every epoch the input `frontier` epoch has passed
    /// (all of them when the input ended).
    pub(crate) fn take_complete(&mut self, frontier: Option<Epoch>) -> BTreeMap<Epoch, C> {
        match frontier {
            Some(f) => {
                let later = self.epochs.split_off(&f);
                std::mem::replace(&mut self.epochs, later)
            }
            None => std::mem::take(&mut self.epochs),
        }
    }

    /// The latest queued epoch.
    pub(crate) fn last_epoch(&self) -> Option<Epoch> {
        self.epochs.keys().next_back().copied()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.epochs.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frontier_epoch_is_ready_later_ones_wait_earlier_ones_are_complete() {
        let mut queue: EpochQueue<Vec<u32>> = EpochQueue::new();
        queue.at(4).push(40);
        queue.at(3).push(30);
        queue.at(5).push(50);
        assert_eq!(queue.first_ready(Some(2)), None);
        assert_eq!(queue.first_ready(Some(3)), Some((3, &mut vec![30])));
        let complete = queue.take_complete(Some(5));
        assert_eq!(
            complete.into_iter().collect::<Vec<_>>(),
            [(3, vec![30]), (4, vec![40])]
        );
        assert_eq!(queue.last_epoch(), Some(5));
        assert_eq!(queue.first_ready(None), Some((5, &mut vec![50])));
        queue.remove_first();
        assert!(queue.is_empty());
    }
}
