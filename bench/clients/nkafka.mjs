// nkafka, the library under test, loaded from the repo's build (dist/ + native/), never from
// a registry. Workloads whose feature is not in the build (detect() checks the build the
// run uses: the Consumer class; a producer accepting enableIdempotence + compressionType)
// are shown as "n/a (not implemented yet)", never approximated.

import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  cpuSince,
  deferred,
  e2eRecorder,
  finishConsume,
  measureAwaitEach,
  now,
  paceProducer,
  progressReporter,
  randomPool,
  sleep,
  stampValue,
  throughputResult,
  withTimeout,
} from '../lib/common.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')

// The config every nkafka run uses: the library's defaults plus the workload's acks.
// Defaults (ts/config.ts): lingerMs 5, batchSize 262144, bufferMemory 32 MiB,
// maxInFlightRequestsPerConnection 5, partitioner murmur2 (sticky for null keys).
const config = (spec) => {
  const c = { bootstrapServers: spec.bootstrap, clientId: 'bench-nkafka', acks: spec.acks }
  if (spec.idempotence) c.enableIdempotence = true
  if (spec.compression && spec.compression !== 'none') c.compressionType = spec.compression
  return c
}

const P1_API =
  'produce(topic, null, value) in a loop, onDelivery callback counting reports; on BUFFER_FULL `await waitForSpace()` and retry; then wait for the last report'
const P1_CONFIG = 'acks=1, defaults otherwise (lingerMs 5, batchSize 256 KiB, bufferMemory 32 MiB, 5 in flight)'

const CONSUME_API = (how) => `new Consumer(config); ${how}; \`for await (const batch of consumer.batches())\` reading every message's value`

export const meta = {
  id: 'nkafka',
  label: 'nkafka',
  package: null, // the repo itself
  runtime: 'node',
  workloads: {
    P1: { api: P1_API, config: P1_CONFIG },
    'P1-6': { api: P1_API, config: P1_CONFIG },
    P2: {
      api: P1_API.replace('produce(topic, null, value)', 'produce(topic, key, value)'),
      config: "acks='all', enableIdempotence: true, compressionType: 'lz4', partitioner murmur2 (default); defaults otherwise",
    },
    P3: { api: 'await producer.send({ topic, messages: [{ value }] }) per message', config: 'acks=1, defaults otherwise' },
    C1: {
      api: CONSUME_API('assign([{ topic, partition, offset: 0 }...])'),
      config: 'no groupId; defaults otherwise (fetchMaxWaitMs 500, maxPartitionFetchBytes 1 MiB, maxPollRecords 500, checkCrcs true)',
    },
    'C1-6': { api: CONSUME_API('assign() of the 6 partitions'), config: 'as C1' },
    C2: {
      api: CONSUME_API('subscribe(topic)'),
      config: "groupId fresh per run, autoOffsetReset 'earliest', enableAutoCommit default (true, 5 s); defaults otherwise",
    },
    'C2-6': { api: CONSUME_API('subscribe(topic)'), config: 'as C2' },
    E2E: {
      api: 'produce() each due message; Consumer subscribe + run({ eachBatch }) reading each value',
      config: "acks=1; consumer groupId, autoOffsetReset 'earliest'",
    },
  },
  unsupported: {},
}

/**
 * Which workloads the build in dist/ + native/ supports; the parent calls this once and
 * declares the others "n/a (not implemented yet)".
 */
export async function detect() {
  let nk
  try {
    nk = load()
  } catch {
    return meta
  }
  const missing = {}
  if (typeof nk.Consumer !== 'function') {
    for (const w of ['C1', 'C1-6', 'C2', 'C2-6', 'E2E']) missing[w] = 'n/a (not implemented yet: consumer)'
  }
  try {
    // Config checks only: never connects (the port is closed and nothing is sent).
    const p = new nk.Producer({ bootstrapServers: '127.0.0.1:9', acks: 'all', enableIdempotence: true, compressionType: 'lz4' })
    await p.close(100).catch(() => {})
  } catch (e) {
    const key = /`([A-Za-z]+)`/.exec(String(e?.message))?.[1]
    missing.P2 = `n/a (not implemented yet: ${key ?? 'idempotence, compression'})`
  }
  const workloads = Object.fromEntries(Object.entries(meta.workloads).filter(([w]) => !missing[w]))
  return { ...meta, workloads, unsupported: { ...meta.unsupported, ...missing } }
}

export function version() {
  const require = createRequire(import.meta.url)
  return require(path.join(REPO, 'package.json')).version
}

function load() {
  const require = createRequire(import.meta.url)
  return require(path.join(REPO, 'dist', 'index.js'))
}

async function produceLoop(spec) {
  const { Producer } = load()
  const { n, topic } = spec
  const values = randomPool(spec.valueSize)
  const keys = spec.keySize ? randomPool(spec.keySize, 65536) : null
  const mask = values.length - 1
  const progress = progressReporter('produced', n)
  let reports = 0
  let errors = 0
  let firstError = null
  const all = deferred()
  const producer = new Producer(config(spec), (report) => {
    if (report.error) {
      errors++
      firstError ??= String(report.error.message ?? report.error)
    }
    if (++reports === n) all.resolve()
  })
  await producer.connect()
  let bufferFull = 0
  const cpu0 = process.cpuUsage()
  const t0 = now()
  for (let i = 0; i < n; i++) {
    try {
      producer.produce(topic, keys ? keys[i & 65535] : null, values[i & mask])
    } catch (e) {
      if (e?.code !== 'BUFFER_FULL') throw e
      bufferFull++
      progress(reports)
      await producer.waitForSpace()
      i-- // retry this message
    }
  }
  await withTimeout(all.promise, spec.timeoutMs, () => `${n} delivery reports (have ${reports})`)
  const elapsed = now() - t0
  const cpu = cpuSince(cpu0)
  const stats = producer.stats()
  await producer.close()
  if (errors) throw new Error(`${errors} delivery errors, first: ${firstError}`)
  return throughputResult({ n, elapsedMs: elapsed, valueSize: spec.valueSize, cpu, extra: { bufferFullWaits: bufferFull, stats } })
}

async function sendAwait(spec) {
  const { Producer } = load()
  const { topic } = spec
  const producer = new Producer(config(spec))
  await producer.connect()
  const result = await measureAwaitEach(spec, (value) => producer.send({ topic, messages: [{ value }] }))
  await producer.close()
  return result
}

async function consume(spec, group) {
  const { Consumer } = load()
  const { n, topic } = spec
  const progress = progressReporter('consumed', n)
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const base = { bootstrapServers: spec.bootstrap, clientId: 'bench-nkafka' }
  const consumer = new Consumer(group ? { ...base, groupId: spec.groupId, autoOffsetReset: 'earliest' } : base)
  if (group) await consumer.subscribe(topic)
  else consumer.assign(Array.from({ length: spec.partitions }, (_, partition) => ({ topic, partition, offset: 0 })))
  let count = 0
  let bytes = 0
  let firstAt = 0
  const loop = (async () => {
    for await (const batch of consumer.batches()) {
      if (!firstAt) firstAt = now()
      for (const m of batch.messages) bytes += m.value.length
      count += batch.messages.length
      progress(count)
      if (count >= n) break
    }
  })()
  return finishConsume(spec, {
    done: loop,
    t0,
    cpu0,
    seen: () => ({ count, bytes, firstAt }),
    close: () => consumer.close(),
  })
}

async function e2e(spec) {
  const { Producer, Consumer } = load()
  const { topic } = spec
  const rec = e2eRecorder(spec)
  const assigned = deferred()
  const consumer = new Consumer(
    { bootstrapServers: spec.bootstrap, clientId: 'bench-nkafka', groupId: spec.groupId, autoOffsetReset: 'earliest' },
    { onAssigned: (parts) => parts.length && assigned.resolve() },
  )
  await consumer.subscribe(topic)
  const running = consumer.run({
    eachBatch: ({ batch }) => {
      for (const m of batch.messages) rec.onMessage(m.value)
    },
  })
  running.catch(() => {})
  await withTimeout(assigned.promise, 30_000, 'the partition assignment')
  const producer = new Producer(config(spec))
  await producer.connect()
  const values = randomPool(spec.valueSize)
  let k = 0
  rec.start()
  const cpu0 = process.cpuUsage()
  await paceProducer({
    ...spec,
    sendDue: (count) => {
      for (let j = 0; j < count; j++) producer.produce(topic, null, stampValue(Buffer.from(values[k++ & 4095])))
    },
  })
  await withTimeout(rec.done, spec.timeoutMs, () => `${rec.expected} messages (have ${rec.received})`)
  const cpu = cpuSince(cpu0)
  consumer.stop()
  await Promise.race([running, sleep(2000)]).catch(() => {})
  await Promise.all([consumer.close(), producer.close()])
  return { n: rec.received, rate: spec.rate, durationMs: spec.durationMs, cpuWindow: cpu, latency: rec.latency() }
}

export const workloads = {
  P1: produceLoop,
  'P1-6': produceLoop,
  P2: produceLoop,
  P3: sendAwait,
  C1: (spec) => consume(spec, false),
  'C1-6': (spec) => consume(spec, false),
  C2: (spec) => consume(spec, true),
  'C2-6': (spec) => consume(spec, true),
  E2E: e2e,
}
