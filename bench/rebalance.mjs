#!/usr/bin/env node
// Rebalance cost: a group of 3 nkafka consumers on a 12-partition topic gets a 4th member
// while a producer writes a steady stream. For each group protocol it prints how long
// until the group is stable again (every partition owned, the 4th member has its share)
// and the longest pause in delivery per partition that stays with its member (a
// stop-the-world rebalance pauses everything; an incremental one only what moves).
//
//   node bench/rebalance.mjs [--brokers 127.0.0.1:9092] [--reps 3]
//
// Protocols: classic eager (range), classic cooperative-sticky, KIP-848 consumer (with the
// broker's 5 s heartbeat, and with a 1 s one set as a group config).

import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { flag, sleep } from './lib/common.mjs'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const { Admin, Consumer, Producer, throwIfFailed } = createRequire(import.meta.url)(path.join(REPO, 'dist', 'index.js'))
const REPS = Number(flag('--reps', 3))
const PARTITIONS = 12
const RATE = 2000 // records/s, spread over the partitions

let brokers = flag('--brokers', process.env.KAFKA_BROKERS)
let started = null
if (!brokers) {
  const { startKafka } = await import(path.join(REPO, 'scripts', 'kafka.mjs'))
  started = await startKafka({ mode: 'single', autoCreateTopics: false, quiet: true })
  brokers = started.bootstrap
}

const MODES = {
  eager: { groupProtocol: 'classic', partitionAssignors: ['range'], sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 },
  cooperative: {
    groupProtocol: 'classic',
    partitionAssignors: ['cooperative-sticky'],
    sessionTimeoutMs: 10_000,
    heartbeatIntervalMs: 1000,
  },
  consumer: { groupProtocol: 'consumer' },
  // The same with the classic modes' 1 s heartbeat (a group config: KIP-848 members take
  // the interval from the broker, 5 s by default), to tell the protocol from the setting.
  'consumer-1s': { groupProtocol: 'consumer', groupConfigs: { 'consumer.heartbeat.interval.ms': '1000' } },
}

async function until(cond, timeoutMs, what) {
  const end = Date.now() + timeoutMs
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(5)
  }
}

async function once(mode) {
  const topic = `rebalance-${mode}-${Date.now()}`
  const admin = new Admin({ bootstrapServers: brokers })
  throwIfFailed(await admin.createTopics([{ topic, numPartitions: PARTITIONS }]))
  await admin.close()
  const groupId = `rebalance-${mode}-${Date.now()}`
  const { groupConfigs, ...config } = MODES[mode]
  if (groupConfigs) {
    const a = new Admin({ bootstrapServers: brokers })
    const ops = Object.entries(groupConfigs).map(([name, value]) => ({ name, value, op: 'set' }))
    throwIfFailed(await a.incrementalAlterConfigs([{ type: 'group', name: groupId, ops }]))
    await a.close()
  }
  const lastSeen = new Map() // partition -> ms of the last record
  const gaps = new Map() // partition -> longest gap while measuring
  let measuring = false
  const members = []
  const start = async () => {
    const c = new Consumer({ bootstrapServers: brokers, groupId, autoOffsetReset: 'latest', ...config })
    await c.subscribe([topic])
    const running = c.run({
      eachMessage: async ({ message }) => {
        const t = performance.now()
        const p = message.partition
        if (measuring && lastSeen.has(p)) gaps.set(p, Math.max(gaps.get(p) ?? 0, t - lastSeen.get(p)))
        lastSeen.set(p, t)
      },
    })
    members.push({ c, running })
    return c
  }
  const producer = new Producer({ bootstrapServers: brokers, lingerMs: 1 })
  let producing = true
  const writer = (async () => {
    let i = 0
    while (producing) {
      for (let k = 0; k < RATE / 100; k++) producer.produce(topic, null, String(i++), { partition: i % PARTITIONS })
      await sleep(10)
    }
  })()
  try {
    for (let i = 0; i < 3; i++) await start()
    const owned = () => members.reduce((n, m) => n + m.c.assignment().length, 0)
    await until(() => owned() === PARTITIONS && members.every((m) => m.c.assignment().length === 4), 60_000, 'a stable group of 3')
    await until(() => lastSeen.size === PARTITIONS, 30_000, 'records on every partition')
    await sleep(1000)
    // Partitions that stay with their member through the rebalance (measured at the end).
    const before = new Map(members.flatMap((m, i) => m.c.assignment().map((p) => [p.partition, i])))
    measuring = true
    const t0 = performance.now()
    const fourth = await start()
    await until(
      () => owned() === PARTITIONS && fourth.assignment().length === 3 && members.every((m) => m.c.assignment().length === 3),
      120_000,
      'a stable group of 4',
    )
    const stableMs = performance.now() - t0
    await sleep(1500)
    measuring = false
    const after = new Map(members.flatMap((m, i) => m.c.assignment().map((p) => [p.partition, i])))
    const stayed = [...before].filter(([p, i]) => after.get(p) === i).map(([p]) => p)
    const stayedPause = Math.max(0, ...stayed.map((p) => gaps.get(p) ?? 0))
    const movedPause = Math.max(0, ...[...before.keys()].filter((p) => !stayed.includes(p)).map((p) => gaps.get(p) ?? 0))
    return { stableMs, stayed: stayed.length, stayedPause, movedPause }
  } finally {
    producing = false
    await writer
    await producer.close()
    for (const m of members) m.c.stop()
    for (const m of members) {
      await m.running.catch(() => {})
      await m.c.close()
    }
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
try {
  console.log(`rebalance: 3 -> 4 members on ${PARTITIONS} partitions, ${RATE} records/s, median of ${REPS}, against ${brokers}`)
  console.log('protocol       stable after   partitions kept   longest pause (kept)   longest pause (moved)')
  for (const mode of Object.keys(MODES)) {
    const runs = []
    for (let r = 0; r < REPS; r++) runs.push(await once(mode))
    const f = (k) => median(runs.map((x) => x[k]))
    console.log(
      `${mode.padEnd(14)} ${`${Math.round(f('stableMs'))} ms`.padStart(12)}   ${String(f('stayed')).padStart(15)}   ${`${Math.round(f('stayedPause'))} ms`.padStart(20)}   ${`${Math.round(f('movedPause'))} ms`.padStart(21)}`,
    )
  }
} finally {
  if (started?.stop) await started.stop()
}
