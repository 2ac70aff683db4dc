//! q5, q7 and q11: event-time windows over bids.

use std::time::Duration;

use nexmark::event::{Bid, Event};
use weir::Stream;
use weir::windows::{Window, Windower};

use super::{Row, Rows, bids, ms};

/// What q7 keeps of a bid: its auction, bidder and price.
type Offer = (usize, usize, usize);

/// The highest price in a window and every offer at it.
type Highest = (usize, Vec<Offer>);

/// Keeps the highest offers of `highest` and `offer`.
fn outbid((price, mut offers): Highest, offer: Offer) -> Highest {
    let offered = offer.2;
    if offered > price || offers.is_empty() {
        (offered, vec![offer])
    } else {
        if offered == price {
            offers.push(offer);
        }
        (price, offers)
    }
}

/// The highest bids of both.
fn merge_highest(a: Highest, b: Highest) -> Highest {
    b.1.into_iter().fold(a, outbid)
}

/// q7, highest bid: `window_end auction bidder price` for the highest bid of each tumbling
/// 10 s window, every one of them on a tie, keyed by auction. Two stages: the highest bids
/// per auction and window (partitioned by auction), then per window over those (keyed by
/// `()`), a tumbling window over each result's event time, its window's last millisecond.
/// Only a bid's auction, bidder, price and time enter the windows.
pub fn q7(events: &Stream<Event>) -> Rows {
    let tumbling = Windower::tumbling(Duration::from_secs(10));
    let per_auction = bids(events)
        .key_on("q7_auction", |b: &Bid| b.auction)
        .map_value("q7_offer", |b: Bid| (b.date_time, (b.auction, b.bidder, b.price)))
        .fold_window(
            "q7_per_auction",
            |(at, _): &(u64, Offer)| ms(*at),
            tumbling,
            || (0, Vec::new()),
            |highest, (_, offer)| outbid(highest, offer),
            merge_highest,
        );
    let highest = per_auction
        .down
        .key_on("q7_all", |_: &(usize, (Window, Highest))| ())
        .map_value("q7_highest", |(_, highest)| highest)
        .fold_window(
            "q7_window",
            |(window, _): &(Window, Highest)| window.end - 1,
            tumbling,
            || (0, Vec::new()),
            |acc, (_, highest)| merge_highest(acc, highest),
            merge_highest,
        );
    highest.down.flat_map("q7", |((), (window, (_, offers)))| {
        offers.into_iter().map(move |(auction, bidder, price)| {
            let row = Row::Q7 {
                window_end: window.end,
                auction,
                bidder,
                price,
            };
            (auction, row)
        })
    })
}

/// q11, user sessions: `bidder bid_count session_start session_end` for each session of a
/// bidder's bids (bids at most 10 s apart), keyed by bidder; a session starts at its first
/// bid and ends 10 s after its last.
pub fn q11(events: &Stream<Event>) -> Rows {
    let sessions = bids(events)
        .key_on("q11_bidder", |b: &Bid| b.bidder)
        .count_window(
            "q11_session",
            |b: &Bid| ms(b.date_time),
            Windower::session(Duration::from_secs(10)),
        );
    sessions.down.map("q11", |(bidder, (session, count))| {
        let row = Row::Q11 {
            bidder,
            bid_count: count,
            session_start: session.start,
            session_end: session.end,
        };
        (bidder, row)
    })
}

/// The greatest bid count in a window and the auctions that have it.
type Hottest = (u64, Vec<usize>);

/// Keeps the auctions with the most bids of `hottest` and `auction` with `count` bids.
fn hotter((top, mut auctions): Hottest, (auction, count): (usize, u64)) -> Hottest {
    if count > top {
        return (count, vec![auction]);
    }
    if count == top {
        auctions.push(auction);
    }
    (top, auctions)
}

/// q5, hot items: `window_end auction bid_count` for the auction(s) with the most bids in
/// each hopping window of 10 s sliding every 2 s (every one on a tie), keyed by auction.
/// Two stages: bids are counted per auction and window (partitioned by auction); then,
/// per window, the counts meet in one step (keyed by `()`), a tumbling 2 s window over
/// each count's event time, its window's last millisecond.
pub fn q5(events: &Stream<Event>) -> Rows {
    let counts = bids(events)
        .key_on("q5_auction", |b: &Bid| b.auction)
        .count_window(
            "q5_count",
            |b: &Bid| ms(b.date_time),
            Windower::sliding(Duration::from_secs(10), Duration::from_secs(2)),
        );
    let hottest = counts
        .down
        .key_on("q5_all", |_: &(usize, (Window, u64))| ())
        .map_value("q5_counted", |(auction, (window, count))| {
            (window, (auction, count))
        })
        .fold_window(
            "q5_hottest",
            |(window, _): &(Window, (usize, u64))| window.end - 1,
            Windower::tumbling(Duration::from_secs(2)),
            || (0, Vec::new()),
            |hottest, (_, counted)| hotter(hottest, counted),
            |a: Hottest, (top, auctions): Hottest| {
                auctions
                    .into_iter()
                    .fold(a, |acc, auction| hotter(acc, (auction, top)))
            },
        );
    hottest.down.flat_map("q5", |((), (window, (count, auctions)))| {
        auctions.into_iter().map(move |auction| {
            let row = Row::Q5 {
                window_end: window.end,
                auction,
                bid_count: count,
            };
            (auction, row)
        })
    })
}
