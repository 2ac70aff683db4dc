//! Windowers: which windows an event time falls in.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// A window of event time, `[start, end)` for tumbling and sliding windows. A session's
/// window runs from its first item's timestamp to its last item's timestamp plus the gap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Window {
    /// The first millisecond of the window.
    pub start: Timestamp,
    /// For tumbling and sliding windows the first millisecond after it; for a session, its
    /// last item's timestamp plus the gap.
    pub end: Timestamp,
}

/// How a window step cuts event time into windows. Boundaries depend only on the
/// windower (and, for sessions, on the items), so they are the same after a restart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Windower {
    pub(crate) kind: Kind,
    align: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Sliding { length: Timestamp, slide: Timestamp },
    Session { gap: Timestamp },
}

fn millis(d: Duration) -> Timestamp {
    Timestamp::try_from(d.as_millis()).unwrap_or(Timestamp::MAX)
}

impl Windower {
    /// Back-to-back windows of `length`: `[align + k·length, align + (k+1)·length)`.
    ///
    /// # Panics
    /// If `length` is under a millisecond.
    pub fn tumbling(length: Duration) -> Self {
        Self::sliding(length, length)
    }

    /// Windows of `length` starting every `slide`: `[align + k·slide, align + k·slide +
    /// length)`; an item is in every window that covers it (`length / slide` of them when
    /// `slide` divides `length`, none when it falls in a gap with `slide > length`).
    ///
    /// # Panics
    /// If `length` or `slide` is under a millisecond.
    pub fn sliding(length: Duration, slide: Duration) -> Self {
        let (length, slide) = (millis(length), millis(slide));
        assert!(
            length > 0 && slide > 0,
            "window length and slide must be at least 1 ms"
        );
        Windower {
            kind: Kind::Sliding { length, slide },
            align: 0,
        }
    }

    /// Session windows per key: two items are in one session when their timestamps differ
    /// by at most `gap`; an item that bridges two sessions merges them. A session closes once
    /// the watermark passes its last item's timestamp plus `gap`.
    pub fn session(gap: Duration) -> Self {
        Windower {
            kind: Kind::Session { gap: millis(gap) },
            align: 0,
        }
    }

    /// Aligns tumbling and sliding windows to `align` instead of the Unix epoch (ignored by
    /// sessions).
    pub fn align_to(mut self, align: Timestamp) -> Self {
        self.align = align;
        self
    }

    /// The fixed (tumbling or sliding) windows containing `ts`, earliest first. Empty for
    /// sessions, whose windows depend on the other items.
    pub fn windows_of(&self, ts: Timestamp) -> Vec<Window> {
        self.fixed_windows(ts).collect()
    }

    /// [`windows_of`](Self::windows_of) without allocating (saturating at the ends of time).
    pub(crate) fn fixed_windows(&self, ts: Timestamp) -> impl Iterator<Item = Window> + use<> {
        let offset = ts.saturating_sub(self.align);
        // Windows k with k·slide <= offset < k·slide + length (none for sessions).
        let (first, last, length, slide) = match self.kind {
            Kind::Sliding { length, slide } => {
                let last = offset.div_euclid(slide);
                // Tumbling windows: the one window, with one division.
                let first = match length == slide {
                    true => last,
                    false => offset.saturating_sub(length).div_euclid(slide) + 1,
                };
                (first, last, length, slide)
            }
            Kind::Session { .. } => (1, 0, 0, 1),
        };
        let align = self.align;
        (first..=last).map(move |k| {
            let start = align.saturating_add(k.saturating_mul(slide));
            Window {
                start,
                end: start.saturating_add(length),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(x: u64) -> Duration {
        Duration::from_millis(x)
    }

    #[test]
    fn tumbling_windows_tile_time_including_before_the_epoch() {
        let w = Windower::tumbling(ms(10));
        assert_eq!(w.windows_of(0), [Window { start: 0, end: 10 }]);
        assert_eq!(w.windows_of(9), [Window { start: 0, end: 10 }]);
        assert_eq!(w.windows_of(10), [Window { start: 10, end: 20 }]);
        assert_eq!(w.windows_of(-1), [Window { start: -10, end: 0 }]);
        assert_eq!(w.align_to(3).windows_of(2), [Window { start: -7, end: 3 }]);
    }

    #[test]
    fn sliding_windows_overlap_or_leave_gaps() {
        let w = Windower::sliding(ms(10), ms(5));
        assert_eq!(
            w.windows_of(7),
            [Window { start: 0, end: 10 }, Window { start: 5, end: 15 }]
        );
        let gappy = Windower::sliding(ms(5), ms(10));
        assert_eq!(gappy.windows_of(3), [Window { start: 0, end: 5 }]);
        assert!(gappy.windows_of(7).is_empty());
    }

    #[test]
    fn sessions_have_no_fixed_windows() {
        assert!(Windower::session(ms(5)).windows_of(3).is_empty());
    }
}
