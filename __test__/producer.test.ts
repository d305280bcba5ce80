import { describe, expect, it } from 'vitest'
import { type DeliveryReport, KafkaError, Producer } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic } from './helpers'

/** Collects delivery reports until `n` arrived. */
function collector() {
  const reports: DeliveryReport[] = []
  const waiters: Array<() => void> = []
  return {
    reports,
    onDelivery: (r: DeliveryReport) => {
      reports.push(r)
      for (const w of waiters.splice(0)) w()
    },
    async until(n: number, timeoutMs = 60_000): Promise<DeliveryReport[]> {
      const deadline = Date.now() + timeoutMs
      while (reports.length < n) {
        if (Date.now() > deadline) throw new Error(`only ${reports.length} of ${n} reports after ${timeoutMs} ms`)
        await new Promise<void>((r) => {
          waiters.push(r)
          setTimeout(r, 200)
        })
      }
      return reports
    },
  }
}

/** Reads `n` records with Kafka's own Java console consumer (an independent decoder). */
async function javaRead(topic: string, n: number): Promise<any[]> {
  const kafka = await kafkaScript()
  // Generous idle timeout: a JVM start plus a group join is slow on a loaded 2-core box.
  return kafka.consoleConsume({ bootstrap: brokers(), topic, maxMessages: n, timeoutMs: 60_000 })
}

describe('produce() fast path', () => {
  it('6 partitions: every message arrives once, intact and in order, as the Java consumer reads it', async () => {
    const topic = uniqueTopic('p6')
    await createTopic(topic, 6)
    const c = collector()
    const p = new Producer({ bootstrapServers: brokers(), lingerMs: 2, batchSize: 2048 }, c.onDelivery)
    const n = 3000
    const ts0 = 1_700_000_000_000
    for (let i = 0; i < n; i++) {
      const key = `k${i % 50}`
      p.produce(topic, key, Buffer.from(`v-${i}`), {
        timestamp: ts0 + i,
        headers: [
          ['seq', String(i)],
          ['dup', 'a'],
          ['dup', Buffer.from([0, 255])],
          ['nil', null],
        ],
      })
    }
    await p.flush(30_000)
    await c.until(n)
    expect(c.reports.length).toBe(n)
    for (const r of c.reports) {
      expect(r.error).toBeNull()
      expect(r.topic).toBe(topic)
      expect(r.offset).toBeGreaterThanOrEqual(0n)
    }
    // Lazily rebuilt key/value/headers equal what was produced.
    const bySeq = new Map(c.reports.map((r) => [Number(r.headers[0]![1]!.toString()), r]))
    expect(bySeq.size).toBe(n)
    const r17 = bySeq.get(17)!
    expect(r17.key?.toString()).toBe('k17')
    expect(r17.value?.toString()).toBe('v-17')
    expect(r17.timestamp).toBe(ts0 + 17)
    expect(r17.headers).toEqual([
      ['seq', Buffer.from('17')],
      ['dup', Buffer.from('a')],
      ['dup', Buffer.from([0, 255])],
      ['nil', null],
    ])
    await p.close()

    const got = await javaRead(topic, n)
    expect(got.length).toBe(n)
    const seen = new Set<number>()
    const lastSeqByKey = new Map<string, number>()
    const lastOffsetByPartition = new Map<number, bigint>()
    for (const m of got.sort((a, b) => a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)))) {
      const seq = Number(m.headers[0].value.toString())
      expect(seen.has(seq)).toBe(false)
      seen.add(seq)
      expect(m.key.toString()).toBe(`k${seq % 50}`)
      expect(m.value.toString()).toBe(`v-${seq}`)
      expect(Number(m.timestamp)).toBe(ts0 + seq)
      expect(m.headers.map((h: any) => h.key)).toEqual(['seq', 'dup', 'dup', 'nil'])
      expect(m.headers[2].value).toEqual(Buffer.from([0, 255]))
      expect(m.headers[3].value).toBeNull()
      // Per-key (so per-partition) order is kept.
      const prev = lastSeqByKey.get(m.key.toString()) ?? -1
      expect(seq).toBeGreaterThan(prev)
      lastSeqByKey.set(m.key.toString(), seq)
      const off = BigInt(m.offset)
      const prevOff = lastOffsetByPartition.get(m.partition) ?? -1n
      expect(off).toBe(prevOff + 1n)
      lastOffsetByPartition.set(m.partition, off)
      // The report for this message has the same partition and offset.
      const rep = bySeq.get(seq)!
      expect(rep.partition).toBe(m.partition)
      expect(rep.offset).toBe(off)
    }
    expect(seen.size).toBe(n)
    expect(lastOffsetByPartition.size).toBe(6)
  })

  it('keys and values: Buffer, Uint8Array, string, empty, null key, tombstone', async () => {
    const topic = uniqueTopic('kinds')
    await createTopic(topic, 1)
    const c = collector()
    const p = new Producer({ bootstrapServers: brokers(), acks: 1 }, c.onDelivery)
    p.produce(topic, Buffer.from('b'), Buffer.from('buffer'))
    p.produce(topic, new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]))
    p.produce(topic, 'ключ', 'значение ✓')
    p.produce(topic, '', '')
    p.produce(topic, null, 'null key')
    p.produce(topic, 'tomb', null)
    p.produce(topic, undefined, Buffer.alloc(0))
    await p.flush()
    await c.until(7)
    await p.close()
    const got = await javaRead(topic, 7)
    const shown = got.map((m) => [m.key === null ? null : m.key.toString('hex'), m.value === null ? null : m.value.toString('hex')])
    const hex = (s: string) => Buffer.from(s).toString('hex')
    expect(shown).toEqual([
      [hex('b'), hex('buffer')],
      ['010203', '0405'],
      [hex('ключ'), hex('значение ✓')],
      ['', ''],
      [null, hex('null key')],
      [hex('tomb'), null],
      [null, ''],
    ])
    const byOffset = [...c.reports].sort((a, b) => Number(a.offset - b.offset))
    expect(byOffset[2]!.value?.toString()).toBe('значение ✓')
    expect(byOffset[5]!.value).toBeNull()
    expect(byOffset[4]!.key).toBeNull()
  })

  it('acks 0, 1 and all all deliver; acks=0 reports no offset', async () => {
    for (const acks of [0, 1, 'all'] as const) {
      const topic = uniqueTopic(`acks${acks}`)
      await createTopic(topic, 1)
      const c = collector()
      const p = new Producer({ bootstrapServers: brokers(), acks }, c.onDelivery)
      for (let i = 0; i < 100; i++) p.produce(topic, null, `m${i}`)
      await p.flush()
      await c.until(100)
      await p.close()
      expect(c.reports.every((r) => r.error === null)).toBe(true)
      if (acks === 0) expect(c.reports.every((r) => r.offset === -1n)).toBe(true)
      else expect(c.reports.map((r) => r.offset).sort((a, b) => Number(a - b))[99]).toBe(99n)
      const got = await javaRead(topic, 100)
      expect(got.map((m) => m.value.toString())).toEqual(Array.from({ length: 100 }, (_, i) => `m${i}`))
    }
  })

  it('pipelines: more than one produce request in flight on one connection', async () => {
    const topic = uniqueTopic('pipe')
    await createTopic(topic, 1)
    const p = new Producer({ bootstrapServers: brokers(), acks: 'all', batchSize: 16384, lingerMs: 20 })
    const value = Buffer.alloc(1000, 1)
    let sent = 0
    while (sent < 20_000) {
      try {
        p.produce(topic, null, value)
        sent++
      } catch (e) {
        if ((e as KafkaError).code !== 'BUFFER_FULL') throw e
        await p.waitForSpace()
      }
    }
    await p.flush()
    const s = p.stats()
    expect(s.maxInFlight).toBeGreaterThan(1)
    expect(s.outstanding).toBe(0)
    expect(s.bufferedBytes).toBe(0)
    await p.close()
  })
})

describe('send() promise path', () => {
  it('resolves one RecordMetadata per message; concurrent sends share requests', async () => {
    const topic = uniqueTopic('send')
    await createTopic(topic, 3)
    const p = new Producer({ bootstrapServers: brokers(), lingerMs: 10 })
    const before = p.stats().requests
    const sends = Array.from({ length: 200 }, (_, s) =>
      p.send({
        topic,
        messages: Array.from({ length: 5 }, (_, i) => ({ key: `k${s}`, value: `s${s}-m${i}`, timestamp: 1_600_000_000_000 + i })),
      }),
    )
    const results = await Promise.all(sends)
    const requests = p.stats().requests - before
    await p.close()
    expect(results.length).toBe(200)
    for (const r of results) {
      expect(r.length).toBe(5)
      // One key per send: one partition, consecutive offsets.
      for (let i = 0; i < 5; i++) {
        expect(r[i]!.topic).toBe(topic)
        expect(r[i]!.partition).toBe(r[0]!.partition)
        expect(r[i]!.offset).toBe(r[0]!.offset + BigInt(i))
        expect(r[i]!.timestamp).toBe(1_600_000_000_000 + i)
      }
    }
    expect(requests).toBeLessThan(200)
    const got = await javaRead(topic, 1000)
    expect(got.length).toBe(1000)
  })

  it('awaiting one message at a time works', async () => {
    const topic = uniqueTopic('one')
    await createTopic(topic, 1)
    const p = new Producer({ bootstrapServers: brokers(), acks: 1 })
    for (let i = 0; i < 50; i++) {
      const [md] = await p.send({ topic, messages: [{ value: `x${i}` }] })
      expect(md!.offset).toBe(BigInt(i))
    }
    await p.close()
  })

  it('many topics at once', async () => {
    const topics = Array.from({ length: 12 }, (_, i) => uniqueTopic(`many${i}`))
    await Promise.all(topics.map((t) => createTopic(t, 2)))
    const p = new Producer({ bootstrapServers: brokers() })
    const res = await Promise.all(
      topics.map((topic) => p.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: `${topic}:${i}` })) })),
    )
    await p.close()
    res.forEach((r, i) => {
      expect(r.length).toBe(50)
      expect(r.every((m) => m.topic === topics[i])).toBe(true)
    })
  })
})

describe('flush, close and keep-alive', () => {
  it('flush times out naming the pending count; close reports CLIENT_CLOSED; calls after close throw', async () => {
    const c = collector()
    // Nothing listens there: records stay pending.
    const p = new Producer({ bootstrapServers: '127.0.0.1:1', requestTimeoutMs: 1000, maxBlockMs: 60_000 }, c.onDelivery)
    p.produce('never-delivered', null, 'a')
    p.produce('never-delivered', null, 'b')
    const sent = p.send({ topic: 'never-delivered', messages: [{ value: 'c' }] }).catch((e) => e)
    const err = await p.flush(300).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaError)
    expect(err.code).toBe('TIMEOUT')
    expect(err.message).toMatch(/3 record\(s\) still pending/)
    await p.close(200).catch(() => {})
    await c.until(2, 5000)
    expect(c.reports.map((r) => r.error?.code)).toEqual(['CLIENT_CLOSED', 'CLIENT_CLOSED'])
    expect(c.reports.map((r) => r.value?.toString()).sort()).toEqual(['a', 'b'])
    expect(await sent).toMatchObject({ code: 'CLIENT_CLOSED' })
    expect(() => p.produce('t', null, 'x')).toThrow(expect.objectContaining({ code: 'CLIENT_CLOSED' }))
    await expect(p.send({ topic: 't', messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
    await expect(p.flush()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
  })

  it('an idle producer does not keep Node alive; pending messages do until reported', async () => {
    const { spawnSync } = await import('node:child_process')
    const script = (body: string) =>
      spawnSync(process.execPath, ['-e', `const { Producer } = require(${JSON.stringify(`${process.cwd()}/dist/index.js`)});\n${body}`], {
        encoding: 'utf8',
        timeout: 30_000,
      })
    const topic = uniqueTopic('alive')
    await createTopic(topic, 1)
    const idle = script(`const p = new Producer({ bootstrapServers: '${brokers()}' }); p.connect().then(() => console.log('connected'))`)
    expect(idle.status, idle.stderr).toBe(0)
    expect(idle.stdout).toContain('connected')
    expect(idle.error).toBeUndefined() // no timeout: the process exited on its own
    const busy = script(
      `let n = 0; const p = new Producer({ bootstrapServers: '${brokers()}', lingerMs: 50 }, (r) => { if (!r.error) n++ });\n` +
        `for (let i = 0; i < 1000; i++) p.produce('${topic}', null, 'x' + i);\n` +
        `process.on('exit', () => console.log('delivered ' + n))`,
    )
    expect(busy.status, busy.stderr).toBe(0)
    expect(busy.stdout).toContain('delivered 1000')
  })
})

describe('bad input: a typed error naming the problem, no other message lost', () => {
  it('rejects bad records at once and still delivers the good ones', async () => {
    const topic = uniqueTopic('bad')
    await createTopic(topic, 2)
    const c = collector()
    const p = new Producer({ bootstrapServers: brokers(), maxRequestSize: 10_000 }, c.onDelivery)
    await p.connect()
    const attempts: Array<[string, () => void, string, RegExp]> = [
      ['invalid topic name', () => p.produce('bad topic!', null, 'x'), 'INVALID_ARGUMENT', /topic name.*contains ` `/],
      ['topic ".."', () => p.produce('..', null, 'x'), 'INVALID_ARGUMENT', /not allowed/],
      ['topic too long', () => p.produce('t'.repeat(250), null, 'x'), 'INVALID_ARGUMENT', /longer than 249/],
      ['value of a wrong type', () => p.produce(topic, null, 42 as any), 'INVALID_ARGUMENT', /value.*Buffer, Uint8Array, string/],
      ['key of a wrong type', () => p.produce(topic, { a: 1 } as any, 'x'), 'INVALID_ARGUMENT', /key/],
      ['record too large', () => p.produce(topic, null, Buffer.alloc(20_000)), 'MESSAGE_TOO_LARGE', /maxRequestSize/],
      ['negative partition', () => p.produce(topic, null, 'x', { partition: -1 }), 'INVALID_ARGUMENT', /partition/],
      ['fractional partition', () => p.produce(topic, null, 'x', { partition: 1.5 }), 'INVALID_ARGUMENT', /partition/],
      ['non-finite timestamp', () => p.produce(topic, null, 'x', { timestamp: Number.NaN }), 'INVALID_ARGUMENT', /timestamp/],
      ['header key not a string', () => p.produce(topic, null, 'x', { headers: [[7 as any, 'v']] }), 'INVALID_ARGUMENT', /header key/],
    ]
    for (const [what, call, code, msg] of attempts) {
      p.produce(topic, 'good', `before ${what}`)
      let err: unknown
      try {
        call()
      } catch (e) {
        err = e
      }
      expect(err, what).toBeInstanceOf(KafkaError)
      expect((err as KafkaError).code, what).toBe(code)
      expect((err as KafkaError).message, what).toMatch(msg)
    }
    // Out of range partition: metadata is known after connect + first delivery.
    await p.flush()
    expect(() => p.produce(topic, null, 'x', { partition: 2 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/out of range.*2 partitions/) }),
    )
    await p.flush()
    await c.until(attempts.length)
    await p.close()
    expect(c.reports.length).toBe(attempts.length)
    expect(c.reports.every((r) => r.error === null)).toBe(true)
    const got = await javaRead(topic, attempts.length)
    expect(got.map((m) => m.value.toString()).sort()).toEqual(attempts.map(([w]) => `before ${w}`).sort())
  })

  it('an unknown topic (auto-create off) fails its records after maxBlockMs', async () => {
    const c = collector()
    const p = new Producer({ bootstrapServers: brokers(), maxBlockMs: 1500 }, c.onDelivery)
    const topic = uniqueTopic('missing')
    const t0 = Date.now()
    p.produce(topic, null, 'lost')
    const sent = p.send({ topic, messages: [{ value: 'lost too' }] })
    await expect(sent).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', topic })
    await c.until(1)
    expect(Date.now() - t0).toBeGreaterThanOrEqual(1400)
    expect(c.reports[0]!.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(c.reports[0]!.error?.message).toContain(topic)
    expect(c.reports[0]!.partition).toBe(-1)
    expect(c.reports[0]!.value?.toString()).toBe('lost')
    await p.close()
  })

  it('broker-side errors arrive in the report (MESSAGE_TOO_LARGE from max.message.bytes)', async () => {
    const topic = uniqueTopic('small')
    await createTopic(topic, 1, { 'max.message.bytes': '2000' })
    const c = collector()
    const p = new Producer({ bootstrapServers: brokers(), lingerMs: 0 }, c.onDelivery)
    p.produce(topic, null, Buffer.alloc(5000, 7))
    await p.flush().catch(() => {})
    await c.until(1)
    p.produce(topic, null, 'fits')
    await p.flush()
    await c.until(2)
    await p.close()
    expect(c.reports[0]!.error?.code).toBe('MESSAGE_TOO_LARGE')
    expect(c.reports[0]!.error?.retriable).toBe(false)
    expect(c.reports[0]!.error?.topic).toBe(topic)
    expect(c.reports[1]!.error).toBeNull()
  })

  it('a record the broker refuses costs no other: its partition reuses the sequences, no epoch bump', async () => {
    const topic = uniqueTopic('compact')
    await createTopic(topic, 1, { 'cleanup.policy': 'compact' })
    const c = collector()
    const assigned: string[] = []
    const logger = {
      debug: () => {},
      info: (m: string) => assigned.push(m),
      warn: () => {},
      error: () => {},
    }
    const p = new Producer({ bootstrapServers: brokers(), lingerMs: 0, logger, logLevel: 'info' }, c.onDelivery)
    p.produce(topic, 'k0', 'before')
    await p.flush()
    p.produce(topic, null, 'keyless: refused by a compacted topic')
    await p.flush().catch(() => {})
    for (let i = 1; i <= 20; i++) p.produce(topic, `k${i}`, `after ${i}`)
    await p.flush()
    await c.until(22)
    await p.close()
    expect(c.reports[1]!.error?.code).toBe('INVALID_RECORD')
    expect(c.reports[1]!.persisted).toBe('not_persisted')
    expect(c.reports.filter((r) => r.error !== null)).toHaveLength(1)
    // Sequences continue where the refused batch started: offsets 1..20, one producer id.
    expect(c.reports.slice(2).map((r) => `${r.value?.toString()}@${r.offset}`)).toEqual(
      Array.from({ length: 20 }, (_, i) => `after ${i + 1}@${i + 1}`),
    )
    expect(assigned.filter((m) => m.includes('producer id assigned'))).toHaveLength(1)
    const got = await javaRead(topic, 21)
    expect(got.map((r: any) => r.value.toString())).toEqual(['before', ...Array.from({ length: 20 }, (_, i) => `after ${i + 1}`)])
  })

  it('invalid config values name the key', () => {
    const cases: Array<[object, RegExp]> = [
      [{ lingerMS: 5 }, /`lingerMS`.*did you mean `lingerMs`/],
      [{ acks: 2 }, /`acks`/],
      [{ lingerMs: -1 }, /`lingerMs`/],
      [{ batchSize: 'big' }, /`batchSize`/],
      [{ deliveryTimeoutMs: 1000 }, /`deliveryTimeoutMs`.*lingerMs \+ requestTimeoutMs/],
      [{ partitioner: 'round-robin' }, /`partitioner`/],
      [{ partitioner: 42 }, /`partitioner`.*a function/],
      [{ maxInFlightRequestsPerConnection: 0 }, /`maxInFlightRequestsPerConnection`/],
      [{ bufferMemory: 10 }, /`bufferMemory`/],
    ]
    for (const [extra, msg] of cases) {
      let err: unknown
      try {
        new Producer({ bootstrapServers: brokers(), ...extra } as any)
      } catch (e) {
        err = e
      }
      expect(err, JSON.stringify(extra)).toBeInstanceOf(KafkaError)
      expect((err as KafkaError).code).toBe('INVALID_CONFIG')
      expect((err as KafkaError).message).toMatch(msg)
    }
  })
})

describe('partitioner function', () => {
  // Last byte of the key modulo the partition count: easy to predict in the test.
  const lastByte = (_topic: string, key: Buffer | null, n: number) => (key === null ? 0 : (key[key.length - 1] as number) % n)

  it('send() waits for the partition count and places every message where the function says', async () => {
    const topic = uniqueTopic('pfn-send')
    await createTopic(topic, 4)
    const seen: Array<[string, string | null, number]> = []
    const p = new Producer({
      bootstrapServers: brokers(),
      partitioner: (t, key, n) => {
        seen.push([t, key === null ? null : key.toString(), n])
        return lastByte(t, key, n)
      },
    })
    const keys = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']
    const meta = await p.send({
      topic,
      messages: [
        ...keys.map((k) => ({ key: k, value: `v-${k}` })),
        { key: null, value: 'nokey' },
        { key: 'x', value: 'pinned', partition: 3 },
      ],
    })
    await p.close()
    for (let i = 0; i < keys.length; i++) expect(meta[i]!.partition).toBe((keys[i] as string).charCodeAt(0) % 4)
    expect(meta[8]!.partition).toBe(0)
    expect(meta[9]!.partition).toBe(3) // an explicit partition wins; the function is not asked
    expect(seen).toHaveLength(9)
    expect(seen.every(([t, , n]) => t === topic && n === 4)).toBe(true)

    // An independent reader confirms the placement.
    const got = await javaRead(topic, 10)
    expect(got).toHaveLength(10)
    for (const r of got) {
      if (r.value.toString() === 'pinned') expect(r.partition).toBe(3)
      else if (r.key === null) expect(r.partition).toBe(0)
      else expect(r.partition).toBe((r.key as Buffer)[0]! % 4)
    }
  })

  it('produce() needs known partitions: a typed error before, the chosen partition after connect([topic])', async () => {
    const topic = uniqueTopic('pfn-produce')
    await createTopic(topic, 3)
    const c = collector()
    const p = new Producer({ bootstrapServers: brokers(), partitioner: lastByte }, c.onDelivery)
    let early: unknown
    try {
      p.produce(topic, 'k', 'v')
    } catch (e) {
      early = e
    }
    // Either metadata already arrived (produce worked) or the error says what to do.
    if (early !== undefined) {
      expect(early).toBeInstanceOf(KafkaError)
      expect((early as KafkaError).code).toBe('UNKNOWN_TOPIC_OR_PARTITION')
      expect((early as KafkaError).message).toMatch(/connect\(\[topic\]\)/)
    }
    await p.connect([topic])
    const keys = ['p', 'q', 'r', 's', 't', 'u']
    for (const k of keys) p.produce(topic, Buffer.from(k), `v-${k}`, { headers: [['h', k]] })
    const reports = await c.until(keys.length + (early === undefined ? 1 : 0))
    await p.close()
    const byKey = new Map(reports.map((r) => [r.key?.toString(), r]))
    for (const k of keys) {
      const r = byKey.get(k) as DeliveryReport
      expect(r.error).toBeNull()
      expect(r.partition).toBe(k.charCodeAt(0) % 3)
    }
  })

  it('a function that throws or answers out of range fails that record only, with a typed error', async () => {
    const topic = uniqueTopic('pfn-bad')
    await createTopic(topic, 2)
    const p = new Producer({
      bootstrapServers: brokers(),
      partitioner: (_t, key) => {
        const k = key?.toString()
        if (k === 'throw') throw new Error('no partition for you')
        if (k === 'far') return 7
        if (k === 'half') return 0.5
        return 1
      },
    })
    await p.connect([topic])
    for (const [key, pattern] of [
      ['throw', /partitioner function threw: no partition for you/],
      ['far', /returned 7 .* 2 partitions/],
      ['half', /returned 0\.5/],
    ] as const) {
      let err: unknown
      try {
        p.produce(topic, key, 'x')
      } catch (e) {
        err = e
      }
      expect(err, key).toBeInstanceOf(KafkaError)
      expect((err as KafkaError).code).toBe('INVALID_ARGUMENT')
      expect((err as KafkaError).message).toMatch(pattern)
      await expect(p.send({ topic, messages: [{ key, value: 'x' }] })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    }
    // The producer is unharmed: good records still go through.
    const [m] = await p.send({ topic, messages: [{ key: 'ok', value: 'fine' }] })
    expect(m!.partition).toBe(1)
    await p.close()
  })

  it('send() to a topic that does not exist fails after maxBlockMs, naming the topic', async () => {
    const topic = uniqueTopic('pfn-missing')
    const p = new Producer({ bootstrapServers: brokers(), partitioner: () => 0, maxBlockMs: 1500 })
    const t0 = Date.now()
    await expect(p.send({ topic, messages: [{ value: 'x' }] })).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION' })
    expect(Date.now() - t0).toBeLessThan(30_000)
    await p.close()
  })
})
