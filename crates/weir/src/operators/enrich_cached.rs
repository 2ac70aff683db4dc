//! `enrich_cached`: join each item with a looked-up value, through a per-worker cache.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;
use std::time::{Duration, Instant};

use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::Operator;

use crate::engine::enter_step;
use crate::{BoxError, Data, Stream};

impl<T: Data> Stream<T> {
    /// Maps each item with `mapper(item, &value)`, where `value = getter(&lookup_key(&item))`
    /// is cached per worker for `ttl` (bytewax's `enrich_cached`): a slow look-up (a
    /// database, a web service) runs once per key and `ttl`, not once per item. The cache is
    /// not state: it is not snapshotted, and each worker has its own. An error of `getter`
    /// stops the run, naming this step.
    ///
    /// ```
    /// use std::time::Duration;
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("enrich");
    /// let out = TestingSink::new();
    /// let codes: Vec<String> = ["fr", "de", "fr"].map(String::from).to_vec();
    /// flow.input("in", TestingSource::new(codes))
    ///     .enrich_cached(
    ///         "country",
    ///         Duration::from_secs(60),
    ///         |code: &String| code.clone(),
    ///         |code: &String| Ok(if code == "fr" { "France" } else { "Germany" }.to_string()),
    ///         |code, name: &String| format!("{code}={name}"),
    ///     )
    ///     .output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec!["fr=France", "de=Germany", "fr=France"]);
    /// ```
    pub fn enrich_cached<Q, V, U>(
        &self,
        step_id: &str,
        ttl: Duration,
        lookup_key: impl Fn(&T) -> Q + Send + Sync + 'static,
        getter: impl Fn(&Q) -> Result<V, BoxError> + Send + Sync + 'static,
        mapper: impl Fn(T, &V) -> U + Send + Sync + 'static,
    ) -> Stream<U>
    where
        Q: Hash + Eq + Clone + 'static,
        V: 'static,
        U: Data,
    {
        let functions = Arc::new((lookup_key, getter, mapper));
        self.unary_step(step_id, "enrich_cached", move |step, input| {
            let functions = functions.clone();
            let (name, step) = (step.id.to_string(), step.clone());
            input.unary::<CapacityContainerBuilder<Vec<U>>, _, _, _>(Pipeline, &name, move |_, _| {
                let mut cache: HashMap<Q, (V, Instant)> = HashMap::new();
                let mut buffer = Vec::new();
                move |input, output| {
                    let _in_step = enter_step(&step.name);
                    let (lookup_key, getter, mapper) = &*functions;
                    input.for_each(|cap, items| {
                        if step.has_failed() {
                            return;
                        }
                        for item in items.drain(..) {
                            let key = lookup_key(&item);
                            let now = Instant::now();
                            let fresh = cache
                                .get(&key)
                                .is_some_and(|(_, at)| now.duration_since(*at) < ttl);
                            if !fresh {
                                match getter(&key) {
                                    Ok(value) => {
                                        cache.insert(key.clone(), (value, now));
                                    }
                                    Err(err) => {
                                        step.fail(format!("looking up a value: {err}").into());
                                        return;
                                    }
                                }
                            }
                            let (value, _) = &cache[&key];
                            buffer.push(mapper(item, value));
                        }
                        if cache.len() > 4 * 1024 {
                            cache.retain(|_, (_, at)| at.elapsed() < ttl);
                        }
                        output.session(&cap).give_container(&mut buffer);
                    });
                }
            })
        })
    }
}
