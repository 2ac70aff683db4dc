//! Integration tests: one binary (one link of timely) with a module per concern.

mod cluster_failures;
mod connectors;
mod epochs;
mod errors;
mod execution_modes;
mod keyed_operators;
mod os_crash;
mod recovery;
mod recovery_kills;
mod restarts;
mod startup_failures;
mod support;
mod timers;
