//! `Key`: what keyed streams can be keyed by.

use std::fmt::Debug;
use std::hash::Hash;

use crate::{BoxError, Data};

/// A key of a keyed stream: `String`, an integer, or a tuple of keys.
///
/// Keyed steps route a key to a worker by a stable hash of its *text*, the name the
/// recovery store files its state under; resume routes stored state by the same hash of
/// the same text, so the exchange and resume agree for any worker count. Integer keys
/// format their text on the stack: routing them allocates nothing.
pub trait Key: Data + Hash + Eq + Ord + Debug {
    /// Appends the key's text.
    fn write_text(&self, out: &mut String);

    /// Parses a key from its text.
    fn from_text(text: &str) -> Result<Self, BoxError>;

    /// The stable hash keyed steps route by: xxh3 of the key's text.
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
    route_bytes(text.as_bytes())
}

#[inline]
fn route_bytes(text: &[u8]) -> u64 {
    xxhash_rust::xxh3::xxh3_64(text)
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
                out.push_str(decimal(*self as i128, &mut [0; 40]));
            }
            fn from_text(text: &str) -> Result<Self, BoxError> {
                text.parse().map_err(|e| format!("key {text:?} is not a {}: {e}", stringify!($int)).into())
            }
            fn route(&self) -> u64 {
                route_bytes(itoa(*self as i128, &mut [0; 40]))
            }
        }
    )*};
}

integer_keys!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);

/// Formats `n` in decimal into the end of `buf` (without `fmt`: routing integer keys is
/// on the hot path).
fn itoa(n: i128, buf: &mut [u8; 40]) -> &[u8] {
    // Every integer key is at most 64 bits wide: its magnitude fits a u64.
    let mut digits = n.unsigned_abs() as u64;
    if digits < 10u64.pow(15) {
        // Built in a register (first character in the low byte) and stored at once: the
        // hash's loads that follow then read one store, where loads of bytes stored one by
        // one would stall.
        let (mut word, mut len) = (0u128, 0);
        loop {
            word = word << 8 | u128::from(b'0' + (digits % 10) as u8);
            len += 1;
            digits /= 10;
            if digits == 0 {
                break;
            }
        }
        if n < 0 {
            word = word << 8 | u128::from(b'-');
            len += 1;
        }
        buf[..16].copy_from_slice(&word.to_le_bytes());
        return &buf[..len];
    }
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
    &buf[at..]
}

/// `n` in decimal, written into `buf`.
fn decimal(n: i128, buf: &mut [u8; 40]) -> &str {
    std::str::from_utf8(itoa(n, buf)).expect("digits are UTF-8")
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
                    out.push_str(decimal(text.len() as i128, &mut [0; 40]));
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
        assert_eq!(key.route(), route_text(&text), "route is the hash of the text");
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
    fn integer_text_is_decimal_on_both_sides_of_the_short_form() {
        let short = 10i64.pow(15);
        for n in [
            0,
            9,
            10,
            -1,
            short - 1,
            short,
            -(short - 1),
            -short,
            i64::MAX,
            i64::MIN,
        ] {
            assert_eq!(n.text(), n.to_string());
            round_trip(n);
        }
        assert_eq!(u64::MAX.text(), u64::MAX.to_string());
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
