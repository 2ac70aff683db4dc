//! Connectors and the test kit: files, directories, CSV, stdin/stdout, markers, close().

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use weir::connectors::{CsvSource, DirSource, FileSink, FileSource, Visibility};
use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::outputs::{FixedPartitionedSink, StatefulSinkPartition};
use weir::testing::{TestEvent, TestingSink, TestingSource, run_main};
use weir::{BoxError, Dataflow, Error, RunConfig, StepId};

use crate::support::{example, output_lines};

#[test]
fn dir_source_reads_every_file_once_across_workers() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = Vec::new();
    for f in 0..7 {
        let lines: Vec<String> = (0..50).map(|l| format!("f{f}-l{l}")).collect();
        std::fs::write(dir.path().join(format!("in-{f}")), lines.join("\n")).unwrap();
        expected.extend(lines);
    }
    std::fs::write(dir.path().join(".hidden"), "skipped\n").unwrap();
    expected.sort();
    for workers in [1, 3] {
        let out = TestingSink::new();
        let mut flow = Dataflow::new("dir");
        flow.input("read", DirSource::new(dir.path()))
            .output("out", out.clone());
        weir::run(flow, RunConfig::threads(workers)).unwrap();
        assert_eq!(out.sorted(), expected);
    }
}

#[test]
fn file_source_resumes_from_a_byte_offset() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\n").unwrap();
    let source = FileSource::new(&path);
    let step = StepId::new("read").unwrap();
    let mut part = source.build_part(&step, "f", None).unwrap();
    assert_eq!(part.next_batch().unwrap(), Batch::Items(vec!["one".into()]));
    let after_one = part.snapshot();
    assert_eq!((after_one.offset(), after_one.at_end()), (4, true));
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    file.write_all(b"two\r\nthree").unwrap();
    let mut resumed = source.build_part(&step, "f", Some(after_one)).unwrap();
    assert_eq!(
        resumed.next_batch().unwrap(),
        Batch::Items(vec!["two".into(), "three".into()])
    );
    assert_eq!(
        resumed.snapshot().offset(),
        14,
        "the last line without newline is read"
    );
    assert_eq!(resumed.next_batch().unwrap(), Batch::Eof);
}

#[test]
fn file_sink_truncates_to_its_resume_state() {
    let dir = tempfile::tempdir().unwrap();
    let sink = FileSink::new(dir.path()).with_parts(1);
    let step = StepId::new("write").unwrap();
    let mut part = sink.build_part(&step, "part-0", None).unwrap();
    part.write_batch(vec!["a".into(), "b".into()]).unwrap();
    let after_two = part.snapshot().unwrap();
    part.write_batch(vec!["lost".into()]).unwrap();
    drop(part);
    let mut resumed = sink.build_part(&step, "part-0", Some(after_two)).unwrap();
    resumed.write_batch(vec!["c".into()]).unwrap();
    resumed.close().unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("part-0")).unwrap(),
        "a\nb\nc\n"
    );
}

#[test]
fn a_file_sink_visible_when_durable_shows_only_durable_lines_and_never_takes_one_back() {
    let dir = tempfile::tempdir().unwrap();
    let sink = FileSink::new(dir.path())
        .with_parts(1)
        .with_visibility(Visibility::WhenDurable);
    let step = StepId::new("write").unwrap();
    let visible = || std::fs::read_to_string(dir.path().join("part-0")).unwrap();
    let mut part = sink.build_part(&step, "part-0", None).unwrap();
    part.write_batch(vec!["a".into(), "b".into()]).unwrap();
    let first = part.snapshot().unwrap();
    assert_eq!(visible(), "", "nothing is visible before it is durable");
    part.on_durable(1, first).unwrap();
    assert_eq!(visible(), "a\nb\n");
    part.write_batch(vec!["lost".into()]).unwrap();
    part.snapshot().unwrap();
    drop(part); // a crash: that snapshot never became durable
    assert_eq!(visible(), "a\nb\n");
    let mut resumed = sink.build_part(&step, "part-0", Some(first)).unwrap();
    resumed.write_batch(vec!["c".into()]).unwrap();
    let third = resumed.snapshot().unwrap();
    drop(resumed); // a crash after `third` became durable, before it was published
    let mut resumed = sink.build_part(&step, "part-0", Some(third)).unwrap();
    assert_eq!(visible(), "a\nb\nc\n", "a resume publishes what is durable");
    resumed.close().unwrap();
    std::fs::write(dir.path().join("part-0"), "a\nb\nc\nextra\n").unwrap();
    let err = sink
        .build_part(&step, "part-0", Some(third))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("written outside weir"), "{err}");
}

#[test]
fn file_sink_refuses_a_part_file_missing_or_shorter_than_its_resume_state() {
    let dir = tempfile::tempdir().unwrap();
    let sink = FileSink::new(dir.path()).with_parts(2);
    let step = StepId::new("write").unwrap();
    let mut part = sink.build_part(&step, "part-0", None).unwrap();
    part.write_batch(vec!["abc".into(), "def".into()]).unwrap();
    let written = part.snapshot().unwrap();
    drop(part);
    let path = dir.path().join("part-0");
    std::fs::write(&path, "abc\n").unwrap();
    let err = sink
        .build_part(&step, "part-0", Some(written))
        .err()
        .unwrap()
        .to_string();
    assert!(
        err.contains("part-0 holds only 4 bytes") && err.contains("records 8 bytes"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&path).unwrap(),
        "abc\n",
        "the file is left as it was"
    );
    std::fs::remove_file(&path).unwrap();
    let err = sink
        .build_part(&step, "part-0", Some(written))
        .err()
        .unwrap()
        .to_string();
    assert!(err.contains("part-0 is missing"), "{err}");
    assert!(!path.exists(), "no file is made up");
}

#[test]
fn file_sink_routes_each_key_to_one_part_file() {
    let dir = tempfile::tempdir().unwrap();
    let mut flow = Dataflow::new("sink");
    let items: Vec<(String, String)> = (0..200)
        .map(|i| (format!("k{}", i % 20), format!("k{} {i}", i % 20)))
        .collect();
    flow.input("in", TestingSource::new(items.clone()))
        .output("write", FileSink::new(dir.path()).with_parts(3));
    weir::run(flow, RunConfig::threads(2)).unwrap();
    for part in 0..3 {
        let text = std::fs::read_to_string(dir.path().join(format!("part-{part}"))).unwrap();
        for line in text.lines() {
            let key = line.split(' ').next().unwrap();
            let sink = FileSink::new(dir.path()).with_parts(3);
            assert_eq!(sink.part_fn(key), part, "{key} is in the wrong file");
        }
    }
    let mut expected: Vec<String> = items.into_iter().map(|(_, line)| line).collect();
    expected.sort();
    assert_eq!(output_lines(dir.path()), expected);
}

#[test]
fn csv_source_parses_quoted_fields_and_skips_the_header() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.csv");
    std::fs::write(
        &path,
        "name,note\nada,\"likes, commas\"\nbob,\"say \"\"hi\"\"\"\n\n",
    )
    .unwrap();
    let out = TestingSink::new();
    let mut flow = Dataflow::new("csv");
    flow.input("read", CsvSource::new(&path))
        .output("out", out.clone());
    run_main(flow).unwrap();
    assert_eq!(
        out.items(),
        vec![
            vec!["ada".to_string(), "likes, commas".into()],
            vec!["bob".into(), "say \"hi\"".into()]
        ]
    );
}

#[test]
fn testing_source_markers_end_and_abort_the_input() {
    let out = TestingSink::new();
    let mut flow = Dataflow::new("eof");
    let events = vec![TestEvent::Item(1), TestEvent::Eof, TestEvent::Item(2)];
    flow.input("in", TestingSource::from_events(events))
        .output("out", out.clone());
    run_main(flow).unwrap();
    assert_eq!(out.items(), vec![1]);

    let mut flow = Dataflow::new("abort");
    let events = vec![TestEvent::Item(1), TestEvent::Abort, TestEvent::Item(2)];
    flow.input("in", TestingSource::from_events(events))
        .output("out", TestingSink::new());
    let err = run_main(flow).unwrap_err();
    assert!(
        matches!(&err, Error::StepFailed { step, .. } if step == "in"),
        "{err}"
    );
    assert!(err.to_string().contains("ABORT marker"), "{err}");
}

/// A source with `parts` partitions, each listed only by the workers in `listed_by`,
/// that counts how many times partitions are built and closed.
struct Counted {
    parts: usize,
    listed_by: Vec<Vec<usize>>,
    built: Arc<AtomicUsize>,
    closed: Arc<AtomicUsize>,
    next_worker: Arc<AtomicUsize>,
}

struct CountedPart {
    name: String,
    left: u32,
    closed: Arc<AtomicUsize>,
}

impl FixedPartitionedSource for Counted {
    type Item = String;
    type State = ();
    type Partition = CountedPart;
    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        // Each worker calls list_parts once; hand out listings in call order.
        let worker = self.next_worker.fetch_add(1, Ordering::SeqCst);
        Ok((0..self.parts)
            .filter(|p| self.listed_by[*p].contains(&worker))
            .map(|p| format!("p{p}"))
            .collect())
    }
    fn build_part(&self, _: &StepId, part: &str, _: Option<()>) -> Result<CountedPart, BoxError> {
        self.built.fetch_add(1, Ordering::SeqCst);
        Ok(CountedPart {
            name: part.to_owned(),
            left: 3,
            closed: self.closed.clone(),
        })
    }
}

impl StatefulSourcePartition for CountedPart {
    type Item = String;
    type State = ();
    fn next_batch(&mut self) -> Result<Batch<String>, BoxError> {
        if self.left == 0 {
            return Ok(Batch::Eof);
        }
        self.left -= 1;
        Ok(Batch::Items(vec![format!("{}-{}", self.name, self.left)]))
    }
    fn snapshot(&self) {}
    fn close(&mut self) -> Result<(), BoxError> {
        self.closed.fetch_add(1, Ordering::SeqCst);
        Ok(())
    }
}

#[test]
fn partitions_listed_by_some_workers_are_each_read_exactly_once() {
    // 5 partitions over 3 workers: p0 everywhere, p1 only on worker 2, p2 on 0 and 1,
    // p3 only on worker 1, p4 on nobody's list but worker 0's.
    let listed_by = vec![vec![0, 1, 2], vec![2], vec![0, 1], vec![1], vec![0]];
    let (built, closed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let source = Counted {
        parts: 5,
        listed_by,
        built: built.clone(),
        closed: closed.clone(),
        next_worker: Arc::new(AtomicUsize::new(0)),
    };
    let out = TestingSink::new();
    let mut flow = Dataflow::new("parts");
    flow.input("read", source).output("out", out.clone());
    weir::run(flow, RunConfig::threads(3)).unwrap();
    assert_eq!(built.load(Ordering::SeqCst), 5, "every partition built once");
    assert_eq!(
        closed.load(Ordering::SeqCst),
        5,
        "every partition closed at the end"
    );
    let mut expected: Vec<String> = (0..5)
        .flat_map(|p| (0..3).map(move |l| format!("p{p}-{l}")))
        .collect();
    expected.sort();
    assert_eq!(out.sorted(), expected);
}

#[test]
fn stdin_to_stdout_carries_only_data_even_as_a_cluster() {
    for mode in [&["-w", "2"][..], &["-p", "2", "-w", "2"]] {
        let mut child = Command::new(example("uppercase"))
            .args(mode)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let input: String = (0..500).map(|i| format!("line {i}\n")).collect();
        child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        let out = crate::support::wait_output(child, Duration::from_secs(60));
        assert!(
            out.status.success(),
            "{mode:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let mut lines: Vec<String> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(str::to_owned)
            .collect();
        lines.sort();
        let mut expected: Vec<String> = (0..500).map(|i| format!("LINE {i}")).collect();
        expected.sort();
        assert_eq!(lines, expected, "{mode:?}");
    }
}
