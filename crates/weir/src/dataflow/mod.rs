//! The dataflow as a value: steps, typed streams and the description of the graph.

mod clocked_input;
mod description;
pub(crate) mod flow;
mod render;
mod stream;

pub use clocked_input::ClockedInput;
pub use description::{Description, StepDescription};
pub use flow::Dataflow;
pub(crate) use flow::{ListPartsFn, Plan, PortId, StepNode, UnlistedPartFn};
pub use stream::{KeyedStream, Stream};
