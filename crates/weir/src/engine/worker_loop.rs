//! One worker's life: assign partitions, build the dataflow, step it until done or failed.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::dataflow::ProbeHandle;
use timely::worker::Worker;

use crate::dataflow::Plan;
use crate::engine::BuildCtx;
use crate::engine::execute::Runtime;
use crate::engine::failure::take_last_panic;
use crate::engine::setup::assign_partitions;
use crate::{Epoch, Error};

/// Longest a worker parks before it looks at the failure flag and the watchdog again.
const PARK: Duration = Duration::from_millis(50);

/// Runs the plan on one worker until every input ends, or until any worker of this
/// process fails.
pub(crate) fn run_worker(worker: &mut Worker, plan: &Plan, runtime: &Arc<Runtime>) -> Result<(), Error> {
    let assignments = assign_partitions(worker, plan)?;
    let probe = ProbeHandle::<Epoch>::new();
    worker.dataflow::<Epoch, _, _>(|scope| {
        let mut ctx = BuildCtx::new(scope, plan.port_count, runtime.clone(), probe.clone());
        for node in &plan.steps {
            ctx.begin(node, &assignments);
            (node.build)(&mut ctx);
        }
    });
    drive(worker, runtime, &probe)
}

/// Steps the worker, turning panics into errors and watching that epochs complete.
fn drive(worker: &mut Worker, runtime: &Runtime, probe: &ProbeHandle<Epoch>) -> Result<(), Error> {
    let me = worker.index();
    let frontier = || probe.with_frontier(|f| f.first().copied());
    let mut last_frontier = frontier();
    let mut last_progress = Instant::now();
    loop {
        if runtime.failure.is_set() {
            for dataflow in worker.installed_dataflows() {
                worker.drop_dataflow(dataflow);
            }
            return Err(runtime.failure.take().unwrap_or(Error::Cancelled { worker: me }));
        }
        match catch_unwind(AssertUnwindSafe(|| worker.step_or_park(Some(PARK)))) {
            Ok(true) => {}
            Ok(false) => return Ok(()),
            Err(_) => {
                let (step, message) = take_last_panic()
                    .unwrap_or_else(|| ("<runtime>".to_owned(), "panic outside any step".to_owned()));
                runtime.failure.record(Error::StepPanicked {
                    step,
                    worker: me,
                    message,
                });
                continue;
            }
        }
        let now = frontier();
        if now != last_frontier {
            last_frontier = now;
            last_progress = Instant::now();
        } else if last_progress.elapsed() > runtime.config.watchdog_timeout {
            runtime.failure.record(Error::Stalled {
                worker: me,
                seconds: last_progress.elapsed().as_secs_f64(),
            });
        }
    }
}

