//! One test body, every execution mode: 1 worker, 3 threads, 2 processes x 2 threads.

use std::time::Duration;

use crate::support::{example, expected_wordcount, output_lines, run_with_limit, write_corpus};

const MODES: &[&[&str]] = &[&["-w", "1"], &["-w", "3"], &["-p", "2", "-w", "2"]];

fn wordcount_in_every_mode(running: bool) {
    let input = tempfile::tempdir().unwrap();
    let text = write_corpus(input.path(), 5, 3000, 300, 7);
    let expected = expected_wordcount(&text, running);
    for mode in MODES {
        let output = tempfile::tempdir().unwrap();
        let mut args = vec![
            "--input",
            input.path().to_str().unwrap(),
            "--output",
            output.path().to_str().unwrap(),
            "-s",
            "0.02",
        ];
        args.extend_from_slice(mode);
        if running {
            args.push("--running");
        }
        let out = run_with_limit(&example("wordcount"), &args, Duration::from_secs(60));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{mode:?} failed: {stderr}");
        assert!(
            out.stdout.is_empty(),
            "{mode:?} wrote to stdout: {:?}",
            String::from_utf8_lossy(&out.stdout)
        );
        let lines = output_lines(output.path());
        assert_eq!(lines.len(), expected.len(), "{mode:?}: line count");
        assert!(lines == expected, "{mode:?}: output differs from the oracle");
    }
}

#[test]
fn final_counts_are_identical_in_every_mode() {
    wordcount_in_every_mode(false);
}

#[test]
fn running_counts_are_identical_in_every_mode() {
    wordcount_in_every_mode(true);
}

#[test]
fn readme_sample_runs() {
    let output = tempfile::tempdir().unwrap();
    let sample = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/data/sample.txt");
    let out = run_with_limit(
        &example("wordcount"),
        &["--input", sample, "--output", output.path().to_str().unwrap()],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = std::fs::read_to_string(sample).unwrap();
    assert_eq!(output_lines(output.path()), expected_wordcount(&text, false));
}

#[test]
fn files_by_ctime_writes_stats_per_file() {
    let input = tempfile::tempdir().unwrap();
    let output = tempfile::tempdir().unwrap();
    std::fs::write(input.path().join("a"), "1\n2\n3\n").unwrap();
    std::fs::write(input.path().join("b"), "10\n").unwrap();
    std::fs::write(input.path().join("c"), "").unwrap();
    let out = run_with_limit(
        &example("files_by_ctime"),
        &[
            "--input",
            input.path().to_str().unwrap(),
            "--output",
            output.path().to_str().unwrap(),
            "-w",
            "2",
        ],
        Duration::from_secs(30),
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(
        output_lines(output.path()),
        vec![
            "a: count=3 mean=2.000 stdev=1.000",
            "b: count=1 mean=10.000 stdev=0.000",
            "c: count=0 mean=0.000 stdev=0.000",
        ]
    );
}
