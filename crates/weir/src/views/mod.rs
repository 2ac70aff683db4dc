//! Incremental views: collections that change, with retractions, on
//! [differential-dataflow](https://github.com/TimelyDataflow/differential-dataflow).
//!
//! weir's other operators only add: a `join` that emitted a row cannot take it back, and an
//! aggregate over data that changes (an order amended, a customer moved to another region)
//! cannot be expressed. A [`View`] is a collection of `(key, value)` records that both grow
//! and shrink: enter one from a keyed stream as a table of upserts and deletes
//! ([`as_table`](crate::Stream::as_table)), as insertions
//! ([`as_collection`](crate::Stream::as_collection)) or as explicit `(value, diff)` changes
//! ([`as_changes`](crate::Stream::as_changes)); transform it with `map`, `filter`,
//! `flat_map`, `join`, `left_join`, `reduce`, `count`, `sum`, `distinct` and
//! `consolidate`; and read its **net changes per epoch** as a [`Change`] changelog, as
//! [`Upsert`]s for a keyed store, or as [`ChangeRow`]s with an op column.
//!
//! ```
//! use weir::testing::{run_main, TestingSink, TestingSource};
//! use weir::views::Change;
//! use weir::Dataflow;
//!
//! let mut flow = Dataflow::new("orders_by_region");
//! let out = TestingSink::new();
//! // order id -> (customer id, amount); customer id -> region. `None` deletes.
//! let orders = flow.input("orders", TestingSource::new(vec![(1u64, Some((7u64, 10i64))), (2, Some((7, 5)))]));
//! let customers = flow.input("customers", TestingSource::new(vec![(7u64, Some("north".to_string()))]));
//! orders
//!     .as_table("orders_table")
//!     .map("by_customer", |(_, (customer, amount))| (customer, amount))
//!     .join("with_region", &customers.as_table("customers_table"))
//!     .map("by_region", |(_, (amount, region))| (region, amount))
//!     .sum("total")
//!     .changelog("changes")
//!     .output("out", out.clone());
//! run_main(flow).unwrap();
//! assert_eq!(out.items(), [Change { key: "north".to_string(), value: 15, diff: 1 }]);
//! ```
//!
//! **When to use a view.** Use views when results must be *updated*: when inputs are
//! amended or deleted, or when a join or aggregate must take back what it said. Use the
//! bytewax-style operators for append-only streams: they emit as items arrive, with lower
//! latency, and windows close on event time.
//!
//! **Latency.** A view's output for epoch `e` appears when `e` closes (every input moved
//! past it), as that epoch's net changes: within an epoch, an update and its retraction
//! cancel out and are never seen. Shorter epochs mean fresher views and more, smaller
//! changes.
//!
//! **Recovery.** Only the boundary collections (the `as_*` steps) are snapshotted: per key,
//! its consolidated contents. A resumed run re-injects them and recomputes every view from
//! them, dropping what it recomputes for the epochs the crashed run completed, so the
//! changelog goes on exactly where it stood: with a resumable sink, exactly once. Start-up
//! therefore costs a recomputation of the views over the restored contents.
//!
//! **Determinism.** That recomputation must reproduce what the crashed run computed, so
//! closures inside a view (`map`, `filter`, `flat_map`, `reduce`) must be deterministic
//! functions of their input: no clocks, no randomness, no outside state.

mod aggregate;
mod change;
mod contents;
mod enter;
mod join;
mod leave;
mod view;

pub use change::{Change, ChangeRow, Op, Upsert};
pub use view::{View, ViewData};
