//! Total order amount per region, kept up to date while orders and customers are upserted
//! and deleted: an incremental view (join + sum) with retractions.
//!
//! ```text
//! cargo run --release --example orders_view -- --orders orders/ --customers customers/ --output out
//! ```
//! Each directory holds CSV files, one partition per file, each read in order (a given key
//! always lives in one file). Orders lines are `upsert,order_id,customer_id,amount` or
//! `delete,order_id`; customers lines are `upsert,customer_id,region` or
//! `delete,customer_id`. The view is the total amount per region of the orders whose
//! customer exists (an inner join). With `--output`, its changelog is written to `part-N`
//! files as `region<TAB>total<TAB>diff` lines (diff `1` or `-1`): adding up each line's
//! diff gives the current view, each row with multiplicity 1. With `--postgres URL`
//! instead, the view is kept in the table `region_totals(region text primary key, total
//! bigint)`, exactly once with a recovery store (`-r`). A malformed line stops the run with
//! an error naming it.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use weir::cli::RuntimeArgs;
use weir::connectors::{DirSource, FileSink, Visibility};
use weir::outputs::{DynamicSink, StatelessSinkPartition};
use weir::views::{Change, Upsert};
use weir::{BoxError, Dataflow, KeyedStream, StepId};
use weir_postgres::{Mode, PostgresSink, ToRow};

/// Maintains total order amounts per region.
#[derive(Parser)]
struct Args {
    /// Directory of the orders CSV files.
    #[arg(long)]
    orders: PathBuf,
    /// Directory of the customers CSV files.
    #[arg(long)]
    customers: PathBuf,
    /// Directory for the changelog's `part-N` files.
    #[arg(long, required_unless_present = "postgres")]
    output: Option<PathBuf>,
    /// Keep the view in the table `region_totals` of this PostgreSQL server (a libpq
    /// connection string or URL; the table is created if absent) instead of files.
    #[arg(long, conflicts_with = "output")]
    postgres: Option<String>,
    /// Make changelog lines visible only once their epoch is durable in the recovery store.
    #[arg(long)]
    visible_when_durable: bool,
    #[command(flatten)]
    runtime: RuntimeArgs,
}

/// An order: its customer and amount.
type Order = (String, i64);

/// A parsed line: a key and its new value (`None`: deleted), or what is wrong with it.
type Write<V> = Result<(String, Option<V>), String>;

/// `upsert,order_id,customer_id,amount` or `delete,order_id`.
fn parse_order(line: &str) -> Write<Order> {
    match line.split(',').collect::<Vec<_>>()[..] {
        ["upsert", id, customer, amount] => {
            let amount = amount
                .parse()
                .map_err(|err| format!("amount {amount:?}: {err}"))?;
            Ok((id.to_owned(), Some((customer.to_owned(), amount))))
        }
        ["delete", id] => Ok((id.to_owned(), None)),
        _ => Err("expected upsert,order_id,customer_id,amount or delete,order_id".to_owned()),
    }
}

/// `upsert,customer_id,region` or `delete,customer_id`.
fn parse_customer(line: &str) -> Write<String> {
    match line.split(',').collect::<Vec<_>>()[..] {
        ["upsert", id, region] => Ok((id.to_owned(), Some(region.to_owned()))),
        ["delete", id] => Ok((id.to_owned(), None)),
        _ => Err("expected upsert,customer_id,region or delete,customer_id".to_owned()),
    }
}

/// The keyed writes of the CSV files in `dir`; a malformed line stops the run.
fn writes<V: weir::Data>(
    flow: &mut Dataflow,
    name: &str,
    dir: &PathBuf,
    parse: fn(&str) -> Write<V>,
) -> KeyedStream<Option<V>, String> {
    let what = name.to_owned();
    let attempts = flow.input(&format!("read_{name}"), DirSource::new(dir)).try_map(
        &format!("parse_{name}"),
        move |line: String| {
            let name = &what;
            parse(line.trim_end()).map_err(|err| format!("{name} line {line:?}: {err}"))
        },
    );
    attempts.errors.output(&format!("reject_{name}"), Reject);
    attempts.ok
}

fn main() -> ExitCode {
    let args = Args::parse();
    let mut flow = Dataflow::new("orders_view");
    let orders = writes(&mut flow, "orders", &args.orders, parse_order);
    let customers = writes(&mut flow, "customers", &args.customers, parse_customer);
    let totals = orders
        .as_table("orders_table")
        .map("by_customer", |(_, (customer, amount))| (customer, amount))
        .join("with_region", &customers.as_table("customers_table"))
        .map("by_region", |(_, (amount, region))| (region, amount))
        .sum("total");
    match (&args.output, &args.postgres) {
        (Some(output), _) => {
            let visibility = match args.visible_when_durable {
                true => Visibility::WhenDurable,
                false => Visibility::Immediate,
            };
            totals
                .changelog("changes")
                .map("format", |change: Change<String, i64>| {
                    let line = format!("{}\t{}\t{}", change.key, change.value, change.diff);
                    (change.key, line)
                })
                .output("write", FileSink::new(output).with_visibility(visibility));
        }
        (None, Some(url)) => {
            let sink = PostgresSink::new(url, "region_totals", ["region", "total"])
                .creating("region text PRIMARY KEY, total bigint")
                .with_mode(Mode::Upsert {
                    key: vec!["region".into()],
                })
                .with_parts(2);
            totals
                .upserts("upserts")
                .map("row", |upsert: Upsert<String, i64>| {
                    (upsert.key().clone(), RegionTotal(upsert))
                })
                .output("write", sink);
        }
        (None, None) => unreachable!("clap requires --output or --postgres"),
    }
    weir::cli::main_with(flow, &args.runtime)
}

/// A row of `region_totals`, or the deletion of one.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
struct RegionTotal(Upsert<String, i64>);

impl ToRow for RegionTotal {
    fn to_row(&self) -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> {
        match &self.0 {
            Upsert::Put(region, total) => vec![Box::new(region.clone()), Box::new(*total)],
            // A deletion reads only the key.
            Upsert::Delete(region) => vec![Box::new(region.clone()), Box::new(0i64)],
        }
    }

    fn is_delete(&self) -> bool {
        matches!(self.0, Upsert::Delete(_))
    }
}

/// A sink that stops the run with the first malformed line it is given.
struct Reject;

impl DynamicSink for Reject {
    type Item = String;
    type Partition = Reject;
    fn build(&self, _: &StepId, _: usize, _: usize) -> Result<Reject, BoxError> {
        Ok(Reject)
    }
}

impl StatelessSinkPartition for Reject {
    type Item = String;
    fn write_batch(&mut self, errors: Vec<String>) -> Result<(), BoxError> {
        match errors.into_iter().next() {
            Some(error) => Err(error.into()),
            None => Ok(()),
        }
    }
}

// The allocator of weir's examples and benchmarks (a user's choice; see the README).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
