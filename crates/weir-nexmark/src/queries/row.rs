//! `Row`: one result of a query, typed; its `Display` is the result's line.

use std::fmt;

use nexmark::event::Bid;
use serde::{Deserialize, Serialize};
use weir::{KeyedStream, Timestamp};

/// One result of a query, with the fields its doc names. `Display` writes them
/// tab-separated, as the generator wrote them, timestamps as epoch milliseconds, prices in
/// euros and averages with 3 decimals (rounded like `printf("%.3f")`: from the exact binary
/// value, ties to even).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Row {
    /// q0: the bid, every field.
    Q0(Bid),
    /// q1: a bid with its price in euros.
    Q1 {
        /// The auction bid on.
        auction: usize,
        /// Who bid.
        bidder: usize,
        /// The price times [`EUROS_PER_DOLLAR`](crate::EUROS_PER_DOLLAR).
        price_eur: f64,
        /// When.
        date_time: u64,
    },
    /// q2: a selected bid's auction and price.
    Q2 {
        /// The auction bid on.
        auction: usize,
        /// The bid's price.
        price: usize,
    },
    /// q3: an item on sale and its seller.
    Q3 {
        /// The seller's name.
        name: String,
        /// The seller's city.
        city: String,
        /// The seller's state.
        state: String,
        /// The auction.
        auction_id: usize,
    },
    /// q4: a category's average final price.
    Q4 {
        /// The category.
        category: usize,
        /// The average of its auctions' final prices.
        avg_final_price: f64,
    },
    /// q5: one of the auctions with the most bids in a window.
    Q5 {
        /// The window's end.
        window_end: Timestamp,
        /// The auction.
        auction: usize,
        /// Its bids in the window.
        bid_count: u64,
    },
    /// q7: one of the highest bids of a window.
    Q7 {
        /// The window's end.
        window_end: Timestamp,
        /// The auction bid on.
        auction: usize,
        /// Who bid.
        bidder: usize,
        /// The price.
        price: usize,
    },
    /// q8: a person who opened an auction in the window they registered in.
    Q8 {
        /// The window's start.
        window_start: Timestamp,
        /// The person.
        person_id: usize,
        /// Their name.
        name: String,
    },
    /// q9: an auction's winning bid.
    Q9 {
        /// The auction.
        auction_id: usize,
        /// Who won.
        bidder: usize,
        /// At what price.
        price: usize,
    },
    /// q11: a session of a bidder's bids.
    Q11 {
        /// The bidder.
        bidder: usize,
        /// Bids in the session.
        bid_count: u64,
        /// Its first bid's time.
        session_start: Timestamp,
        /// Its last bid's time plus the gap.
        session_end: Timestamp,
    },
}

impl fmt::Display for Row {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Row::Q0(b) => write!(
                f,
                "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                b.auction, b.bidder, b.price, b.channel, b.url, b.date_time, b.extra
            ),
            Row::Q1 {
                auction,
                bidder,
                price_eur,
                date_time,
            } => write!(f, "{auction}\t{bidder}\t{price_eur:.3}\t{date_time}"),
            Row::Q2 { auction, price } => write!(f, "{auction}\t{price}"),
            Row::Q3 {
                name,
                city,
                state,
                auction_id,
            } => write!(f, "{name}\t{city}\t{state}\t{auction_id}"),
            Row::Q4 {
                category,
                avg_final_price,
            } => write!(f, "{category}\t{avg_final_price:.3}"),
            Row::Q5 {
                window_end,
                auction,
                bid_count,
            } => write!(f, "{window_end}\t{auction}\t{bid_count}"),
            Row::Q7 {
                window_end,
                auction,
                bidder,
                price,
            } => write!(f, "{window_end}\t{auction}\t{bidder}\t{price}"),
            Row::Q8 {
                window_start,
                person_id,
                name,
            } => write!(f, "{window_start}\t{person_id}\t{name}"),
            Row::Q9 {
                auction_id,
                bidder,
                price,
            } => write!(f, "{auction_id}\t{bidder}\t{price}"),
            Row::Q11 {
                bidder,
                bid_count,
                session_start,
                session_end,
            } => write!(f, "{bidder}\t{bid_count}\t{session_start}\t{session_end}"),
        }
    }
}

/// A query's results, each keyed by the id a partitioned sink routes it by (the auction,
/// category, person or bidder it is about).
pub type Rows = KeyedStream<Row, usize>;

/// The results as lines for a partitioned sink such as `FileSink`: keyed by the key's text.
pub fn lines(rows: &Rows, step_id: &str) -> KeyedStream<String, String> {
    rows.map(step_id, |(key, row)| (key.to_string(), row.to_string()))
}
