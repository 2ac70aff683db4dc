//! q0–q2: stateless queries over bids.

use nexmark::event::{Bid, Event};
use weir::Stream;

use super::{Row, Rows, bids};

/// q0, pass-through: every bid, keyed by auction.
pub fn q0(events: &Stream<Event>) -> Rows {
    bids(events).map("q0", |b: Bid| (b.auction, Row::Q0(b)))
}

/// Dollars to euros in q1.
pub const EUROS_PER_DOLLAR: f64 = 0.908;

/// q1, currency conversion: `auction bidder price_eur date_time` of every bid, keyed by
/// auction, `price_eur = price * 0.908`.
pub fn q1(events: &Stream<Event>) -> Rows {
    bids(events).map("q1", |b: Bid| {
        let row = Row::Q1 {
            auction: b.auction,
            bidder: b.bidder,
            price_eur: b.price as f64 * EUROS_PER_DOLLAR,
            date_time: b.date_time,
        };
        (b.auction, row)
    })
}

/// q2, selection: `auction price` of the bids on auctions whose id is a multiple of 123,
/// keyed by auction.
pub fn q2(events: &Stream<Event>) -> Rows {
    bids(events)
        .filter("q2_select", |b: &Bid| b.auction.is_multiple_of(123))
        .map("q2", |b: Bid| {
            let row = Row::Q2 {
                auction: b.auction,
                price: b.price,
            };
            (b.auction, row)
        })
}
