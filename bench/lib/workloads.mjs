// The workloads of docs (BENCH protocol): sizes for the full run and for --quick.

export const VALUE_SIZE = 100

/**
 * kind: produce | send-await | consume | e2e.
 * n: messages (full run); quickN: messages with --quick.
 * C1/C2 read N messages that the harness wrote beforehand (not timed) into a fresh topic.
 */
export const WORKLOADS = {
  P1: {
    kind: 'produce',
    title: 'P1: produce, 1 partition',
    what: 'N x 100 random bytes, null key, acks=1, no compression, 1 partition; first call to last delivery report',
    partitions: 1,
    n: 5_000_000,
    quickN: 100_000,
    acks: 1,
    compression: 'none',
  },
  'P1-6': {
    kind: 'produce',
    title: 'P1-6: produce, 6 partitions',
    what: 'P1 to a 6-partition topic',
    partitions: 6,
    n: 5_000_000,
    quickN: 100_000,
    acks: 1,
    compression: 'none',
  },
  P2: {
    kind: 'produce',
    title: 'P2: keyed, acks=all, idempotent, lz4, 6 partitions',
    what: '16-byte random keys (murmur2), acks=all, idempotence on, lz4, 6 partitions',
    partitions: 6,
    n: 2_000_000,
    quickN: 50_000,
    acks: -1,
    idempotence: true,
    compression: 'lz4',
    keySize: 16,
  },
  P3: {
    kind: 'send-await',
    title: 'P3: await each send',
    what: 'await each single-message send before the next; acks=1, 1 partition',
    partitions: 1,
    n: 50_000,
    quickN: 1_000,
    acks: 1,
  },
  C1: {
    kind: 'consume',
    title: 'C1: consume, no group, 1 partition',
    what: 'read N pre-produced 100-byte messages from offset 0, assigned partitions, no group; start of consume to the N-th message',
    partitions: 1,
    group: false,
    n: 5_000_000,
    quickN: 100_000,
  },
  'C1-6': {
    kind: 'consume',
    title: 'C1-6: consume, no group, 6 partitions',
    what: 'C1 from a 6-partition topic',
    partitions: 6,
    group: false,
    n: 5_000_000,
    quickN: 100_000,
  },
  C2: {
    kind: 'consume',
    title: 'C2: consume through a group, 1 partition',
    what: 'C1 through a consumer group (subscribe, auto-commit); the time includes the group join',
    partitions: 1,
    group: true,
    n: 5_000_000,
    quickN: 100_000,
  },
  'C2-6': {
    kind: 'consume',
    title: 'C2-6: consume through a group, 6 partitions',
    what: 'C2 from a 6-partition topic',
    partitions: 6,
    group: true,
    n: 5_000_000,
    quickN: 100_000,
  },
  E2E: {
    kind: 'e2e',
    title: 'E2E: end-to-end latency at 20k msg/s',
    what: 'produce at a fixed 20,000 msg/s for 30 s while consuming in the same process (group, 1 partition); latency = receive time - time written into the value at produce; the first 2 s are warm-up',
    partitions: 1,
    acks: 1,
    rate: 20_000,
    durationMs: 30_000,
    warmupMs: 2_000,
    quickDurationMs: 4_000,
    quickWarmupMs: 1_000,
  },
}

export const WORKLOAD_IDS = Object.keys(WORKLOADS)

/** The parameters of one run of `id` (full or quick), with overrides from the command line. */
export function workloadParams(id, { quick, n }) {
  const w = WORKLOADS[id]
  const p = { ...w, id, valueSize: VALUE_SIZE }
  if (w.kind === 'e2e') {
    if (quick) {
      p.durationMs = w.quickDurationMs
      p.warmupMs = w.quickWarmupMs
    }
    p.n = Math.ceil((p.rate * p.durationMs) / 1000)
  } else {
    p.n = n ?? (quick ? w.quickN : w.n)
  }
  return p
}
