//! The Java client's key hash, so that nkafka puts a keyed record on the same partition as
//! every other Kafka client that uses the Java default partitioner.
//!
//! Key-to-partition mapping is a contract between producers: a topic written by a Java,
//! franz-go (default partitioner) or librdkafka (`partitioner=murmur2_random`) producer
//! and by nkafka must keep all records of one key on one partition, or per-key ordering
//! and compaction break. Kafka's `BuiltInPartitioner.partitionForKey` is
//! `toPositive(murmur2(key)) % numPartitions`, with `Utils.murmur2` a 32-bit MurmurHash2
//! variant (seed `0x9747b28c`, little-endian 4-byte blocks) and `toPositive` a mask of the
//! sign bit (not `abs`). `tests/murmur2.rs` checks all three against values computed by the
//! Java client (`tests/vectors/murmur2.json`).

/// Kafka's seed for `Utils.murmur2`.
const SEED: u32 = 0x9747_b28c;
/// MurmurHash2 mixing constant.
const M: u32 = 0x5bd1_e995;
/// MurmurHash2 shift.
const R: u32 = 24;

/// Kafka's `Utils.murmur2`: the 32-bit MurmurHash2 of `data`, returned as the signed `int`
/// Java returns, so values compare directly with Java's.
///
/// Runs on the produce hot path for every keyed record: no allocation, one pass.
#[inline]
pub fn murmur2(data: &[u8]) -> i32 {
    // Java's `int` arithmetic wraps; `>>>` is a logical shift, i.e. `>>` on u32. Java arrays
    // are shorter than 2^31, so truncating the length to 32 bits matches it for any key Java
    // could hash.
    let mut h = SEED ^ data.len() as u32;

    let mut blocks = data.chunks_exact(4);
    for block in &mut blocks {
        let mut k = u32::from_le_bytes([block[0], block[1], block[2], block[3]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h = h.wrapping_mul(M);
        h ^= k;
    }

    // Tail bytes are masked with 0xff in Java, i.e. taken unsigned.
    let tail = blocks.remainder();
    if tail.len() >= 3 {
        h ^= u32::from(tail[2]) << 16;
    }
    if tail.len() >= 2 {
        h ^= u32::from(tail[1]) << 8;
    }
    if !tail.is_empty() {
        h ^= u32::from(tail[0]);
        h = h.wrapping_mul(M);
    }

    h ^= h >> 13;
    h = h.wrapping_mul(M);
    h ^= h >> 15;
    h as i32
}

/// Kafka's `Utils.toPositive`: clears the sign bit (`number & 0x7fffffff`).
///
/// Not `abs`: `i32::MIN` maps to 0 and negative numbers map to `n + 2^31`, which is what
/// decides the partition in Java, so nothing else would be compatible.
#[inline]
pub fn to_positive(number: i32) -> i32 {
    number & 0x7fff_ffff
}

/// The partition the Java client's default partitioner picks for a non-null key:
/// `toPositive(murmur2(key)) % num_partitions` (`BuiltInPartitioner.partitionForKey`).
///
/// Records with a null key do not come here: like Java (KIP-480/KIP-794), they go to a
/// sticky partition chosen by the producer.
///
/// # Panics
///
/// If `num_partitions` is 0 (Java throws `ArithmeticException` there too); callers know the
/// partition count from metadata, which is never 0 for an existing topic.
#[inline]
pub fn partition_for_key(key: &[u8], num_partitions: u32) -> u32 {
    // to_positive's result is in 0..=i32::MAX, so the cast is lossless.
    to_positive(murmur2(key)) as u32 % num_partitions
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_java_values() {
        // From tests/vectors/murmur2.json (Java kafka-clients).
        assert_eq!(murmur2(b""), 275_646_681);
        assert_eq!(murmur2(b"hello"), 2_132_663_229);
        assert_eq!(murmur2(&[0x07, 0x26, 0x45]), -328_944_041);
        assert_eq!(to_positive(-328_944_041), 1_818_539_607);
        assert_eq!(partition_for_key(b"hello", 100), 29);
    }

    #[test]
    fn to_positive_masks_sign_bit() {
        assert_eq!(to_positive(0), 0);
        assert_eq!(to_positive(5), 5);
        assert_eq!(to_positive(-1), i32::MAX);
        assert_eq!(to_positive(i32::MIN), 0);
        assert_eq!(to_positive(i32::MAX), i32::MAX);
    }

    #[test]
    fn single_partition_is_always_zero() {
        for key in [&b""[..], b"a", b"abcd", b"some longer key"] {
            assert_eq!(partition_for_key(key, 1), 0);
        }
    }
}
