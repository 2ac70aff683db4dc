//! Routing keys to workers: the one function the exchange and resume share.
//!
//! A keyed step's exchange hands timely [`Key::route`](crate::Key::route) (xxh3 of the
//! key's text); timely sends an item with hash `h` to worker `h % peers` (as `h & (peers -
//! 1)` when `peers` is a power of two, the same thing). Resume has only the stored text, and
//! sends its state to [`worker_of`] its hash. The test below runs timely's exchange for 1–8
//! workers and checks that every key arrives where `worker_of` says.

use crate::key::route_text;

/// The worker (of `workers`) that owns the key whose text is `key_text`.
pub(crate) fn worker_of(key_text: &str, workers: usize) -> usize {
    (route_text(key_text) % workers as u64) as usize
}

/// The hash a sink routes its key by (xxh3 of the key's text, well mixed for timely's
/// low-bit routing).
pub(crate) fn route_key(key: &str) -> u64 {
    route_text(key)
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use timely::dataflow::channels::pact::Exchange;
    use timely::dataflow::operators::vec::ToStream;
    use timely::dataflow::operators::{Inspect, Operator};

    use super::*;
    use crate::Key;

    /// Sends keys of several types through timely's exchange; returns (worker, key text).
    fn exchanged<K: Key>(keys: Vec<K>, workers: usize) -> Vec<(usize, String)> {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        timely::execute(timely::Config::process(workers), move |worker| {
            let index = worker.index();
            let keys = if index == 0 { keys.clone() } else { Vec::new() };
            let sink = sink.clone();
            worker.dataflow::<u64, _, _>(|scope| {
                keys.to_stream(scope)
                    .unary(Exchange::new(|k: &K| k.route()), "route", |_, _| {
                        move |input, output| {
                            input.for_each(|cap, data| output.session(&cap).give_container(data));
                        }
                    })
                    .inspect(move |k: &K| sink.lock().unwrap().push((index, k.text())));
            });
        })
        .unwrap();
        std::mem::take(&mut *seen.lock().unwrap())
    }

    #[test]
    fn the_exchange_and_resume_route_every_key_to_the_same_worker() {
        for workers in 1..=8 {
            let strings: Vec<String> = (0..300).map(|i| format!("key{i}")).collect();
            let ints: Vec<u64> = (0..300).map(|i| i * 7919).collect();
            let pairs: Vec<(String, i32)> = (0..300).map(|i| (format!("k{}", i % 7), i - 150)).collect();
            let mut seen = exchanged(strings, workers);
            seen.extend(exchanged(ints, workers));
            seen.extend(exchanged(pairs, workers));
            assert_eq!(seen.len(), 900);
            for (worker, text) in seen {
                assert_eq!(
                    worker,
                    worker_of(&text, workers),
                    "{text:?} with {workers} workers"
                );
            }
        }
    }

    #[test]
    fn spreads_similar_keys_over_two_and_three_workers() {
        for peers in [2, 3] {
            let mut counts = vec![0usize; peers];
            for i in 0..3000 {
                counts[worker_of(&format!("key{}", i * 10), peers)] += 1;
            }
            let expected = 3000 / peers;
            for c in counts {
                assert!(c.abs_diff(expected) < expected / 5, "uneven: {c} vs {expected}");
            }
        }
    }
}
