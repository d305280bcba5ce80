// The librdkafka bindings share one implementation: @confluentinc/kafka-javascript and
// node-rdkafka have the same node-rdkafka-style API (Producer with delivery reports and
// polling, KafkaConsumer with assign/subscribe and batch consume). Each client module
// passes its package and the few calls that differ.

import { createRequire } from 'node:module'
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
} from './common.mjs'

const require = createRequire(import.meta.url)

/** Messages per consume(n, cb) call in C1/C2. */
export const CONSUME_BATCH = 1000

/** librdkafka producer properties of a workload, exactly as passed. */
export function producerConf(spec, clientId) {
  const conf = {
    'metadata.broker.list': spec.bootstrap,
    'client.id': clientId,
    dr_cb: true, // delivery reports without the payload (dr_msg_cb off)
    acks: spec.acks === 'all' ? -1 : spec.acks,
  }
  if (spec.idempotence) conf['enable.idempotence'] = true
  if (spec.compression && spec.compression !== 'none') conf['compression.codec'] = spec.compression
  // Java-compatible key hashing, as the workload asks for murmur2 (librdkafka's default
  // is consistent_random, CRC32); null keys are spread randomly either way.
  if (spec.keySize) conf.partitioner = 'murmur2_random'
  return conf
}

export function consumerConf(spec, clientId, { group }) {
  return {
    'metadata.broker.list': spec.bootstrap,
    'client.id': clientId,
    'group.id': spec.groupId,
    'enable.auto.commit': group, // C1: assign() only, nothing committed; C2: the default auto-commit
  }
}

export function rdkafkaClient({ pkg, clientId, pollInBackground }) {
  const load = () => require(pkg)

  function startPolling(producer) {
    // confluent: a native background thread polls (setPollInBackground, what its
    // promisified API uses); node-rdkafka: a JS interval plus explicit poll() when waiting.
    if (pollInBackground) producer.setPollInBackground(true)
    else producer.setPollInterval(10)
  }

  async function connectProducer(conf) {
    const Kafka = load()
    const producer = new Kafka.Producer(conf, {})
    await new Promise((resolve, reject) => {
      producer.once('connection.failure', reject)
      producer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve()))
    })
    startPolling(producer)
    return { Kafka, producer }
  }

  function disconnect(client) {
    return withTimeout(new Promise((resolve) => client.disconnect(() => resolve())), 10_000, 'disconnect').catch(() => {})
  }

  async function produce(spec) {
    const { n, topic } = spec
    const { Kafka, producer } = await connectProducer(producerConf(spec, clientId))
    const QUEUE_FULL = Kafka.CODES.ERRORS.ERR__QUEUE_FULL
    const values = randomPool(spec.valueSize)
    const keys = spec.keySize ? randomPool(spec.keySize, 65536) : null
    const mask = values.length - 1
    const progress = progressReporter('produced', n)
    let reports = 0
    let errors = 0
    let firstError = null
    const all = deferred()
    producer.on('delivery-report', (err) => {
      if (err) {
        errors++
        firstError ??= String(err.message ?? err)
      }
      if (++reports === n) all.resolve()
    })
    let queueFull = 0
    const cpu0 = process.cpuUsage()
    const t0 = now()
    for (let i = 0; i < n; i++) {
      try {
        producer.produce(topic, null, values[i & mask], keys ? keys[i & 65535] : null)
      } catch (e) {
        if (e?.code !== QUEUE_FULL) throw e
        queueFull++
        if (!pollInBackground) producer.poll()
        progress(reports)
        await sleep(1)
        i-- // retry this message
      }
    }
    const deadline = Date.now() + spec.timeoutMs
    while (reports < n && Date.now() < deadline) {
      if (!pollInBackground) producer.poll()
      progress(reports)
      await Promise.race([all.promise, sleep(5)])
    }
    const elapsed = now() - t0
    const cpu = cpuSince(cpu0)
    await disconnect(producer)
    if (reports < n) throw new Error(`only ${reports} of ${n} delivery reports before the timeout`)
    if (errors) throw new Error(`${errors} delivery errors, first: ${firstError}`)
    return throughputResult({ n, elapsedMs: elapsed, valueSize: spec.valueSize, cpu, extra: { queueFullWaits: queueFull } })
  }

  /** P3 with the node-rdkafka-style API: produce() with an opaque, resolve on its delivery report. */
  async function sendAwaitRdkafka(spec) {
    const { topic } = spec
    const { producer } = await connectProducer(producerConf(spec, clientId))
    if (!pollInBackground) producer.setPollInterval(1)
    producer.on('delivery-report', (err, report) => {
      const d = report?.opaque
      if (!d) return
      if (err) d.reject(err)
      else d.resolve()
    })
    const sendOne = (value) => {
      const d = deferred()
      producer.produce(topic, null, value, null, null, d)
      return d.promise
    }
    const result = await measureAwaitEach(spec, sendOne)
    await disconnect(producer)
    return result
  }

  async function connectConsumer(spec, group) {
    const Kafka = load()
    const consumer = new Kafka.KafkaConsumer(consumerConf(spec, clientId, { group }), { 'auto.offset.reset': 'earliest' })
    await new Promise((resolve, reject) => {
      consumer.once('connection.failure', reject)
      consumer.connect({ timeout: 10_000 }, (err) => (err ? reject(err) : resolve()))
    })
    return consumer
  }

  async function consume(spec, group) {
    const { n, topic } = spec
    const progress = progressReporter('consumed', n)
    const cpu0 = process.cpuUsage()
    const t0 = now()
    const consumer = await connectConsumer(spec, group)
    if (group) consumer.subscribe([topic])
    else consumer.assign(Array.from({ length: spec.partitions }, (_, partition) => ({ topic, partition, offset: 0 })))
    let count = 0
    let bytes = 0
    let firstAt = 0
    const done = deferred()
    const next = () => {
      consumer.consume(CONSUME_BATCH, (err, messages) => {
        if (err) {
          done.reject(err)
          return
        }
        if (messages.length && !firstAt) firstAt = now()
        for (const m of messages) bytes += m.value.length
        count += messages.length
        progress(count)
        if (count >= n) done.resolve()
        else next()
      })
    }
    next()
    return finishConsume(spec, {
      done: done.promise,
      t0,
      cpu0,
      seen: () => ({ count, bytes, firstAt }),
      close: () => disconnect(consumer),
    })
  }

  async function e2e(spec) {
    const { topic } = spec
    const rec = e2eRecorder(spec)
    const consumer = await connectConsumer(spec, true)
    consumer.subscribe([topic])
    consumer.on('data', (m) => rec.onMessage(m.value))
    consumer.consume() // flowing mode: a native loop hands over each message as it arrives
    const joinDeadline = Date.now() + 30_000
    while (consumer.assignments().length === 0) {
      if (Date.now() > joinDeadline) throw new Error('no partition assigned within 30 s')
      await sleep(20)
    }
    const { producer } = await connectProducer(producerConf(spec, clientId))
    const values = randomPool(spec.valueSize)
    let k = 0
    rec.start()
    const cpu0 = process.cpuUsage()
    await paceProducer({
      ...spec,
      sendDue: (count) => {
        for (let j = 0; j < count; j++) producer.produce(topic, null, stampValue(Buffer.from(values[k++ & 4095])), null)
      },
    })
    await withTimeout(rec.done, spec.timeoutMs, () => `${rec.expected} messages (have ${rec.received})`)
    const cpu = cpuSince(cpu0)
    await Promise.all([disconnect(producer), disconnect(consumer)])
    return { n: rec.received, rate: spec.rate, durationMs: spec.durationMs, cpuWindow: cpu, latency: rec.latency() }
  }

  return {
    produce,
    sendAwaitRdkafka,
    consumeAssign: (spec) => consume(spec, false),
    consumeGroup: (spec) => consume(spec, true),
    e2e,
  }
}

export const PRODUCE_API = (poll) =>
  `Producer.produce(topic, null, value, key) in a loop, 'delivery-report' events counted (dr_cb); on ERR__QUEUE_FULL ${poll} and retry`
export const CONSUME_API = (how) =>
  `KafkaConsumer ${how}, then consume(${CONSUME_BATCH}, cb) in a loop (non-flowing batch mode) reading every message value`

/** The consume and E2E rows of both librdkafka clients' workloads (same API, same config). */
export const consumeWorkloads = (poll) => ({
  C1: {
    api: CONSUME_API('assign([{ topic, partition, offset: 0 }...])'),
    config: 'enable.auto.commit=false, auto.offset.reset=earliest (group.id set, never joined)',
  },
  'C1-6': { api: CONSUME_API('assign() of the 6 partitions'), config: 'as C1' },
  C2: {
    api: CONSUME_API('subscribe([topic])'),
    config: 'group.id fresh per run, enable.auto.commit=true (default, 5 s), auto.offset.reset=earliest',
  },
  'C2-6': { api: CONSUME_API('subscribe([topic])'), config: 'as C2' },
  E2E: {
    api: "produce() each due message; KafkaConsumer subscribe + flowing consume() 'data' events",
    config: `acks=1, ${poll}; consumer group, earliest`,
  },
})
