//! q0–q2: stateless queries over bids.

use nexmark::event::{Bid, Event};
use weir::Stream;

use super::{Lines, bids};

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
