//! One partition as the input operator polls it, and the watermark a worker's partitions
//! hold their source to.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Wake, Waker};
use std::time::Instant;

use timely::scheduling::SyncActivator;

use crate::engine::{StepCtx, frontier_epoch};
use crate::inputs::{EventClock, PartitionClock};
use crate::metrics::{Metrics, StepPartition};
use crate::operators::source_parts::{NamedPart, Part};
use crate::recovery::SnapshotRow;
use crate::{Epoch, Timestamp};

/// One partition: its name, when it wants to be polled (or whether it woke), whether it
/// read since its last snapshot, and its watermark.
pub(crate) struct Polled<T> {
    pub name: String,
    pub part: Box<dyn Part<T>>,
    pub awake: Instant,
    woken: Arc<PartWake>,
    pub dirty: bool,
    pub clock: PartitionClock,
    /// Where its `weir_source_backlog` goes, if metrics are on.
    backlog: Option<(Arc<Metrics>, StepPartition)>,
}

impl<T> Polled<T> {
    /// Wraps `named`, handing it a waker that marks it woken and activates the input.
    pub(crate) fn new(
        mut named: NamedPart<T>,
        step: &StepCtx,
        now: Instant,
        input: &Arc<Mutex<SyncActivator>>,
    ) -> Self {
        let backlog = step.metrics().map(|metrics| {
            let labels = StepPartition {
                step: step.id.to_string(),
                partition: named.name.clone(),
            };
            (metrics.clone(), labels)
        });
        let woken = Arc::new(PartWake {
            woken: AtomicBool::new(false),
            input: input.clone(),
        });
        named.part.set_waker(Waker::from(woken.clone()));
        Polled {
            name: named.name,
            part: named.part,
            awake: now,
            woken,
            dirty: false,
            clock: PartitionClock::new(named.watermark, now),
            backlog,
        }
    }

    /// Whether to poll it now: its wake-up time came, or its waker was called.
    pub(crate) fn due(&self, now: Instant) -> bool {
        // The flag first, so a wake-up is not left over for a later, needless poll.
        self.woken.woken.swap(false, Ordering::AcqRel) | (self.awake <= now)
    }

    /// Updates its backlog gauge, if metrics are on and the partition knows its backlog
    /// (a partition that does not has no series).
    pub(crate) fn report_backlog(&self) {
        if let (Some((metrics, labels)), Some(backlog)) = (&self.backlog, self.part.backlog()) {
            let backlog = backlog.min(i64::MAX as u64) as i64;
            metrics.source_backlog.get_or_create(labels).set(backlog);
        }
    }

    /// The snapshot row of this partition at the end of `epoch`, if it has state.
    pub(crate) fn snapshot(&mut self, step: &StepCtx, epoch: Epoch, clocked: bool) -> Option<SnapshotRow> {
        self.dirty = false;
        let watermark = clocked.then(|| self.clock.watermark());
        match self.part.snapshot(epoch, watermark)? {
            Ok(bytes) => Some((step.id.to_string(), self.name.clone(), Some(bytes))),
            Err(err) => {
                step.fail(format!("snapshotting partition {:?}: {err}", self.name).into());
                None
            }
        }
    }
}

/// Tells the `open` and ended partitions which snapshots are durable everywhere (the
/// on-disk probe passed their epoch), and closes each ended partition whose last snapshot
/// is durable (and acknowledged), so a source acknowledges its last position upstream too.
/// Returns whether ended partitions still wait; an error fails the step.
pub(crate) fn close_durable<T>(
    step: &StepCtx,
    open: &mut [Polled<T>],
    ending: &mut Vec<(Polled<T>, Epoch)>,
) -> bool {
    let durable =
        (step.on_disk()).with_frontier(|f| frontier_epoch(&f).map_or(Epoch::MAX, |e| e.saturating_sub(1)));
    let mut all = open.iter_mut().chain(ending.iter_mut().map(|(p, _)| p));
    if let Some(err) = all.find_map(|p| p.part.durable(durable).err()) {
        step.fail(err);
        return false;
    }
    for (mut ended, _) in ending.extract_if(.., |(_, last)| *last <= durable) {
        if let Err(err) = ended.part.close() {
            step.fail(err);
            return false;
        }
    }
    !ending.is_empty()
}

/// The watermark this worker's partitions hold the source to: the least of those that hold
/// it, after the processing-time opt-ins (a partition whose watermark rose is snapshotted
/// next); the end of time if none does. While `backpressured` nobody is quiet.
pub(crate) fn source_watermark<T>(
    parts: &mut [Polled<T>],
    clock: &EventClock<T>,
    now: Instant,
    backpressured: bool,
) -> Timestamp {
    let mut least = Timestamp::MAX;
    for part in parts.iter_mut() {
        if backpressured {
            part.clock.held_back(now);
        }
        part.dirty |= part.clock.advance(clock, now);
        if part.clock.holds(clock, now) {
            least = least.min(part.clock.watermark());
        }
    }
    least
}

/// A partition's waker: marks it woken and activates its input operator (from any thread).
struct PartWake {
    woken: AtomicBool,
    input: Arc<Mutex<SyncActivator>>,
}

impl Wake for PartWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        // The dataflow may be gone (a failure elsewhere): then nobody needs waking.
        let _ = self.input.lock().map(|input| input.activate());
    }
}
