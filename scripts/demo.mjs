// `npm run demo`: the main job on the embedded default. Starts the local Kafka broker
// unless KAFKA_BROKERS points at one, produces 1,000,000 x 100-byte messages with the
// fast path, prints the throughput, and reads back how many the broker holds.
import { randomBytes } from 'node:crypto'
import { Admin, Producer, throwIfFailed } from '../dist/index.js'
import { startKafka } from './kafka.mjs'

const N = Number(process.env.DEMO_MESSAGES ?? 1_000_000)
let brokers = process.env.KAFKA_BROKERS?.trim()
let started = null
if (!brokers) {
  console.log('demo: starting a local Kafka broker (first run downloads its jars)...')
  started = await startKafka({ mode: 'single', quiet: true })
  brokers = started.bootstrap
}
console.log(`demo: Kafka at ${brokers}`)

const topic = `nkafka-demo-${Date.now()}`
const admin = new Admin({ bootstrapServers: brokers })
throwIfFailed(await admin.createTopics([{ topic, numPartitions: 1 }]))

let delivered = 0
let failed = 0
let firstError = null
const producer = new Producer({ bootstrapServers: brokers, acks: 1 }, (report) => {
  if (report.error) {
    failed++
    firstError ??= report.error
  } else delivered++
})
await producer.connect()

const value = randomBytes(100)
const t0 = performance.now()
const cpu0 = process.cpuUsage()
for (let i = 0; i < N; i++) {
  try {
    producer.produce(topic, null, value)
  } catch (e) {
    if (e.code !== 'BUFFER_FULL') throw e
    await producer.waitForSpace() // the broker is slower than the loop: wait for deliveries
    i--
  }
}
await producer.flush(120_000)
const secs = (performance.now() - t0) / 1000
const cpu = process.cpuUsage(cpu0)
await producer.close()

const [described] = throwIfFailed(await admin.describeTopics([topic]))
const offsets = throwIfFailed(await admin.listOffsets(described.partitions.map((p) => ({ topic, partition: p.partition, spec: 'latest' }))))
const stored = offsets.reduce((n, p) => n + p.offset, 0n)
throwIfFailed(await admin.deleteTopics([topic]))
await admin.close()
if (started && !started.reused) await started.stop()

const fmt = (n) => Math.round(n).toLocaleString('en-US')
console.log(`demo: produced ${fmt(N)} x 100-byte messages in ${secs.toFixed(2)} s`)
console.log(
  `demo: ${fmt(N / secs)} msgs/s, ${((N * 100) / secs / 1e6).toFixed(1)} MB/s of payload, ${fmt(((cpu.user + cpu.system) * 1000) / N)} ns CPU per message`,
)
console.log(
  `demo: delivery reports: ${fmt(delivered)} ok, ${fmt(failed)} failed${firstError ? ` (first: ${firstError.code} ${firstError.message})` : ''}`,
)
console.log(`demo: the broker holds ${stored.toLocaleString('en-US')} messages in ${topic} (latest offset)`)
if (delivered !== N || stored !== BigInt(N)) {
  console.error('demo: FAILED: not every message was delivered')
  process.exit(1)
}
