//! `Key`: what keyed streams can be keyed by.

use std::fmt::Debug;
use std::hash::Hash;

use crate::{BoxError, Data};

/// A key of a keyed stream: `String`, an integer, or a tuple of keys.
///
/// Keyed steps route a key to a worker by a stable hash of its value: integers by a mix of
/// the integer, other keys by xxh3 of their *text*, the name the recovery store files their
/// state under. Resume parses a stored text back into the key and routes it by the same
/// hash, so the exchange and resume agree for any worker count. Routing an integer key
/// costs a few multiplications and allocates nothing.
pub trait Key: Data + Hash + Eq + Ord + Debug {
    /// Appends the key's text.
    fn write_text(&self, out: &mut String);

    /// Parses a key from its text.
    fn from_text(text: &str) -> Result<Self, BoxError>;

    /// The stable hash keyed steps route by, a function of the key's value alone (resume
    /// routes a stored key by parsing its text and calling this): by default xxh3 of the
    /// key's text.
    fn route(&self) -> u64 {
        let mut text = String::new();
        self.write_text(&mut text);
        route_text(&text)
    }

    /// The key's text.
    fn text(&self) -> String {
        let mut text = String::new();
        self.write_text(&mut text);
        text
    }
}

/// The key a stored text names. Only the text the key type writes itself is accepted:
/// state is routed by its text, live items by the key, and the two must agree (`"05"`
/// parses as 5 but would route elsewhere).
pub(crate) fn stored_key<K: Key>(text: &str) -> Result<K, BoxError> {
    let key = K::from_text(text).map_err(|err| format!("stored key {text:?}: {err}"))?;
    match key.text() == text {
        true => Ok(key),
        false => Err(format!(
            "stored key {text:?} is not how this step's key type writes it ({:?}): was the key type changed?",
            key.text()
        )
        .into()),
    }
}

/// The routing hash of a key's text (see [`Key::route`]).
pub(crate) fn route_text(text: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text.as_bytes())
}

/// How a keyed step routes a stored key, given its text.
pub(crate) type KeyRoute = fn(&str) -> u64;

/// The route of the key of type `K` whose stored text is `text`. A text that does not parse
/// goes to the worker of hash 0, whose restore of the key reports it.
pub(crate) fn route_stored<K: Key>(text: &str) -> u64 {
    K::from_text(text).map_or(0, |key| key.route())
}

/// A route for any hashable value (not a stored key: `Hash` is not a persistent format),
/// mixed so timely's low-bit routing spreads it.
pub(crate) fn hash_route<T: std::hash::Hash>(value: &T) -> u64 {
    use std::hash::Hasher;
    let mut hasher = rustc_hash::FxHasher::default();
    value.hash(&mut hasher);
    mix(hasher.finish())
}

/// splitmix64's finaliser: every bit of `z` moves every bit of the result, so timely's
/// low-bit routing spreads consecutive integers evenly.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Key for String {
    fn write_text(&self, out: &mut String) {
        out.push_str(self);
    }
    fn from_text(text: &str) -> Result<Self, BoxError> {
        Ok(text.to_owned())
    }
    fn route(&self) -> u64 {
        route_text(self)
    }
    fn text(&self) -> String {
        self.clone()
    }
}

/// The unit key: every item alike, so one worker holds the state (a global operator).
impl Key for () {
    fn write_text(&self, _: &mut String) {}
    fn from_text(text: &str) -> Result<Self, BoxError> {
        match text.is_empty() {
            true => Ok(()),
            false => Err(format!("key {text:?} is not the unit key's (empty) text").into()),
        }
    }
}

macro_rules! integer_keys {
    ($($int:ty),*) => {$(
        impl Key for $int {
            fn write_text(&self, out: &mut String) {
                out.push_str(itoa(*self as i128, &mut [0; 40]));
            }
            fn from_text(text: &str) -> Result<Self, BoxError> {
                text.parse().map_err(|e| format!("key {text:?} is not a {}: {e}", stringify!($int)).into())
            }
            fn route(&self) -> u64 {
                mix(*self as i128 as u64)
            }
        }
    )*};
}

integer_keys!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Formats `n` in decimal into the end of `buf` (without `fmt`: routing integer keys is
/// on the hot path).
fn itoa(n: i128, buf: &mut [u8; 40]) -> &str {
    // Every integer key is at most 64 bits wide: its magnitude fits a u64.
    let mut digits = n.unsigned_abs() as u64;
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (digits % 10) as u8;
        digits /= 10;
        if digits == 0 {
            break;
        }
    }
    if n < 0 {
        at -= 1;
        buf[at] = b'-';
    }
    std::str::from_utf8(&buf[at..]).expect("digits are UTF-8")
}

/// Tuples write each part's text prefixed by its length: `3:abc2:42` for `("abc", 42)`.
macro_rules! tuple_keys {
    ($($part:ident),*) => {
        impl<$($part: Key),*> Key for ($($part,)*) {
            #[allow(non_snake_case)]
            fn write_text(&self, out: &mut String) {
                let ($($part,)*) = self;
                $(
                    let text = $part.text();
                    out.push_str(itoa(text.len() as i128, &mut [0; 40]));
                    out.push(':');
                    out.push_str(&text);
                )*
            }
            fn from_text(text: &str) -> Result<Self, BoxError> {
                let mut rest = text;
                let key = ($({
                    let (part, tail) = next_part(rest).ok_or_else(|| format!("key {text:?} is not a tuple key's text"))?;
                    rest = tail;
                    $part::from_text(part)?
                },)*);
                match rest.is_empty() {
                    true => Ok(key),
                    false => Err(format!("key {text:?} has more parts than the tuple").into()),
                }
            }
        }
    };
}

/// Splits `len:text` off the front of `rest`.
fn next_part(rest: &str) -> Option<(&str, &str)> {
    let (len, tail) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    tail.is_char_boundary(len).then(|| tail.split_at(len))
}

tuple_keys!(A, B);
tuple_keys!(A, B, C);
tuple_keys!(A, B, C, D);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<K: Key>(key: K) {
        let text = key.text();
        assert_eq!(K::from_text(&text).unwrap(), key, "{text}");
        assert_eq!(
            key.route(),
            route_stored::<K>(&text),
            "resume routes the text alike"
        );
    }

    #[test]
    fn keys_survive_their_text_and_route_by_it() {
        round_trip("plain".to_string());
        round_trip(String::new());
        round_trip(());
        round_trip(0u64);
        round_trip(u64::MAX);
        round_trip(i64::MIN);
        round_trip(-7i32);
        assert_eq!(i64::MIN.text(), i64::MIN.to_string());
        assert_eq!(1234567890u64.text(), "1234567890");
        round_trip(("a:b".to_string(), 42u32));
        round_trip((1u8, "".to_string(), -3i64));
        round_trip((("x".to_string(), 1u16), 2u64, "é".to_string(), 9usize));
    }

    #[test]
    fn stored_keys_must_be_in_their_own_text() {
        assert_eq!(stored_key::<u32>("5").unwrap(), 5);
        for bad in ["05", "+5", "-0"] {
            assert!(stored_key::<i32>(bad).is_err(), "{bad}");
        }
        assert!(stored_key::<(String, u8)>("1:a2:07").is_err());
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        assert!(u32::from_text("-1").is_err());
        assert!(<(String, u32)>::from_text("5:ab").is_err());
        assert!(<(String, u32)>::from_text("1:a1:12:xx").is_err());
        assert!(<(String, u32)>::from_text("2:é").is_err());
    }
}
