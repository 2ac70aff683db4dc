//! Prometheus's classic text format (0.0.4) from the OpenMetrics text that
//! `prometheus-client` writes, for scrapers and tools that do not ask for OpenMetrics
//! (`curl`, `promtool check metrics`).
//!
//! The two differ, for weir's metrics, only in comments: OpenMetrics names a counter's
//! family without `_total` in `# HELP`/`# TYPE`, and has `# UNIT` and `# EOF` lines.

use std::collections::HashSet;

/// The same samples in the classic format.
pub(crate) fn classic(openmetrics: &str) -> String {
    let counters: HashSet<&str> = openmetrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE ")?.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(openmetrics.len());
    for line in openmetrics.lines() {
        if line.starts_with("# UNIT ") || line == "# EOF" {
            continue;
        }
        let comment = ["# HELP ", "# TYPE "]
            .into_iter()
            .find_map(|prefix| Some((prefix, line.strip_prefix(prefix)?)));
        match comment {
            Some((prefix, rest)) => {
                let name = rest.split(' ').next().unwrap_or_default();
                let suffix = if counters.contains(name) { "_total" } else { "" };
                out.push_str(prefix);
                out.push_str(name);
                out.push_str(suffix);
                out.push_str(&rest[name.len()..]);
            }
            None => out.push_str(line),
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_named_with_total_and_openmetrics_lines_dropped() {
        let openmetrics = "# HELP weir_items Items out.\n\
                           # TYPE weir_items counter\n\
                           weir_items_total{step=\"a\"} 3\n\
                           # HELP weir_lag_seconds Lag.\n\
                           # TYPE weir_lag_seconds gauge\n\
                           # UNIT weir_lag_seconds seconds\n\
                           weir_lag_seconds 1.5\n\
                           # EOF\n";
        assert_eq!(
            classic(openmetrics),
            "# HELP weir_items_total Items out.\n\
             # TYPE weir_items_total counter\n\
             weir_items_total{step=\"a\"} 3\n\
             # HELP weir_lag_seconds Lag.\n\
             # TYPE weir_lag_seconds gauge\n\
             weir_lag_seconds 1.5\n"
        );
    }
}
