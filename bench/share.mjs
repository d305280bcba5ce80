#!/usr/bin/env node
// Share-group throughput (KIP-932): N pre-produced 100-byte records on ONE partition, read
// by 1, 2 and 4 ShareConsumers of one fresh share group (implicit acknowledgement: every
// poll accepts the previous one's records). The clock starts once every member has its
// assignment and stops when N distinct records were delivered. All members run in this
// one process (one tokio runtime), as an app scaling a worker pool would. Repetitions
// rotate the member counts; medians are printed.
//
//   node bench/share.mjs [--n 200000] [--reps 3] [--max-poll-records 500]
//   KAFKA_BROKERS=127.0.0.1:9092 node bench/share.mjs    (else the `single` broker is started or reused)

import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { flag, randomPool } from './lib/common.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { Admin, Producer, ShareConsumer, throwIfFailed } = createRequire(import.meta.url)(path.join(REPO, 'dist', 'index.js'))
const kafka = await import(path.join(REPO, 'scripts', 'kafka.mjs'))
const N = Number(flag('--n', 200_000))
const REPS = Number(flag('--reps', 3))
const MAX_POLL = Number(flag('--max-poll-records', 500))
const COUNTS = [1, 2, 4]
const TIMEOUT_MS = 300_000

async function bootstrap() {
  const given = process.env.KAFKA_BROKERS?.trim()
  if (given) return given
  const handle = await kafka.startKafka({ mode: 'single', quiet: true })
  return handle.bootstrap
}

async function produce(brokers, topic) {
  const admin = new Admin({ bootstrapServers: brokers })
  try {
    const [r] = await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 1 }])
    if (r.error) throw r.error
  } finally {
    await admin.close()
  }
  const values = randomPool(100)
  const p = new Producer({ bootstrapServers: brokers, lingerMs: 5 })
  for (let i = 0; i < N; i++) {
    try {
      p.produce(topic, null, values[i & 4095])
    } catch (e) {
      if (e.code !== 'BUFFER_FULL') throw e
      await p.waitForSpace()
      i--
    }
  }
  await p.flush()
  await p.close()
}

async function once(brokers, topic, members) {
  const group = `bench-share-${members}-${Date.now()}`
  const admin = new Admin({ bootstrapServers: brokers })
  throwIfFailed(
    await admin.incrementalAlterConfigs([
      { type: 'group', name: group, ops: [{ name: 'share.auto.offset.reset', value: 'earliest', op: 'set' }] },
    ]),
  )
  await admin.close()
  const consumers = Array.from(
    { length: members },
    () => new ShareConsumer({ bootstrapServers: brokers, groupId: group, maxPollRecords: MAX_POLL }),
  )
  try {
    for (const c of consumers) await c.subscribe(topic)
    const joinBy = Date.now() + 60_000
    while (consumers.some((c) => c.assignment().length === 0)) {
      if (Date.now() > joinBy) throw new Error(`${members} members not all assigned within 60 s`)
      await new Promise((r) => setTimeout(r, 50))
    }
    const seen = new Uint8Array(N)
    let distinct = 0
    let redelivered = 0
    const t0 = performance.now()
    const deadline = Date.now() + TIMEOUT_MS
    await Promise.all(
      consumers.map(async (c) => {
        while (distinct < N) {
          if (Date.now() > deadline) throw new Error(`only ${distinct} of ${N} records in ${TIMEOUT_MS} ms`)
          for (const m of await c.poll(500)) {
            if (m.deliveryCount > 1) redelivered++
            const o = m.offsetNumber
            if (seen[o] === 0) {
              seen[o] = 1
              distinct++
            }
          }
        }
      }),
    )
    const secs = (performance.now() - t0) / 1000
    return { rate: N / secs, redelivered }
  } finally {
    await Promise.all(consumers.map((c) => c.close()))
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

const brokers = await bootstrap()
const topic = `bench-share-${Date.now()}`
await produce(brokers, topic)
const rates = new Map(COUNTS.map((c) => [c, []]))
const redeliveries = new Map(COUNTS.map((c) => [c, 0]))
for (let rep = 0; rep < REPS; rep++) {
  for (let i = 0; i < COUNTS.length; i++) {
    const members = COUNTS[(i + rep) % COUNTS.length]
    const r = await once(brokers, topic, members)
    rates.get(members).push(r.rate)
    redeliveries.set(members, redeliveries.get(members) + r.redelivered)
    console.error(`rep ${rep + 1}: ${members} member(s) ${Math.round(r.rate)} msgs/s`)
  }
}
console.log(`share group, 1 partition, N=${N} x 100 B, maxPollRecords ${MAX_POLL}, ${REPS} rep(s), medians`)
console.log('| members | msgs/s | redelivered |')
console.log('|---:|---:|---:|')
for (const c of COUNTS) console.log(`| ${c} | ${Math.round(median(rates.get(c)))} | ${redeliveries.get(c)} |`)
