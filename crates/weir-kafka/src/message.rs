//! What the source emits and what the sink sends.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// A message read from Kafka.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaMessage {
    /// Its topic.
    pub topic: String,
    /// Its partition.
    pub partition: i32,
    /// Its offset in the partition.
    pub offset: i64,
    /// Its key, if any.
    pub key: Option<Vec<u8>>,
    /// Its payload, if any.
    pub payload: Option<Vec<u8>>,
    /// Its timestamp (milliseconds since the Unix epoch), if any.
    pub timestamp: Option<i64>,
}

impl KafkaMessage {
    /// The payload as UTF-8 text (`None` if absent or not UTF-8).
    pub fn text(&self) -> Option<&str> {
        std::str::from_utf8(self.payload.as_deref()?).ok()
    }

    /// The payload as UTF-8 text, or an error naming the message (for `try_map`, which
    /// sends it to an error stream).
    pub fn decode_text(&self) -> Result<String, String> {
        self.text()
            .map(str::to_owned)
            .ok_or_else(|| self.undecodable("not UTF-8 text"))
    }

    /// The payload decoded from JSON, or an error naming the message and what was wrong.
    pub fn decode_json<T: DeserializeOwned>(&self) -> Result<T, String> {
        let payload = self.payload.as_deref().unwrap_or_default();
        serde_json::from_slice(payload)
            .map_err(|err| self.undecodable(&format!("not the JSON expected: {err}")))
    }

    fn undecodable(&self, why: &str) -> String {
        format!(
            "message {} of {}/{}: {why}",
            self.offset, self.topic, self.partition
        )
    }
}

/// A record to send: the key picks the Kafka partition (by the broker's default
/// partitioner), the payload is the message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KafkaRecord {
    /// The message key.
    pub key: Option<Vec<u8>>,
    /// The message payload.
    pub payload: Vec<u8>,
}

impl KafkaRecord {
    /// A record of `value` as JSON, with a text key.
    pub fn json<T: Serialize>(key: &str, value: &T) -> Result<KafkaRecord, serde_json::Error> {
        Ok(KafkaRecord {
            key: Some(key.as_bytes().to_vec()),
            payload: serde_json::to_vec(value)?,
        })
    }

    /// A record of text with a text key.
    pub fn text(key: &str, payload: &str) -> KafkaRecord {
        KafkaRecord {
            key: Some(key.as_bytes().to_vec()),
            payload: payload.as_bytes().to_vec(),
        }
    }
}
