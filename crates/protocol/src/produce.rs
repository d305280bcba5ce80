//! Produce request framing around already-encoded batches (the hot path, ours), and the
//! response, decoded by the generated types.
//!
//! The request is returned as a list of byte chunks: framing bytes interleaved with the
//! batches themselves, so a batch is never copied into the request; the connection
//! writes the chunks with one vectored write.
//!
//! Versions 3..=12 are supported: v3 is the oldest Kafka 4.x accepts (KIP-896), v9 made
//! the request flexible (compact strings and arrays, tagged fields), and v13 (Kafka 4.1,
//! KIP-516) identifies topics by id instead of name, which this encoder does not do yet.

use bytes::Bytes;
use kafka_protocol::messages::ProduceResponse;

use crate::codec::{put_compact_nullable_string, put_compact_string, put_nullable_string, put_string, put_uvarint};
use crate::frame::{decode_response, finish_frame, start_frame, Frame};
use crate::DecodeError;

/// API key of Produce.
pub const API_KEY: i16 = 0;
/// Oldest version we send.
pub const MIN_VERSION: i16 = 3;
/// Newest version we send.
pub const MAX_VERSION: i16 = 12;

/// Builds one Produce request. Topics and partitions are declared with their counts
/// first, because Kafka's arrays are length-prefixed.
#[derive(Debug)]
pub struct ProduceRequestBuilder {
    version: i16,
    flexible: bool,
    buf: Vec<u8>,
    /// (position in `buf` where the batch goes, the batch).
    batches: Vec<(usize, Bytes)>,
    batch_bytes: usize,
    /// Partitions still expected for the current topic.
    partitions_left: usize,
}

impl ProduceRequestBuilder {
    /// Starts a request with `topic_count` topics.
    pub fn new(
        version: i16,
        client_id: Option<&str>,
        transactional_id: Option<&str>,
        acks: i16,
        timeout_ms: i32,
        topic_count: usize,
    ) -> Self {
        debug_assert!((MIN_VERSION..=MAX_VERSION).contains(&version));
        let flexible = version >= 9;
        let mut buf = Vec::with_capacity(128);
        start_frame(&mut buf, API_KEY, version, client_id);
        if flexible {
            put_compact_nullable_string(&mut buf, transactional_id);
        } else {
            put_nullable_string(&mut buf, transactional_id);
        }
        buf.extend_from_slice(&acks.to_be_bytes());
        buf.extend_from_slice(&timeout_ms.to_be_bytes());
        let mut b = ProduceRequestBuilder {
            version,
            flexible,
            buf,
            batches: Vec::new(),
            batch_bytes: 0,
            partitions_left: 0,
        };
        b.array_len(topic_count);
        b
    }

    fn array_len(&mut self, n: usize) {
        if self.flexible {
            put_uvarint(&mut self.buf, n as u32 + 1);
        } else {
            self.buf.extend_from_slice(&(n as i32).to_be_bytes());
        }
    }

    fn tagged_fields(&mut self) {
        if self.flexible {
            self.buf.push(0);
        }
    }

    /// Starts a topic that will have `partition_count` partitions.
    pub fn topic(&mut self, name: &str, partition_count: usize) {
        debug_assert_eq!(self.partitions_left, 0, "previous topic not complete");
        if self.flexible {
            put_compact_string(&mut self.buf, name);
        } else {
            put_string(&mut self.buf, name);
        }
        self.array_len(partition_count);
        self.partitions_left = partition_count;
    }

    /// Adds one partition's batch (exactly one batch per partition: brokers reject more
    /// on v3+).
    pub fn partition(&mut self, index: i32, batch: Bytes) {
        self.buf.extend_from_slice(&index.to_be_bytes());
        if self.flexible {
            put_uvarint(&mut self.buf, batch.len() as u32 + 1);
        } else {
            self.buf.extend_from_slice(&(batch.len() as i32).to_be_bytes());
        }
        self.batch_bytes += batch.len();
        self.batches.push((self.buf.len(), batch));
        self.tagged_fields(); // partition struct
        self.partitions_left -= 1;
        if self.partitions_left == 0 {
            self.tagged_fields(); // topic struct
        }
    }

    /// Version being encoded.
    pub fn version(&self) -> i16 {
        self.version
    }

    /// Finishes the request: the framing up to the first batch becomes the frame's head,
    /// then batches and the framing between them follow as chunks.
    pub fn finish(mut self) -> Frame {
        self.tagged_fields(); // request body
        finish_frame(&mut self.buf, self.batch_bytes);
        let Some(&(first, _)) = self.batches.first() else {
            return Frame {
                head: self.buf,
                tail: Vec::new(),
            };
        };
        let framing = Bytes::copy_from_slice(&self.buf[first..]);
        self.buf.truncate(first);
        let mut tail = Vec::with_capacity(self.batches.len() * 2);
        let mut start = 0;
        for (at, batch) in self.batches {
            let at = at - first;
            if at > start {
                tail.push(framing.slice(start..at));
            }
            tail.push(batch);
            start = at;
        }
        if start < framing.len() {
            tail.push(framing.slice(start..));
        }
        Frame { head: self.buf, tail }
    }
}

/// Decodes a Produce response body.
pub fn decode_response_body(version: i16, body: Bytes) -> Result<ProduceResponse, DecodeError> {
    decode_response(API_KEY, version, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ProduceRequest, TopicName};
    use kafka_protocol::protocol::{Decodable, StrBytes};

    fn concat(frame: &Frame) -> Vec<u8> {
        let mut v = frame.head.clone();
        for c in &frame.tail {
            v.extend_from_slice(c);
        }
        v
    }

    /// Our hand-written framing must decode with the generated (schema-derived) decoder at
    /// every version we send.
    #[test]
    fn generated_decoder_reads_our_requests() {
        let batch_a = Bytes::from_static(b"batch-a-bytes");
        let batch_b = Bytes::from_static(b"bb");
        for version in MIN_VERSION..=MAX_VERSION {
            let mut b = ProduceRequestBuilder::new(version, Some("cid"), None, -1, 30_000, 2);
            b.topic("t1", 2);
            b.partition(0, batch_a.clone());
            b.partition(5, batch_b.clone());
            b.topic("t2", 1);
            b.partition(3, batch_a.clone());
            let frame = b.finish();
            assert_eq!(frame.len(), concat(&frame).len());
            let frame = concat(&frame);
            let size = i32::from_be_bytes(frame[0..4].try_into().unwrap()) as usize;
            assert_eq!(size, frame.len() - 4, "v{version} size prefix");
            let mut rest = Bytes::from(frame[4..].to_vec());
            let header_version = crate::frame::request_header_version(API_KEY, version);
            let header = kafka_protocol::messages::RequestHeader::decode(&mut rest, header_version).unwrap();
            assert_eq!(header.request_api_version, version);
            assert_eq!(header.client_id.as_deref(), Some("cid"));
            let req = ProduceRequest::decode(&mut rest, version).unwrap();
            assert_eq!(rest.len(), 0, "v{version} trailing bytes");
            assert_eq!(req.acks, -1);
            assert_eq!(req.timeout_ms, 30_000);
            assert_eq!(req.transactional_id, None);
            assert_eq!(req.topic_data.len(), 2);
            assert_eq!(req.topic_data[0].name, TopicName(StrBytes::from_static_str("t1")));
            let p = &req.topic_data[0].partition_data;
            assert_eq!((p[0].index, p[0].records.as_deref()), (0, Some(&b"batch-a-bytes"[..])));
            assert_eq!((p[1].index, p[1].records.as_deref()), (5, Some(&b"bb"[..])));
            assert_eq!(req.topic_data[1].partition_data[0].index, 3);
        }
    }

    #[test]
    fn batches_are_not_copied() {
        let batch = Bytes::from(vec![7u8; 1000]);
        let mut b = ProduceRequestBuilder::new(9, None, Some("tx"), 1, 1, 1);
        b.topic("t", 1);
        b.partition(0, batch.clone());
        let frame = b.finish();
        assert!(frame.tail.iter().any(|c| c.as_ptr() == batch.as_ptr()));
    }
}
