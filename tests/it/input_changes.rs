//! Inputs that change between runs: file sources resumed on files that were removed,
//! replaced, truncated or grown, and a last line without a newline.

use std::path::Path;

use weir::connectors::{Changed, CsvSource, DirSource, FileSource};
use weir::inputs::{Batch, FixedPartitionedSource, StatefulSourcePartition};
use weir::testing::TestingSink;
use weir::{Dataflow, Error, StepId};

use crate::numbers_by_ctime::NumbersByCtime;
use crate::recovery::config;

/// Runs `source` once with the recovery store `store`; returns the items this run read.
///
/// One worker: these tests need the next run to resume where this one ended, and with
/// several workers a store partition whose writer never saw the last epoch (a run over
/// within an epoch or two) records an earlier front, so the next run resumes before it.
fn read_once<S: FixedPartitionedSource<Item: Ord>>(source: S, store: &Path) -> Result<Vec<S::Item>, Error> {
    let out = TestingSink::new();
    let mut flow = Dataflow::new("lines");
    flow.input("read", source).output("out", out.clone());
    weir::run(flow, config(store, 1))?;
    Ok(out.sorted())
}

/// A fresh recovery store and an empty input directory.
fn store_and_dir() -> (tempfile::TempDir, tempfile::TempDir) {
    let (store, dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    weir::recovery::init(store.path(), 2).unwrap();
    (store, dir)
}

#[test]
fn a_dir_source_resumes_without_a_consumed_file_that_was_removed() {
    let (store, dir) = store_and_dir();
    std::fs::write(dir.path().join("a"), "a1\na2\n").unwrap();
    std::fs::write(dir.path().join("b"), "b1\nb2").unwrap();
    let read = read_once(DirSource::new(dir.path()), store.path()).unwrap();
    assert_eq!(read, ["a1", "a2", "b1", "b2"]);
    std::fs::remove_file(dir.path().join("a")).unwrap();
    std::fs::write(dir.path().join("c"), "c1\n").unwrap();
    let read = read_once(DirSource::new(dir.path()), store.path()).unwrap();
    assert_eq!(read, ["c1"], "only the new file is read");
}

#[test]
fn a_dir_source_accepts_a_removed_file_only_if_it_was_read_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("f");
    let lines: Vec<String> = (0..2000).map(|i| i.to_string()).collect();
    std::fs::write(&path, lines.join("\n")).unwrap();
    let step = StepId::new("read").unwrap();
    let source = DirSource::new(dir.path());
    let mut part = source.build_part(&step, "f", None).unwrap();
    assert!(matches!(part.next_batch().unwrap(), Batch::Items(items) if items.len() < 2000));
    let partly = part.snapshot();
    while part.next_batch().unwrap() != Batch::Eof {}
    let fully = part.snapshot();
    std::fs::remove_file(&path).unwrap();
    assert!(source.unlisted_part(&step, "f", fully).is_ok());
    let err = source
        .unlisted_part(&step, "f", partly.clone())
        .unwrap_err()
        .to_string();
    let expected = format!(
        "input file {} is gone, but it was read only up to byte {}",
        path.display(),
        partly.offset()
    );
    assert!(err.contains(&expected) && err.contains("ReadAsNew"), "{err}");
    let lenient = DirSource::new(dir.path()).on_changed(Changed::ReadAsNew);
    assert!(lenient.unlisted_part(&step, "f", partly).is_ok());
}

#[test]
fn other_sources_still_refuse_state_of_a_partition_nobody_lists() {
    let (store, dir) = store_and_dir();
    let (first, second) = (dir.path().join("first"), dir.path().join("second"));
    std::fs::write(&first, "one\n").unwrap();
    std::fs::write(&second, "two\n").unwrap();
    assert_eq!(read_once(FileSource::new(&first), store.path()).unwrap(), ["one"]);
    let err = read_once(FileSource::new(&second), store.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!(
            "partition {:?} of step \"read\"",
            first.display().to_string()
        )) && err.contains("make it reachable again or start from a fresh store"),
        "{err}"
    );
}

/// Renames another file over `path` (another inode).
fn replace(path: &Path) {
    let other = path.with_extension("new");
    std::fs::write(&other, "three\nfour\nfive\n").unwrap();
    std::fs::rename(&other, path).unwrap();
}

/// Rewrites `path` in place (the same inode) with other bytes.
fn rewrite(path: &Path) {
    std::fs::write(path, "ONE\nTWO\nthree\n").unwrap();
}

#[test]
fn a_replaced_or_rewritten_file_is_refused_at_resume() {
    let replaced = (replace as fn(&Path), "another file has its name now");
    for (change, described) in [replaced, (rewrite, "rewritten")] {
        let (store, dir) = store_and_dir();
        let path = dir.path().join("f");
        std::fs::write(&path, "one\ntwo\n").unwrap();
        assert_eq!(
            read_once(FileSource::new(&path), store.path()).unwrap(),
            ["one", "two"]
        );
        change(&path);
        let err = read_once(FileSource::new(&path), store.path())
            .unwrap_err()
            .to_string();
        let named = format!(
            "input file {} changed since its resume state was taken at byte 8",
            path.display()
        );
        assert!(err.contains(&named) && err.contains(described), "{err}");
        assert!(err.contains("Changed::ReadAsNew"), "{err}");
    }
}

#[test]
fn read_as_new_reads_a_changed_file_from_its_start() {
    let (store, dir) = store_and_dir();
    let path = dir.path().join("f");
    let source = || FileSource::new(&path).on_changed(Changed::ReadAsNew);
    std::fs::write(&path, "one\ntwo\n").unwrap();
    assert_eq!(read_once(source(), store.path()).unwrap(), ["one", "two"]);
    replace(&path);
    assert_eq!(
        read_once(source(), store.path()).unwrap(),
        ["five", "four", "three"]
    );
    std::fs::write(&path, "six\n").unwrap();
    assert_eq!(read_once(source(), store.path()).unwrap(), ["six"], "truncated");

    let (store, dir) = store_and_dir();
    let path = dir.path().join("t.csv");
    let csv = || CsvSource::new(&path).on_changed(Changed::ReadAsNew);
    std::fs::write(&path, "n\n1\n2\n").unwrap();
    assert_eq!(read_once(csv(), store.path()).unwrap(), [["1"], ["2"]]);
    std::fs::write(&path, "n\n3\n").unwrap();
    assert_eq!(
        read_once(csv(), store.path()).unwrap(),
        [["3"]],
        "its header skipped again"
    );
}

#[test]
fn a_truncated_file_is_refused_at_resume() {
    let (store, dir) = store_and_dir();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\ntwo\n").unwrap();
    assert_eq!(
        read_once(DirSource::new(dir.path()), store.path()).unwrap(),
        ["one", "two"]
    );
    std::fs::write(&path, "one\n").unwrap();
    let err = read_once(DirSource::new(dir.path()), store.path())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(&format!("input file {} changed", path.display())) && err.contains("byte 8"),
        "{err}"
    );
    assert!(err.contains("truncated to 4 bytes"), "{err}");
}

#[test]
fn a_grown_file_resumes_after_what_was_read() {
    let (store, dir) = store_and_dir();
    let path = dir.path().join("f");
    std::fs::write(&path, "one\n").unwrap();
    assert_eq!(read_once(FileSource::new(&path), store.path()).unwrap(), ["one"]);
    let mut grown = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut grown, b"two\n").unwrap();
    assert_eq!(read_once(FileSource::new(&path), store.path()).unwrap(), ["two"]);
}

#[test]
fn a_last_line_without_newline_is_read_once_across_a_resume() {
    let (store, dir) = store_and_dir();
    let path = dir.path().join("f");
    std::fs::write(&path, "a\nb").unwrap();
    assert_eq!(
        read_once(FileSource::new(&path), store.path()).unwrap(),
        ["a", "b"]
    );
    assert!(
        read_once(FileSource::new(&path), store.path())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn following_a_directory_does_not_split_a_line_written_in_two_parts() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("n");
    let source = NumbersByCtime::new(dir.path(), true);
    let mut part = source
        .build_part(&StepId::new("numbers").unwrap(), "dir", None)
        .unwrap();
    std::fs::write(&path, "1\n2").unwrap();
    let not_following = NumbersByCtime::new(dir.path(), false);
    let mut whole = not_following
        .build_part(&StepId::new("numbers").unwrap(), "dir", None)
        .unwrap();
    let read_as_is = Batch::Items(vec![("n".to_string(), vec![1, 2])]);
    assert_eq!(
        whole.next_batch().unwrap(),
        read_as_is,
        "the input ends: the last line counts"
    );
    assert_eq!(
        part.next_batch().unwrap(),
        Batch::Pending,
        "the last line is incomplete"
    );
    let mut file = std::fs::OpenOptions::new().append(true).open(&path).unwrap();
    std::io::Write::write_all(&mut file, b"3\n").unwrap();
    assert_eq!(
        part.next_batch().unwrap(),
        Batch::Items(vec![("n".to_string(), vec![1, 23])])
    );
}
