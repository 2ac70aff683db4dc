//! q4 and q9: auctions with the bids made during their lifetime.

use std::cmp::Reverse;

use nexmark::event::{Auction, Bid, Event};
use weir::joins::{JoinEmit, JoinInsert, JoinSpec};
use weir::{KeyedStream, Stream};

use super::{Row, Rows, auctions, bids};

/// A bid within its auction's lifetime, ordered so the greatest wins: the highest price,
/// then the earliest bid, then the lowest bidder id.
type Candidate = (usize, Reverse<u64>, Reverse<usize>);

/// Every bid made within its auction's lifetime (`date_time <= bid <= expires`, bounds
/// inclusive), with the auction's category, keyed by auction. A streaming inner join on the
/// auction id: each (auction, bid) pair once, whichever arrives first. The join keeps the
/// auction, and a bid only until it met its auction (bids that arrive first wait).
fn valid_bids(events: &Stream<Event>) -> KeyedStream<(usize, Candidate), usize> {
    // Only the fields the query reads go through the join (no strings to copy).
    let opened = auctions(events)
        .key_on("auction_id", |a: &Auction| a.id)
        .map_value("lifetime", |a: Auction| (a.date_time, a.expires, a.category));
    let offers = bids(events)
        .key_on("bid_auction", |b: &Bid| b.auction)
        .map_value("offer", |b: Bid| (b.price, b.date_time, b.bidder));
    let spec = JoinSpec::inner()
        .insert(JoinInsert::First)
        .insert_right(JoinInsert::UntilJoined)
        .emit(JoinEmit::New);
    opened
        .join("auction_bids", &offers, spec)
        .filter_map("in_lifetime", |(id, pair)| match pair {
            (Some((opens, expires, category)), Some((price, at, bidder))) if opens <= at && at <= expires => {
                Some((id, (category, (price, Reverse(at), Reverse(bidder)))))
            }
            _ => None,
        })
}

/// q9, winning bids: `auction_id bidder price` for each auction with a bid in its lifetime:
/// the highest such bid (on a tie of price the earliest, then the lowest bidder id), at the
/// end of the input, keyed by auction.
pub fn q9(events: &Stream<Event>) -> Rows {
    valid_bids(events)
        .map_value("q9_candidate", |(_, candidate)| candidate)
        .max_final("q9_winner")
        .map("q9", |(auction, (price, _, Reverse(bidder)))| {
            let row = Row::Q9 {
                auction_id: auction,
                bidder,
                price,
            };
            (auction, row)
        })
}

/// q4, average price per category: `category avg_final_price` at the end of the input,
/// keyed by category. An auction's final price is its highest bid within its lifetime;
/// auctions without one do not count.
pub fn q4(events: &Stream<Event>) -> Rows {
    valid_bids(events)
        .max_final("q4_final_price")
        .key_on("q4_category", |(_, (category, _))| *category)
        .map_value("q4_price", |(_, (_, (price, _, _)))| price as u64)
        .fold_final("q4_sum", || (0u64, 0u64), |(n, sum), price| (n + 1, sum + price))
        .map("q4", |(category, (n, sum))| {
            let row = Row::Q4 {
                category,
                avg_final_price: sum as f64 / n as f64,
            };
            (category, row)
        })
}
