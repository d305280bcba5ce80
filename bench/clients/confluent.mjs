// @confluentinc/kafka-javascript 1.10.1 with its bundled librdkafka 2.15.1, built from
// source as a shared library (CKJS_LINKING=dynamic; see setup.mjs). P1/P2/C1/C2/E2E use its
// node-rdkafka-style API (the fastest path: produce + delivery reports polled by a native
// background thread); P3 uses its promisified KafkaJS-style API, `await producer.send()`,
// which is what an application awaiting each message writes with this client.

import { createRequire } from 'node:module'
import { measureAwaitEach } from '../lib/common.mjs'
import { consumeWorkloads, PRODUCE_API, rdkafkaClient } from '../lib/rdkafka.mjs'

const require = createRequire(import.meta.url)
const PKG = '@confluentinc/kafka-javascript'
const impl = rdkafkaClient({ pkg: PKG, clientId: 'bench-confluent', pollInBackground: true })

const PRODUCE = PRODUCE_API('wait 1 ms')
const POLL = 'setPollInBackground(true)'
export const meta = {
  id: 'confluent',
  label: '@confluentinc/kafka-javascript',
  package: PKG,
  runtime: 'node',
  workloads: {
    P1: { api: PRODUCE, config: `acks=1, dr_cb, ${POLL}, librdkafka defaults otherwise (linger.ms 5, batch.size 1 MB, queue 100k msgs)` },
    'P1-6': { api: PRODUCE, config: `as P1` },
    P2: { api: PRODUCE, config: `enable.idempotence=true, acks=-1, compression.codec=lz4, partitioner=murmur2_random, ${POLL}` },
    P3: {
      api: 'KafkaJS-style API: `await producer.send({ topic, messages: [{ value }] })` per message',
      config: 'new KafkaJS.Kafka({ kafkaJS: { brokers } }).producer({ kafkaJS: { acks: 1 } }); librdkafka defaults otherwise (linger.ms 5)',
    },
    ...consumeWorkloads(POLL),
  },
  unsupported: {},
}

export function extraVersions() {
  return { librdkafka: require(PKG).librdkafkaVersion }
}

async function sendAwaitKafkaJS(spec) {
  const { KafkaJS } = require(PKG)
  const { topic } = spec
  const kafka = new KafkaJS.Kafka({
    kafkaJS: { brokers: [spec.bootstrap], clientId: 'bench-confluent', logLevel: KafkaJS.logLevel.NOTHING },
  })
  const producer = kafka.producer({ kafkaJS: { acks: spec.acks } })
  await producer.connect()
  const result = await measureAwaitEach(spec, (value) => producer.send({ topic, messages: [{ value }] }))
  await producer.disconnect()
  return result
}

export const workloads = {
  P1: impl.produce,
  'P1-6': impl.produce,
  P2: impl.produce,
  P3: sendAwaitKafkaJS,
  C1: impl.consumeAssign,
  'C1-6': impl.consumeAssign,
  C2: impl.consumeGroup,
  'C2-6': impl.consumeGroup,
  E2E: impl.e2e,
}
