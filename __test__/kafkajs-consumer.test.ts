import { afterEach, describe, expect, it } from 'vitest'
import { type Consumer, type EachBatchPayload, Kafka, KafkaJSNumberOfRetriesExceeded, type KafkaMessage, logLevel } from '../ts/kafkajs'
import { brokers, createTopic, produceRange, uniqueTopic, until } from './helpers'

function kafka(): Kafka {
  return new Kafka({ clientId: 'kjs-consumer-test', brokers: [brokers()], logLevel: logLevel.NOTHING })
}

const open: Consumer[] = []
afterEach(async () => {
  for (const c of open.splice(0)) await c.disconnect().catch(() => {})
})

async function consumer(groupId: string, extra: Record<string, unknown> = {}): Promise<Consumer> {
  const c = kafka().consumer({ groupId, maxWaitTimeInMs: 200, ...extra })
  open.push(c)
  await c.connect()
  return c
}

async function committed(groupId: string, topic: string): Promise<string[]> {
  const admin = kafka().admin()
  await admin.connect()
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] })
    return (t?.partitions ?? []).map((p) => p.offset)
  } finally {
    await admin.disconnect()
  }
}

describe('kafkajs consumer', () => {
  it('eachMessage gets { topic, partition, message } with Buffer key/value, header object, offset and timestamp strings', async () => {
    const topic = uniqueTopic('kjs-each')
    await createTopic(topic, 1)
    const producer = kafka().producer()
    await producer.connect()
    await producer.send({
      topic,
      messages: [{ key: 'k', value: 'v', timestamp: '1700000000000', headers: { h: 'x', d: ['1', '2'] } }, { value: null }],
    })
    await producer.disconnect()
    const c = await consumer(uniqueTopic('g'))
    await c.subscribe({ topics: [topic], fromBeginning: true })
    const got: Array<{ topic: string; partition: number; message: KafkaMessage }> = []
    await c.run({
      eachMessage: async ({ topic: t, partition, message }) => {
        got.push({ topic: t, partition, message })
      },
    })
    await until(() => got.length === 2, 30_000, 'two messages')
    const m = got[0]?.message as KafkaMessage
    expect(got[0]?.topic).toBe(topic)
    expect(got[0]?.partition).toBe(0)
    expect(Buffer.isBuffer(m.key) && Buffer.isBuffer(m.value)).toBe(true)
    expect([m.key?.toString(), m.value?.toString(), m.offset, m.timestamp, m.attributes]).toEqual(['k', 'v', '0', '1700000000000', 0])
    expect(m.headers.h?.toString()).toBe('x')
    expect((m.headers.d as Buffer[]).map(String)).toEqual(['1', '2'])
    expect(got[1]?.message.value).toBeNull()
    expect(got[1]?.message.offset).toBe('1')
  })

  it('committed offsets are "next to read": after processing offsets 0..9 the group has 10', async () => {
    const topic = uniqueTopic('kjs-commit')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 10)
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    let n = 0
    await c.run({ eachMessage: async () => void n++ })
    await until(() => n === 10, 30_000, '10 messages')
    await c.stop()
    expect(await committed(groupId, topic)).toEqual(['10'])
  })

  it('stop() waits for the running handler and commits the message it finished', async () => {
    const topic = uniqueTopic('kjs-stop-commit')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 3)
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    let release: () => void = () => {}
    const gate = new Promise<void>((r) => {
      release = r
    })
    let entered = false
    const seen: string[] = []
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '1') {
          entered = true
          await gate
        }
      },
    })
    await until(() => entered, 30_000, 'the handler on offset 1')
    const stopped = c.stop()
    await new Promise((r) => setTimeout(r, 300))
    release()
    await stopped
    // Offset 1's handler finished during stop(): it counts; offset 2 was never handed over.
    expect(seen).toEqual(['0', '1'])
    expect(await committed(groupId, topic)).toEqual(['2'])
  })

  it('a throwing eachMessage does not commit that offset and is retried with the same message', async () => {
    const topic = uniqueTopic('kjs-throw')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 5)
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId, { retry: { initialRetryTime: 50, retries: 5 } })
    await c.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    let failures = 0
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '2' && failures++ < 2) throw new Error('transient')
      },
    })
    await until(() => seen.includes('4'), 30_000, 'offset 4')
    await c.stop()
    expect(seen).toEqual(['0', '1', '2', '2', '2', '3', '4'])
    expect(await committed(groupId, topic)).toEqual(['5'])
  })

  it('after the last retry the consumer crashes (CRASH, KafkaJSNumberOfRetriesExceeded) and restartOnFailure false keeps it down; resolved offsets stay committed', async () => {
    const topic = uniqueTopic('kjs-crash')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 3)
    const groupId = uniqueTopic('g')
    const asked: Error[] = []
    const c = await consumer(groupId, {
      retry: {
        initialRetryTime: 20,
        retries: 2,
        restartOnFailure: async (e: Error) => {
          asked.push(e)
          return false
        },
      },
    })
    const crashes: Array<{ error: Error; restart: boolean }> = []
    c.on(c.events.CRASH, (e) => crashes.push(e.payload))
    await c.subscribe({ topic, fromBeginning: true })
    let calls = 0
    await c.run({
      eachMessage: async ({ message }) => {
        calls++
        if (message.offset === '1') throw new Error('always')
      },
    })
    await until(() => crashes.length === 1, 30_000, 'a crash')
    expect(crashes[0]?.restart).toBe(false)
    expect(crashes[0]?.error).toBeInstanceOf(KafkaJSNumberOfRetriesExceeded)
    expect(asked).toHaveLength(1)
    // offset 0 once, offset 1 three times (first try + 2 retries)
    expect(calls).toBe(4)
    expect(await committed(groupId, topic)).toEqual(['1'])
  })

  it('by default a crash restarts the consumer (CRASH restart: true) and the failed message is delivered again', async () => {
    const topic = uniqueTopic('kjs-restart-crash')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 3)
    const c = await consumer(uniqueTopic('g'), { retry: { initialRetryTime: 50, retries: 0 } })
    const crashes: boolean[] = []
    c.on(c.events.CRASH, (e) => crashes.push(e.payload.restart))
    await c.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    let thrown = false
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '1' && !thrown) {
          thrown = true
          throw new Error('once')
        }
      },
    })
    await until(() => seen.includes('2'), 60_000, 'offset 2 after the restart')
    expect(crashes).toEqual([true])
    expect(seen).toEqual(['0', '1', '1', '2'])
  })

  it('consumer.pause([{ topic }]) outside the handler stops the topic until resume(); paused() lists its partitions', async () => {
    const topic = uniqueTopic('kjs-pause-topic')
    await createTopic(topic, 2)
    const c = await consumer(uniqueTopic('g'))
    await c.subscribe({ topic, fromBeginning: true })
    let n = 0
    const joined = new Promise((r) => c.on(c.events.GROUP_JOIN, r))
    await c.run({ eachMessage: async () => void n++ })
    await joined
    c.pause([{ topic }])
    expect(c.paused()).toEqual([{ topic, partitions: [0, 1] }])
    await produceRange(topic, 0, 6)
    await new Promise((r) => setTimeout(r, 1500))
    expect(n).toBe(0)
    c.resume([{ topic }])
    await until(() => n === 6, 30_000, 'six after resume')
    expect(c.paused()).toEqual([])
  })

  it('partitionsConsumedConcurrently runs several partitions at once and keeps each partition in order', async () => {
    const topic = uniqueTopic('kjs-concurrent')
    await createTopic(topic, 3)
    const producer = kafka().producer()
    await producer.connect()
    for (let p = 0; p < 3; p++)
      await producer.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: String(i), partition: p })) })
    await producer.disconnect()
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    let active = 0
    let maxActive = 0
    const byPartition = new Map<number, string[]>()
    await c.run({
      partitionsConsumedConcurrently: 3,
      eachMessage: async ({ partition, message }) => {
        active++
        maxActive = Math.max(maxActive, active)
        await new Promise((r) => setTimeout(r, 50))
        byPartition.set(partition, [...(byPartition.get(partition) ?? []), message.offset])
        active--
      },
    })
    await until(() => [...byPartition.values()].reduce((a, l) => a + l.length, 0) === 15, 30_000, '15 messages')
    await c.stop()
    expect(maxActive).toBeGreaterThan(1)
    for (const p of [0, 1, 2]) expect(byPartition.get(p)).toEqual(['0', '1', '2', '3', '4'])
    expect(await committed(groupId, topic)).toEqual(['5', '5', '5'])
  })

  it('eachBatch: batch fields, resolveOffset with eachBatchAutoResolve false commits only what was resolved', async () => {
    const topic = uniqueTopic('kjs-batch')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 20)
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    const batches: Array<{ first: string | null; last: string; high: string; lag: string; n: number; running: boolean; stale: boolean }> =
      []
    let resolvedUpTo = -1
    await c.run({
      eachBatchAutoResolve: false,
      eachBatch: async ({ batch, resolveOffset, isRunning, isStale, uncommittedOffsets }: EachBatchPayload) => {
        batches.push({
          first: batch.firstOffset(),
          last: batch.lastOffset(),
          high: batch.highWatermark,
          lag: batch.offsetLag(),
          n: batch.messages.length,
          running: isRunning(),
          stale: isStale(),
        })
        for (const m of batch.messages) {
          if (Number(m.offset) >= 15) break
          resolveOffset(m.offset)
          resolvedUpTo = Number(m.offset)
        }
        expect(uncommittedOffsets().topics[0]?.partitions[0]?.offset).toBe(String(resolvedUpTo + 1))
      },
    })
    await until(() => batches.reduce((a, b) => a + b.n, 0) >= 20, 30_000, 'all records in batches')
    await c.stop()
    const b0 = batches[0] as (typeof batches)[number]
    expect(b0.first).toBe('0')
    expect(b0.high).toBe('20')
    expect(b0.lag).toBe(String(20 - 1 - Number(b0.last)))
    expect(b0.running && !b0.stale).toBe(true)
    expect(await committed(groupId, topic)).toEqual(['15'])
  })

  it('pause() inside eachMessage stops that partition; the returned resume() continues with the next message, none lost', async () => {
    const topic = uniqueTopic('kjs-pause')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 10)
    const c = await consumer(uniqueTopic('g'))
    await c.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    let resume: (() => void) | null = null
    await c.run({
      eachMessage: async ({ message, pause }) => {
        seen.push(message.offset)
        if (message.offset === '3') resume = pause()
      },
    })
    await until(() => resume !== null, 30_000, 'the pause')
    await new Promise((r) => setTimeout(r, 1500))
    expect(seen).toEqual(['0', '1', '2', '3'])
    expect(c.paused()).toEqual([{ topic, partitions: [0] }])
    ;(resume as unknown as () => void)()
    await until(() => seen.length === 10, 30_000, 'the rest after resume')
    expect(seen).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
    expect(c.paused()).toEqual([])
  })

  it('seek() moves a running consumer to an offset; commitOffsets() with autoCommit false commits exactly what it is given', async () => {
    const topic = uniqueTopic('kjs-seek')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 10)
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    let sought = false
    await c.run({
      autoCommit: false,
      eachMessage: async ({ message }) => {
        seen.push(message.offset)
        if (message.offset === '5' && !sought) {
          sought = true
          c.seek({ topic, partition: 0, offset: '1' })
        }
      },
    })
    await until(() => seen.filter((o) => o === '9').length === 1 && seen.length >= 15, 30_000, 'the re-read after the seek')
    expect(seen.slice(0, 7)).toEqual(['0', '1', '2', '3', '4', '5', '1'])
    expect(await committed(groupId, topic)).toEqual(['-1'])
    await c.commitOffsets([{ topic, partition: 0, offset: '7' }])
    expect(await committed(groupId, topic)).toEqual(['7'])
  })

  it('events: CONNECT, GROUP_JOIN with the assignment, START/END_BATCH_PROCESS, COMMIT_OFFSETS, STOP, DISCONNECT', async () => {
    const topic = uniqueTopic('kjs-events')
    await createTopic(topic, 2)
    await produceRange(topic, 0, 6)
    const groupId = uniqueTopic('g')
    const c = kafka().consumer({ groupId, maxWaitTimeInMs: 200 })
    const events: Array<{ type: string; payload: any }> = []
    for (const name of [
      'CONNECT',
      'GROUP_JOIN',
      'START_BATCH_PROCESS',
      'END_BATCH_PROCESS',
      'COMMIT_OFFSETS',
      'STOP',
      'DISCONNECT',
      'REBALANCING',
    ] as const) {
      c.on(c.events[name], (e) => events.push({ type: e.type, payload: e.payload }))
    }
    await c.connect()
    await c.subscribe({ topic, fromBeginning: true })
    let n = 0
    await c.run({ eachMessage: async () => void n++ })
    await until(() => n === 6, 30_000, 'six messages')
    await until(() => events.some((e) => e.type === 'consumer.commit_offsets'), 10_000, 'a commit')
    await c.disconnect()
    const types = events.map((e) => e.type)
    expect(types[0]).toBe('consumer.connect')
    const join = events.find((e) => e.type === 'consumer.group_join')
    expect(join?.payload).toMatchObject({ groupId, memberAssignment: { [topic]: [0, 1] } })
    expect(join?.payload.memberId).toMatch(/.+/)
    const start = events.find((e) => e.type === 'consumer.start_batch_process')
    expect(start?.payload).toMatchObject({ topic, highWatermark: '3', batchSize: expect.any(Number) })
    expect(types).toContain('consumer.end_batch_process')
    expect(types.slice(-2)).toEqual(['consumer.stop', 'consumer.disconnect'])
  })

  it('subscribe() takes a RegExp: matching topics are consumed', async () => {
    const prefix = uniqueTopic('kjs-re')
    await createTopic(`${prefix}-a`, 1)
    await createTopic(`${prefix}-b`, 1)
    await produceRange(`${prefix}-a`, 0, 2)
    await produceRange(`${prefix}-b`, 0, 3)
    const c = await consumer(uniqueTopic('g'))
    await c.subscribe({ topics: [new RegExp(`^${prefix}-`)], fromBeginning: true })
    const topics = new Set<string>()
    let n = 0
    await c.run({
      eachMessage: async ({ topic }) => {
        topics.add(topic)
        n++
      },
    })
    await until(() => n === 5, 30_000, 'five messages')
    expect([...topics].sort()).toEqual([`${prefix}-a`, `${prefix}-b`])
  })

  it('describeGroup() returns the KafkaJS group shape with decodable member assignments', async () => {
    const { AssignerProtocol } = await import('../ts/kafkajs')
    const topic = uniqueTopic('kjs-describe')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 1)
    const groupId = uniqueTopic('g')
    const c = await consumer(groupId)
    await c.subscribe({ topic, fromBeginning: true })
    let n = 0
    await c.run({ eachMessage: async () => void n++ })
    await until(() => n === 1, 30_000, 'one message')
    const g = await c.describeGroup()
    expect(g).toMatchObject({ groupId, state: 'Stable', protocolType: 'consumer', protocol: 'roundrobin' })
    expect(g.members).toHaveLength(1)
    expect(AssignerProtocol.MemberAssignment.decode(g.members[0]?.memberAssignment as Buffer)?.assignment).toEqual({ [topic]: [0] })
  })

  it('stop() then run() again resumes from the committed offsets', async () => {
    const topic = uniqueTopic('kjs-restart')
    await createTopic(topic, 1)
    await produceRange(topic, 0, 3)
    const c = await consumer(uniqueTopic('g'))
    await c.subscribe({ topic, fromBeginning: true })
    const seen: string[] = []
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.offset) })
    await until(() => seen.length === 3, 30_000, 'three')
    await c.stop()
    await produceRange(topic, 3, 5)
    await c.run({ eachMessage: async ({ message }) => void seen.push(message.offset) })
    await until(() => seen.length === 5, 30_000, 'five')
    expect(seen).toEqual(['0', '1', '2', '3', '4'])
  })
})
