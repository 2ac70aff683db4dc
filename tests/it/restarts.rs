//! The launcher's restarts (`--restart`): a failure that repeats identically at the same
//! input position is reported as deterministic instead of being restarted again.

use std::time::Duration;

use crate::support::{example, run_with_limit};

#[test]
fn a_poison_item_is_reported_as_deterministic_instead_of_restarted() {
    for processes in ["1", "2"] {
        let (input, output, store) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        std::fs::write(input.path().join("first"), "1\n2\n").unwrap();
        // `files_by_ctime` fails on this file every time it reads it.
        std::fs::write(input.path().join("second"), "3\nnot a number\n").unwrap();
        weir::recovery::init(store.path(), 2).unwrap();
        let out = run_with_limit(
            &example("files_by_ctime"),
            &[
                "--input",
                input.path().to_str().unwrap(),
                "--output",
                output.path().to_str().unwrap(),
                "-r",
                store.path().to_str().unwrap(),
                "-s",
                "0.1",
                "-p",
                processes,
                "--restart",
                "5",
            ],
            Duration::from_secs(120),
        );
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "-p {processes}: {stderr}");
        let last = stderr.lines().last().unwrap_or_default();
        assert!(
            last.starts_with("error: the failure is deterministic"),
            "-p {processes}: {stderr}"
        );
        assert!(
            last.contains(r#""not a number" is not an integer"#),
            "-p {processes}: the final error quotes the step's: {last}"
        );
        // The source fails on its first read, so the second run commits no epoch and the
        // third failure at the latest repeats the second one.
        let restarts = stderr.matches("restarting the local cluster").count();
        assert!(
            (1..=2).contains(&restarts),
            "-p {processes}: restarted {restarts} times: {stderr}"
        );
    }
}
