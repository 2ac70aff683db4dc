//! `NexmarkSource` read directly, partition by partition, against the generator's one stream.

use nexmark::event::Event;
use weir::StepId;
use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};

use super::{NexmarkPart, NexmarkSource};

fn step() -> StepId {
    StepId::new("events").unwrap()
}

fn part(source: &NexmarkSource, name: &str, resume: Option<u64>) -> NexmarkPart {
    source.build_part(&step(), name, resume).unwrap()
}

/// Everything `part` generates until it ends, checking on the way that its watermark is
/// the timestamp of the next event it generates (so no event of it is ever late).
fn read_to_end(part: &mut NexmarkPart) -> Vec<Event> {
    let mut events = Vec::new();
    loop {
        let watermark = part.watermark();
        match part.next_batch().unwrap() {
            Batch::Items(batch) => {
                assert_eq!(watermark, Some(batch[0].timestamp() as weir::Timestamp));
                let mut last = watermark.unwrap();
                for event in &batch {
                    let at = event.timestamp() as weir::Timestamp;
                    assert!(at >= last, "an event at {at} after one at {last}");
                    last = at;
                }
                events.extend(batch);
            }
            Batch::Pending => panic!("an unpaced partition is never pending"),
            Batch::Eof => {
                assert_eq!(part.watermark(), None, "an ended partition holds no watermark");
                return events;
            }
        }
    }
}

#[test]
fn partitions_split_the_generators_one_stream_by_offset() {
    for partitions in [1, 3, 4] {
        let source = NexmarkSource::new(Some(5_000), partitions);
        let names = source.list_parts().unwrap();
        assert_eq!(names.len(), partitions);
        let parts: Vec<Vec<Event>> = names
            .iter()
            .map(|n| read_to_end(&mut part(&source, n, None)))
            .collect();
        // Partition p holds the offsets p, p + P, p + 2P, …: interleaved back in offset order
        // they are the one stream.
        let interleaved: Vec<Event> = (0..5_000)
            .map(|offset| parts[offset % partitions][offset / partitions].clone())
            .collect();
        assert_eq!(
            parts.iter().map(Vec::len).sum::<usize>(),
            5_000,
            "{partitions} partitions"
        );
        assert_eq!(
            interleaved,
            source.events().collect::<Vec<_>>(),
            "{partitions} partitions"
        );
    }
}

#[test]
fn a_resumed_partition_generates_exactly_what_it_had_not() {
    let source = NexmarkSource::new(Some(10_000), 3);
    let whole = read_to_end(&mut part(&source, "1/3", None));
    let mut first = part(&source, "1/3", None);
    let Batch::Items(read) = first.next_batch().unwrap() else {
        panic!("the partition has events")
    };
    let rest = read_to_end(&mut part(&source, "1/3", Some(first.snapshot())));
    assert_eq!([read, rest].concat(), whole);
}

#[test]
fn an_unbounded_source_does_not_end() {
    let source = NexmarkSource::new(None, 2);
    let mut part = part(&source, "0/2", None);
    for _ in 0..100 {
        assert!(matches!(part.next_batch().unwrap(), Batch::Items(events) if events.len() == 1024));
    }
    assert!(part.watermark().is_some());
}

#[test]
fn a_resume_offset_of_another_partition_or_count_is_refused() {
    let source = NexmarkSource::new(Some(100), 4);
    let wrong_offset = source.build_part(&step(), "1/4", Some(8)).err().unwrap();
    assert!(
        wrong_offset
            .to_string()
            .contains("not an offset of partition 1/4"),
        "{wrong_offset}"
    );
    let unknown = source.build_part(&step(), "1/3", None).err().unwrap();
    assert!(
        unknown.to_string().contains("no Nexmark partition \"1/3\""),
        "{unknown}"
    );
    let unlisted = source.unlisted_part(&step(), "1/3", 7).unwrap_err();
    assert!(
        unlisted.to_string().contains("another partition count"),
        "{unlisted}"
    );
}
