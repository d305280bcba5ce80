import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { Admin, KafkaError, Producer } from '../ts/index'
import { brokers, createTopic, uniqueTopic } from './helpers'

describe('first round trip: TS -> napi -> Rust -> TCP -> Kafka', () => {
  it('describes the cluster', async () => {
    const admin = new Admin({ bootstrapServers: brokers() })
    const c = await admin.describeCluster()
    await admin.close()
    expect(c.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/)
    expect(c.brokers.length).toBeGreaterThanOrEqual(1)
    const [host, port] = brokers().split(',')[0]!.split(':')
    expect(c.brokers.some((b) => b.host === host && b.port === Number(port))).toBe(true)
    // KRaft brokers report a live broker as "controller" (clients never talk to the quorum).
    expect(c.brokers.map((b) => b.nodeId)).toContain(c.controllerId)
  })

  it('creates, lists, describes and deletes topics', async () => {
    const topic = uniqueTopic('admin')
    await createTopic(topic, 3)
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      expect(await admin.listTopics()).toContain(topic)
      const [meta] = await admin.fetchTopicMetadata([topic])
      expect(meta!.name).toBe(topic)
      expect(meta!.partitions.map((p) => p.partition)).toEqual([0, 1, 2])
      for (const p of meta!.partitions) expect(p.leader).toBeGreaterThanOrEqual(0)
      const again = admin.createTopics([{ topic, numPartitions: 1 }])
      await expect(again).rejects.toMatchObject({ code: 'TOPIC_ALREADY_EXISTS', topic })
      await admin.deleteTopics([topic])
      await expect(admin.deleteTopics([topic])).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    } finally {
      await admin.close()
    }
  })

  it('fetchTopicOffsets: earliest, latest and by timestamp', async () => {
    const topic = uniqueTopic('offsets')
    await createTopic(topic, 2)
    const p = new Producer({ bootstrapServers: brokers() })
    await p.send({ topic, messages: [0, 1, 2].map((i) => ({ value: `a${i}`, partition: 0, timestamp: 1_000 + i })) })
    await p.send({ topic, messages: [{ value: 'b', partition: 1, timestamp: 5_000 }] })
    await p.close()
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      expect((await admin.fetchTopicOffsets(topic)).map((o) => [o.partition, o.offset])).toEqual([
        [0, 3n],
        [1, 1n],
      ])
      expect((await admin.fetchTopicOffsets(topic, 'earliest')).map((o) => o.offset)).toEqual([0n, 0n])
      const byTime = await admin.fetchTopicOffsets(topic, 1_001)
      expect(byTime[0]).toMatchObject({ partition: 0, offset: 1n, timestamp: 1_001 })
      expect(byTime[1]).toMatchObject({ partition: 1, offset: 0n, timestamp: 5_000 })
      await expect(admin.fetchTopicOffsets(uniqueTopic('nope'))).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    } finally {
      await admin.close()
    }
  })

  it('Producer.connect() reports the cluster', async () => {
    const p = new Producer({ bootstrapServers: brokers() })
    const info = await p.connect()
    expect(info.brokers.length).toBeGreaterThanOrEqual(1)
    expect(info.clusterId).toBeTruthy()
    await p.close()
  })
})

describe('bad bootstrap input gives a typed KafkaError, never a hang', () => {
  it('malformed bootstrapServers names the key', () => {
    for (const bad of ['localhost', 'localhost:abc', ':9092', 'a:1:2', '']) {
      let err: unknown
      try {
        new Admin({ bootstrapServers: bad })
      } catch (e) {
        err = e
      }
      expect(err, bad).toBeInstanceOf(KafkaError)
      expect((err as KafkaError).code).toBe('INVALID_CONFIG')
      expect((err as KafkaError).message).toContain('bootstrapServers')
    }
  })

  it('an unreachable server fails within requestTimeoutMs', async () => {
    // A port that was free a moment ago: nothing listens there.
    const port = await new Promise<number>((resolve) => {
      const s = createServer()
      s.listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port
        s.close(() => resolve(p))
      })
    })
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port}`, requestTimeoutMs: 1500 })
    const t0 = Date.now()
    const err = await admin.describeCluster().catch((e) => e)
    const took = Date.now() - t0
    expect(err).toBeInstanceOf(KafkaError)
    expect(err.code).toBe('NETWORK_EXCEPTION')
    expect(err.retriable).toBe(true)
    expect(err.message).toContain(`127.0.0.1:${port}`)
    expect(took).toBeLessThan(1500 + 2000)
    await admin.close()
  })

  it('a server that is not Kafka gives PROTOCOL_ERROR or a timeout, not a hang', async () => {
    // Speaks HTTP back at whatever it receives.
    const server = createServer((sock) => {
      sock.on('data', () => sock.write('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n'))
      sock.on('error', () => {})
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()))
    const port = (server.address() as { port: number }).port
    const admin = new Admin({ bootstrapServers: `127.0.0.1:${port}`, requestTimeoutMs: 1500 })
    const err = await admin.describeCluster().catch((e) => e)
    expect(err).toBeInstanceOf(KafkaError)
    expect(err.message).toMatch(/not speaking the Kafka protocol|Kafka broker/)
    await admin.close()
    // A silent server: connects, never answers.
    const silent = createServer((sock) => sock.on('error', () => {}))
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()))
    const sport = (silent.address() as { port: number }).port
    const admin2 = new Admin({ bootstrapServers: `127.0.0.1:${sport}`, requestTimeoutMs: 1000 })
    const t0 = Date.now()
    const err2 = await admin2.describeCluster().catch((e) => e)
    expect(err2).toBeInstanceOf(KafkaError)
    expect(Date.now() - t0).toBeLessThan(4000)
    await admin2.close()
    server.close()
    silent.close()
  })
})
