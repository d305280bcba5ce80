// KafkaJS 2.2.4 (pure JavaScript). It has no producer-side accumulator: each send() is its
// own Produce request, so its fastest idiomatic P1 is many concurrent sends of batches.
// It has no consumer without a group (no assign()), so C1 is not applicable.

import { createRequire } from 'node:module'
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

const require = createRequire(import.meta.url)

// P1: messages per send() and sends in flight. 1000 x 100 B = ~110 KB requests; KafkaJS
// leaves maxInFlightRequests unlimited by default, so 8 concurrent sends are 8 requests in flight.
const BATCH = 1000
const CONCURRENCY = 8

const SEND_API = `producer.send({ topic, acks, messages }) with ${BATCH} messages per send, ${CONCURRENCY} sends in flight`

export const meta = {
  id: 'kafkajs',
  label: 'KafkaJS',
  package: 'kafkajs',
  runtime: 'node',
  workloads: {
    P1: { api: SEND_API, config: 'acks=1, no compression, defaults otherwise (logLevel NOTHING)' },
    'P1-6': { api: SEND_API, config: 'acks=1, no compression, defaults otherwise' },
    P2: {
      api: SEND_API,
      config:
        'producer({ idempotent: true, maxInFlightRequests: 1 }), acks=-1, compression LZ4 (codec: lz4-napi compressFrame, KafkaJS ships gzip only), DefaultPartitioner (murmur2)',
    },
    P3: { api: 'await producer.send({ topic, acks: 1, messages: [{ value }] }) per message', config: 'acks=1, defaults otherwise' },
    C2: {
      api: 'consumer.run({ eachBatch }) reading every message value; subscribe fromBeginning',
      config: 'groupId fresh per run, autoCommit default (true, every 5 s), defaults otherwise',
    },
    'C2-6': { api: 'consumer.run({ eachBatch }), subscribe fromBeginning', config: 'as C2' },
    E2E: {
      api: 'producer.send() of the messages due each ms (not awaited in line); consumer.run({ eachBatch })',
      config: 'acks=1; consumer group, fromBeginning',
    },
  },
  unsupported: {
    C1: 'n/a (KafkaJS has no consumer without a group; see C2)',
    'C1-6': 'n/a (KafkaJS has no consumer without a group; see C2-6)',
  },
}

// `api` is the KafkaJS API in use: KafkaJS itself, or nkafka/kafkajs
// (clients/kafkajs-compat.mjs runs these same workloads through it).
function kafka(api, spec) {
  const { Kafka, logLevel } = api.load()
  return new Kafka({ clientId: 'bench-kafkajs', brokers: [spec.bootstrap], logLevel: logLevel.NOTHING })
}

function lz4Codec(api) {
  const { CompressionCodecs, CompressionTypes } = api.load()
  if (api.builtinLz4) return CompressionTypes.LZ4
  const lz4 = require('lz4-napi')
  CompressionCodecs[CompressionTypes.LZ4] = () => ({
    compress: async (encoder) => lz4.compressFrameSync(encoder.buffer),
    decompress: async (buffer) => lz4.decompressFrameSync(buffer),
  })
  return CompressionTypes.LZ4
}

async function produce(api, spec) {
  const { n, topic } = spec
  const values = randomPool(spec.valueSize)
  const keys = spec.keySize ? randomPool(spec.keySize, 65536) : null
  const mask = values.length - 1
  let compression
  if (spec.compression === 'lz4') compression = lz4Codec(api)
  const producer = kafka(api, spec).producer(
    spec.idempotence ? { idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false } : { allowAutoTopicCreation: false },
  )
  await producer.connect()
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
        messages[j] = keys ? { key: keys[i & 65535], value: values[i & mask] } : { value: values[i & mask] }
      }
      await producer.send({ topic, acks: spec.acks, compression, messages })
      acked += count
      progress(acked)
    }
  }
  const cpu0 = process.cpuUsage()
  const t0 = now()
  await withTimeout(Promise.all(Array.from({ length: CONCURRENCY }, worker)), spec.timeoutMs, 'sends')
  const elapsed = now() - t0
  const cpu = cpuSince(cpu0)
  await producer.disconnect()
  return throughputResult({ n, elapsedMs: elapsed, valueSize: spec.valueSize, cpu, extra: { batch: BATCH, concurrency: CONCURRENCY } })
}

async function sendAwait(api, spec) {
  const { topic } = spec
  const producer = kafka(api, spec).producer({ allowAutoTopicCreation: false })
  await producer.connect()
  const result = await measureAwaitEach(spec, (value) => producer.send({ topic, acks: spec.acks, messages: [{ value }] }))
  await producer.disconnect()
  return result
}

async function consumeGroup(api, spec) {
  const { n, topic } = spec
  const consumer = kafka(api, spec).consumer({ groupId: spec.groupId })
  await consumer.connect()
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
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
  await consumer.run({
    eachBatch: async ({ batch }) => {
      if (!firstAt) firstAt = now()
      for (const m of batch.messages) bytes += m.value.length
      count += batch.messages.length
      progress(count)
      if (count >= n) resolveDone()
    },
  })
  return finishConsume(spec, {
    done,
    t0,
    cpu0,
    seen: () => ({ count, bytes, firstAt }),
    close: () => consumer.disconnect(),
  })
}

async function e2e(api, spec) {
  const { topic } = spec
  const rec = e2eRecorder(spec)
  const client = kafka(api, spec)
  const consumer = client.consumer({ groupId: spec.groupId })
  const producer = client.producer({ allowAutoTopicCreation: false })
  await Promise.all([consumer.connect(), producer.connect()])
  await consumer.subscribe({ topics: [topic], fromBeginning: true })
  const joined = new Promise((resolve) => consumer.on(consumer.events.GROUP_JOIN, resolve))
  await consumer.run({
    eachBatch: async ({ batch }) => {
      for (const m of batch.messages) rec.onMessage(m.value)
    },
  })
  await withTimeout(joined, 30_000, 'the group join')
  const values = randomPool(spec.valueSize)
  let k = 0
  const inflight = new Set()
  rec.start()
  const cpu0 = process.cpuUsage()
  await paceProducer({
    ...spec,
    sendDue: (count) => {
      const messages = new Array(count)
      for (let j = 0; j < count; j++) messages[j] = { value: stampValue(Buffer.from(values[k++ & 4095])) }
      const p = producer.send({ topic, acks: spec.acks, messages })
      inflight.add(p)
      p.finally(() => inflight.delete(p))
    },
  })
  await Promise.all(inflight)
  await withTimeout(rec.done, spec.timeoutMs, () => `${rec.expected} messages (have ${rec.received})`)
  const cpu = cpuSince(cpu0)
  await Promise.all([consumer.disconnect(), producer.disconnect()])
  return { n: rec.received, rate: spec.rate, durationMs: spec.durationMs, cpuWindow: cpu, latency: rec.latency() }
}

/** The workloads on a KafkaJS API: `{ load: () => module, builtinLz4 }`. */
export function kafkajsWorkloads(api) {
  const on = (f) => (spec) => f(api, spec)
  return {
    P1: on(produce),
    'P1-6': on(produce),
    P2: on(produce),
    P3: on(sendAwait),
    C2: on(consumeGroup),
    'C2-6': on(consumeGroup),
    E2E: on(e2e),
  }
}

export const workloads = kafkajsWorkloads({ load: () => require('kafkajs'), builtinLz4: false })
