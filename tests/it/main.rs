//! Integration tests: one binary (one link of timely) with a module per concern.

mod async_sources;
mod cluster_failures;
mod connectors;
mod dashboard;
mod deploy;
mod epochs;
mod errors;
mod event_time_ops;
mod event_time_regressions;
mod event_windows_cli;
mod execution_modes;
mod graceful_stop;
mod http_source;
mod input_changes;
mod joins;
mod kafka;
mod kafka_broker;
mod keyed_operators;
mod netns_cluster;
mod nexmark;
/// The `files_by_ctime` example's source, compiled here too so tests can poll it directly.
#[path = "../../examples/files_by_ctime/numbers_by_ctime.rs"]
mod numbers_by_ctime;
mod operations;
mod os_crash;
mod postgres_server;
mod postgres_sink;
mod processing_time;
mod recovery;
mod recovery_kills;
mod restarts;
mod served_state;
mod startup_failures;
mod support;
mod timers;
mod views;
mod views_postgres;
mod vocabulary;
mod windows;
mod windows_oracle;
