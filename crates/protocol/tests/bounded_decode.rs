//! Every response decoder allocates in proportion to the bytes it was given, whatever
//! counts and lengths the bytes claim. A counting global allocator records the largest
//! single allocation; anything over 64 MiB is refused outright (the process aborts with
//! "memory allocation of N bytes failed" instead of swapping), and each hostile decode
//! must stay far below that: at most 64 bytes per input byte plus 64 KiB.
//!
//! The hostile inputs are derived from valid responses of every API the client reads at
//! every version: each 4-byte window replaced by a huge or negative count (i32::MAX,
//! i32::MIN, -2), each byte replaced by a maximal unsigned varint (compact counts and
//! lengths), and every truncation.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

#[path = "samples/responses.rs"]
mod responses;

const REFUSE_OVER: usize = 64 << 20;

struct Counting;

static LARGEST: AtomicUsize = AtomicUsize::new(0);
static WATCHING: AtomicBool = AtomicBool::new(false);

#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() > REFUSE_OVER {
            return std::ptr::null_mut();
        }
        if WATCHING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.size() > REFUSE_OVER {
            return std::ptr::null_mut();
        }
        if WATCHING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(layout.size(), Ordering::Relaxed);
        }
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size > REFUSE_OVER {
            return std::ptr::null_mut();
        }
        if WATCHING.load(Ordering::Relaxed) {
            LARGEST.fetch_max(new_size, Ordering::Relaxed);
        }
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

/// Largest single allocation while decoding `body`.
fn largest_allocation(api: responses::ApiKey, version: i16, body: &[u8]) -> usize {
    let body = bytes::Bytes::copy_from_slice(body);
    LARGEST.store(0, Ordering::Relaxed);
    WATCHING.store(true, Ordering::Relaxed);
    let _ = std::hint::black_box(responses::decode(api, version, body));
    WATCHING.store(false, Ordering::Relaxed);
    LARGEST.load(Ordering::Relaxed)
}

fn hostile_variants(body: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..body.len() {
        for count in [i32::MAX, i32::MIN, -2] {
            if i + 4 <= body.len() {
                let mut b = body.to_vec();
                b[i..i + 4].copy_from_slice(&count.to_be_bytes());
                out.push(b);
            }
        }
        // A maximal u32 varint in place of a one-byte compact count or length.
        let mut b = body[..i].to_vec();
        b.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0x0f]);
        b.extend_from_slice(&body[i + 1..]);
        out.push(b);
        out.push(body[..i].to_vec());
    }
    out
}

// The only test here: the allocator's counters are global, so nothing may run beside it.
#[test]
fn hostile_counts_allocate_in_proportion_to_the_input() {
    let mut decoded = 0usize;
    let mut rejected = 0usize;
    let mut covered = Vec::new();
    for &(api, min, max) in responses::APIS {
        for version in min..=max {
            let samples = responses::samples(api, version);
            assert!(!samples.is_empty(), "no sample for {api:?} v{version}");
            for body in samples {
                // The sample itself decodes.
                responses::decode(api, version, body.clone())
                    .unwrap_or_else(|e| panic!("{api:?} v{version} sample does not decode: {e}"));
                for hostile in hostile_variants(&body) {
                    let largest = largest_allocation(api, version, &hostile);
                    let limit = 64 * hostile.len() + (64 << 10);
                    assert!(
                        largest <= limit,
                        "{api:?} v{version}: a {}-byte input made a {largest}-byte allocation (limit {limit}): {hostile:02x?}",
                        hostile.len()
                    );
                    match responses::decode(api, version, bytes::Bytes::from(hostile)) {
                        Ok(()) => decoded += 1,
                        Err(_) => rejected += 1,
                    }
                }
            }
            covered.push(format!("{api:?}v{version}"));
        }
    }
    // The decoders reject most of these inputs; the rest must still have decoded.
    assert!(rejected > decoded, "rejected {rejected}, decoded {decoded}");
    for name in [
        "ApiVersions",
        "Metadata",
        "Fetch",
        "JoinGroup",
        "SyncGroup",
        "OffsetFetch",
        "FindCoordinator",
        "InitProducerId",
        "ListOffsets",
        "CreateTopics",
        "Produce",
        "DescribeConfigs",
        "IncrementalAlterConfigs",
        "DescribeCluster",
        "DescribeLogDirs",
        "AlterPartitionReassignments",
        "ListPartitionReassignments",
        "ElectLeaders",
        "CreatePartitions",
        "DeleteRecords",
        "ListGroups",
        "DescribeGroups",
        "DeleteGroups",
        "OffsetDelete",
        "ConsumerGroupDescribe",
        "ConsumerGroupHeartbeat",
        "ShareGroupHeartbeat",
        "ShareFetch",
        "ShareAcknowledge",
        "DescribeAcls",
        "CreateAcls",
        "DeleteAcls",
        "DescribeUserScramCredentials",
        "AlterUserScramCredentials",
        "DescribeClientQuotas",
        "AlterClientQuotas",
    ] {
        assert!(
            covered.iter().any(|c| c.starts_with(&format!("{name}v"))),
            "{name} not covered"
        );
    }
}
