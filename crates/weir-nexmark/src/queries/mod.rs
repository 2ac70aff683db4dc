//! The Nexmark queries: each builds its steps on the event stream and returns its results
//! as typed [`Row`]s (their `Display` is the result line), keyed by the id a partitioned
//! sink routes them by. Windows are aligned to the Unix epoch.

use std::str::FromStr;

use nexmark::event::{Auction, Bid, Event, Person};
use weir::{Stream, Timestamp};

mod auctions;
mod joins;
mod row;
mod selection;
mod windows;

pub use auctions::{q4, q9};
pub use joins::{q3, q8};
pub use row::{Row, Rows, lines};
pub use selection::{EUROS_PER_DOLLAR, q0, q1, q2};
pub use windows::{q5, q7, q11};

/// A Nexmark query this crate implements.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// Pass-through: every bid.
    Q0,
    /// Currency conversion: every bid's price in euros.
    Q1,
    /// Selection: the bids of every 123rd auction.
    Q2,
    /// Local item suggestion: auctions of category 10 with their seller in OR, ID or CA.
    Q3,
    /// Average price per category: of auctions' final prices.
    Q4,
    /// Hot items: the auctions with the most bids in each sliding window.
    Q5,
    /// Highest bid: the highest bids of each tumbling 10 s window.
    Q7,
    /// Monitor new users: persons who opened an auction in the 10 s window they registered in.
    Q8,
    /// Winning bids: each auction's highest bid within its lifetime.
    Q9,
    /// User sessions: each bidder's bids per session (10 s gap).
    Q11,
}

impl Query {
    /// Every query, in order.
    pub const ALL: [Query; 10] = [
        Query::Q0,
        Query::Q1,
        Query::Q2,
        Query::Q3,
        Query::Q4,
        Query::Q5,
        Query::Q7,
        Query::Q8,
        Query::Q9,
        Query::Q11,
    ];

    /// Adds the query's steps after `events`.
    pub fn build(self, events: &Stream<Event>) -> Rows {
        match self {
            Query::Q0 => q0(events),
            Query::Q1 => q1(events),
            Query::Q2 => q2(events),
            Query::Q3 => q3(events),
            Query::Q4 => q4(events),
            Query::Q5 => q5(events),
            Query::Q7 => q7(events),
            Query::Q8 => q8(events),
            Query::Q9 => q9(events),
            Query::Q11 => q11(events),
        }
    }

    /// Its name on the command line: `q0`, `q1`, …
    pub fn name(self) -> &'static str {
        match self {
            Query::Q0 => "q0",
            Query::Q1 => "q1",
            Query::Q2 => "q2",
            Query::Q3 => "q3",
            Query::Q4 => "q4",
            Query::Q5 => "q5",
            Query::Q7 => "q7",
            Query::Q8 => "q8",
            Query::Q9 => "q9",
            Query::Q11 => "q11",
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

/// The auctions among the events.
fn auctions(events: &Stream<Event>) -> Stream<Auction> {
    events.filter_map("auctions", |event| match event {
        Event::Auction(auction) => Some(auction),
        _ => None,
    })
}

/// The persons among the events.
fn persons(events: &Stream<Event>) -> Stream<Person> {
    events.filter_map("persons", |event| match event {
        Event::Person(person) => Some(person),
        _ => None,
    })
}

/// Event time of a generated timestamp.
fn ms(date_time: u64) -> Timestamp {
    date_time as Timestamp
}
