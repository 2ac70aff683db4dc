//! The Nexmark queries: each builds its steps on the event stream and returns result lines
//! (fields tab-separated, as the generator wrote them, timestamps in epoch milliseconds),
//! keyed for a partitioned sink such as `FileSink`.

use std::str::FromStr;

use nexmark::event::{Bid, Event};
use weir::{KeyedStream, Stream};

/// Result lines, each keyed by the text a partitioned sink routes it by.
pub type Lines = KeyedStream<String, String>;

/// A Nexmark query this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// Pass-through: every bid.
    Q0,
    /// Currency conversion: every bid's price in euros.
    Q1,
    /// Selection: the bids of every 123rd auction.
    Q2,
}

impl Query {
    /// Every query, in order.
    pub const ALL: [Query; 3] = [Query::Q0, Query::Q1, Query::Q2];

    /// Adds the query's steps after `events`.
    pub fn build(self, events: &Stream<Event>) -> Lines {
        match self {
            Query::Q0 => q0(events),
            Query::Q1 => q1(events),
            Query::Q2 => q2(events),
        }
    }

    /// Its name on the command line: `q0`, `q1`, …
    pub fn name(self) -> &'static str {
        match self {
            Query::Q0 => "q0",
            Query::Q1 => "q1",
            Query::Q2 => "q2",
        }
    }
}

impl FromStr for Query {
    type Err = String;

    fn from_str(name: &str) -> Result<Query, String> {
        let names: Vec<&str> = Query::ALL.iter().map(|q| q.name()).collect();
        let unknown = || format!("unknown query {name:?}: expected one of {}", names.join(", "));
        Query::ALL
            .into_iter()
            .find(|q| q.name() == name)
            .ok_or_else(unknown)
    }
}

/// The bids among the events.
fn bids(events: &Stream<Event>) -> Stream<Bid> {
    events.filter_map("bids", |event| match event {
        Event::Bid(bid) => Some(bid),
        _ => None,
    })
}

/// q0, pass-through: `auction bidder price channel url date_time extra` of every bid, keyed
/// by auction.
pub fn q0(events: &Stream<Event>) -> Lines {
    bids(events).map("q0", |b: Bid| {
        let line = format!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra
        );
        (b.auction.to_string(), line)
    })
}

/// Dollars to euros in q1.
pub const EUROS_PER_DOLLAR: f64 = 0.908;

/// q1, currency conversion: `auction bidder price_eur date_time` of every bid, keyed by
/// auction, `price_eur = price * 0.908` with 3 decimals (rounded like `printf("%.3f")`:
/// from the exact binary value, ties to even).
pub fn q1(events: &Stream<Event>) -> Lines {
    bids(events).map("q1", |b: Bid| {
        let euros = b.price as f64 * EUROS_PER_DOLLAR;
        let line = format!("{}\t{}\t{euros:.3}\t{}", b.auction, b.bidder, b.date_time);
        (b.auction.to_string(), line)
    })
}

/// q2, selection: `auction price` of the bids on auctions whose id is a multiple of 123,
/// keyed by auction.
pub fn q2(events: &Stream<Event>) -> Lines {
    bids(events)
        .filter("q2_select", |b: &Bid| b.auction.is_multiple_of(123))
        .map("q2", |b: Bid| {
            (b.auction.to_string(), format!("{}\t{}", b.auction, b.price))
        })
}
