//! Connecting to PostgreSQL, with retries and backoff, and naming the server in errors.

use std::time::Duration;

use postgres::{Client, NoTls};
use weir::BoxError;

/// Attempts in a row before an operation on the database gives up.
pub(crate) const ATTEMPTS: u32 = 6;

/// Wait before the second attempt, doubled for each further one.
const BACKOFF: Duration = Duration::from_millis(100);

/// `url` without its password, for messages.
pub(crate) fn shown(url: &str) -> String {
    url.split_whitespace()
        .filter(|part| !part.starts_with("password="))
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs `attempt` until it succeeds, at most [`ATTEMPTS`] times with a doubling wait;
/// then an error naming the server and what was being done.
pub(crate) fn retrying<T>(
    url: &str,
    what: &str,
    mut attempt: impl FnMut() -> Result<T, BoxError>,
) -> Result<T, BoxError> {
    let mut wait = BACKOFF;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt() {
            Ok(done) => return Ok(done),
            Err(err) if tries >= ATTEMPTS => {
                let server = shown(url);
                return Err(
                    format!("PostgreSQL at {server:?}: {what} failed {tries} times in a row: {err}").into(),
                );
            }
            Err(_) => {
                std::thread::sleep(wait);
                wait *= 2;
            }
        }
    }
}

/// A connection to `url`.
pub(crate) fn connect(url: &str) -> Result<Client, BoxError> {
    Ok(Client::connect(url, NoTls)?)
}
