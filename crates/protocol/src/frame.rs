//! Request and response framing: size prefix, headers, and the bridge to the generated
//! control-plane messages of the `kafka-protocol` crate.
//!
//! Every request frame is `size i32 | api_key i16 | api_version i16 | correlation_id i32 |
//! client_id nullable-string [| tagged fields (header v2)] | body`. The connection assigns
//! the correlation id when it writes the frame, so encoders leave a placeholder there and
//! [`set_correlation_id`] patches it in place (no re-encoding).

use bytes::Bytes;
use kafka_protocol::messages::ApiKey;
use kafka_protocol::protocol::{Decodable, HeaderVersion, Message, Request, VersionRange};

use crate::codec::{put_nullable_string, put_uvarint, Reader};
use crate::{DecodeError, EncodeError};

/// Offset of the correlation id in a request frame (after size, api key and version).
pub const CORRELATION_ID_OFFSET: usize = 8;

/// An encoded request ready to write: `head` starts with the size prefix and header (the
/// connection patches the correlation id into it); `tail` holds chunks written after it
/// without copying (record batches).
#[derive(Debug, Default)]
pub struct Frame {
    /// Size prefix, header and (for control-plane requests) the whole body.
    pub head: Vec<u8>,
    /// Further chunks, in order.
    pub tail: Vec<Bytes>,
}

impl Frame {
    /// Total bytes on the wire.
    pub fn len(&self) -> usize {
        self.head.len() + self.tail.iter().map(Bytes::len).sum::<usize>()
    }

    /// True for an empty frame (never produced by the encoders).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Writes the correlation id chosen by the connection.
    pub fn set_correlation_id(&mut self, correlation_id: i32) {
        set_correlation_id(&mut self.head, correlation_id);
    }
}

/// Writes the size placeholder and request header. Returns the buffer to append the body
/// to; finish with [`finish_frame`].
pub fn start_frame(buf: &mut Vec<u8>, api_key: i16, version: i16, client_id: Option<&str>) {
    buf.extend_from_slice(&[0, 0, 0, 0]); // size, patched by finish_frame
    buf.extend_from_slice(&api_key.to_be_bytes());
    buf.extend_from_slice(&version.to_be_bytes());
    buf.extend_from_slice(&[0, 0, 0, 0]); // correlation id, patched by the connection
                                          // client_id stays a classic nullable string even in header v2 (KIP-482).
    put_nullable_string(buf, client_id);
    if request_header_version(api_key, version) >= 2 {
        put_uvarint(buf, 0); // no tagged fields
    }
}

/// Patches the size prefix once the whole frame (`extra` bytes beyond `buf`, for vectored
/// frames) is known.
pub fn finish_frame(buf: &mut [u8], extra: usize) {
    let size = (buf.len() + extra - 4) as i32;
    buf[0..4].copy_from_slice(&size.to_be_bytes());
}

/// Writes the correlation id into an encoded frame.
pub fn set_correlation_id(frame: &mut [u8], correlation_id: i32) {
    frame[CORRELATION_ID_OFFSET..CORRELATION_ID_OFFSET + 4].copy_from_slice(&correlation_id.to_be_bytes());
}

/// Request header version of an API at a version (1 = classic, 2 = flexible).
pub fn request_header_version(api_key: i16, version: i16) -> i16 {
    match ApiKey::try_from(api_key) {
        Ok(k) => k.request_header_version(version),
        Err(()) => 1,
    }
}

/// Response header version (0 = correlation id only, 1 = plus tagged fields).
/// ApiVersions always answers with header v0, even at flexible versions (KIP-511).
pub fn response_header_version(api_key: i16, version: i16) -> i16 {
    match ApiKey::try_from(api_key) {
        Ok(k) => k.response_header_version(version),
        Err(()) => 0,
    }
}

/// Splits a response frame (without its size prefix) into correlation id and body.
pub fn split_response(frame: &Bytes, api_key: i16, version: i16) -> Result<(i32, Bytes), DecodeError> {
    let mut r = Reader::new(frame);
    let correlation_id = r.i32()?;
    if response_header_version(api_key, version) >= 1 {
        skip_tagged_fields(&mut r)?;
    }
    Ok((correlation_id, frame.slice(r.position()..)))
}

/// Reads only the correlation id of a response frame.
pub fn peek_correlation_id(frame: &[u8]) -> Result<i32, DecodeError> {
    Reader::new(frame).i32()
}

/// Skips a tagged-field section (flexible versions).
pub fn skip_tagged_fields(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    let n = r.uvarint()?;
    for _ in 0..n {
        r.uvarint()?;
        let size = r.uvarint()? as usize;
        r.bytes(size)?;
    }
    Ok(())
}

/// Name of an API for error messages ("Produce", "Metadata", ...).
pub fn api_name(api_key: i16) -> String {
    match ApiKey::try_from(api_key) {
        Ok(k) => format!("{k:?}"),
        Err(()) => format!("ApiKey({api_key})"),
    }
}

/// Versions of a generated request type this crate can speak.
pub fn supported_versions<R: Message>() -> VersionRange {
    R::VERSIONS
}

/// Encodes a control-plane request into a complete frame (size prefix included).
pub fn encode_request<R: Request>(req: &R, version: i16, client_id: Option<&str>) -> Result<Frame, EncodeError> {
    let mut buf = Vec::with_capacity(64);
    start_frame(&mut buf, R::KEY, version, client_id);
    req.encode(&mut buf, version).map_err(|e| EncodeError::Message {
        api: api_name(R::KEY),
        version,
        message: e.to_string(),
    })?;
    finish_frame(&mut buf, 0);
    Ok(Frame {
        head: buf,
        tail: Vec::new(),
    })
}

/// Decodes a control-plane response body (header already split off).
pub fn decode_response<R: Decodable + HeaderVersion>(
    api_key: i16,
    version: i16,
    mut body: Bytes,
) -> Result<R, DecodeError> {
    R::decode(&mut body, version).map_err(|e| DecodeError::Message {
        api: api_name(api_key),
        version,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::{ApiVersionsRequest, MetadataRequest};
    use kafka_protocol::protocol::StrBytes;

    #[test]
    fn api_versions_v3_frame_layout() {
        // ApiVersionsRequest v3, correlation id 1, client id "nkafka", software name
        // "nkafka" version "0.1.0"; layout per the Kafka protocol guide (header v2).
        let req = ApiVersionsRequest::default()
            .with_client_software_name(StrBytes::from_static_str("nkafka"))
            .with_client_software_version(StrBytes::from_static_str("0.1.0"));
        let mut frame = encode_request(&req, 3, Some("nkafka")).unwrap();
        frame.set_correlation_id(1);
        let frame = frame.head;
        let expected: &[u8] = &[
            0, 0, 0, 31, // size
            0, 18, 0, 3, // api key 18, version 3
            0, 0, 0, 1, // correlation id
            0, 6, b'n', b'k', b'a', b'f', b'k', b'a', // client id
            0,    // header tagged fields
            7, b'n', b'k', b'a', b'f', b'k', b'a', // compact string
            6, b'0', b'.', b'1', b'.', b'0', // compact string
            0,    // body tagged fields
        ];
        assert_eq!(frame, expected);
    }

    #[test]
    fn classic_header_has_no_tagged_fields() {
        let req = MetadataRequest::default();
        let frame = encode_request(&req, 1, None).unwrap().head;
        // size 4 + key 2 + version 2 + corr 4 + null client id 2 + topics (-1 = all) 4
        assert_eq!(frame.len(), 18);
        assert_eq!(&frame[12..14], &[0xff, 0xff]);
    }

    #[test]
    fn response_header_v1_skips_tagged_fields() {
        let frame = Bytes::from_static(&[0, 0, 0, 9, 1, 5, 2, 0xaa, 0xbb, 42]);
        // Metadata v9+ uses response header v1.
        let (corr, body) = split_response(&frame, 3, 12).unwrap();
        assert_eq!(corr, 9);
        assert_eq!(&body[..], &[42]);
        // ApiVersions v3 answers with header v0.
        let (_, body) = split_response(&frame, 18, 3).unwrap();
        assert_eq!(body.len(), 6);
    }
}
