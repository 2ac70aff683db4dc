//! An event-time window oracle written from the semantics alone (not from weir's code),
//! and generators of partitioned, out-of-order streams for the window tests.
//!
//! Items are `(ts_ms, key, value)`. Each partition is read in order with its own
//! watermark (initially -infinity): an item below it is late; otherwise the watermark
//! becomes `max(watermark, ts - wait)`. Windows are over on-time items, per key; every
//! window that received an item yields one result at the end of the input.

use std::collections::BTreeMap;
use std::fmt::Debug;

use crate::support::Rng;

/// `(ts_ms, key, value)`.
pub type Item = (i64, String, i64);

/// A windower, as the oracle understands it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Spec {
    /// `[align + k*len, align + (k+1)*len)`.
    Tumbling { len: i64, align: i64 },
    /// Every `[align + k*slide, align + k*slide + len)` containing the timestamp.
    Sliding { len: i64, slide: i64, align: i64 },
    /// Timestamps at most `gap` apart chain into one session `[first, last + gap)`.
    Session { gap: i64 },
}

impl Spec {
    pub fn tumbling(len: i64) -> Spec {
        Spec::Tumbling { len, align: 0 }
    }

    pub fn sliding(len: i64, slide: i64) -> Spec {
        Spec::Sliding { len, slide, align: 0 }
    }

    /// The `--window` argument of the `event_windows` example (align 0 only).
    pub fn cli(&self) -> String {
        match *self {
            Spec::Tumbling { len, .. } => format!("tumbling:{len}"),
            Spec::Sliding { len, slide, .. } => format!("sliding:{len}:{slide}"),
            Spec::Session { gap } => format!("session:{gap}"),
        }
    }

    /// The `[start, end)` of every fixed window containing `ts` (not for sessions).
    pub fn windows_of(&self, ts: i64) -> Vec<(i64, i64)> {
        match *self {
            Spec::Tumbling { len, align } => {
                let start = align + (ts - align).div_euclid(len) * len;
                vec![(start, start + len)]
            }
            Spec::Sliding { len, slide, align } => {
                // k*slide <= ts - align < k*slide + len
                let last = (ts - align).div_euclid(slide);
                let first = (ts - align - len).div_euclid(slide) + 1;
                (first..=last)
                    .map(|k| (align + k * slide, align + k * slide + len))
                    .collect()
            }
            Spec::Session { .. } => panic!("sessions depend on the other items"),
        }
    }
}

/// A partitioned input split into on-time and late items (each in read order, partition
/// after partition).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Split {
    pub on_time: Vec<Item>,
    pub late: Vec<Item>,
}

/// Reads every partition in order with its own watermark.
pub fn split_late(parts: &[Vec<Item>], wait: i64) -> Split {
    let mut split = Split::default();
    for part in parts {
        let mut watermark = i64::MIN;
        for item in part {
            if item.0 < watermark {
                split.late.push(item.clone());
            } else {
                watermark = watermark.max(item.0.saturating_sub(wait));
                split.on_time.push(item.clone());
            }
        }
    }
    split
}

/// Every window's items by `(key, start, end)`; each window's items sorted.
pub type Windows = BTreeMap<(String, i64, i64), Vec<Item>>;

/// The windows of on-time items under `spec`.
pub fn windows(spec: Spec, on_time: &[Item]) -> Windows {
    let mut out = Windows::new();
    match spec {
        Spec::Session { gap } => {
            let mut by_key: BTreeMap<&str, Vec<&Item>> = BTreeMap::new();
            for item in on_time {
                by_key.entry(&item.1).or_default().push(item);
            }
            for (key, mut items) in by_key {
                items.sort();
                let mut session: Vec<Item> = Vec::new();
                for item in items {
                    if let Some(last) = session.last()
                        && item.0 - last.0 > gap
                    {
                        let (start, end) = (session[0].0, last.0 + gap);
                        out.insert((key.to_owned(), start, end), std::mem::take(&mut session));
                    }
                    session.push(item.clone());
                }
                let (start, end) = (session[0].0, session.last().expect("a session").0 + gap);
                out.insert((key.to_owned(), start, end), session);
            }
        }
        _ => {
            for item in on_time {
                for (start, end) in spec.windows_of(item.0) {
                    out.entry((item.1.clone(), start, end))
                        .or_default()
                        .push(item.clone());
                }
            }
        }
    }
    for items in out.values_mut() {
        items.sort();
    }
    out
}

/// `(key, start, end, f(items))` for every window, sorted.
pub fn results<A>(windows: &Windows, f: impl Fn(&[Item]) -> A) -> Vec<(String, i64, i64, A)> {
    windows
        .iter()
        .map(|((key, start, end), items)| (key.clone(), *start, *end, f(items)))
        .collect()
}

pub fn count(items: &[Item]) -> u64 {
    items.len() as u64
}

pub fn sum(items: &[Item]) -> i64 {
    items.iter().map(|i| i.2).sum()
}

/// `event_windows` output lines (`key\tstart\tend\tcount\tsum`), sorted.
pub fn window_lines(windows: &Windows) -> Vec<String> {
    let mut lines: Vec<String> = results(windows, |items| (count(items), sum(items)))
        .into_iter()
        .map(|(key, start, end, (n, s))| format!("{key}\t{start}\t{end}\t{n}\t{s}"))
        .collect();
    lines.sort();
    lines
}

/// `event_windows` late lines (`key\tts\tvalue`), sorted.
pub fn late_lines(late: &[Item]) -> Vec<String> {
    let mut lines: Vec<String> = late.iter().map(|(ts, k, v)| format!("{k}\t{ts}\t{v}")).collect();
    lines.sort();
    lines
}

/// Equal sorted vectors, or a failure naming the first differences (not all of them).
#[track_caller]
pub fn assert_same<T: Ord + Debug>(what: &str, got: &[T], expected: &[T]) {
    if got == expected {
        return;
    }
    let missing: Vec<&T> = expected
        .iter()
        .filter(|x| got.binary_search(x).is_err())
        .collect();
    let extra: Vec<&T> = got
        .iter()
        .filter(|x| expected.binary_search(x).is_err())
        .collect();
    panic!(
        "{what}: {} results, expected {}; {} missing, e.g. {:?}; {} unexpected, e.g. {:?}",
        got.len(),
        expected.len(),
        missing.len(),
        &missing[..missing.len().min(3)],
        extra.len(),
        &extra[..extra.len().min(3)],
    );
}

const HOUR: i64 = 3_600_000;

/// `parts` partitions of `items` items each over `keys` keys, skewed: partition `p`
/// starts at -20 s, 0 or `p` hours ahead (`p % 3`). Timestamps advance 0–19 ms per item;
/// about a third of the items are moved back by at most `wait` (on time), and about 5 %
/// by more than `wait` (most of those are late).
pub fn out_of_order(seed: u64, parts: usize, items: usize, keys: u64, wait: i64) -> Vec<Vec<Item>> {
    let mut rng = Rng(seed);
    (0..parts)
        .map(|p| {
            let mut t = match p % 3 {
                0 => -20_000,
                1 => 0,
                _ => p as i64 * HOUR,
            };
            (0..items)
                .map(|_| {
                    t += (rng.next() % 20) as i64;
                    let ts = match rng.next() % 100 {
                        0..5 => t - wait - 1 - (rng.next() % (3 * wait as u64 + 1)) as i64,
                        5..40 => t - (rng.next() % (wait as u64 + 1)) as i64,
                        _ => t,
                    };
                    let key = format!("k{}", rng.next() % keys);
                    (ts, key, (rng.next() % 1000) as i64 - 500)
                })
                .collect()
        })
        .collect()
}

/// Two partitions, each in timestamp order: `p0` starts at 0, `p1` three hours ahead;
/// both over the same keys.
pub fn skewed_in_order(seed: u64, items: usize, keys: u64) -> Vec<Vec<Item>> {
    let mut rng = Rng(seed);
    [0, 3 * HOUR]
        .into_iter()
        .map(|mut t| {
            (0..items)
                .map(|_| {
                    t += (rng.next() % 40) as i64;
                    (t, format!("k{}", rng.next() % keys), (rng.next() % 100) as i64)
                })
                .collect()
        })
        .collect()
}

fn it(ts: i64, key: &str, value: i64) -> Item {
    (ts, key.to_owned(), value)
}

#[test]
fn lateness_is_per_partition_and_the_watermark_only_grows() {
    let parts = vec![
        // wait 10: 100 sets 90; 95 on time; 89 late; 90 on time; 120 sets 110; 109 late.
        vec![
            it(100, "a", 1),
            it(95, "a", 2),
            it(89, "a", 3),
            it(90, "a", 4),
            it(120, "a", 5),
            it(109, "a", 6),
        ],
        // Another partition far behind is not late: its own watermark starts at -infinity.
        vec![it(-1000, "b", 8), it(-1011, "b", 9), it(5, "a", 7)],
    ];
    let split = split_late(&parts, 10);
    let ts = |items: &[Item]| items.iter().map(|i| i.0).collect::<Vec<_>>();
    assert_eq!(ts(&split.on_time), [100, 95, 90, 120, -1000, 5]);
    assert_eq!(ts(&split.late), [89, 109, -1011]);
    // The watermark follows the largest on-time timestamp, not the last one read.
    let items = [1000, 995, 0, 989, 990].map(|t| it(t, "a", 1));
    let split = split_late(&[items.to_vec()], 10);
    assert_eq!(ts(&split.on_time), [1000, 995, 990]);
    assert_eq!(ts(&split.late), [0, 989]);
}

#[test]
fn tumbling_windows_floor_negative_timestamps() {
    let spec = Spec::tumbling(10);
    assert_eq!(spec.windows_of(0), [(0, 10)]);
    assert_eq!(spec.windows_of(9), [(0, 10)]);
    assert_eq!(spec.windows_of(10), [(10, 20)]);
    assert_eq!(spec.windows_of(-1), [(-10, 0)]);
    assert_eq!(spec.windows_of(-10), [(-10, 0)]);
    assert_eq!(spec.windows_of(-11), [(-20, -10)]);
    let aligned = Spec::Tumbling { len: 10, align: 3 };
    assert_eq!(aligned.windows_of(2), [(-7, 3)]);
    assert_eq!(aligned.windows_of(3), [(3, 13)]);
    let w = windows(
        spec,
        &[it(-1, "a", 2), it(-10, "a", 3), it(0, "a", 4), it(-1, "b", 5)],
    );
    let got = results(&w, |items| (count(items), sum(items)));
    assert_eq!(
        got,
        [
            ("a".to_owned(), -10, 0, (2, 5)),
            ("a".to_owned(), 0, 10, (1, 4)),
            ("b".to_owned(), -10, 0, (1, 5))
        ]
    );
}

#[test]
fn sliding_windows_overlap() {
    let spec = Spec::sliding(10, 4);
    // Windows start at multiples of 4 and last 10: 5 is in [-4,6), [0,10), [4,14).
    assert_eq!(spec.windows_of(5), [(-4, 6), (0, 10), (4, 14)]);
    assert_eq!(spec.windows_of(8), [(0, 10), (4, 14), (8, 18)]);
    assert_eq!(spec.windows_of(-3), [(-12, -2), (-8, 2), (-4, 6)]);
    // A slide longer than the window leaves gaps.
    assert_eq!(Spec::sliding(3, 10).windows_of(5), []);
    assert_eq!(Spec::sliding(3, 10).windows_of(12), [(10, 13)]);
    let w = windows(spec, &[it(5, "a", 1), it(8, "a", 10)]);
    let got = results(&w, sum);
    assert_eq!(
        got,
        [
            ("a".to_owned(), -4, 6, 1),
            ("a".to_owned(), 0, 10, 11),
            ("a".to_owned(), 4, 14, 11),
            ("a".to_owned(), 8, 18, 10)
        ]
    );
}

#[test]
fn sessions_chain_within_the_gap_and_a_bridging_item_merges_two() {
    let spec = Spec::Session { gap: 10 };
    // 0 and 20 are two sessions; 10 (arriving last) bridges them; exactly `gap` apart joins.
    let w = windows(spec, &[it(0, "a", 1), it(20, "a", 2), it(40, "a", 3)]);
    assert_eq!(
        w.keys().map(|k| (k.1, k.2)).collect::<Vec<_>>(),
        [(0, 10), (20, 30), (40, 50)]
    );
    let w = windows(
        spec,
        &[it(0, "a", 1), it(20, "a", 2), it(40, "a", 3), it(10, "a", 4)],
    );
    assert_eq!(
        results(&w, sum),
        [("a".to_owned(), 0, 30, 7), ("a".to_owned(), 40, 50, 3)]
    );
    // Keys are separate; negative timestamps; one item makes a session of length gap.
    let w = windows(spec, &[it(-25, "b", 1), it(-14, "b", 1), it(-5, "a", 1)]);
    assert_eq!(
        results(&w, count),
        [
            ("a".to_owned(), -5, 5, 1),
            ("b".to_owned(), -25, -15, 1),
            ("b".to_owned(), -14, -4, 1)
        ]
    );
}

#[test]
fn a_late_item_is_in_no_window() {
    let parts = vec![vec![
        it(0, "a", 1),
        it(50, "a", 2),
        it(30, "a", 4),
        it(41, "a", 8),
    ]];
    let split = split_late(&parts, 10);
    assert_eq!(split.late, [it(30, "a", 4)]);
    let w = windows(Spec::tumbling(20), &split.on_time);
    assert_eq!(
        results(&w, sum),
        [("a".to_owned(), 0, 20, 1), ("a".to_owned(), 40, 60, 10)]
    );
    assert_eq!(window_lines(&w), ["a\t0\t20\t1\t1", "a\t40\t60\t2\t10"]);
    assert_eq!(late_lines(&split.late), ["a\t30\t4"]);
}

#[test]
fn the_generators_make_late_items_only_when_asked() {
    let parts = out_of_order(3, 4, 2000, 10, 50);
    let split = split_late(&parts, 50);
    let late = split.late.len();
    assert!((100..=600).contains(&late), "{late} late items of 8000");
    assert!(
        parts.iter().any(|p| p.iter().any(|i| i.0 < 0)),
        "no negative timestamps"
    );
    let skewed = skewed_in_order(3, 1000, 10);
    assert!(split_late(&skewed, 0).late.is_empty());
    assert!(skewed[1][0].0 > skewed[0].last().unwrap().0 + HOUR);
}
