//! Integration tests: one binary (one link of timely) with a module per concern.

mod cluster_failures;
mod connectors;
mod epochs;
mod errors;
mod execution_modes;
mod input_changes;
mod keyed_operators;
mod recovery;
mod recovery_kills;
mod support;
