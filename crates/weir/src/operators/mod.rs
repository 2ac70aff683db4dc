//! Operators: one file each. Methods on [`Stream`](crate::Stream) and
//! [`KeyedStream`](crate::KeyedStream); this module lists them and exports their helper types.
//!
//! Stateless: `map`, `filter`, `filter_map`, `flat_map`, `flat_map_batch`, `inspect`,
//! `inspect_debug`, `key_on`, `as_keys`, `key_rm`, `map_value`, `filter_value`, `flat_map_value`,
//! `branch`, `try_map`, `merge`, `redistribute`. Stateful, all on the one core in `stateful`:
//! `stateful`, `stateful_map`, `stateful_flat_map`, `collect`, `fold_final`,
//! `reduce_final`, `count_final`, `max_final`, `min_final`. Ends: `input`, `output`.

mod accumulate;
mod branch;
mod changed_keys;
mod collect;
mod combine;
mod count_final;
mod count_windows;
mod enrich_cached;
mod filter;
mod filter_map;
mod filter_value;
mod flat_map;
mod flat_map_batch;
mod flat_map_value;
mod flatten;
mod fold_final;
pub(crate) mod input;
mod inspect;
mod inspect_debug;
mod key_on;
mod key_rm;
mod key_table;
mod key_timers;
pub(crate) mod keyed_core;
mod keyed_logic;
mod keyed_process;
mod keyed_state;
mod map;
mod map_value;
mod max_final;
mod merge;
mod min_final;
mod output;
mod per_batch;
mod polled;
mod processing_time;
mod redistribute;
mod reduce_final;
mod serve;
mod sink_parts;
mod slice;
mod source_parts;
mod split;
pub(crate) mod stateful;
mod stateful_flat_map;
mod stateful_map;
mod try_map;
mod unique;

pub use branch::Branch;
pub(crate) use changed_keys::ChangedKeys;
pub use collect::Collecting;
pub use fold_final::Folding;
pub use inspect_debug::Seen;
pub(crate) use key_table::KeyTable;
pub(crate) use keyed_logic::Clocks;
pub use keyed_process::{Ctx, KeyedProcess};
pub(crate) use keyed_state::{KeyedState, TimedEmit};
pub use output::{Dynamic, Partitioned, Sink};
pub use stateful::{Retention, StatefulLogic};
pub use stateful_map::MapWithState;
pub use try_map::Attempts;
