import { spawnSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { Consumer as NkafkaConsumer } from '../ts/index'
import { CompressionTypes, Kafka, KafkaJSNonRetriableError, KafkaJSNotImplemented, logLevel, Partitioners } from '../ts/kafkajs'
import { brokers, createTopic, kafkaScript, uniqueTopic } from './helpers'

function kafka(extra: Record<string, unknown> = {}): Kafka {
  return new Kafka({ clientId: 'kjs-test', brokers: [brokers()], logLevel: logLevel.WARN, ...extra })
}

/** Reads `n` records of `topic` (all partitions) with nkafka itself. */
async function readRecords(topic: string, partitions: number, n: number) {
  const c = new NkafkaConsumer({ bootstrapServers: brokers(), autoOffsetReset: 'earliest' })
  c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })))
  const out: Array<{
    partition: number
    offset: bigint
    key: string | null
    value: string | null
    timestamp: number
    headers: Array<[string, string | null]>
  }> = []
  const timer = setTimeout(() => c.stop(), 30_000)
  try {
    for await (const m of c) {
      out.push({
        partition: m.partition,
        offset: m.offset,
        key: m.keyBytes?.toString() ?? null,
        value: m.valueBytes?.toString() ?? null,
        timestamp: m.timestamp,
        headers: m.headers.map(([k, v]) => [k, v?.toString() ?? null]),
      })
      if (out.length >= n) break
    }
  } finally {
    clearTimeout(timer)
    await c.close()
  }
  return out
}

describe('kafkajs producer', () => {
  it('send() resolves with RecordMetadata per partition: topicName, partition, errorCode 0, baseOffset as a string', async () => {
    const topic = uniqueTopic('kjs-send')
    await createTopic(topic, 1)
    const producer = kafka().producer()
    await producer.connect()
    const first = await producer.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] })
    const second = await producer.send({ topic, messages: [{ key: 'k', value: Buffer.from('c') }] })
    await producer.disconnect()
    expect(first).toEqual([{ topicName: topic, partition: 0, errorCode: 0, baseOffset: '0', logAppendTime: '-1', logStartOffset: '-1' }])
    expect(second[0]?.baseOffset).toBe('2')
  })

  it('messages carry key, value, object headers (string, Buffer and array values), partition and a string timestamp', async () => {
    const topic = uniqueTopic('kjs-msg')
    await createTopic(topic, 3)
    const producer = kafka().producer()
    await producer.connect()
    await producer.send({
      topic,
      messages: [
        { key: 'k1', value: 'v1', partition: 2, timestamp: '1700000000123', headers: { a: 'x', b: Buffer.from('y'), c: ['1', '2'] } },
        { key: null, value: null, partition: 1 },
      ],
    })
    await producer.disconnect()
    const got = await readRecords(topic, 3, 2)
    const m1 = got.find((m) => m.partition === 2)
    expect(m1).toMatchObject({ key: 'k1', value: 'v1', timestamp: 1700000000123 })
    expect(m1?.headers).toEqual([
      ['a', 'x'],
      ['b', 'y'],
      ['c', '1'],
      ['c', '2'],
    ])
    expect(got.find((m) => m.partition === 1)).toMatchObject({ key: null, value: null })
  })

  it('sendBatch() sends topicMessages of several topics and returns the metadata of all', async () => {
    const t1 = uniqueTopic('kjs-batch1')
    const t2 = uniqueTopic('kjs-batch2')
    await createTopic(t1, 1)
    await createTopic(t2, 1)
    const producer = kafka().producer()
    await producer.connect()
    const r = await producer.sendBatch({
      topicMessages: [
        { topic: t1, messages: [{ value: '1' }] },
        { topic: t2, messages: [{ value: '2' }, { value: '3' }] },
      ],
    })
    await producer.disconnect()
    expect(r.map((x) => [x.topicName, x.baseOffset]).sort()).toEqual(
      [
        [t1, '0'],
        [t2, '0'],
      ].sort(),
    )
  })

  it('per-send acks and compression work (acks 1, acks 0, GZIP, ZSTD), and the records are readable', async () => {
    const topic = uniqueTopic('kjs-acks')
    await createTopic(topic, 1)
    const producer = kafka().producer()
    await producer.connect()
    await producer.send({ topic, acks: 1, compression: CompressionTypes.GZIP, messages: [{ value: 'gz' }] })
    await producer.send({ topic, compression: CompressionTypes.ZSTD, messages: [{ value: 'zstd' }] })
    const noAck = await producer.send({ topic, acks: 0, messages: [{ value: 'fire' }] })
    await producer.disconnect()
    expect(noAck[0]?.baseOffset).toBe('-1')
    const got = await readRecords(topic, 1, 3)
    expect(got.map((m) => m.value).sort()).toEqual(['fire', 'gz', 'zstd'])
  })

  it('DefaultPartitioner places keyed messages as the Java client does (murmur2), checked with the Java producer and console consumer', async () => {
    const topic = uniqueTopic('kjs-part')
    await createTopic(topic, 6)
    const keys = ['user-1', 'user-42', 'order-7', 'zz', 'k\u00e9y']
    const producer = kafka().producer({ createPartitioner: Partitioners.DefaultPartitioner })
    await producer.connect()
    const ours = new Map<string, number>()
    for (const key of keys) {
      const [r] = await producer.send({ topic, messages: [{ key, value: 'nkafka' }] })
      ours.set(key, r?.partition as number)
    }
    await producer.disconnect()
    const kafkaMjs = await kafkaScript()
    await kafkaMjs.consoleProduce({ bootstrap: brokers(), topic, records: keys.map((key) => ({ key, value: 'java' })) })
    // The Java console consumer is the independent reader of both producers' records.
    const records: Array<{ partition: number; key: Buffer; value: Buffer }> = await kafkaMjs.consoleConsume({
      bootstrap: brokers(),
      topic,
      maxMessages: keys.length * 2,
      timeoutMs: 20_000,
    })
    expect(records).toHaveLength(keys.length * 2)
    for (const r of records) expect(r.partition).toBe(ours.get(r.key.toString()))
  })

  it('createPartitioner: a custom partitioner gets { topic, partitionMetadata, message } and its choice is used', async () => {
    const topic = uniqueTopic('kjs-custom')
    await createTopic(topic, 4)
    const seen: Array<{ topic: string; partitions: number; value: unknown }> = []
    const producer = kafka().producer({
      createPartitioner:
        () =>
        ({ topic: t, partitionMetadata, message }) => {
          seen.push({ topic: t, partitions: partitionMetadata.length, value: message.value })
          return partitionMetadata.length - 1
        },
    })
    await producer.connect()
    const r = await producer.send({ topic, messages: [{ value: 'x' }, { value: 'y', partition: 0 }] })
    await producer.disconnect()
    expect(seen).toEqual([{ topic, partitions: 4, value: 'x' }])
    expect(r.map((x) => x.partition).sort()).toEqual([0, 3])
  })

  it('events: CONNECT and DISCONNECT are emitted, on() returns a remover, an unknown event name is rejected', async () => {
    const producer = kafka().producer()
    const types: string[] = []
    producer.on(producer.events.CONNECT, (e) => types.push(e.type))
    const remove = producer.on(producer.events.DISCONNECT, (e) => types.push(e.type))
    expect(() => producer.on('producer.nope', () => {})).toThrow(KafkaJSNonRetriableError)
    await producer.connect()
    await producer.disconnect()
    remove()
    await producer.connect()
    await producer.disconnect()
    expect(types).toEqual(['producer.connect', 'producer.disconnect', 'producer.connect'])
  })

  it('send() before connect() and bad input reject with KafkaJS errors', async () => {
    const producer = kafka().producer()
    await expect(producer.send({ topic: 'x', messages: [{ value: 'v' }] })).rejects.toThrow(/connect\(\) first/)
    await producer.connect()
    await expect(producer.send({ topic: 'x', messages: 'nope' as never })).rejects.toBeInstanceOf(KafkaJSNonRetriableError)
    await expect(producer.send({ topic: 'x', messages: [{ value: 'v', timestamp: 'yesterday' }] })).rejects.toThrow(/Invalid timestamp/)
    await expect(producer.send({ topic: 'x', acks: 2, messages: [{ value: 'v' }] })).rejects.toThrow(/acks/)
    await producer.disconnect()
    expect(() => kafka().producer({ lingerMs: 5 } as never)).toThrow(/lingerMs is not a KafkaJS producer option/)
    expect(() => kafka({ sasl: { mechanism: 'aws', accessKeyId: 'a' } })).toThrow(KafkaJSNotImplemented)
    expect(() => kafka({ socketFactory: () => null })).toThrow(KafkaJSNotImplemented)
  })

  it('brokers may be an async function, resolved at connect()', async () => {
    const topic = uniqueTopic('kjs-brokersfn')
    await createTopic(topic, 1)
    let calls = 0
    const k = new Kafka({
      brokers: async () => {
        calls++
        return [brokers()]
      },
      logLevel: logLevel.NOTHING,
    })
    const producer = k.producer()
    expect(calls).toBe(0)
    await producer.connect()
    const r = await producer.send({ topic, messages: [{ value: 'v' }] })
    await producer.disconnect()
    expect(calls).toBe(1)
    expect(r[0]?.errorCode).toBe(0)
  })

  it('logCreator receives KafkaJS log entries ({ namespace, level, label, log: { message, timestamp } })', async () => {
    const entries: Array<{ namespace: string; level: number; label: string; message: string }> = []
    const k = new Kafka({
      brokers: [brokers()],
      logLevel: logLevel.DEBUG,
      connectionTimeout: 3000,
      logCreator: (level) => {
        expect(level).toBe(logLevel.DEBUG)
        return ({ namespace, level: l, label, log }) => entries.push({ namespace, level: l, label, message: log.message })
      },
    })
    // connectionTimeout has no nkafka equivalent: a debug entry says so.
    expect(entries.some((e) => e.label === 'DEBUG' && /connectionTimeout/.test(e.message))).toBe(true)
    k.logger().info('hello', { x: 1 })
    expect(entries.at(-1)).toEqual({ namespace: 'Kafka', level: logLevel.INFO, label: 'INFO', message: 'hello' })
    const producer = k.producer()
    await producer.connect()
    await producer.disconnect()
    // nkafka's own entries (from the Rust core) arrive through the same logCreator.
    expect(entries.some((e) => e.namespace !== 'Kafka')).toBe(true)
  })

  it("the built dist: require('nkafka/kafkajs') and import from 'nkafka/kafkajs' share one instance and send", async () => {
    const root = join(__dirname, '..')
    expect(existsSync(join(root, 'dist', 'kafkajs', 'index.mjs')), 'dist/kafkajs is missing: run npm run build:ts').toBe(true)
    const topic = uniqueTopic('kjs-dist')
    await createTopic(topic, 1)
    // Self-reference by package name (package.json "exports") from the package's own root.
    const script = `
      import { createRequire } from 'node:module'
      import { Kafka, logLevel } from 'nkafka/kafkajs'
      const cjs = createRequire(process.cwd() + '/')('nkafka/kafkajs')
      if (cjs.Kafka !== Kafka) throw new Error('two instances')
      const p = new Kafka({ brokers: [${JSON.stringify(brokers())}], logLevel: logLevel.NOTHING }).producer()
      await p.connect()
      const [r] = await p.send({ topic: ${JSON.stringify(topic)}, messages: [{ value: 'from dist' }] })
      await p.disconnect()
      console.log(r.topicName + ' ' + r.baseOffset)
    `
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 })
    expect(r.stderr).toBe('')
    expect(r.stdout.trim()).toBe(`${topic} 0`)
  })
})
