import { afterAll, describe, expect, it } from 'vitest'
import { Admin, Consumer, type KafkaError, Producer, throwIfFailed } from '../ts/index'
import { clusterHandle, kafkaScript, uniqueTopic } from './helpers'

/**
 * Leader failover on the 3-broker cluster (RF 3, min.insync.replicas 2) with the default
 * idempotent producer (acks all). The Java client delivers every record through these
 * faults (NOT_LEADER_OR_FOLLOWER and dead connections are retriable; the new leader has
 * the producer state, replicated with the data); so must we: no failed report, and an
 * independent reader (the Java console consumer) finds every record exactly once, in
 * order per partition.
 */
const RECORDS = Number(process.env.NKAFKA_FAULT_RECORDS ?? 1_000_000)
const KILLS = 5 // SIGKILLs, then one clean shutdown
const PARTITIONS = 6
const KEYS = 64
const MAX_OUTSTANDING = 50_000

let cluster: any
afterAll(async () => {
  if (cluster?.stop) await cluster.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

type Logged = { key: string; value: number; partition: number; offset: number }

/** Waits until every partition has 3 in-sync replicas and a leader, bounded. */
async function waitFullIsr(admin: Admin, topic: string, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs
  while (Date.now() < end) {
    try {
      const [t] = throwIfFailed(await admin.describeTopics([topic]))
      if (t!.partitions.every((p) => p.isr.length === 3 && p.leader >= 0)) return
    } catch {
      // a broker of the bootstrap list may be down: ask again
    }
    await sleep(250)
  }
  throw new Error(`the partitions of ${topic} did not get 3 in-sync replicas back within ${timeoutMs} ms`)
}

async function leaderOf(admin: Admin, topic: string, partition: number): Promise<number> {
  const [t] = throwIfFailed(await admin.describeTopics([topic]))
  return t!.partitions[partition]!.leader
}

/** Produces `n` keyed records (value = index), at most MAX_OUTSTANDING unreported. */
function keyedProducer(bootstrap: string, clientId: string, extra: Record<string, unknown> = {}) {
  const state = {
    produced: 0,
    reports: 0,
    failed: [] as string[],
    persisted: new Map<string, number>(),
    /** value -> (partition, offset) as the report says */
    offsets: new Map<number, [number, number]>(),
  }
  const producer = new Producer({ bootstrapServers: bootstrap, clientId, ...extra }, (r) => {
    state.reports++
    state.persisted.set(r.persisted, (state.persisted.get(r.persisted) ?? 0) + 1)
    if (r.error !== null) {
      state.failed.push(`${(r.error as KafkaError).code} [${r.persisted}]: ${(r.error as KafkaError).message}`)
    } else {
      state.offsets.set(Number(r.value!.toString()), [r.partition, Number(r.offset)])
    }
  })
  /** `pauseAt(i)` may hold the producer before record i (until a fault was injected). */
  const run = async (topic: string, n: number, pauseAt: (i: number) => Promise<void> | undefined = () => undefined) => {
    while (state.produced < n) {
      const pause = pauseAt(state.produced)
      if (pause) await pause
      if (state.produced - state.reports >= MAX_OUTSTANDING) {
        await producer.waitForSpace(1000)
        continue
      }
      try {
        producer.produce(topic, `k${state.produced % KEYS}`, String(state.produced))
        state.produced++
      } catch (e) {
        if ((e as KafkaError).code !== 'BUFFER_FULL') throw e
        await producer.waitForSpace(1000)
      }
      if (state.produced % 1000 === 0) await sleep(0)
    }
    await producer.flush(300_000)
  }
  return { producer, state, run }
}

/**
 * Every value in 0..n exactly once with its key, in order per partition (the log is
 * sorted by partition and offset), and where a report named an offset, it is the one in
 * the log.
 */
function checkLog(log: Logged[], n: number, reported: Map<number, [number, number]>): void {
  const count = new Uint8Array(n)
  const last = new Map<number, number>()
  const disorder: string[] = []
  const wrongKey: string[] = []
  const wrongOffset: string[] = []
  for (const { key, value, partition, offset } of log) {
    if (key !== `k${value % KEYS}`) wrongKey.push(`${key}=${value}`)
    count[value]++
    if ((last.get(partition) ?? -1) >= value) disorder.push(`p${partition}@${offset}: ${value} after ${last.get(partition)}`)
    last.set(partition, value)
    const r = reported.get(value)
    if (r && r[1] >= 0 && (r[0] !== partition || r[1] !== offset)) {
      wrongOffset.push(`${value}: reported p${r[0]}@${r[1]}, in the log at p${partition}@${offset}`)
    }
  }
  const missing = [...count.keys()].filter((i) => count[i] === 0)
  const twice = [...count.keys()].filter((i) => count[i]! > 1)
  expect({
    missing: missing.slice(0, 10),
    twice: twice.slice(0, 10),
    disorder: disorder.slice(0, 10),
    wrongKey: wrongKey.slice(0, 10),
    wrongOffset: wrongOffset.slice(0, 10),
  }).toEqual({ missing: [], twice: [], disorder: [], wrongKey: [], wrongOffset: [] })
  expect(log.length).toBe(n)
}

async function javaRead(kafka: any, bootstrap: string, topic: string, n: number): Promise<Logged[]> {
  const t0 = Date.now()
  const log = await kafka.consoleConsume({ bootstrap, topic, maxMessages: n, timeoutMs: 120_000 })
  console.log(`faults: the Java console consumer read ${log.length} records in ${Date.now() - t0} ms`)
  return log
    .map((m: any) => ({
      key: m.key.toString(),
      value: Number(m.value.toString()),
      partition: m.partition,
      offset: Number(m.offset),
    }))
    .sort((a: Logged, b: Logged) => a.partition - b.partition || a.offset - b.offset)
}

/**
 * A member of a consumer group that checks, per assignment, that offsets are read one
 * after the other (no skip, no rewind) and starting no later than the partition's
 * committed position; it records every offset it read.
 */
function groupMember(bootstrap: string, groupId: string, topic: string, name: string) {
  const seen = new Map<number, Set<number>>()
  const next = new Map<number, number>()
  const anomalies: string[] = []
  const c = new Consumer<Buffer | null, Buffer | null>(
    {
      bootstrapServers: bootstrap,
      groupId,
      clientId: name,
      autoOffsetReset: 'earliest',
      sessionTimeoutMs: 10_000,
      heartbeatIntervalMs: 1000,
      autoCommitIntervalMs: 500,
    },
    {
      onAssigned: (parts) => {
        for (const p of parts) next.delete(p.partition)
      },
      onRevoked: (parts) => {
        for (const p of parts) next.delete(p.partition)
      },
      onLost: (parts) => {
        for (const p of parts) next.delete(p.partition)
      },
    },
  )
  // The group's committed offset at the start of an assignment: nothing of it is processed
  // yet, so this is where the member must start. Asked a few times (its coordinator may be
  // the broker just killed).
  const committedOffset = async (partition: number): Promise<number | undefined> => {
    for (let i = 0; i < 10; i++) {
      try {
        const [r] = await c.committed([{ topic, partition }])
        return r!.offset === null ? 0 : Number(r!.offset)
      } catch {
        await sleep(500)
      }
    }
    anomalies.push(`${name} p${partition}: could not read the committed offset`)
    return undefined
  }
  let running: Promise<void> = Promise.resolve()
  return {
    seen,
    anomalies,
    async start() {
      await c.subscribe([topic])
      running = c.run({
        eachMessage: async ({ message }) => {
          const p = message.partition
          const o = Number(message.offset)
          let want = next.get(p)
          if (want === undefined) want = await committedOffset(p)
          // The first read of an assignment starts at the committed offset (or later, if
          // auto-commit moved it meanwhile); then offsets follow one by one (the idempotent
          // producer writes no control records, so offsets are dense).
          if (want !== undefined && o !== want) {
            anomalies.push(`${name} p${p}: read ${o}, expected ${want} (${o > want ? 'skip' : 'rewind'})`)
          }
          next.set(p, o + 1)
          const s = seen.get(p) ?? new Set<number>()
          seen.set(p, s)
          s.add(o)
        },
      })
      running.catch((e) => anomalies.push(`${name}: run() failed: ${e}`))
    },
    async stop() {
      c.stop()
      await running.catch(() => {})
      await c.close()
    },
  }
}

describe('leader failover (cluster)', () => {
  it(`${RECORDS} keyed records while ${KILLS} leaders are SIGKILLed and one shut down, a 3-member group reading: no failed report, each record once and in order`, async () => {
    cluster = await clusterHandle()
    const kafka = await kafkaScript()
    const topic = uniqueTopic('failover')
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    throwIfFailed(await admin.createTopics([{ topic, numPartitions: PARTITIONS, replicationFactor: 3 }]))
    await waitFullIsr(admin, topic)

    const groupId = uniqueTopic('failover-group')
    const members = [0, 1, 2].map((i) => groupMember(cluster.bootstrap, groupId, topic, `member-${i}`))
    for (const m of members) await m.start()

    const { producer, state, run } = keyedProducer(cluster.bootstrap, 'failover-producer')
    await producer.connect([topic])

    // Records are produced in KILLS + 2 segments. At the end of each of the first KILLS + 1
    // the producer waits until every partition has 3 in-sync replicas again (so a kill keeps
    // min.insync.replicas); then it goes on, and the fault is injected a little later, with
    // records in flight, and the next records are produced while the node is down.
    const faults: string[] = []
    let armed = -1
    const boundary = (i: number) => Math.floor(((i + 1) * RECORDS) / (KILLS + 2))
    const boundaries = new Map(Array.from({ length: KILLS + 1 }, (_, k) => [boundary(k), k]))
    const pauseAt = (n: number) => {
      const i = boundaries.get(n)
      if (i === undefined || armed >= i) return undefined
      return (async () => {
        while (armed < i) await sleep(20)
      })()
    }
    const faulting = (async () => {
      for (let i = 0; i <= KILLS; i++) {
        while (state.produced < boundary(i)) await sleep(20)
        await waitFullIsr(admin, topic)
        armed = i
        const at = boundary(i) + Math.min(MAX_OUTSTANDING / 2, RECORDS / (2 * (KILLS + 2)))
        while (state.produced < at) await sleep(5)
        const partition = i % PARTITIONS
        const leader = await leaderOf(admin, topic, partition)
        const signal = i < KILLS ? 'SIGKILL' : 'SIGTERM'
        faults.push(`${signal} node ${leader} (leader of ${partition}) at ${state.produced} produced, ${state.reports} reported`)
        if (signal === 'SIGKILL') await kafka.killBroker(cluster, leader)
        else await kafka.stopBroker(cluster, leader)
        await sleep(3000)
        await kafka.restartBroker(cluster, leader)
      }
      await waitFullIsr(admin, topic)
    })()
    // The producer must not wait for the fault loop, nor the loop for a producer that failed.
    const t0 = Date.now()
    const producing = run(topic, RECORDS, pauseAt)
    await Promise.all([producing, faulting])
    const tProduced = Date.now()
    await producer.close()
    console.log(
      `faults: ${state.produced} produced, ${state.reports} reports, ${state.failed.length} failed in ${tProduced - t0} ms ` +
        `(${JSON.stringify(Object.fromEntries(state.persisted))}); ${faults.join('; ')}`,
    )
    expect(faults.length).toBe(KILLS + 1)
    expect(state.reports).toBe(state.produced)
    expect(state.failed.slice(0, 20)).toEqual([])

    const log = await javaRead(kafka, cluster.bootstrap, topic, state.produced)
    checkLog(log, state.produced, state.offsets)

    // The group: every offset of the log read by some member, within 120 s.
    const ends = new Map<number, number>()
    for (const m of log) ends.set(m.partition, Math.max(ends.get(m.partition) ?? 0, m.offset + 1))
    const groupDeadline = Date.now() + 120_000
    const unread = () => {
      const out: string[] = []
      for (const [p, end] of ends) {
        let n = 0
        for (let o = 0; o < end; o++) if (!members.some((m) => m.seen.get(p)?.has(o))) n++
        if (n) out.push(`p${p}: ${n} of ${end} unread`)
      }
      return out
    }
    while (unread().length && Date.now() < groupDeadline) await sleep(500)
    for (const m of members) await m.stop()
    await admin.close()
    expect(unread()).toEqual([])
    expect(members.flatMap((m) => m.anomalies).slice(0, 20)).toEqual([])
  }, 1_200_000)

  it('partition leaders moved by reassignment and preferred election under load: no failed report, each record once and in order', async () => {
    cluster ??= await clusterHandle()
    const kafka = await kafkaScript()
    const topic = uniqueTopic('reassign')
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    throwIfFailed(await admin.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]))
    await waitFullIsr(admin, topic)
    const { producer, state, run } = keyedProducer(cluster.bootstrap, 'reassign-producer')
    await producer.connect([topic])
    const n = 200_000
    const moves: string[] = []
    let moving = true
    const until = async (what: string, ok: () => Promise<boolean>, timeoutMs = 60_000) => {
      const end = Date.now() + timeoutMs
      while (!(await ok())) {
        if (Date.now() > end) throw new Error(`reassign: ${what} did not happen within ${timeoutMs} ms`)
        await sleep(100)
      }
    }
    const partitionNow = async (partition: number) => throwIfFailed(await admin.describeTopics([topic]))[0]!.partitions[partition]!
    const mover = (async () => {
      try {
        for (let partition = 0; partition < 3; partition++) {
          while (state.produced < 5000 * (partition + 1)) await sleep(20)
          const before = await partitionNow(partition)
          const old = before.leader
          const rest = before.replicas.filter((b) => b !== old)
          // Out of the replica set: the first remaining replica takes over.
          throwIfFailed(await admin.alterPartitionReassignments([{ topic, partition, replicas: rest }]))
          await until(`partition ${partition} leaving node ${old}`, async () => {
            const ongoing = await admin.listPartitionReassignments([{ topic, partition }])
            const p = await partitionNow(partition)
            return ongoing.length === 0 && p.leader !== old && !p.replicas.includes(old)
          })
          moves.push(`p${partition}: leader ${old} -> ${(await partitionNow(partition)).leader} at ${state.produced} produced`)
          // Back in first place, then a preferred election gives it the lead again.
          throwIfFailed(await admin.alterPartitionReassignments([{ topic, partition, replicas: [old, ...rest] }]))
          await until(`node ${old} back in the ISR of partition ${partition}`, async () => {
            const ongoing = await admin.listPartitionReassignments([{ topic, partition }])
            const p = await partitionNow(partition)
            return ongoing.length === 0 && p.isr.includes(old) && p.replicas[0] === old
          })
          const elected = await admin.electLeaders({ type: 'preferred', partitions: [{ topic, partition }] })
          expect(elected.every((r) => r.error === null || r.error.code === 'ELECTION_NOT_NEEDED')).toBe(true)
          await until(`node ${old} leading partition ${partition} again`, async () => (await partitionNow(partition)).leader === old)
          moves.push(`p${partition}: leader back to ${old} at ${state.produced} produced`)
        }
      } finally {
        moving = false
      }
    })()
    // At most ~5,000 records/s while leaders move, so that the moves happen mid-stream.
    const pace = (i: number) => (moving && i % 50 === 0 ? sleep(10) : undefined)
    await Promise.all([run(topic, n, pace), mover])
    await producer.close()
    console.log(`faults/reassign: ${state.produced} produced, ${state.reports} reports, ${state.failed.length} failed; ${moves.join('; ')}`)
    expect(moves).toHaveLength(6)
    expect(state.reports).toBe(n)
    expect(state.failed.slice(0, 20)).toEqual([])
    const log = await javaRead(kafka, cluster.bootstrap, topic, n)
    checkLog(log, n, state.offsets)
    await admin.close()
  }, 300_000)

  it('a leader stalled (SIGSTOP) past requestTimeoutMs, then resumed: every record delivered once, in order, reports right', async () => {
    cluster ??= await clusterHandle()
    const kafka = await kafkaScript()
    const topic = uniqueTopic('stall')
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    throwIfFailed(await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 3 }]))
    await waitFullIsr(admin, topic)
    const requestTimeoutMs = 3000
    const { producer, state, run } = keyedProducer(cluster.bootstrap, 'stall-producer', { requestTimeoutMs })
    await producer.connect([topic])
    const n = 100_000
    const stalled: string[] = []
    const stalling = (async () => {
      while (state.produced < n / 4) await sleep(20)
      const leader = await leaderOf(admin, topic, 0)
      stalled.push(`SIGSTOP node ${leader} at ${state.produced} produced, ${state.reports} reported`)
      kafka.pauseBroker(cluster, leader)
      try {
        await sleep(requestTimeoutMs * 2 + 1000)
      } finally {
        kafka.resumeBroker(cluster, leader)
      }
      stalled.push(`SIGCONT at ${state.produced} produced, ${state.reports} reported`)
      await waitFullIsr(admin, topic)
    })()
    await Promise.all([run(topic, n), stalling])
    await producer.close()
    console.log(
      `faults/stall: ${state.produced} produced, ${state.reports} reports, ${state.failed.length} failed ` +
        `(${JSON.stringify(Object.fromEntries(state.persisted))}); ${stalled.join('; ')}`,
    )
    expect(state.reports).toBe(n)
    // Every record was delivered in the end, so every report says so: possibly_persisted
    // is for an outcome that stayed unknown, and none did.
    expect(state.failed.slice(0, 20)).toEqual([])
    expect(state.persisted.get('persisted')).toBe(n)
    const log = await javaRead(kafka, cluster.bootstrap, topic, n)
    checkLog(log, n, state.offsets)
    await admin.close()
  }, 600_000)

  it('a send() that runs out of buffer while a leader stalls names its earlier failed message as the cause', async () => {
    cluster ??= await clusterHandle()
    const kafka = await kafkaScript()
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    // `held`: its leader is stopped, so its records hold the buffer. `compact`: a keyless
    // record fails at once there (INVALID_RECORD), on a partition another broker leads.
    const held = uniqueTopic('held')
    const compact = uniqueTopic('compact')
    throwIfFailed(
      await admin.createTopics([
        { topic: held, numPartitions: 1, replicationFactor: 3 },
        { topic: compact, numPartitions: 3, replicationFactor: 3, configs: { 'cleanup.policy': 'compact' } },
      ]),
    )
    await waitFullIsr(admin, held)
    await waitFullIsr(admin, compact)
    const stopped = await leaderOf(admin, held, 0)
    const [c] = throwIfFailed(await admin.describeTopics([compact]))
    const elsewhere = c!.partitions.find((p) => p.leader !== stopped)!.partition
    const p = new Producer({
      bootstrapServers: cluster.bootstrap,
      bufferMemory: 65_536,
      batchSize: 16_384,
      maxBlockMs: 2000,
      requestTimeoutMs: 15_000,
      deliveryTimeoutMs: 60_000,
      lingerMs: 0,
    })
    await p.connect([held, compact])
    // A first delivery: the producer id is assigned (its coordinator may be the broker
    // about to stop) and both leaders are known.
    await p.send({ topic: held, messages: [{ value: 'warm-up' }] })
    await p.send({ topic: compact, messages: [{ key: 'k', value: 'warm-up', partition: elsewhere }] })
    kafka.pauseBroker(cluster, stopped)
    try {
      // Three batches of batchSize each: 48 KiB of the 64 held.
      const heldSend = p.send({ topic: held, messages: Array.from({ length: 3 }, () => ({ value: Buffer.alloc(10_000, 1) })) })
      const heldOutcome = heldSend.then(
        (r) => r,
        (e: KafkaError) => e,
      )
      const deadline = Date.now() + 10_000
      while (p.stats().bufferedBytes < 30_000 && Date.now() < deadline) await sleep(20)
      expect(p.stats().bufferedBytes).toBeGreaterThanOrEqual(30_000)
      const err = await p
        .send({
          topic: compact,
          messages: [
            { value: 'no key', partition: elsewhere },
            { key: 'k', value: Buffer.alloc(30_000, 2), partition: elsewhere },
          ],
        })
        .then(
          () => null,
          (e: KafkaError) => e,
        )
      expect(err).toBeInstanceOf(Error)
      expect(err!.code).toBe('BUFFER_FULL')
      expect(err!.message).toContain('1 of 2 messages were handed over')
      expect((err!.cause as KafkaError)?.code).toBe('INVALID_RECORD')
      kafka.resumeBroker(cluster, stopped)
      // The held records were only delayed: delivered once the leader is back.
      const r = await heldOutcome
      expect(r).toHaveLength(3)
    } finally {
      kafka.resumeBroker(cluster, stopped)
      await p.close()
      await admin.close()
    }
  }, 120_000)
})
