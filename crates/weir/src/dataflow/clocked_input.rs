//! The two streams of an input with an event clock.

use crate::dataflow::Stream;

/// The streams of an input read with an [`EventClock`](crate::inputs::EventClock).
///
/// Lateness is decided at the source, per partition: an item below its partition's
/// watermark when read is in `late`, every other item in `on_time`. Window steps fed from
/// `on_time` (through stateless steps) never find an item's window already closed.
pub struct ClockedInput<T> {
    /// Items at or above their partition's watermark when read, in read order.
    pub on_time: Stream<T>,
    /// Items below their partition's watermark when read, in read order.
    pub late: Stream<T>,
}

impl<T> ClockedInput<T> {
    pub(crate) fn from_outputs(mut outputs: Vec<Stream<T>>) -> Self {
        let late = outputs.pop().expect("a clocked input has two outputs");
        let on_time = outputs.pop().expect("a clocked input has two outputs");
        ClockedInput { on_time, late }
    }
}
