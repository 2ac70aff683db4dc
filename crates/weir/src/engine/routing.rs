//! Routing keys to workers: the one function the exchange and resume share.
//!
//! A keyed step's exchange hands timely [`Key::route`](crate::Key::route); timely sends an
//! item with hash `h` to worker `h % peers` (as `h & (peers - 1)` when `peers` is a power of
//! two, the same thing). Resume has the stored text: it parses it into the step's key type,
//! takes the same hash ([`route_stored`](crate::key::route_stored)) and sends the state to
//! [`worker_of`] it. The test below runs timely's exchange for 1–8 workers and checks that
//! every key arrives where `worker_of` says.

use crate::key::route_text;

/// The worker (of `workers`) that owns the key whose route is `route`.
pub(crate) fn worker_of(route: u64, workers: usize) -> usize {
    (route % workers as u64) as usize
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
    use crate::key::route_stored;

    /// Sends keys through timely's exchange; checks each arrives where resume would route
    /// its stored text.
    fn check_exchange<K: Key>(keys: Vec<K>, workers: usize) {
        let count = keys.len();
        let seen = exchanged(keys, workers);
        assert_eq!(seen.len(), count);
        for (worker, text) in seen {
            let resumed = worker_of(route_stored::<K>(&text), workers);
            assert_eq!(worker, resumed, "{text:?} with {workers} workers");
        }
    }

    /// Sends keys through timely's exchange; returns (worker, key text).
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
            let negatives: Vec<i64> = (0..300).map(|i| -i * 104_729).collect();
            check_exchange(strings, workers);
            check_exchange(ints, workers);
            check_exchange(negatives, workers);
            check_exchange(pairs, workers);
        }
    }

    #[test]
    fn spreads_similar_keys_over_two_and_three_workers() {
        for peers in [2, 3] {
            let (mut texts, mut ints) = (vec![0usize; peers], vec![0usize; peers]);
            for i in 0..3000u64 {
                texts[worker_of(format!("key{}", i * 10).route(), peers)] += 1;
                ints[worker_of((i * 10).route(), peers)] += 1;
            }
            let expected = 3000 / peers;
            for c in texts.into_iter().chain(ints) {
                assert!(c.abs_diff(expected) < expected / 5, "uneven: {c} vs {expected}");
            }
        }
    }
}
