//! The live dashboard, loaded in headless Chromium during a run.

use std::time::Duration;

use crate::operations::{paced_nexmark, sample};

const LIMIT: Duration = Duration::from_secs(60);

/// Runs headless Chromium on `url` with `args` (the DOM or a screenshot); `None` where
/// Chromium is not installed (CI installs it: there its absence fails the test).
fn chromium(url: &str, args: &[&str]) -> Option<std::process::Output> {
    let profile = tempfile::tempdir().unwrap();
    let profile_arg = format!("--user-data-dir={}", profile.path().display());
    let mut all = vec![
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--virtual-time-budget=3000",
        &profile_arg,
    ];
    all.extend_from_slice(args);
    all.push(url);
    match std::process::Command::new("chromium").args(&all).output() {
        Ok(output) => Some(output),
        Err(err) if std::env::var_os("CI").is_none() => {
            eprintln!("chromium cannot run ({err}): the dashboard is not tested in a browser");
            None
        }
        Err(err) => panic!("chromium is needed in CI ({err}); .ci/run installs it"),
    }
}

/// A number shown in the element with `id` of a dumped DOM.
fn shown(dom: &str, id: &str) -> f64 {
    let start = dom
        .find(&format!("id=\"{id}\">"))
        .unwrap_or_else(|| panic!("#{id} in {dom}"))
        + id.len()
        + 6;
    let text = &dom[start..start + dom[start..].find('<').unwrap()];
    text.trim()
        .parse()
        .unwrap_or_else(|_| panic!("#{id} shows {text:?}"))
}

#[test]
fn the_dashboard_draws_the_graph_and_moving_numbers_in_a_browser() {
    let (mut child, addr, dir) = paced_nexmark(&[], None);
    let url = format!("http://{addr}/");
    crate::support::wait_until("metrics", LIMIT, || {
        crate::support::http_get(&addr, "/metrics").is_some()
    });
    let Some(first) = chromium(&url, &["--dump-dom"]) else {
        child.kill().unwrap();
        return;
    };
    let first = String::from_utf8(first.stdout).unwrap();
    let steps = first.matches("<g class=\"step").count();
    assert_eq!(steps, 9, "every step of q5 drawn: {first}");
    assert!(
        first.contains("<g class=\"step stateful\" data-step=\"q5_count\">"),
        "{first}"
    );
    assert!(
        first.contains("<g class=\"step partitioned\" data-step=\"events\">"),
        "{first}"
    );
    let edges = first.split("<path class=\"edge\" d=\"M").skip(1);
    let drawn = edges
        .filter(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert_eq!(drawn, 8, "every edge drawn (not the script's template): {first}");
    assert!(first.contains("<span id=\"flow\">nexmark_q5</span>"));
    assert!(first.contains("<b>ok</b><span>health</span>"), "{first}");
    assert!(
        first.contains("data-refreshes=\""),
        "the page refreshed itself: {first}"
    );
    crate::support::wait_until("a later epoch", LIMIT, || {
        let later = crate::support::http_get(&addr, "/metrics").unwrap().1;
        sample(&later, "weir_epoch", "").unwrap_or(0.0) > 2.0 * shown(&first, "epoch") + 4.0
    });
    let second = String::from_utf8(chromium(&url, &["--dump-dom"]).unwrap().stdout).unwrap();
    assert!(
        shown(&second, "epoch") > shown(&first, "epoch"),
        "the epoch moves"
    );
    assert!(
        shown(&second, "done") > shown(&first, "done"),
        "the committed epoch moves"
    );
    let screenshot = dir.path().join("dashboard.png");
    let shot = format!("--screenshot={}", screenshot.display());
    chromium(&url, &[&shot, "--window-size=1280,700"]).unwrap();
    let png = std::fs::read(&screenshot).unwrap();
    assert!(png.starts_with(b"\x89PNG"), "a screenshot was taken");
    // For the docs: WEIR_DASHBOARD_SCREENSHOT=path keeps it.
    if let Some(keep) = std::env::var_os("WEIR_DASHBOARD_SCREENSHOT") {
        std::fs::write(keep, &png).unwrap();
    }
    let output = crate::support::wait_output(child, LIMIT);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
