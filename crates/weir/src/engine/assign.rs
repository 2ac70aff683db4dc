//! Which worker builds which partition: a pure function of what every worker listed.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::Hash;

use crate::ids::PartIndex;

/// The partitions of one step (or of the recovery store) and the worker that owns each.
///
/// Partitions are kept in one canonical order; a [`PartIndex`] is a position in it, and
/// only this type hands positions out or reads them back, so nobody indexes `owners` with
/// a position taken from some other ordering.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment<P: Eq + Hash = String> {
    /// Every partition listed by any worker, in canonical order.
    parts: Vec<P>,
    /// `owners[i]` builds `parts[i]`.
    owners: Vec<usize>,
    /// Where each partition sits in `parts`.
    positions: HashMap<P, PartIndex>,
}

impl Assignment<String> {
    /// Assigns named partitions (of sources and sinks), ordered by [`natural_cmp`].
    pub(crate) fn of_names(listings: &[Vec<String>]) -> Self {
        Self::compute_by(listings, |a, b| natural_cmp(a, b))
    }
}

impl<P: Clone + Eq + Hash + Ord> Assignment<P> {
    /// Assigns partitions that have their own order (recovery store partitions).
    pub(crate) fn compute(listings: &[Vec<P>]) -> Self {
        Self::compute_by(listings, Ord::cmp)
    }
}

impl<P: Clone + Eq + Hash> Assignment<P> {
    /// Assigns every listed partition to exactly one worker that listed it, spreading them
    /// evenly: partitions in `order` each go to the least-loaded worker that can reach
    /// them, ties to the lowest index. Every worker computes the same answer.
    pub(crate) fn compute_by(listings: &[Vec<P>], order: impl Fn(&P, &P) -> Ordering) -> Self {
        let mut parts: Vec<P> = listings.iter().flatten().cloned().collect();
        parts.sort_by(&order);
        parts.dedup();
        let mut load = vec![0usize; listings.len()];
        let owners = parts
            .iter()
            .map(|part| {
                let owner = (0..listings.len())
                    .filter(|&w| listings[w].contains(part))
                    .min_by_key(|&w| (load[w], w))
                    .expect("a part comes from at least one listing");
                load[owner] += 1;
                owner
            })
            .collect();
        let positions = parts
            .iter()
            .enumerate()
            .map(|(i, p)| (p.clone(), PartIndex(i)))
            .collect();
        Assignment {
            parts,
            owners,
            positions,
        }
    }

    /// How many partitions there are.
    pub(crate) fn len(&self) -> usize {
        self.parts.len()
    }

    /// Whether no worker listed any partition.
    pub(crate) fn is_empty(&self) -> bool {
        self.parts.is_empty()
    }

    /// The worker that owns the partition at `index`.
    pub(crate) fn owner(&self, index: PartIndex) -> usize {
        self.owners[index.0]
    }

    /// The position of `part`, if any worker listed it.
    pub(crate) fn index_of<Q>(&self, part: &Q) -> Option<PartIndex>
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.positions.get(part).copied()
    }

    /// The worker that owns `part`, if any worker listed it.
    pub(crate) fn owner_of<Q>(&self, part: &Q) -> Option<usize>
    where
        P: Borrow<Q>,
        Q: Hash + Eq + ?Sized,
    {
        self.index_of(part).map(|index| self.owner(index))
    }

    /// The partitions `worker` builds, with their positions.
    pub(crate) fn parts_of(&self, worker: usize) -> impl Iterator<Item = (PartIndex, &P)> {
        self.parts
            .iter()
            .zip(&self.owners)
            .enumerate()
            .filter(move |(_, (_, owner))| **owner == worker)
            .map(|(i, (part, _))| (PartIndex(i), part))
    }
}

/// Orders names as people do: runs of digits compare as numbers, so `part-2` comes before
/// `part-10`; names equal that way (`x01`, `x1`) fall back to plain text order.
pub(crate) fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (mut x, mut y) = (a.as_bytes(), b.as_bytes());
    loop {
        match (x.first(), y.first()) {
            (None, None) => return a.cmp(b),
            (None, Some(_)) => return Ordering::Less,
            (Some(_), None) => return Ordering::Greater,
            (Some(c), Some(d)) if c.is_ascii_digit() && d.is_ascii_digit() => {
                let (m, rest_x) = split_digits(x);
                let (n, rest_y) = split_digits(y);
                let by_value = m.len().cmp(&n.len()).then_with(|| m.cmp(n));
                if by_value != Ordering::Equal {
                    return by_value;
                }
                (x, y) = (rest_x, rest_y);
            }
            (Some(c), Some(d)) if c != d => return c.cmp(d),
            _ => (x, y) = (&x[1..], &y[1..]),
        }
    }
}

/// The leading digit run of `s` without leading zeros, and what follows it.
fn split_digits(s: &[u8]) -> (&[u8], &[u8]) {
    let end = s.iter().position(|b| !b.is_ascii_digit()).unwrap_or(s.len());
    let (digits, rest) = s.split_at(end);
    let first_nonzero = digits.iter().position(|&b| b != b'0').unwrap_or(digits.len());
    (&digits[first_nonzero..], rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    fn check_exactly_once(listings: &[Vec<String>]) -> Assignment {
        let a = Assignment::of_names(listings);
        let mut all: Vec<String> = listings.iter().flatten().cloned().collect();
        all.sort_by(|a, b| natural_cmp(a, b));
        all.dedup();
        assert_eq!(a.parts, all, "every listed partition is assigned");
        for (i, part) in a.parts.iter().enumerate() {
            let owner = a.owner(PartIndex(i));
            assert!(
                listings[owner].contains(part),
                "{part} went to {owner} who cannot reach it"
            );
            assert_eq!(a.index_of(part.as_str()), Some(PartIndex(i)));
        }
        a
    }

    #[test]
    fn spreads_evenly_when_everyone_lists_everything() {
        let all = listing(&["a", "b", "c", "d", "e", "f", "g"]);
        let a = check_exactly_once(&vec![all; 3]);
        let mut load = [0; 3];
        a.owners.iter().for_each(|&o| load[o] += 1);
        assert_eq!(load, [3, 2, 2]);
    }

    #[test]
    fn only_workers_that_listed_a_part_get_it() {
        let a = check_exactly_once(&[listing(&["a", "b"]), listing(&[]), listing(&["b", "c"])]);
        assert_eq!(a.owners, vec![0, 2, 2]);
        assert_eq!(a.parts_of(1).count(), 0);
    }

    #[test]
    fn fewer_parts_than_workers_and_none_at_all() {
        let a = check_exactly_once(&[listing(&["x"]), listing(&["x"]), listing(&["x"])]);
        assert_eq!(a.owners, vec![0]);
        let none = Assignment::of_names(&[vec![], vec![]]);
        assert!(none.is_empty());
    }

    #[test]
    fn numbered_names_keep_their_numeric_order() {
        let names: Vec<String> = (0..25).map(|i| format!("part-{i}")).collect();
        let mut shuffled = names.clone();
        shuffled.reverse();
        let a = check_exactly_once(&[shuffled]);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(a.index_of(name.as_str()), Some(PartIndex(i)));
        }
    }

    #[test]
    fn natural_order_is_a_total_order() {
        let mut names = listing(&["b", "a10", "a2", "a02", "a", "a2b", "a2a", "10", "9", "", "a0"]);
        names.sort_by(|a, b| natural_cmp(a, b));
        assert_eq!(
            names,
            listing(&["", "9", "10", "a", "a0", "a02", "a2", "a2a", "a2b", "a10", "b"])
        );
        for a in &names {
            for b in &names {
                assert_eq!(natural_cmp(a, b), natural_cmp(b, a).reverse(), "{a} {b}");
                assert_eq!(natural_cmp(a, b) == Ordering::Equal, a == b, "{a} {b}");
            }
        }
    }
}
