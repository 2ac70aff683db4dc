//! Timers: a key that keeps re-arming a deadline in the past fires once per activation of
//! its step, so the rest of the worker keeps running in between.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};

use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::operators::{Retention, StatefulLogic};
use weir::testing::TestingSink;
use weir::{BoxError, Dataflow, RunConfig, StepId};

/// Firings after which a key gives up on its own: only a tight loop gets this far.
const LIMIT: u32 = 1000;

/// Re-arms a deadline in the past after every firing, until a step downstream of it has
/// run or it fired `LIMIT` times; then discards itself and sets `done`.
struct Rearming {
    fired: u32,
    downstream_ran: Arc<AtomicBool>,
    done: Arc<AtomicBool>,
}

impl StatefulLogic for Rearming {
    type In = u8;
    type Out = u32;
    type State = u32;
    fn on_item(&mut self, _: u8, _: &mut Vec<u32>) -> Retention {
        Retention::Keep
    }
    fn on_notify(&mut self, out: &mut Vec<u32>) -> Retention {
        self.fired += 1;
        out.push(self.fired);
        if self.downstream_ran.load(Ordering::SeqCst) || self.fired >= LIMIT {
            self.done.store(true, Ordering::SeqCst);
            return Retention::Discard;
        }
        Retention::Keep
    }
    fn notify_at(&self) -> Option<SystemTime> {
        Some(SystemTime::UNIX_EPOCH)
    }
    fn snapshot(&self) -> u32 {
        self.fired
    }
}

/// One item for key "k", then nothing until `done` is set, then the end of input (so the
/// step's timers keep firing instead of its `on_eof` running).
struct OneItemUntil(Arc<AtomicBool>);

struct OneItemPart {
    done: Arc<AtomicBool>,
    sent: bool,
}

impl FixedPartitionedSource for OneItemUntil {
    type Item = (String, u8);
    type State = ();
    type Partition = OneItemPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok(vec!["one".into()])
    }
    fn build_part(&self, _: &StepId, _: &str, _: Option<()>) -> Result<OneItemPart, BoxError> {
        Ok(OneItemPart {
            done: self.0.clone(),
            sent: false,
        })
    }
}

impl StatefulSourcePartition for OneItemPart {
    type Item = (String, u8);
    type State = ();
    fn next_batch(&mut self) -> Result<Batch<(String, u8)>, BoxError> {
        if !std::mem::replace(&mut self.sent, true) {
            return Ok(Batch::Items(vec![("k".into(), 0)]));
        }
        if self.done.load(Ordering::SeqCst) {
            return Ok(Batch::Eof);
        }
        Ok(Batch::Pending)
    }
    fn snapshot(&self) {}
}

#[test]
fn a_key_rearming_a_past_deadline_fires_once_per_activation() {
    for workers in [1, 2] {
        let downstream_ran = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicBool::new(false));
        let (seen, logic_flag, logic_done) = (downstream_ran.clone(), downstream_ran.clone(), done.clone());
        let out = TestingSink::new();
        let mut flow = Dataflow::new("rearming");
        flow.input("in", OneItemUntil(done.clone()))
            .stateful("rearm", move |resume: Option<u32>| Rearming {
                fired: resume.unwrap_or(0),
                downstream_ran: logic_flag.clone(),
                done: logic_done.clone(),
            })
            .inspect("downstream", move |_| seen.store(true, Ordering::SeqCst))
            .output("out", out.clone());
        let config = RunConfig {
            epoch_interval: Duration::from_millis(20),
            ..RunConfig::threads(workers)
        };
        weir::run(flow, config).unwrap();
        let fired: Vec<u32> = out.items().into_iter().map(|(_, n)| n).collect();
        let last = *fired.last().expect("the key fired");
        assert_eq!(fired, (1..=last).collect::<Vec<_>>(), "{workers} workers");
        // The downstream step can only run after the first firing's activation returned.
        assert!(last >= 2, "{workers} workers: fired {last} times");
        assert!(
            last < LIMIT,
            "{workers} workers: the key fired {last} times before the downstream step ran: \
             its timer was fired again and again within one activation"
        );
    }
}
