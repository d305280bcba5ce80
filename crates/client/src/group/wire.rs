//! The "consumer" embedded protocol: what members put in JoinGroup's protocol metadata
//! (`ConsumerProtocolSubscription`) and what the leader hands out in SyncGroup
//! (`ConsumerProtocolAssignment`). Both are version-prefixed blobs (an i16 version, then
//! the struct at that version) that the broker never looks into.
//!
//! Decoding is hand-written rather than the generated `kafka-protocol` decoder: these
//! bytes come from other clients (any language, any bugs) and the generated decoder
//! pre-allocates arrays from the untrusted length prefix, so a corrupt length could ask
//! for gigabytes. Here every length is checked against the bytes left before anything is
//! allocated. Encoding matches the generated encoder byte for byte (tested below).
//!
//! A blob of a newer version than we know is read as our newest version: these schemas
//! only ever append fields, which is how the Java client reads them too.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use nkafka_protocol::codec::Reader;

use crate::error::{Error, Kind, Result};
use crate::types::TopicPartition;

/// Newest `ConsumerProtocolSubscription` version we write and read (v3 adds the rack, KIP-881).
pub const SUBSCRIPTION_VERSION: i16 = 3;
/// Newest `ConsumerProtocolAssignment` version we write and read (v1-v3 equal v0 on the wire).
pub const ASSIGNMENT_VERSION: i16 = 3;

/// A member's subscription as the leader sees it in JoinGroup's member list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Subscription {
    /// Subscribed topic names.
    pub topics: Vec<String>,
    /// Assignor-specific bytes (the cooperative-sticky assignor puts the generation here
    /// for clients older than subscription v2).
    pub user_data: Option<Bytes>,
    /// Partitions the member owns now (v1+, KIP-429); empty for eager members.
    pub owned_partitions: Vec<TopicPartition>,
    /// Generation the owned partitions belong to (v2+, KIP-792), -1 when unknown.
    pub generation_id: i32,
    /// The member's `client.rack` (v3+, KIP-881).
    pub rack_id: Option<String>,
}

/// Groups partitions by topic (sorted) for the wire.
fn by_topic(partitions: &[TopicPartition]) -> BTreeMap<&str, Vec<i32>> {
    let mut m: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
    for tp in partitions {
        m.entry(&tp.topic).or_default().push(tp.partition);
    }
    for v in m.values_mut() {
        v.sort_unstable();
        v.dedup();
    }
    m
}

fn put_i16(out: &mut Vec<u8>, v: i16) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_i32(out: &mut Vec<u8>, v: i32) {
    out.extend_from_slice(&v.to_be_bytes());
}

fn put_len(out: &mut Vec<u8>, n: usize, what: &str) -> Result<()> {
    let n = i32::try_from(n).map_err(|_| Error::new(Kind::Internal, format!("too many {what} to encode")))?;
    put_i32(out, n);
    Ok(())
}

fn put_string(out: &mut Vec<u8>, s: &str) -> Result<()> {
    let n = i16::try_from(s.len()).map_err(|_| {
        Error::new(
            Kind::Internal,
            format!("string of {} bytes is too long to encode", s.len()),
        )
    })?;
    put_i16(out, n);
    out.extend_from_slice(s.as_bytes());
    Ok(())
}

fn put_nullable_string(out: &mut Vec<u8>, s: Option<&str>) -> Result<()> {
    match s {
        Some(s) => put_string(out, s),
        None => {
            put_i16(out, -1);
            Ok(())
        }
    }
}

fn put_nullable_bytes(out: &mut Vec<u8>, b: Option<&[u8]>) -> Result<()> {
    match b {
        Some(b) => {
            put_len(out, b.len(), "bytes")?;
            out.extend_from_slice(b);
        }
        None => put_i32(out, -1),
    }
    Ok(())
}

fn put_topic_partitions(out: &mut Vec<u8>, partitions: &[TopicPartition]) -> Result<()> {
    let grouped = by_topic(partitions);
    put_len(out, grouped.len(), "topics")?;
    for (topic, parts) in grouped {
        put_string(out, topic)?;
        put_len(out, parts.len(), "partitions")?;
        for p in parts {
            put_i32(out, p);
        }
    }
    Ok(())
}

impl Subscription {
    /// Encodes at `version` (0..=3), with the version prefix.
    pub fn encode(&self, version: i16) -> Result<Bytes> {
        if !(0..=SUBSCRIPTION_VERSION).contains(&version) {
            return Err(Error::new(
                Kind::Internal,
                format!("ConsumerProtocolSubscription v{version} is not supported"),
            ));
        }
        let mut out = Vec::with_capacity(64);
        put_i16(&mut out, version);
        put_len(&mut out, self.topics.len(), "topics")?;
        for t in &self.topics {
            put_string(&mut out, t)?;
        }
        put_nullable_bytes(&mut out, self.user_data.as_deref())?;
        if version >= 1 {
            put_topic_partitions(&mut out, &self.owned_partitions)?;
        }
        if version >= 2 {
            put_i32(&mut out, self.generation_id);
        }
        if version >= 3 {
            put_nullable_string(&mut out, self.rack_id.as_deref())?;
        }
        Ok(Bytes::from(out))
    }

    /// Decodes a version-prefixed subscription; never panics, never over-allocates.
    pub fn decode(buf: &[u8]) -> Result<Subscription> {
        let mut r = Reader::new(buf);
        let version = r.i16().map_err(bad_sub)?;
        if version < 0 {
            return Err(malformed("subscription", format!("negative version {version}")));
        }
        let version = version.min(SUBSCRIPTION_VERSION);
        let mut s = Subscription {
            generation_id: -1,
            ..Subscription::default()
        };
        let n = array_len(&mut r, 2, "subscription")?;
        s.topics.reserve(n);
        for _ in 0..n {
            s.topics.push(string(&mut r, "subscription")?);
        }
        s.user_data = nullable_bytes(&mut r, "subscription")?;
        if version >= 1 {
            s.owned_partitions = topic_partitions(&mut r, "subscription")?;
        }
        if version >= 2 {
            s.generation_id = r.i32().map_err(bad_sub)?;
        }
        if version >= 3 {
            s.rack_id = nullable_string(&mut r, "subscription")?;
        }
        Ok(s)
    }
}

/// Encodes an assignment (version-prefixed, v3) for SyncGroup.
pub fn encode_assignment(partitions: &[TopicPartition], user_data: Option<&[u8]>) -> Result<Bytes> {
    encode_assignment_version(partitions, user_data, ASSIGNMENT_VERSION)
}

fn encode_assignment_version(partitions: &[TopicPartition], user_data: Option<&[u8]>, version: i16) -> Result<Bytes> {
    let mut out = Vec::with_capacity(32);
    put_i16(&mut out, version);
    put_topic_partitions(&mut out, partitions)?;
    put_nullable_bytes(&mut out, user_data)?;
    Ok(Bytes::from(out))
}

/// Decodes a version-prefixed assignment into sorted, de-duplicated partitions. An empty
/// blob is an empty assignment (a leader that assigned this member nothing may send none).
pub fn decode_assignment(buf: &[u8]) -> Result<Vec<TopicPartition>> {
    if buf.is_empty() {
        return Ok(Vec::new());
    }
    let mut r = Reader::new(buf);
    let version = r.i16().map_err(|e| malformed("assignment", e.to_string()))?;
    if version < 0 {
        return Err(malformed("assignment", format!("negative version {version}")));
    }
    let mut parts = topic_partitions(&mut r, "assignment")?;
    // user_data follows; we do not use it, but a truncated one means a corrupt blob.
    nullable_bytes(&mut r, "assignment")?;
    parts.sort();
    parts.dedup();
    Ok(parts)
}

fn malformed(what: &str, detail: impl std::fmt::Display) -> Error {
    Error::new(Kind::Protocol, format!("malformed consumer protocol {what}: {detail}"))
}

fn bad_sub(e: nkafka_protocol::DecodeError) -> Error {
    malformed("subscription", e)
}

/// Reads an array length and checks that `min_item` bytes per element are left.
fn array_len(r: &mut Reader<'_>, min_item: usize, what: &str) -> Result<usize> {
    let n = r.i32().map_err(|e| malformed(what, e))?;
    if n < 0 {
        // Every array in these schemas is non-nullable (Java's reader rejects -1 too).
        return Err(malformed(what, "null array where one is required"));
    }
    let n = n as usize;
    if n.saturating_mul(min_item) > r.remaining() {
        return Err(malformed(
            what,
            format!("array of {n} elements but only {} bytes left", r.remaining()),
        ));
    }
    Ok(n)
}

fn string(r: &mut Reader<'_>, what: &str) -> Result<String> {
    nullable_string(r, what)?.ok_or_else(|| malformed(what, "null string where one is required"))
}

fn nullable_string(r: &mut Reader<'_>, what: &str) -> Result<Option<String>> {
    let n = r.i16().map_err(|e| malformed(what, e))?;
    if n < 0 {
        return Ok(None);
    }
    let b = r.bytes(n as usize).map_err(|e| malformed(what, e))?;
    let s = std::str::from_utf8(b).map_err(|_| malformed(what, "string is not UTF-8"))?;
    Ok(Some(s.to_string()))
}

fn nullable_bytes(r: &mut Reader<'_>, what: &str) -> Result<Option<Bytes>> {
    let n = r.i32().map_err(|e| malformed(what, e))?;
    if n < 0 {
        return Ok(None);
    }
    let b = r.bytes(n as usize).map_err(|e| malformed(what, e))?;
    Ok(Some(Bytes::copy_from_slice(b)))
}

fn topic_partitions(r: &mut Reader<'_>, what: &str) -> Result<Vec<TopicPartition>> {
    let topics = array_len(r, 6, what)?;
    let mut out = Vec::new();
    for _ in 0..topics {
        let topic: Arc<str> = string(r, what)?.into();
        let n = array_len(r, 4, what)?;
        out.reserve(n);
        for _ in 0..n {
            let p = r.i32().map_err(|e| malformed(what, e))?;
            out.push(TopicPartition {
                topic: topic.clone(),
                partition: p,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::consumer_protocol_assignment as ga;
    use kafka_protocol::messages::consumer_protocol_subscription as gs;
    use kafka_protocol::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription, TopicName};
    use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

    fn tp(t: &str, p: i32) -> TopicPartition {
        TopicPartition::new(t, p)
    }

    fn generated_sub(version: i16) -> Vec<u8> {
        let g = ConsumerProtocolSubscription::default()
            .with_topics(vec![StrBytes::from_static_str("a"), StrBytes::from_static_str("b")])
            .with_user_data(Some(Bytes::from_static(&[0, 0, 0, 7])))
            .with_owned_partitions(if version >= 1 {
                vec![
                    gs::TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_static_str("a")))
                        .with_partitions(vec![0, 2]),
                    gs::TopicPartition::default()
                        .with_topic(TopicName(StrBytes::from_static_str("b")))
                        .with_partitions(vec![1]),
                ]
            } else {
                vec![]
            })
            .with_generation_id(if version >= 2 { 7 } else { -1 })
            .with_rack_id(if version >= 3 {
                Some(StrBytes::from_static_str("rack-1"))
            } else {
                None
            });
        let mut out = version.to_be_bytes().to_vec();
        g.encode(&mut out, version).unwrap();
        out
    }

    fn ours(version: i16) -> Subscription {
        Subscription {
            topics: vec!["a".into(), "b".into()],
            user_data: Some(Bytes::from_static(&[0, 0, 0, 7])),
            owned_partitions: if version >= 1 {
                vec![tp("a", 2), tp("b", 1), tp("a", 0)]
            } else {
                vec![]
            },
            generation_id: if version >= 2 { 7 } else { -1 },
            rack_id: (version >= 3).then(|| "rack-1".to_string()),
        }
    }

    #[test]
    fn subscription_matches_generated_encoder_at_every_version() {
        for v in 0..=3 {
            let bytes = ours(v).encode(v).unwrap();
            assert_eq!(&bytes[..], &generated_sub(v)[..], "v{v}");
            // And the generated decoder reads ours.
            let mut body = bytes.slice(2..);
            let g = ConsumerProtocolSubscription::decode(&mut body, v).unwrap();
            assert_eq!(g.topics.len(), 2);
            assert_eq!(g.generation_id, if v >= 2 { 7 } else { -1 });
        }
    }

    #[test]
    fn subscription_round_trips_from_generated_bytes() {
        for v in 0..=3 {
            let s = Subscription::decode(&generated_sub(v)).unwrap();
            let mut want = ours(v);
            want.owned_partitions.sort();
            let mut got = s.clone();
            got.owned_partitions.sort();
            assert_eq!(got, want, "v{v}");
        }
    }

    #[test]
    fn newer_subscription_versions_read_as_v3() {
        let mut b = generated_sub(3);
        b[1] = 9; // claims v9, with an extra trailing field
        b.extend_from_slice(&[1, 2, 3, 4]);
        let s = Subscription::decode(&b).unwrap();
        assert_eq!(s.rack_id.as_deref(), Some("rack-1"));
        assert_eq!(s.generation_id, 7);
    }

    #[test]
    fn assignment_matches_generated_encoder() {
        let parts = vec![tp("b", 3), tp("a", 1), tp("a", 0)];
        for v in 0..=3 {
            let ours = encode_assignment_version(&parts, None, v).unwrap();
            let g = ConsumerProtocolAssignment::default().with_assigned_partitions(vec![
                ga::TopicPartition::default()
                    .with_topic(TopicName(StrBytes::from_static_str("a")))
                    .with_partitions(vec![0, 1]),
                ga::TopicPartition::default()
                    .with_topic(TopicName(StrBytes::from_static_str("b")))
                    .with_partitions(vec![3]),
            ]);
            let mut want = v.to_be_bytes().to_vec();
            g.encode(&mut want, v).unwrap();
            assert_eq!(&ours[..], &want[..], "v{v}");
            let back = decode_assignment(&want).unwrap();
            assert_eq!(back, vec![tp("a", 0), tp("a", 1), tp("b", 3)]);
        }
    }

    #[test]
    fn malformed_blobs_are_errors_not_panics() {
        let good = generated_sub(3);
        for cut in 0..good.len() {
            // Every truncation either fails cleanly or (for a cut inside trailing
            // optional data) decodes; it never panics.
            let _ = Subscription::decode(&good[..cut]);
        }
        // A huge array length is rejected before allocating.
        let mut huge = vec![0, 3];
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        let e = Subscription::decode(&huge).unwrap_err();
        assert_eq!(e.code(), "PROTOCOL_ERROR");
        let mut huge = vec![0, 0];
        huge.extend_from_slice(&1i32.to_be_bytes());
        huge.extend_from_slice(&[0, 1, b'a']);
        huge.extend_from_slice(&i32::MAX.to_be_bytes());
        assert!(decode_assignment(&huge).is_err());
        assert!(Subscription::decode(&[0xff, 0xff]).is_err());
        assert_eq!(decode_assignment(&[]).unwrap(), vec![]);
    }
}
