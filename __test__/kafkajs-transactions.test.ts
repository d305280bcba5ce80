import { describe, expect, it } from 'vitest'
import { Kafka, KafkaJSNonRetriableError, logLevel } from '../ts/kafkajs'
import { brokers, createTopic, uniqueTopic, until } from './helpers'

const kafka = () => new Kafka({ clientId: 'kjs-tx-test', brokers: [brokers()], logLevel: logLevel.ERROR })

/** Values a read_committed KafkaJS consumer (KafkaJS's default isolation) sees within `ms`. */
async function readCommitted(topic: string, expected: number, ms = 4000): Promise<string[]> {
  const c = kafka().consumer({ groupId: uniqueTopic('kjs-tx-reader'), maxWaitTimeInMs: 200 })
  await c.connect()
  await c.subscribe({ topic, fromBeginning: true })
  const out: string[] = []
  await c.run({ eachMessage: async ({ message }) => void out.push(String(message.value)) })
  try {
    await until(() => out.length >= expected, 30_000, `${expected} committed values`)
    // Then a little longer, to see anything that should not be there.
    await new Promise((r) => setTimeout(r, ms))
  } finally {
    await c.disconnect()
  }
  return out
}

describe('kafkajs transactions', () => {
  it('transaction(): send + commit is visible to read_committed readers; send + abort is not', async () => {
    const topic = uniqueTopic('kjs-tx')
    await createTopic(topic, 1)
    const producer = kafka().producer({ transactionalId: uniqueTopic('kjs-txid'), maxInFlightRequests: 1, idempotent: true })
    await producer.connect()
    const aborted = await producer.transaction()
    await aborted.send({ topic, messages: [{ value: 'aborted' }] })
    await aborted.abort()
    expect(aborted.isActive()).toBe(false)
    const tx = await producer.transaction()
    expect(tx.isActive()).toBe(true)
    const r = await tx.sendBatch({ topicMessages: [{ topic, messages: [{ value: 'c1' }, { value: 'c2' }] }] })
    expect(r[0]?.topicName).toBe(topic)
    await tx.commit()
    await producer.disconnect()
    expect(await readCommitted(topic, 2)).toEqual(['c1', 'c2'])
  })

  it('sendOffsets({ consumerGroupId, topics }) commits the group offsets with the transaction', async () => {
    const topic = uniqueTopic('kjs-tx-offsets')
    await createTopic(topic, 1)
    const groupId = uniqueTopic('kjs-tx-group')
    const producer = kafka().producer({ transactionalId: uniqueTopic('kjs-txid') })
    await producer.connect()
    const tx = await producer.transaction()
    await tx.send({ topic, messages: [{ value: 'x' }] })
    await tx.sendOffsets({ consumerGroupId: groupId, topics: [{ topic, partitions: [{ partition: 0, offset: '42' }] }] })
    await tx.commit()
    const admin = kafka().admin()
    await admin.connect()
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    await admin.disconnect()
    await producer.disconnect()
    expect(t?.partitions[0]?.offset).toBe('42')
  })

  it('a transactional producer refuses send() outside a transaction, a second concurrent transaction, and use after commit', async () => {
    const topic = uniqueTopic('kjs-tx-rules')
    await createTopic(topic, 1)
    const producer = kafka().producer({ transactionalId: uniqueTopic('kjs-txid') })
    await producer.connect()
    await expect(producer.send({ topic, messages: [{ value: 'v' }] })).rejects.toBeInstanceOf(KafkaJSNonRetriableError)
    const tx = await producer.transaction()
    await expect(producer.transaction()).rejects.toThrow(/already an ongoing transaction/)
    await expect(tx.send({ topic, acks: 1, messages: [{ value: 'v' }] })).rejects.toThrow(/acks -1/)
    await tx.send({ topic, messages: [{ value: 'v' }] })
    await tx.commit()
    await expect(tx.send({ topic, messages: [{ value: 'late' }] })).rejects.toThrow(/no longer active/)
    await expect(kafka().producer().transaction()).rejects.toThrow(/transactional id/)
    await producer.disconnect()
  })
})
