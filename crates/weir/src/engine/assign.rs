//! Which worker builds which partition: a pure function of what every worker listed.

/// The partitions of one step and the worker that owns each of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Assignment {
    /// Every partition listed by any worker, sorted.
    pub parts: Vec<String>,
    /// `owners[i]` builds `parts[i]`.
    pub owners: Vec<usize>,
}

impl Assignment {
    /// Assigns every listed partition to exactly one worker that listed it, spreading them
    /// evenly: partitions in sorted order each go to the least-loaded worker that can reach
    /// them, ties to the lowest index. Every worker computes the same answer.
    pub(crate) fn compute(listings: &[Vec<String>]) -> Self {
        let mut parts: Vec<String> = listings.iter().flatten().cloned().collect();
        parts.sort();
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
        Assignment { parts, owners }
    }

    /// The partitions `worker` builds.
    pub(crate) fn parts_of(&self, worker: usize) -> impl Iterator<Item = &str> {
        self.parts
            .iter()
            .zip(&self.owners)
            .filter(move |(_, owner)| **owner == worker)
            .map(|(part, _)| part.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listing(parts: &[&str]) -> Vec<String> {
        parts.iter().map(|p| p.to_string()).collect()
    }

    fn check_exactly_once(listings: &[Vec<String>]) -> Assignment {
        let a = Assignment::compute(listings);
        let mut all: Vec<String> = listings.iter().flatten().cloned().collect();
        all.sort();
        all.dedup();
        assert_eq!(a.parts, all, "every listed partition is assigned");
        for (part, &owner) in a.parts.iter().zip(&a.owners) {
            assert!(
                listings[owner].contains(part),
                "{part} went to {owner} who cannot reach it"
            );
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
        let none = Assignment::compute(&[vec![], vec![]]);
        assert!(none.parts.is_empty());
    }
}
