import { afterAll, describe, expect, it } from 'vitest'
import { Admin, Consumer, type DeliveryReport, type KafkaError, type Message, Producer, throwIfFailed } from '../ts/index'
import { clusterHandle, kafkaScript, uniqueTopic } from './helpers'
import { FaultProxy } from './proxy'

/**
 * Connections cut under load, on the 3-broker cluster. The client reaches the brokers only
 * through the PROXIED listener, whose advertised ports are FaultProxy instances here, so
 * every connection it opens (bootstrap, each leader, the consumer's fetches) is cut after
 * a random 0.5-1.5 s. Nothing may be lost, duplicated, reordered or failed.
 */
const CHAOS_MS = 60_000
const RATE_PER_10MS = 20 // ~2,000 records/s
const KEYS = 48

let cluster: any
const proxies: FaultProxy[] = []
afterAll(async () => {
  for (const p of proxies) await p.close()
  if (cluster?.stop) await cluster.stop()
})

describe('connections cut every 0.5-1.5 s for 60 s', () => {
  it('produce and consume through the cuts: every record once, in order per key, no failed report', async () => {
    cluster = await clusterHandle()
    for (const { listen, target } of cluster.proxies) proxies.push(await FaultProxy.start(listen, target))
    const topic = uniqueTopic('chaos')
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    try {
      throwIfFailed(await admin.createTopics([{ topic, numPartitions: 6, replicationFactor: 3 }]))
    } finally {
      await admin.close()
    }

    const bootstrap: string = cluster.listeners.PROXIED
    const reports: DeliveryReport[] = []
    const producer = new Producer(
      { bootstrapServers: bootstrap, clientId: 'chaos-producer', requestTimeoutMs: 5000, retryBackoffMs: 50 },
      (r) => reports.push(r),
    )
    await producer.connect([topic])
    const consumer = new Consumer(
      { bootstrapServers: bootstrap, clientId: 'chaos-consumer', autoOffsetReset: 'earliest', requestTimeoutMs: 5000 },
      { valueDeserializer: 'string', keyDeserializer: 'string' },
    )
    consumer.assign(Array.from({ length: 6 }, (_, partition) => ({ topic, partition })))
    const seen: Message<string, string>[] = []
    let produced = 0
    let producing = true
    const reading = (async () => {
      for await (const m of consumer) {
        seen.push(m)
        if (!producing && seen.length >= produced) break
      }
    })()

    const cut = () => 500 + Math.random() * 1000
    for (const p of proxies) p.cutAfter(cut)
    const end = Date.now() + CHAOS_MS
    while (Date.now() < end) {
      for (let j = 0; j < RATE_PER_10MS; j++, produced++) producer.produce(topic, `k${produced % KEYS}`, String(produced))
      await new Promise((r) => setTimeout(r, 10))
    }
    producing = false
    const t0 = Date.now()
    await producer.flush(120_000)
    const tFlush = Date.now()
    for (const p of proxies) p.cutAfter(null)
    // The reader finishes once it has as many records as were produced; bounded.
    const guard = setTimeout(() => consumer.stop(), 90_000)
    await reading
    clearTimeout(guard)
    const tRead = Date.now()
    await producer.close()
    await consumer.close()

    const cuts = proxies.reduce((n, p) => n + p.stats.cut, 0)
    const failed = reports.filter((r) => r.error !== null)
    console.log(
      `chaos: ${produced} produced, ${reports.length} reports, ${failed.length} failed, ${seen.length} consumed, ${cuts} connections cut, ${proxies.reduce((n, p) => n + p.stats.accepted, 0)} accepted; after the chaos: flush ${tFlush - t0} ms, reader done ${tRead - t0} ms`,
    )
    expect(cuts).toBeGreaterThan(60) // the faults really happened
    expect(reports.length).toBe(produced)
    expect(failed.map((r) => `${(r.error as KafkaError).code}: ${(r.error as KafkaError).message}`)).toEqual([])

    // The consumer: each record once, in produce order per key.
    checkOncePerKeyInOrder(
      seen.map((m) => ({ key: m.key!, value: Number(m.value) })),
      produced,
    )
    // An independent reader (the Java console consumer, straight to the brokers) agrees.
    const kafka = await kafkaScript()
    const tJava = Date.now()
    const log = await kafka.consoleConsume({ bootstrap: cluster.bootstrap, topic, maxMessages: produced, timeoutMs: 60_000 })
    console.log(`chaos: the Java console consumer read ${log.length} records in ${Date.now() - tJava} ms`)
    const ordered = [...log].sort((a: any, b: any) => a.partition - b.partition || Number(a.offset) - Number(b.offset))
    checkOncePerKeyInOrder(
      ordered.map((m: any) => ({ key: m.key.toString(), value: Number(m.value.toString()) })),
      produced,
    )
  }, 300_000)
})

/** Every value in 0..n exactly once, and each key's values increasing. */
function checkOncePerKeyInOrder(records: Array<{ key: string; value: number }>, n: number): void {
  const count = new Uint8Array(n)
  const last = new Map<string, number>()
  const disorder: string[] = []
  for (const { key, value } of records) {
    expect(key).toBe(`k${value % KEYS}`)
    count[value]++
    if ((last.get(key) ?? -1) >= value) disorder.push(`${key}: ${value} after ${last.get(key)}`)
    last.set(key, value)
  }
  const missing = [...count.keys()].filter((i) => count[i] === 0)
  const twice = [...count.keys()].filter((i) => count[i]! > 1)
  expect({ missing: missing.slice(0, 10), twice: twice.slice(0, 10), disorder: disorder.slice(0, 10) }).toEqual({
    missing: [],
    twice: [],
    disorder: [],
  })
  expect(records.length).toBe(n)
}
