//! The Nexmark benchmark on weir: [`NexmarkSource`], the `nexmark` crate's generator as a
//! partitioned, resumable source whose partitions report exact watermarks, and the
//! [`Query`]s, each a function that builds its steps on the event stream.
//!
//! ```
//! use nexmark::event::Event;
//! use weir::testing::TestingSink;
//! use weir::{Dataflow, RunConfig};
//! use weir_nexmark::{NexmarkSource, Query};
//!
//! let source = NexmarkSource::new(Some(2_000), 2);
//! let mut flow = Dataflow::new("nexmark_q2");
//! let events = flow.input_with_clock("events", source.clone(), NexmarkSource::clock());
//! let lines = TestingSink::new();
//! Query::Q2.build(&events.on_time).output("out", lines.clone());
//! weir::run(flow, RunConfig::threads(2)).unwrap();
//!
//! let selected = source.events().filter(|e| matches!(e, Event::Bid(b) if b.auction.is_multiple_of(123)));
//! assert_eq!(lines.items().len(), selected.count());
//! ```
//!
//! Every partition emits its events in timestamp order and reports the next one's
//! timestamp as its watermark, so the `late` stream of the input is always empty.

mod null_sink;
mod queries;
mod source;

pub use null_sink::NullSink;
pub use queries::{EUROS_PER_DOLLAR, Query, Row, Rows, lines, q0, q1, q2, q3, q4, q5, q7, q8, q9, q11};
pub use source::{BASE_TIME_MS, NexmarkPart, NexmarkSource};
