//! One partition of a `PostgresSink`: its connection, the rows it holds, and the fenced
//! transaction that writes them.

use std::collections::VecDeque;
use std::sync::Arc;

use postgres::Client;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::{ToSql, Type};
use serde::{Deserialize, Serialize};
use weir::outputs::StatefulSinkPartition;
use weir::{BoxError, Epoch, StepId};

use crate::connect::{connect, retrying};
use crate::sink::{Mode, PostgresSink, ToRow};

/// The fences of every partition of every sink: what each has written.
const FENCES: &str = "CREATE TABLE IF NOT EXISTS weir_fences (sink text NOT NULL, step text NOT NULL, \
                      part text NOT NULL, position bigint NOT NULL, PRIMARY KEY (sink, step, part))";

/// A partition's resume state: the rows the database may not have yet, which are the
/// partition's positions `next - rows.len() .. next` (every row it was given has a
/// position, counted from 0 over the life of the sink).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "T: Serialize + serde::de::DeserializeOwned")]
pub struct PendingRows<T> {
    /// The position after the last row.
    pub next: u64,
    /// The rows not known to be in the database, in order.
    pub rows: Vec<T>,
}

/// What a partition writes, and its fence row. Rows go through a temporary staging table
/// (one per connection): `COPY` in binary, then one `INSERT … SELECT` into the table, so a
/// transaction costs a few round trips whatever its number of rows.
pub(crate) struct Plan {
    url: String,
    setup: Vec<String>,
    /// Reads no row: its columns give the column types `COPY` needs.
    describe: String,
    /// Creates the staging table: the table's columns, `weir_seq` (a row's order) and
    /// `weir_delete` (whether it deletes its key).
    stage: String,
    copy: String,
    /// From the staging table into the table, in order; an upsert keeps a key's last row,
    /// which puts or deletes it.
    apply: String,
    upsert: bool,
    fence: [String; 3],
}

/// `name` as an SQL identifier.
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The statement that moves the staged rows into `table`.
fn apply_statement(table: &str, columns: &[String], mode: &Mode) -> String {
    let listed = columns.join(", ");
    let Mode::Upsert { key } = mode else {
        return format!("INSERT INTO {table} ({listed}) SELECT {listed} FROM weir_stage ORDER BY weir_seq");
    };
    let key: Vec<String> = key.iter().map(|c| quoted(c)).collect();
    let keys = key.join(", ");
    let updates: Vec<String> = (columns.iter())
        .filter(|c| !key.contains(c))
        .map(|c| format!("{c} = EXCLUDED.{c}"))
        .collect();
    let action = match updates.is_empty() {
        true => "NOTHING".to_owned(),
        false => format!("UPDATE SET {}", updates.join(", ")),
    };
    let matches: Vec<String> = key.iter().map(|c| format!("t.{c} = last.{c}")).collect();
    let matches = matches.join(" AND ");
    // One statement: the last row of each key deletes it or puts it (never both).
    format!(
        "WITH last AS (SELECT DISTINCT ON ({keys}) {listed}, weir_delete FROM weir_stage \
         ORDER BY {keys}, weir_seq DESC), \
         deleted AS (DELETE FROM {table} t USING last WHERE last.weir_delete AND {matches}) \
         INSERT INTO {table} ({listed}) SELECT {listed} FROM last WHERE NOT last.weir_delete \
         ON CONFLICT ({keys}) DO {action}"
    )
}

impl Plan {
    pub(crate) fn new<T>(sink: &PostgresSink<T>, step: &StepId, part: &str) -> Plan {
        let table = quoted(&sink.table);
        let columns: Vec<String> = sink.columns.iter().map(|c| quoted(c)).collect();
        let listed = columns.join(", ");
        let mut setup = vec![FENCES.to_owned()];
        if let Some(definitions) = &sink.create {
            setup.push(format!("CREATE TABLE IF NOT EXISTS {table} ({definitions})"));
        }
        Plan {
            url: sink.url.clone(),
            setup,
            describe: format!("SELECT {listed} FROM {table} LIMIT 0"),
            stage: format!(
                "CREATE TEMPORARY TABLE IF NOT EXISTS weir_stage (LIKE {table}, weir_seq bigint, \
                 weir_delete boolean) ON COMMIT DELETE ROWS"
            ),
            copy: format!("COPY weir_stage ({listed}, weir_seq, weir_delete) FROM STDIN BINARY"),
            apply: apply_statement(&table, &columns, &sink.mode),
            upsert: matches!(sink.mode, Mode::Upsert { .. }),
            fence: [sink.table.clone(), step.to_string(), part.to_owned()],
        }
    }
}

/// An open partition of a [`PostgresSink`]: rows wait here until written (see the crate
/// docs for when).
pub struct PostgresPartition<T> {
    plan: Arc<Plan>,
    client: Client,
    /// The rows not yet written: the positions `next - pending.len() .. next`.
    pending: VecDeque<T>,
    next: u64,
}

impl<T: ToRow> PostgresPartition<T> {
    /// Connects, creates what is missing, and finishes writing the rows of `resume`.
    pub(crate) fn open(plan: Arc<Plan>, resume: Option<PendingRows<T>>) -> Result<Self, BoxError> {
        let url = plan.url.clone();
        let mut client = retrying(&url, "connecting", || {
            let mut client = connect(&url)?;
            for statement in &plan.setup {
                client.batch_execute(statement)?;
            }
            Ok(client)
        })?;
        let next = match &resume {
            Some(state) => state.next,
            // A partition without resume state continues after what the table holds.
            None => fenced(&mut client, &plan.fence)?,
        };
        let mut partition = PostgresPartition {
            plan,
            client,
            pending: VecDeque::new(),
            next,
        };
        if let Some(state) = resume {
            partition.write(&state)?;
        }
        Ok(partition)
    }

    /// Writes the rows of `state` the fence does not cover, and moves the fence past them,
    /// in one transaction (retried on a new connection if the server went away).
    fn write(&mut self, state: &PendingRows<T>) -> Result<(), BoxError> {
        let (plan, client) = (&self.plan, &mut self.client);
        retrying(&plan.url, "writing rows", || {
            if client.is_closed() {
                *client = connect(&plan.url)?;
            }
            write_fenced(client, plan, state)
        })
    }
}

/// The fence of `part`: the position after the last row written (0 if none).
fn fenced(client: &mut Client, fence: &[String; 3]) -> Result<u64, BoxError> {
    let row = client.query_opt(
        "SELECT position FROM weir_fences WHERE sink = $1 AND step = $2 AND part = $3",
        &[&fence[0], &fence[1], &fence[2]],
    )?;
    Ok(row.map_or(0, |row| row.get::<_, i64>(0) as u64))
}

/// One transaction: lock the fence, write the rows past it, move it to `state.next`.
fn write_fenced<T: ToRow>(client: &mut Client, plan: &Plan, state: &PendingRows<T>) -> Result<(), BoxError> {
    let mut tx = client.transaction()?;
    let [sink, step, part] = &plan.fence;
    let locked = tx.query_opt(
        "SELECT position FROM weir_fences WHERE sink = $1 AND step = $2 AND part = $3 FOR UPDATE",
        &[sink, step, part],
    )?;
    let done = locked.map_or(0, |row| row.get::<_, i64>(0) as u64);
    if done >= state.next {
        return Ok(());
    }
    let first = state.next - state.rows.len() as u64;
    let skip = done.saturating_sub(first) as usize;
    let mut types: Vec<Type> = (tx.prepare(&plan.describe)?.columns().iter())
        .map(|c| c.type_().clone())
        .collect();
    types.extend([Type::INT8, Type::BOOL]);
    tx.batch_execute(&plan.stage)?;
    let mut staged = BinaryCopyInWriter::new(tx.copy_in(&plan.copy)?, &types);
    for (seq, row) in state.rows[skip..].iter().enumerate() {
        let (values, delete) = (row.to_row(), row.is_delete());
        if delete && !plan.upsert {
            let table = &plan.fence[0];
            return Err(format!(
                "a row deletes its key, but the sink into {table:?} appends: use Mode::Upsert"
            )
            .into());
        }
        let seq = seq as i64;
        let mut params: Vec<&(dyn ToSql + Sync)> =
            values.iter().map(|v| v.as_ref() as &(dyn ToSql + Sync)).collect();
        params.extend([&seq as &(dyn ToSql + Sync), &delete]);
        staged.write(&params)?;
    }
    staged.finish()?;
    tx.batch_execute(&plan.apply)?;
    tx.execute(
        "INSERT INTO weir_fences (sink, step, part, position) VALUES ($1, $2, $3, $4) \
         ON CONFLICT (sink, step, part) DO UPDATE SET position = EXCLUDED.position",
        &[sink, step, part, &(state.next as i64)],
    )?;
    tx.commit()?;
    Ok(())
}

impl<T: ToRow> StatefulSinkPartition for PostgresPartition<T> {
    type Item = T;
    type State = PendingRows<T>;

    fn write_batch(&mut self, items: Vec<T>) -> Result<(), BoxError> {
        self.next += items.len() as u64;
        self.pending.extend(items);
        Ok(())
    }

    /// The rows not yet written, which the recovery store keeps until they are.
    fn snapshot(&mut self) -> Result<PendingRows<T>, BoxError> {
        Ok(PendingRows {
            next: self.next,
            rows: self.pending.iter().cloned().collect(),
        })
    }

    /// The snapshot is durable: its rows are written, and no longer held.
    fn on_durable(&mut self, _: Epoch, state: PendingRows<T>) -> Result<(), BoxError> {
        self.write(&state)?;
        let first = self.next - self.pending.len() as u64;
        let written = state.next.saturating_sub(first) as usize;
        self.pending.drain(..written.min(self.pending.len()));
        Ok(())
    }

    /// Without a recovery store: the epoch's rows are written at its end.
    fn on_final(&mut self, _: Epoch) -> Result<(), BoxError> {
        let state = self.snapshot()?;
        self.write(&state)?;
        self.pending.clear();
        Ok(())
    }
}
