//! `zip`, `zip_latest` and `combine_latest` of two keyed streams (streamz's), per key.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use crate::dataflow::flow::EventTimeRole;
use crate::joins::two_sides::{Side, two_sided_step};
use crate::operators::{Ctx, KeyedProcess, Retention};
use crate::{Data, Key, KeyedStream};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pairing {
    /// The i-th left value with the i-th right value.
    Zip,
    /// Every left value with the latest right value (lefts wait for the first right).
    ZipLatest,
    /// After every value of either side, the latest of both.
    CombineLatest,
}

/// A key's unpaired values.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Unpaired<L, R> {
    lefts: VecDeque<L>,
    rights: VecDeque<R>,
    latest_left: Option<L>,
    latest_right: Option<R>,
}

struct KeyPairing<L, R> {
    pairing: Pairing,
    state: Unpaired<L, R>,
}

impl<L: Data, R: Data> KeyedProcess for KeyPairing<L, R> {
    type In = Side<L, R>;
    type Out = (L, R);
    type State = Unpaired<L, R>;

    fn on_item(&mut self, ctx: &mut Ctx<'_, (L, R)>, value: Side<L, R>) -> Retention {
        let s = &mut self.state;
        match (self.pairing, value) {
            (Pairing::Zip, Side::Left(l)) => s.lefts.push_back(l),
            (Pairing::Zip, Side::Right(r)) => s.rights.push_back(r),
            (Pairing::ZipLatest, Side::Left(l)) => s.lefts.push_back(l),
            (Pairing::ZipLatest | Pairing::CombineLatest, Side::Right(r)) => s.latest_right = Some(r),
            (Pairing::CombineLatest, Side::Left(l)) => s.latest_left = Some(l),
        }
        match self.pairing {
            Pairing::Zip => {
                while !s.lefts.is_empty() && !s.rights.is_empty() {
                    let pair = (
                        s.lefts.pop_front().expect("checked"),
                        s.rights.pop_front().expect("checked"),
                    );
                    ctx.emit(pair);
                }
            }
            Pairing::ZipLatest => {
                if let Some(r) = &s.latest_right {
                    for l in s.lefts.drain(..) {
                        ctx.emit((l, r.clone()));
                    }
                }
            }
            Pairing::CombineLatest => {
                if let (Some(l), Some(r)) = (&s.latest_left, &s.latest_right) {
                    ctx.emit((l.clone(), r.clone()));
                }
            }
        }
        let empty =
            s.lefts.is_empty() && s.rights.is_empty() && s.latest_left.is_none() && s.latest_right.is_none();
        match empty {
            true => Retention::Discard,
            false => Retention::Keep,
        }
    }

    fn snapshot(&self) -> Unpaired<L, R> {
        self.state.clone()
    }
}

impl<K: Key, L: Data> KeyedStream<L, K> {
    fn pair_with<R: Data>(
        &self,
        step_id: &str,
        kind: &'static str,
        right: &KeyedStream<R, K>,
        pairing: Pairing,
    ) -> KeyedStream<(L, R), K> {
        two_sided_step(
            self,
            right,
            step_id,
            kind,
            EventTimeRole::Unrelated,
            move |resume| KeyPairing {
                pairing,
                state: resume.unwrap_or(Unpaired {
                    lefts: VecDeque::new(),
                    rights: VecDeque::new(),
                    latest_left: None,
                    latest_right: None,
                }),
            },
        )
    }

    /// Pairs each key's i-th value of this stream with its i-th value of `right`. A side
    /// that runs ahead is held (state grows with the difference).
    ///
    /// ```
    /// use weir::testing::{run_main, TestingSink, TestingSource};
    /// use weir::Dataflow;
    ///
    /// let mut flow = Dataflow::new("zip");
    /// let out = TestingSink::new();
    /// let a = flow.input("a", TestingSource::new(vec![1, 2, 3])).key_on("ka", |_: &i32| ());
    /// let b = flow.input("b", TestingSource::new(vec!['x', 'y'])).key_on("kb", |_: &char| ());
    /// a.zip("zip", &b).key_rm("unkey").output("out", out.clone());
    /// run_main(flow).unwrap();
    /// assert_eq!(out.items(), vec![(1, 'x'), (2, 'y')]);
    /// ```
    pub fn zip<R: Data>(&self, step_id: &str, right: &KeyedStream<R, K>) -> KeyedStream<(L, R), K> {
        self.pair_with(step_id, "zip", right, Pairing::Zip)
    }

    /// Pairs every value of this stream with the latest value of `right` for its key;
    /// values that arrive before the first right value wait for it (none is dropped).
    pub fn zip_latest<R: Data>(&self, step_id: &str, right: &KeyedStream<R, K>) -> KeyedStream<(L, R), K> {
        self.pair_with(step_id, "zip_latest", right, Pairing::ZipLatest)
    }

    /// After every value of either stream, emits the latest values of both for its key,
    /// once both have one.
    pub fn combine_latest<R: Data>(
        &self,
        step_id: &str,
        right: &KeyedStream<R, K>,
    ) -> KeyedStream<(L, R), K> {
        self.pair_with(step_id, "combine_latest", right, Pairing::CombineLatest)
    }
}
