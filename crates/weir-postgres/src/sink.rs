//! `PostgresSink`: where rows go, how they are made, and how the table is keyed.

use std::marker::PhantomData;
use std::sync::Arc;

use postgres::types::ToSql;
use weir::outputs::FixedPartitionedSink;
use weir::{BoxError, Data, StepId};

use crate::partition::{PendingRows, PostgresPartition};

/// How rows reach the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    /// `INSERT` every row.
    Append,
    /// `INSERT … ON CONFLICT (key columns) DO UPDATE`: the last row of a key wins; a row
    /// whose [`ToRow::is_delete`] is true deletes its key instead.
    Upsert {
        /// The columns of the table's unique key.
        key: Vec<String>,
    },
}

/// The column values of an item, in the sink's column order.
pub trait ToRow: Data {
    /// The values to bind, one per column.
    fn to_row(&self) -> Vec<Box<dyn ToSql + Sync + Send>>;

    /// Whether this row deletes its key (in [`Mode::Upsert`] only; an error when
    /// appending): only its key columns are read, the others may hold any value of their
    /// type. By default no row deletes.
    fn is_delete(&self) -> bool {
        false
    }
}

/// A partitioned sink into the PostgreSQL table `table`: exactly-once with a recovery
/// store (see the crate docs). Items are `(key, value)`: the key picks the partition, the
/// value becomes a row through [`ToRow`]. Every partition holds a connection.
///
/// ```no_run
/// use weir_postgres::{Mode, PostgresSink, ToRow};
///
/// #[derive(Clone, serde::Serialize, serde::Deserialize)]
/// struct Count(String, i64);
///
/// impl ToRow for Count {
///     fn to_row(&self) -> Vec<Box<dyn postgres::types::ToSql + Sync + Send>> {
///         vec![Box::new(self.0.clone()), Box::new(self.1)]
///     }
/// }
///
/// let sink: PostgresSink<Count> = PostgresSink::new("host=127.0.0.1 user=postgres", "counts", ["word", "n"])
///     .creating("word text PRIMARY KEY, n bigint")
///     .with_mode(Mode::Upsert { key: vec!["word".into()] });
/// ```
pub struct PostgresSink<T> {
    pub(crate) url: String,
    pub(crate) table: String,
    pub(crate) columns: Vec<String>,
    pub(crate) mode: Mode,
    pub(crate) create: Option<String>,
    parts: usize,
    _rows: PhantomData<fn(T)>,
}

impl<T> PostgresSink<T> {
    /// Rows of `columns` into `table`, on the server `url` (a libpq connection string or
    /// URL), appended, in 1 partition.
    pub fn new(url: &str, table: &str, columns: impl IntoIterator<Item = impl Into<String>>) -> Self {
        PostgresSink {
            url: url.to_owned(),
            table: table.to_owned(),
            columns: columns.into_iter().map(Into::into).collect(),
            mode: Mode::Append,
            create: None,
            parts: 1,
            _rows: PhantomData,
        }
    }

    /// Appends or upserts.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }

    /// Creates the table with these column definitions if it does not exist.
    pub fn creating(mut self, definitions: &str) -> Self {
        self.create = Some(definitions.to_owned());
        self
    }

    /// Writes through `parts` partitions (connections), spread over the workers.
    pub fn with_parts(mut self, parts: usize) -> Self {
        self.parts = parts.max(1);
        self
    }
}

impl<T: ToRow> FixedPartitionedSink for PostgresSink<T> {
    type Item = T;
    type State = PendingRows<T>;
    type Partition = PostgresPartition<T>;

    fn list_parts(&self) -> Result<Vec<String>, BoxError> {
        Ok((0..self.parts).map(|p| format!("part-{p}")).collect())
    }

    fn part_fn(&self, item_key: &str) -> usize {
        xxhash_rust::xxh3::xxh3_64(item_key.as_bytes()) as usize
    }

    fn build_part(
        &self,
        step_id: &StepId,
        for_part: &str,
        resume_state: Option<PendingRows<T>>,
    ) -> Result<PostgresPartition<T>, BoxError> {
        let plan = Arc::new(crate::partition::Plan::new(self, step_id, for_part));
        PostgresPartition::open(plan, resume_state)
    }
}
