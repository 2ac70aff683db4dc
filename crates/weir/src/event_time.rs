//! Conversions between [`Timestamp`]s (UTC milliseconds) and `chrono` date-times.

use chrono::{DateTime, Utc};

use crate::{BoxError, Timestamp};

/// The timestamp of a UTC date-time.
pub fn timestamp_of(time: DateTime<Utc>) -> Timestamp {
    time.timestamp_millis()
}

/// The UTC date-time of a timestamp (`None` outside chrono's range).
pub fn datetime_of(ts: Timestamp) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(ts)
}

/// Parses an RFC 3339 date-time (`2023-01-01T10:30:00Z`, any offset) into a timestamp.
pub fn parse_rfc3339(text: &str) -> Result<Timestamp, BoxError> {
    let time = DateTime::parse_from_rfc3339(text.trim())
        .map_err(|e| format!("{text:?} is not an RFC 3339 date-time: {e}"))?;
    Ok(time.timestamp_millis())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_offsets() {
        let ts = parse_rfc3339("2023-01-01T10:30:00Z").unwrap();
        assert_eq!(ts, 1_672_569_000_000);
        assert_eq!(parse_rfc3339("2023-01-01T11:30:00+01:00").unwrap(), ts);
        assert_eq!(timestamp_of(datetime_of(ts).unwrap()), ts);
        assert!(parse_rfc3339("yesterday").is_err());
    }
}
