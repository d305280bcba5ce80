import { describe, expect, it } from 'vitest'
import { Consumer, KafkaError, type Message, Producer } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic } from './helpers'

async function produceN(
  topic: string,
  n: number,
  opts: { partition?: (i: number) => number; key?: (i: number) => string | null } = {},
): Promise<void> {
  const p = new Producer({ bootstrapServers: brokers(), lingerMs: 2 })
  const sends = []
  for (let i = 0; i < n; i += 500) {
    sends.push(
      p.send({
        topic,
        messages: Array.from({ length: Math.min(500, n - i) }, (_, j) => ({
          key: opts.key ? opts.key(i + j) : `k${(i + j) % 17}`,
          partition: opts.partition?.(i + j),
          value: `v${i + j}`,
          timestamp: 1_700_000_000_000 + i + j,
          headers: [['seq', String(i + j)] as [string, string]],
        })),
      }),
    )
  }
  await Promise.all(sends)
  await p.close()
}

/** Reads until `n` messages arrived (or a deadline), through the async iterator. */
async function readN<K, V>(c: Consumer<K, V>, n: number, timeoutMs = 60_000): Promise<Message<K, V>[]> {
  const out: Message<K, V>[] = []
  const deadline = Date.now() + timeoutMs
  const timer = setInterval(() => {
    if (Date.now() > deadline) c.stop()
  }, 200)
  try {
    for await (const m of c) {
      out.push(m)
      if (out.length >= n) break
    }
  } finally {
    clearInterval(timer)
  }
  return out
}

describe('consumer: manual assignment', () => {
  it('reads every message once, in order per partition, fields intact', async () => {
    const topic = uniqueTopic('c-read')
    await createTopic(topic, 3)
    const n = 3000
    await produceN(topic, n)
    const c = new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'earliest', maxPartitionFetchBytes: 8192 })
    c.assign([0, 1, 2].map((partition) => ({ topic, partition })))
    const got = await readN(c, n)
    await c.close()
    expect(got.length).toBe(n)
    const seen = new Set<number>()
    const lastByPartition = new Map<number, bigint>()
    for (const m of got) {
      const seq = Number(m.headers[0]![1]!.toString())
      expect(seen.has(seq)).toBe(false)
      seen.add(seq)
      expect(m.value?.toString()).toBe(`v${seq}`)
      expect(m.key?.toString()).toBe(`k${seq % 17}`)
      expect(m.timestamp).toBe(1_700_000_000_000 + seq)
      expect(m.timestampType).toBe('CreateTime')
      expect(m.topic).toBe(topic)
      const prev = lastByPartition.get(m.partition) ?? -1n
      expect(m.offset).toBe(prev + 1n)
      lastByPartition.set(m.partition, m.offset)
    }
    expect(seen.size).toBe(n)
  })

  it('reads messages written by the Java producer (an independent writer)', async () => {
    const topic = uniqueTopic('c-java')
    await createTopic(topic, 2)
    const kafka = await kafkaScript()
    const records = Array.from({ length: 200 }, (_, i) => ({
      key: i % 3 === 0 ? null : Buffer.from([i, 255 - (i % 256), 0]),
      value: i === 7 ? null : `java-${i}`,
      headers:
        i % 2
          ? [
              ['h', `x${i}`],
              ['h', null],
            ]
          : [],
      partition: i % 2,
      timestamp: 1_600_000_000_000 + i,
    }))
    await kafka.consoleProduce({ bootstrap: brokers(), topic, records })
    const c = new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'earliest' }, { valueDeserializer: 'string' })
    c.assign([
      { topic, partition: 0 },
      { topic, partition: 1 },
    ])
    const got = await readN(c, 200)
    await c.close()
    expect(got.length).toBe(200)
    for (const m of got) {
      const i = m.timestamp - 1_600_000_000_000
      const want = records[i]!
      expect(m.partition).toBe(want.partition)
      expect(m.value).toBe(want.value)
      expect(m.keyBytes).toEqual(want.key)
      expect(m.headers).toEqual(want.headers.map(([k, v]) => [k, v === null ? null : Buffer.from(v as string)]))
    }
  })

  it('seek, pause/resume, position, explicit start offsets', async () => {
    const topic = uniqueTopic('c-seek')
    await createTopic(topic, 2)
    await produceN(topic, 200, { partition: (i) => i % 2 })
    const c = new Consumer({ bootstrapServers: brokers() }, { valueDeserializer: 'string' })
    c.assign([
      { topic, partition: 0, offset: 10 },
      { topic, partition: 1, offset: 0n },
    ])
    const first = await readN(c, 5)
    expect(first.every((m) => (m.partition === 0 ? m.offset >= 10n : true))).toBe(true)
    // Read everything, then seek partition 0 back to 3.
    const rest = await readN(c, 200 - 10 - 5)
    expect(first.length + rest.length).toBe(190)
    expect(c.position({ topic, partition: 0 })).toBe(100n)
    c.seek({ topic, partition: 0, offset: 3n })
    const again = await readN(c, 1)
    expect([again[0]!.partition, again[0]!.offset]).toEqual([0, 3n])
    // Pause partition 0: only partition 1 (after a seek) delivers.
    c.pause([{ topic, partition: 0 }])
    c.seek({ topic, partition: 1, offset: 50 })
    const onlyOne = await readN(c, 20)
    expect(onlyOne.every((m) => m.partition === 1)).toBe(true)
    c.resume([{ topic, partition: 0 }])
    const resumed = await readN(c, 30 + 96)
    expect(resumed.some((m) => m.partition === 0)).toBe(true)
    expect(() => c.seek({ topic, partition: 9, offset: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/not assigned/) }),
    )
    expect(() => c.seek({ topic, partition: 0, offset: -1 })).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    await c.close()
    expect(() => c.assign([{ topic, partition: 0 }])).toThrow(expect.objectContaining({ code: 'CLIENT_CLOSED' }))
  })

  it("autoOffsetReset: 'latest' reads only new messages; 'none' is a typed error", async () => {
    const topic = uniqueTopic('c-reset')
    await createTopic(topic, 1)
    await produceN(topic, 10)
    const latest = new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'latest' }, { valueDeserializer: 'string' })
    latest.assign([{ topic, partition: 0 }])
    for (let i = 0; i < 100 && latest.position({ topic, partition: 0 }) === null; i++) await new Promise((r) => setTimeout(r, 50))
    expect(latest.position({ topic, partition: 0 })).toBe(10n)
    await produceN(topic, 3)
    const got = await readN(latest, 3)
    expect(got.map((m) => m.offset)).toEqual([10n, 11n, 12n])
    await latest.close()

    const none = new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'none' })
    none.assign([{ topic, partition: 0 }])
    const err = await (async () => {
      try {
        for await (const _ of none) return null
      } catch (e) {
        return e
      }
      return null
    })()
    expect(err).toBeInstanceOf(KafkaError)
    expect((err as KafkaError).message).toMatch(/autoOffsetReset is 'none'/)
    // Out of range with 'none': seeking past the end is reported when fetched.
    const oor = new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'none' })
    oor.assign([{ topic, partition: 0, offset: 1000 }])
    const err2 = await (async () => {
      try {
        for await (const _ of oor) return null
      } catch (e) {
        return e
      }
      return null
    })()
    expect(err2).toMatchObject({ code: 'OFFSET_OUT_OF_RANGE', topic, partition: 0 })
    await none.close()
    await oor.close()
  })

  it('run({ eachMessage }) and batches() use the same poll; deserializers', async () => {
    const topic = uniqueTopic('c-run')
    await createTopic(topic, 1)
    const p = new Producer({ bootstrapServers: brokers() })
    await p.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: JSON.stringify({ i }) })) })
    await p.close()
    const c = new Consumer<string, { i: number }>(
      { bootstrapServers: brokers(), autoOffsetReset: 'earliest' },
      { keyDeserializer: 'string', valueDeserializer: 'json' },
    )
    c.assign([{ topic, partition: 0 }])
    const seen: number[] = []
    await c.run({
      eachMessage: async ({ message }) => {
        seen.push(message.value.i)
        expect(message.key).toBe(`k${message.value.i}`)
        if (seen.length === 50) c.stop()
      },
    })
    expect(seen).toEqual(Array.from({ length: 50 }, (_, i) => i))
    c.seek({ topic, partition: 0, offset: 40 })
    for await (const batch of c.batches()) {
      expect(batch.messages[0]!.offset).toBe(40n)
      break
    }
    await c.close()
  })

  it('bad input is a typed error naming the problem', () => {
    const bad: Array<[() => unknown, RegExp]> = [
      [() => new Consumer({ bootstrapServers: brokers(), autoOffsetReset: 'oldest' as any }), /autoOffsetReset/],
      [() => new Consumer({ bootstrapServers: brokers(), isolationLevel: 'dirty' as any }), /isolationLevel/],
      [() => new Consumer({ bootstrapServers: brokers(), fetchMaxWaitMs: -5 }), /fetchMaxWaitMs/],
      [() => new Consumer({ bootstrapServers: brokers(), groupID: 'x' } as any), /did you mean `groupId`/],
      [() => new Consumer({ bootstrapServers: brokers(), maxPollRecords: 0 }), /maxPollRecords/],
      [() => new Consumer({ bootstrapServers: brokers() }, { valueDeserializer: 'xml' as any }), /valueDeserializer/],
    ]
    for (const [f, msg] of bad) {
      expect(f).toThrow(expect.objectContaining({ message: expect.stringMatching(msg) }))
    }
    const c = new Consumer({ bootstrapServers: brokers() })
    expect(() => c.assign([{ topic: 'bad topic', partition: 0 }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => c.assign([{ topic: 't', partition: -1 }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    expect(() => c.assign([{ topic: 't', partition: 0, offset: -2 }])).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
    void c.close()
  })
})
