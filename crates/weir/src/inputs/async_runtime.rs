//! The process's async runtime: the one tokio runtime that drives every async source
//! partition of the process.

use std::sync::OnceLock;

use tokio::runtime::Runtime;

use crate::BoxError;

/// Threads of the runtime: async sources wait on I/O and timers, they do not compute.
const THREADS: usize = 1;

/// The process's async runtime, made on first use: a multi-threaded tokio runtime with one
/// thread of its own, with I/O and timers enabled.
///
/// One per process, not one per worker: a stream then keeps making progress between two
/// polls of its partition (reading the network, firing timers, answering keep-alives) on
/// the runtime's thread, whatever the workers are busy with; workers never run async code,
/// so a slow stream cannot stall one; and one reactor serves the async partitions of every
/// worker. Build streams that need a runtime (`tokio::time::interval`, sockets) in the
/// closures weir calls to build partitions, which run inside this runtime's context, or
/// enter it yourself (`async_runtime()?.enter()`).
pub fn async_runtime() -> Result<&'static Runtime, BoxError> {
    static RUNTIME: OnceLock<Result<Runtime, String>> = OnceLock::new();
    let runtime = RUNTIME.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(THREADS)
            .thread_name("weir-async")
            .enable_all()
            .build()
            .map_err(|err| err.to_string())
    });
    runtime
        .as_ref()
        .map_err(|err| format!("cannot start the async runtime of the async sources: {err}").into())
}
