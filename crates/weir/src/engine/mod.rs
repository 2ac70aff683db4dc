//! The engine: how a plan becomes timely operators on every worker, and how workers run.

mod all_gather;
mod assign;
mod build_ctx;
mod config;
pub(crate) mod connect;
mod epoch_queue;
mod execute;
mod failure;
mod ports;
mod routing;
mod setup;
mod stop;
pub(crate) mod time;
mod worker_loop;

pub(crate) use all_gather::{all_gather, step_until};
pub(crate) use assign::Assignment;
pub(crate) use build_ctx::{BuildCtx, Start, StepCtx, StepStates};
pub use config::{Execution, RecoveryConfig, RunConfig};
pub(crate) use epoch_queue::EpochQueue;
pub(crate) use execute::Runtime;
pub use execute::run;
pub(crate) use failure::{StepName, enter_step, in_step};
pub(crate) use routing::{route_key, worker_of};
pub use stop::StopSignal;
pub(crate) use stop::{StopBroadcast, StopState};
pub(crate) use time::{
    QueuedWatermarks, Time, at, decode_watermark, encode_watermark, frontier_epoch, frontier_meet, passed,
    received_epoch, received_inner,
};
