//! Wire primitives: big-endian integers, zig-zag varints (RecordBatch v2 records) and
//! unsigned varints (flexible request versions, KIP-482), plus a bounds-checked reader.
//!
//! Writers append to a `Vec<u8>`; the reader never panics on short or hostile input,
//! it returns [`DecodeError`] instead (fuzzed in `fuzz/`).

use crate::DecodeError;

/// Bytes a zig-zag varint of `v` takes (1..=5).
#[inline]
pub fn varint_len(v: i32) -> usize {
    uvarint_len(((v << 1) ^ (v >> 31)) as u32)
}

/// Bytes a zig-zag varlong of `v` takes (1..=10).
#[inline]
pub fn varlong_len(v: i64) -> usize {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    let mut n = 1;
    while z >= 0x80 {
        z >>= 7;
        n += 1;
    }
    n
}

/// Bytes an unsigned varint of `v` takes (1..=5).
#[inline]
pub fn uvarint_len(v: u32) -> usize {
    // 32 - leading zeros, rounded up to 7-bit groups; 0 still takes one byte.
    let bits = 32 - (v | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Appends an unsigned varint.
#[inline]
pub fn put_uvarint(buf: &mut Vec<u8>, mut v: u32) {
    while v >= 0x80 {
        buf.push((v as u8) | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

/// Appends a zig-zag varint (the record-level integer encoding of RecordBatch v2).
#[inline]
pub fn put_varint(buf: &mut Vec<u8>, v: i32) {
    put_uvarint(buf, ((v << 1) ^ (v >> 31)) as u32);
}

/// Appends a zig-zag varlong.
#[inline]
pub fn put_varlong(buf: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        buf.push((z as u8) | 0x80);
        z >>= 7;
    }
    buf.push(z as u8);
}

/// Appends a classic (non-compact) string: i16 length then UTF-8 bytes.
pub fn put_string(buf: &mut Vec<u8>, s: &str) {
    buf.extend_from_slice(&(s.len() as i16).to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a classic nullable string (length -1 for null).
pub fn put_nullable_string(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_string(buf, s),
        None => buf.extend_from_slice(&(-1i16).to_be_bytes()),
    }
}

/// Appends a compact string (flexible versions): uvarint(len + 1) then bytes.
pub fn put_compact_string(buf: &mut Vec<u8>, s: &str) {
    put_uvarint(buf, s.len() as u32 + 1);
    buf.extend_from_slice(s.as_bytes());
}

/// Appends a compact nullable string (0 for null).
pub fn put_compact_nullable_string(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => put_compact_string(buf, s),
        None => buf.push(0),
    }
}

/// A bounds-checked cursor over a byte slice.
#[derive(Clone, Debug)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes left.
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// True when everything has been consumed.
    pub fn is_empty(&self) -> bool {
        self.pos == self.buf.len()
    }

    /// Takes the next `n` bytes.
    #[inline]
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Truncated {
                needed: n,
                available: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Takes a fixed-size array.
    #[inline]
    fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let s = self.bytes(N)?;
        let mut a = [0u8; N];
        a.copy_from_slice(s);
        Ok(a)
    }

    /// Reads an i8.
    #[inline]
    pub fn i8(&mut self) -> Result<i8, DecodeError> {
        Ok(self.array::<1>()?[0] as i8)
    }

    /// Reads a big-endian i16.
    #[inline]
    pub fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian i32.
    #[inline]
    pub fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a big-endian i64.
    #[inline]
    pub fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(self.array()?))
    }

    /// Reads an unsigned varint (at most 5 bytes).
    #[inline]
    pub fn uvarint(&mut self) -> Result<u32, DecodeError> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let b = self.array::<1>()?[0];
            v |= ((b & 0x7f) as u32) << (7 * i);
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid("varint longer than 5 bytes"))
    }

    /// Reads a zig-zag varint.
    #[inline]
    pub fn varint(&mut self) -> Result<i32, DecodeError> {
        let z = self.uvarint()?;
        Ok(((z >> 1) as i32) ^ -((z & 1) as i32))
    }

    /// Reads a zig-zag varlong (at most 10 bytes).
    #[inline]
    pub fn varlong(&mut self) -> Result<i64, DecodeError> {
        let mut v: u64 = 0;
        for i in 0..10 {
            let b = self.array::<1>()?[0];
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
            }
        }
        Err(DecodeError::Invalid("varlong longer than 10 bytes"))
    }

    /// Reads varint-length-prefixed bytes where -1 means null (record keys, values, headers).
    #[inline]
    pub fn varint_bytes(&mut self) -> Result<Option<&'a [u8]>, DecodeError> {
        let len = self.varint()?;
        if len < 0 {
            if len != -1 {
                return Err(DecodeError::Invalid("negative length other than -1"));
            }
            return Ok(None);
        }
        self.bytes(len as usize).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_known_bytes() {
        // Values and encodings from Kafka's ByteUtilsTest (zig-zag varint).
        let cases: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (-65, &[0x81, 0x01]),
            (8191, &[0xfe, 0x7f]),
            (-8192, &[0xff, 0x7f]),
            (8192, &[0x80, 0x80, 0x01]),
            (i32::MAX, &[0xfe, 0xff, 0xff, 0xff, 0x0f]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for (v, bytes) in cases {
            let mut buf = Vec::new();
            put_varint(&mut buf, *v);
            assert_eq!(&buf[..], *bytes, "encoding {v}");
            assert_eq!(varint_len(*v), bytes.len());
            assert_eq!(Reader::new(bytes).varint().unwrap(), *v);
        }
    }

    #[test]
    fn truncated_and_overlong_varints_are_errors() {
        assert!(Reader::new(&[0x80]).varint().is_err());
        assert!(Reader::new(&[0xff, 0xff, 0xff, 0xff, 0xff, 0x01]).uvarint().is_err());
        assert!(Reader::new(&[0xff; 11]).varlong().is_err());
        assert!(Reader::new(&[0x03]).varint_bytes().is_err()); // length -2
    }

    proptest! {
        #[test]
        fn varint_round_trip(v: i32) {
            let mut buf = Vec::new();
            put_varint(&mut buf, v);
            prop_assert_eq!(buf.len(), varint_len(v));
            let mut r = Reader::new(&buf);
            prop_assert_eq!(r.varint().unwrap(), v);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn varlong_round_trip(v: i64) {
            let mut buf = Vec::new();
            put_varlong(&mut buf, v);
            prop_assert_eq!(buf.len(), varlong_len(v));
            let mut r = Reader::new(&buf);
            prop_assert_eq!(r.varlong().unwrap(), v);
            prop_assert!(r.is_empty());
        }

        #[test]
        fn uvarint_round_trip(v: u32) {
            let mut buf = Vec::new();
            put_uvarint(&mut buf, v);
            prop_assert_eq!(buf.len(), uvarint_len(v));
            prop_assert_eq!(Reader::new(&buf).uvarint().unwrap(), v);
        }
    }
}
