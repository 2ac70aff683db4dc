//! q3 and q8: persons joined with the auctions they sell.

use std::time::Duration;

use nexmark::event::{Auction, Event, Person};
use weir::Stream;
use weir::joins::{JoinEmit, JoinInsert, JoinKind, JoinSpec};
use weir::windows::Windower;

use super::{Row, Rows, auctions, ms, persons};

/// The states q3 looks for, in the generator's (lower) case.
const Q3_STATES: [&str; 3] = ["or", "id", "ca"];

/// q3, local item suggestion: `name city state auction_id` for each auction of category 10
/// whose seller lives in Oregon, Idaho or California (states compared case-insensitively),
/// keyed by auction. A streaming inner join on the seller: each pair once, when the later
/// of the two arrives; persons and their auctions are kept for the whole run.
pub fn q3(events: &Stream<Event>) -> Rows {
    let sellers = persons(events)
        .filter("q3_state", |p: &Person| {
            Q3_STATES.iter().any(|s| p.state.eq_ignore_ascii_case(s))
        })
        .key_on("q3_person", |p: &Person| p.id)
        .map_value("q3_seller", |p: Person| (p.name, p.city, p.state));
    let items = auctions(events)
        .filter("q3_category", |a: &Auction| a.category == 10)
        .key_on("q3_auction", |a: &Auction| a.seller)
        .map_value("q3_item", |a: Auction| a.id);
    let spec = JoinSpec::inner().insert(JoinInsert::Product).emit(JoinEmit::New);
    sellers
        .join("q3_join", &items, spec)
        .filter_map("q3", |(_, pair)| match pair {
            (Some((name, city, state)), Some(auction_id)) => {
                let row = Row::Q3 {
                    name,
                    city,
                    state,
                    auction_id,
                };
                Some((auction_id, row))
            }
            _ => None,
        })
}

/// q8, monitor new users: `window_start person_id name` for each person who registered and
/// opened an auction in the same tumbling 10 s window, once per person and window, keyed
/// by person.
pub fn q8(events: &Stream<Event>) -> Rows {
    let registered = persons(events)
        .key_on("q8_person", |p: &Person| p.id)
        .map_value("q8_name", |p: Person| (ms(p.date_time), p.name));
    let opened = auctions(events)
        .key_on("q8_auction", |a: &Auction| a.seller)
        .map_value("q8_opened", |a: Auction| ms(a.date_time));
    let windows = registered.join_window(
        "q8_join",
        &opened,
        |(ts, _): &(i64, String)| *ts,
        |ts: &i64| *ts,
        Windower::tumbling(Duration::from_secs(10)),
        JoinKind::Inner,
    );
    windows.down.filter_map("q8", |(person, (window, pairs))| {
        let name = pairs.into_iter().find_map(|(left, _)| left)?.1;
        let row = Row::Q8 {
            window_start: window.start,
            person_id: person,
            name,
        };
        Some((person, row))
    })
}
