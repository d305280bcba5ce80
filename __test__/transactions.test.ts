import { describe, expect, it } from 'vitest'
import { Consumer, KafkaError, Producer } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic } from './helpers'

async function readAll(
  topic: string,
  partitions: number,
  isolationLevel: 'read_committed' | 'read_uncommitted',
  expected: number,
): Promise<string[]> {
  const c = new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'earliest', isolationLevel }, { valueDeserializer: 'string' })
  c.assign(Array.from({ length: partitions }, (_, partition) => ({ topic, partition })))
  const out: string[] = []
  const deadline = Date.now() + 30_000
  const timer = setInterval(() => {
    // Past the expected count, keep reading a little to catch extras, then stop.
    if (Date.now() > deadline || (out.length >= expected && Date.now() > deadline - 27_000)) c.stop()
  }, 500)
  try {
    for await (const m of c) out.push(m.value as string)
  } finally {
    clearInterval(timer)
    await c.close()
  }
  return out
}

describe('transactions', () => {
  it('read_committed sees committed transactions only; aborted records stay hidden', async () => {
    const topic = uniqueTopic('tx-basic')
    await createTopic(topic, 2)
    const p = new Producer({ bootstrapServers: brokers(), transactionalId: uniqueTopic('tid') })
    await p.initTransactions()
    p.beginTransaction()
    await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `committed-${i}` })) })
    await p.commitTransaction()
    p.beginTransaction()
    await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `aborted-${i}` })) })
    await p.abortTransaction()
    p.beginTransaction()
    await p.send({ topic, messages: [{ key: 'k0', value: 'committed-last' }] })
    await p.commitTransaction()
    await p.close()

    const committed = await readAll(topic, 2, 'read_committed', 11)
    expect(committed.sort()).toEqual([...Array.from({ length: 10 }, (_, i) => `committed-${i}`), 'committed-last'].sort())
    const all = await readAll(topic, 2, 'read_uncommitted', 21)
    expect(all.length).toBe(21)
    // The Java consumer agrees (an independent reader of our transactional batches).
    const kafka = await kafkaScript()
    const java = await kafka.consoleConsume({
      bootstrap: brokers(),
      topic,
      maxMessages: 11,
      timeoutMs: 15_000,
      isolationLevel: 'read_committed',
    })
    expect(java.map((m: any) => m.value.toString()).sort()).toEqual(committed.sort())
  })

  it('misuse is a typed error: produce outside a transaction, commit without begin', async () => {
    const topic = uniqueTopic('tx-misuse')
    await createTopic(topic, 1)
    const p = new Producer({ bootstrapServers: brokers(), transactionalId: uniqueTopic('tid') })
    expect(() => p.beginTransaction()).toThrow(
      expect.objectContaining({ code: 'INVALID_TXN_STATE', message: expect.stringMatching(/initTransactions/) }),
    )
    await p.initTransactions()
    expect(() => p.produce(topic, null, 'x')).toThrow(
      expect.objectContaining({ code: 'INVALID_TXN_STATE', message: expect.stringMatching(/beginTransaction/) }),
    )
    await expect(p.commitTransaction()).rejects.toMatchObject({ code: 'INVALID_TXN_STATE' })
    await p.close()
    const plain = new Producer({ bootstrapServers: brokers() })
    await expect(plain.initTransactions()).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/transactionalId/),
    })
    await plain.close()
    expect(() => new Producer({ bootstrapServers: brokers(), transactionalId: 't', acks: 1 })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    )
    expect(() => new Producer({ bootstrapServers: brokers(), transactionalId: 't', enableIdempotence: false })).toThrow(
      expect.objectContaining({ code: 'INVALID_CONFIG' }),
    )
  })

  it('a second producer with the same transactionalId fences the first', async () => {
    const topic = uniqueTopic('tx-fence')
    await createTopic(topic, 1)
    const tid = uniqueTopic('tid')
    const first = new Producer({ bootstrapServers: brokers(), transactionalId: tid })
    await first.initTransactions()
    first.beginTransaction()
    await first.send({ topic, messages: [{ value: 'zombie' }] })
    const second = new Producer({ bootstrapServers: brokers(), transactionalId: tid })
    await second.initTransactions() // aborts first's open transaction, bumps the epoch
    second.beginTransaction()
    await second.send({ topic, messages: [{ value: 'winner' }] })
    await second.commitTransaction()
    const err = await first.commitTransaction().catch((e) => e)
    expect(err).toBeInstanceOf(KafkaError)
    expect(['PRODUCER_FENCED', 'INVALID_PRODUCER_EPOCH']).toContain(err.code)
    expect(err.retriable).toBe(false)
    await first.close().catch(() => {})
    await second.close()
    expect(await readAll(topic, 1, 'read_committed', 1)).toEqual(['winner'])
  })

  it('consume-transform-produce with aborts injected: the output equals the input exactly once', async () => {
    const input = uniqueTopic('tx-in')
    const output = uniqueTopic('tx-out')
    await createTopic(input, 2)
    await createTopic(output, 2)
    const n = 2000
    const src = new Producer({ bootstrapServers: brokers() })
    await src.send({ topic: input, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i % 10}`, value: String(i) })) })
    await src.close()

    const groupId = uniqueTopic('tx-grp')
    const consumer = new Consumer(
      {
        bootstrapServers: brokers(),
        groupId,
        autoOffsetReset: 'earliest',
        enableAutoCommit: false,
        isolationLevel: 'read_committed',
        maxPollRecords: 150,
      },
      { valueDeserializer: 'string' },
    )
    const producer = new Producer({ bootstrapServers: brokers(), transactionalId: uniqueTopic('tid') })
    await producer.initTransactions()
    await consumer.subscribe([input])
    let batches = 0
    let aborted = 0
    let copied = 0
    const deadline = Date.now() + 90_000
    for await (const batch of consumer.batches()) {
      producer.beginTransaction()
      for (const m of batch.messages) producer.produce(output, m.keyBytes, `copy-${m.value}`)
      const last = batch.messages[batch.messages.length - 1]!
      await producer.sendOffsetsToTransaction(
        [{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1n }],
        consumer.groupMetadata(),
      )
      if (batches++ % 3 === 1) {
        // Inject a failure: abort, and rewind the input to the committed offset.
        await producer.abortTransaction()
        aborted++
        const [c] = await consumer.committed([{ topic: batch.topic, partition: batch.partition }])
        consumer.seek({ topic: batch.topic, partition: batch.partition, offset: c?.offset ?? 0n })
      } else {
        await producer.commitTransaction()
        copied += batch.messages.length
      }
      if (copied >= n || Date.now() > deadline) break
    }
    await producer.close()
    await consumer.close()
    expect(aborted).toBeGreaterThan(0)
    expect(copied).toBe(n)
    const out = await readAll(output, 2, 'read_committed', n)
    expect(out.length).toBe(n)
    expect(new Set(out).size).toBe(n)
    expect(out.map((v) => Number(v.slice(5))).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
  }, 180_000)
})
