//! SIGTERM and Ctrl-C (SIGINT): the first asks for a graceful stop, a second one stops at
//! once.

use std::thread;

use signal_hook::consts::{SIGINT, SIGTERM};
use signal_hook::iterator::Signals;

use crate::Error;

/// Calls `first` on the first SIGTERM or SIGINT and `again` on every later one, from a
/// thread of its own.
pub(crate) fn on_stop_signals(
    first: impl FnOnce() + Send + 'static,
    mut again: impl FnMut() + Send + 'static,
) -> Result<(), Error> {
    let mut signals = Signals::new([SIGTERM, SIGINT]).map_err(|source| Error::Io {
        context: "installing the SIGTERM and SIGINT handlers".into(),
        source,
    })?;
    thread::Builder::new()
        .name("weir-signals".into())
        .spawn(move || {
            let mut signals = signals.forever();
            if signals.next().is_none() {
                return;
            }
            first();
            for _ in signals {
                again();
            }
        })
        .map_err(|source| Error::Io {
            context: "starting the signal thread".into(),
            source,
        })?;
    Ok(())
}
