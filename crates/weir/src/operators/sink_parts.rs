//! What the sink operator writes through: one worker's partitions of a sink (a dynamic
//! sink's one partition, or the owned partitions of a partitioned sink).

use std::collections::{BTreeSet, HashMap, VecDeque};
use std::sync::Arc;

use crate::ids::PartIndex;
use crate::outputs::{FixedPartitionedSink, StatefulSinkPartition, StatelessSinkPartition};
use crate::recovery::{SnapshotRow, encode};
use crate::{BoxError, Epoch, Error};

/// What the sink operator writes through: one worker's partitions of a sink.
pub(crate) trait SinkParts<T> {
    /// Writes a batch of items of `epoch`.
    fn write(&mut self, epoch: Epoch, items: Vec<T>) -> Result<(), BoxError>;
    /// The resume states of the partitions written since the last call, at the end of
    /// `epoch`.
    fn snapshot(&mut self, step: &str, epoch: Epoch) -> Result<Vec<SnapshotRow>, BoxError>;
    /// Without a recovery store: `epoch` ended, and what the partitions wrote in it is final.
    fn finalize(&mut self, epoch: Epoch) -> Result<(), BoxError>;
    /// Every snapshot of epochs `<= through` is durable on every worker.
    fn durable(&mut self, through: Epoch) -> Result<(), BoxError>;
    /// Whether a snapshot still waits to be durable.
    fn awaiting_durability(&self) -> bool;
    /// Closes every partition at the end of the input.
    fn close(&mut self) -> Result<(), BoxError>;
}

pub(crate) struct DynamicPart<P>(pub Option<P>);

impl<P: StatelessSinkPartition> SinkParts<P::Item> for DynamicPart<P> {
    fn write(&mut self, _: Epoch, items: Vec<P::Item>) -> Result<(), BoxError> {
        self.0.as_mut().map_or(Ok(()), |p| p.write_batch(items))
    }
    fn snapshot(&mut self, _: &str, _: Epoch) -> Result<Vec<SnapshotRow>, BoxError> {
        Ok(Vec::new())
    }
    fn finalize(&mut self, _: Epoch) -> Result<(), BoxError> {
        Ok(())
    }
    fn durable(&mut self, _: Epoch) -> Result<(), BoxError> {
        Ok(())
    }
    fn awaiting_durability(&self) -> bool {
        false
    }
    fn close(&mut self) -> Result<(), BoxError> {
        self.0.as_mut().map_or(Ok(()), |p| p.close())
    }
}

pub(crate) struct FixedParts<S: FixedPartitionedSink> {
    sink: Arc<S>,
    /// The partitions this worker owns: their names and open partitions.
    parts: HashMap<PartIndex, (String, S::Partition)>,
    part_count: usize,
    /// Partitions written since the last snapshot.
    written: BTreeSet<PartIndex>,
    by_part: HashMap<PartIndex, Vec<S::Item>>,
    /// Snapshots taken, by epoch, not yet durable.
    awaiting: VecDeque<EpochStates<S::State>>,
}

/// The states an epoch's snapshot recorded, per partition.
type EpochStates<S> = (Epoch, Vec<(PartIndex, S)>);

impl<S: FixedPartitionedSink> FixedParts<S> {
    /// The partitions of `sink` (of `part_count` in all) that this worker owns.
    pub(crate) fn new(
        sink: Arc<S>,
        parts: HashMap<PartIndex, (String, S::Partition)>,
        part_count: usize,
    ) -> Self {
        FixedParts {
            sink,
            parts,
            part_count,
            written: BTreeSet::new(),
            by_part: HashMap::new(),
            awaiting: VecDeque::new(),
        }
    }
}

impl<S: FixedPartitionedSink> SinkParts<(String, S::Item)> for FixedParts<S> {
    fn write(&mut self, epoch: Epoch, items: Vec<(String, S::Item)>) -> Result<(), BoxError> {
        for (key, value) in items {
            let index = PartIndex(self.sink.part_fn(&key) % self.part_count);
            self.by_part.entry(index).or_default().push(value);
        }
        for (index, values) in self.by_part.iter_mut().filter(|(_, v)| !v.is_empty()) {
            let Some((_, part)) = self.parts.get_mut(index) else {
                return Err(Box::new(Error::Internal(format!(
                    "an item for sink partition {index:?} reached a worker that does not own it"
                ))));
            };
            part.write_epoch(epoch, std::mem::take(values))?;
            self.written.insert(*index);
        }
        Ok(())
    }

    fn snapshot(&mut self, step: &str, epoch: Epoch) -> Result<Vec<SnapshotRow>, BoxError> {
        let mut states = Vec::with_capacity(self.written.len());
        let mut rows = Vec::with_capacity(self.written.len());
        for index in std::mem::take(&mut self.written) {
            let (name, part) = self
                .parts
                .get_mut(&index)
                .expect("only owned partitions are written");
            let state = part.snapshot()?;
            rows.push((step.to_owned(), name.clone(), Some(encode(&state)?)));
            states.push((index, state));
        }
        if !states.is_empty() {
            self.awaiting.push_back((epoch, states));
        }
        Ok(rows)
    }

    fn finalize(&mut self, epoch: Epoch) -> Result<(), BoxError> {
        for index in std::mem::take(&mut self.written) {
            let (_, part) = self
                .parts
                .get_mut(&index)
                .expect("only owned partitions are written");
            part.on_final(epoch)?;
        }
        Ok(())
    }

    fn durable(&mut self, through: Epoch) -> Result<(), BoxError> {
        while self.awaiting.front().is_some_and(|(epoch, _)| *epoch <= through) {
            let (epoch, states) = self.awaiting.pop_front().expect("checked above");
            for (index, state) in states {
                let (_, part) = self
                    .parts
                    .get_mut(&index)
                    .expect("only owned partitions are written");
                part.on_durable(epoch, state)?;
            }
        }
        Ok(())
    }

    fn awaiting_durability(&self) -> bool {
        !self.awaiting.is_empty()
    }

    fn close(&mut self) -> Result<(), BoxError> {
        self.parts.values_mut().try_for_each(|(_, p)| p.close())
    }
}
