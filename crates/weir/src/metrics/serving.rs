//! State over HTTP: the latest value per key of each served stream (`KeyedStream::serve`),
//! kept by the process that owns the key, and where every other key lives.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

use tokio::sync::broadcast;

use crate::engine::worker_of;
use crate::key::KeyRoute;

/// Updates an SSE client may fall behind by before it misses some.
const UPDATES_BUFFER: usize = 4096;

/// One served stream on this process: the latest JSON value of each key it owns.
pub(crate) struct Table {
    values: RwLock<HashMap<String, String>>,
    updates: broadcast::Sender<String>,
    route: KeyRoute,
}

impl Table {
    /// `key` (its text) now has the JSON `value`.
    pub(crate) fn publish(&self, key: &str, value: String) {
        if self.updates.receiver_count() > 0 {
            let key = serde_json::to_string(key).expect("a string serialises");
            let _ = self.updates.send(format!("{{\"key\":{key},\"value\":{value}}}"));
        }
        self.values
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key.to_owned(), value);
    }

    pub(crate) fn get(&self, key: &str) -> Option<String> {
        self.values
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .get(key)
            .cloned()
    }

    /// Every later update, as `{"key":…,"value":…}`.
    pub(crate) fn subscribe(&self) -> broadcast::Receiver<String> {
        self.updates.subscribe()
    }
}

/// The served streams of this process, and where the cluster's keys live.
pub(crate) struct Serving {
    tables: Mutex<HashMap<String, Arc<Table>>>,
    /// This process's index and its workers per process.
    process: usize,
    workers_per_process: usize,
    peers: usize,
    /// The metrics address (`host:port`) of every process, once exchanged at start.
    addresses: OnceLock<Vec<String>>,
}

/// Where a key's value is.
pub(crate) enum Owner {
    /// Here (its latest value, if any arrived).
    Here(Option<String>),
    /// At another process's metrics address.
    There(String),
    /// Nowhere: no stream is served under that name.
    NoSuchStream,
}

impl Serving {
    pub(crate) fn new(process: usize, workers_per_process: usize, peers: usize) -> Self {
        Serving {
            tables: Mutex::new(HashMap::new()),
            process,
            workers_per_process,
            peers,
            addresses: OnceLock::new(),
        }
    }

    /// The table of the stream served as `name` (made on first use; keys route by `route`).
    pub(crate) fn table(&self, name: &str, route: KeyRoute) -> Arc<Table> {
        let mut tables = self.tables.lock().unwrap_or_else(|e| e.into_inner());
        let table = tables.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(Table {
                values: RwLock::new(HashMap::new()),
                updates: broadcast::channel(UPDATES_BUFFER).0,
                route,
            })
        });
        table.clone()
    }

    pub(crate) fn existing(&self, name: &str) -> Option<Arc<Table>> {
        self.tables
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(name)
            .cloned()
    }

    /// Records the metrics address of every process (in process order).
    pub(crate) fn set_addresses(&self, addresses: Vec<String>) {
        let _ = self.addresses.set(addresses);
    }

    /// Where the value of `key` (its text) in the stream `name` is.
    pub(crate) fn owner(&self, name: &str, key: &str) -> Owner {
        let Some(table) = self.existing(name) else {
            return Owner::NoSuchStream;
        };
        let process = worker_of((table.route)(key), self.peers) / self.workers_per_process;
        match self.addresses.get() {
            Some(addresses) if process != self.process => Owner::There(addresses[process].clone()),
            _ => Owner::Here(table.get(key)),
        }
    }
}
