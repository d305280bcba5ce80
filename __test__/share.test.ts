import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { type AcknowledgementResult, KafkaError, Producer, ShareConsumer, type ShareConsumerConfig, type ShareMessage } from '../ts/index'
import { brokers, createTopic, kafkaScript, produceRange, setGroupConfig, uniqueTopic, until } from './helpers'

/** Share groups (KIP-932) against the real broker: docs/SHARE.md. */

type Share = ShareConsumer<Buffer | null, string>

/** A share group that starts at the earliest offset, with a lock of `lockMs`. */
async function shareGroup(lockMs = 30_000): Promise<string> {
  const group = uniqueTopic('share-group')
  await setGroupConfig(group, { 'share.auto.offset.reset': 'earliest', 'share.record.lock.duration.ms': lockMs })
  return group
}

function share(groupId: string, extra: Partial<ShareConsumerConfig> = {}, errors: KafkaError[] = []): Share {
  return new ShareConsumer<Buffer | null, string>(
    { bootstrapServers: brokers(), groupId, ...extra },
    { valueDeserializer: 'string', onError: (e) => errors.push(e) },
  )
}

/** Polls until `count` records came (or `timeoutMs`), leaving them unacknowledged. */
async function pollUntil(c: Share, count: number, timeoutMs = 30_000): Promise<ShareMessage<Buffer | null, string>[]> {
  const out: ShareMessage<Buffer | null, string>[] = []
  const deadline = Date.now() + timeoutMs
  while (out.length < count && Date.now() < deadline) out.push(...(await c.poll(500)))
  return out
}

/** Polls for `ms` and returns what came (accepting it, in implicit mode). */
async function pollFor(c: Share, ms: number): Promise<ShareMessage<Buffer | null, string>[]> {
  const out: ShareMessage<Buffer | null, string>[] = []
  const deadline = Date.now() + ms
  while (Date.now() < deadline) out.push(...(await c.poll(Math.max(1, Math.min(500, deadline - Date.now())))))
  return out
}

describe('ShareConsumer config', () => {
  it('refuses bad settings with INVALID_CONFIG naming the key', () => {
    const bad: Array<[Record<string, unknown>, string]> = [
      [{}, 'groupId'],
      [{ groupId: '' }, 'groupId'],
      [{ groupId: 'g', acknowledgementMode: 'sometimes' }, 'acknowledgementMode'],
      [{ groupId: 'g', maxPollRecords: 0 }, 'maxPollRecords'],
      [{ groupId: 'g', fetchMaxWaitMs: 'soon' }, 'fetchMaxWaitMs'],
      [{ groupId: 'g', autoOffsetReset: 'earliest' }, 'autoOffsetReset'],
    ]
    for (const [cfg, key] of bad) {
      let err: unknown
      try {
        new ShareConsumer({ bootstrapServers: brokers(), ...cfg } as unknown as ShareConsumerConfig)
      } catch (e) {
        err = e
      }
      expect(err, key).toBeInstanceOf(KafkaError)
      expect((err as KafkaError).code).toBe('INVALID_CONFIG')
      expect((err as KafkaError).message).toContain(key)
    }
  })
})

describe('ShareConsumer', () => {
  it('three consumers on one partition split the records, each delivered once', async () => {
    const topic = uniqueTopic('share-split')
    await createTopic(topic, 1)
    const group = await shareGroup()
    const total = 600
    // 60 batches of 10: the broker acquires whole batches (maxPollRecords is rounded up
    // to a batch boundary), so one 600-record batch would go to one member.
    const p = new Producer({ bootstrapServers: brokers(), lingerMs: 0 })
    for (let b = 0; b < total / 10; b++) {
      await p.send({ topic, messages: Array.from({ length: 10 }, (_, j) => ({ value: String(b * 10 + j) })) })
    }
    await p.close()
    const members = [0, 1, 2].map(() => share(group, { maxPollRecords: 50 }))
    try {
      for (const m of members) await m.subscribe(topic)
      // Every member assigned before anyone fetches, and a little work per poll: else the
      // first member can take all 600 before the others join.
      await until(() => members.every((m) => m.assignment().length === 1), 30_000, 'all three members assigned')
      const seen = new Map<number, number>()
      const perMember = [0, 0, 0]
      let duplicates = 0
      const deadline = Date.now() + 60_000
      await Promise.all(
        members.map(async (m, i) => {
          while (seen.size < total && Date.now() < deadline) {
            for (const r of await m.poll(500)) {
              const v = Number(r.value)
              if (seen.has(v)) duplicates++
              seen.set(v, i)
              perMember[i] = (perMember[i] as number) + 1
              expect(r.deliveryCount).toBe(1)
            }
            await new Promise((r) => setTimeout(r, 20))
          }
        }),
      )
      expect(seen.size).toBe(total)
      expect(duplicates).toBe(0)
      expect(perMember.reduce((a, b) => a + b, 0)).toBe(total)
      expect(perMember.filter((n) => n > 0).length, `records per member: ${perMember}`).toBeGreaterThan(1)
      // All accepted (implicitly, by the polls): nothing comes again.
      const again = await Promise.all(members.map((m) => pollFor(m, 1500)))
      expect(again.flat().length).toBe(0)
    } finally {
      await Promise.all(members.map((m) => m.close()))
    }
  })

  it('release redelivers with deliveryCount 2; reject never delivers again', async () => {
    const topic = uniqueTopic('share-release')
    await createTopic(topic, 1)
    const group = await shareGroup()
    await produceRange(topic, 0, 10)
    const c = share(group, { acknowledgementMode: 'explicit' })
    try {
      await c.subscribe(topic)
      const first = await pollUntil(c, 10)
      expect(first.map((m) => m.value)).toEqual(['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'])
      for (const m of first) {
        expect(m.deliveryCount).toBe(1)
        expect(m.lockExpiresAt).toBeGreaterThan(Date.now())
        m.acknowledge(Number(m.value) < 5 ? 'release' : 'reject')
      }
      const again = await pollUntil(c, 5)
      expect(again.map((m) => m.value)).toEqual(['0', '1', '2', '3', '4'])
      for (const m of again) {
        expect(m.deliveryCount).toBe(2)
        m.acknowledge('accept')
      }
      const results = await c.commit()
      expect(results).toEqual([{ topic, partition: 0, records: 5, error: null }])
      // Accepted and rejected records are done.
      expect(await pollFor(c, 1500)).toEqual([])
    } finally {
      await c.close()
    }
  })

  it('a record whose lock runs out goes to another member; the late accept fails per partition', async () => {
    const topic = uniqueTopic('share-lock')
    await createTopic(topic, 1)
    const lockMs = 2000
    const group = await shareGroup(lockMs)
    await produceRange(topic, 0, 5)
    const slow = share(group, { acknowledgementMode: 'explicit' })
    const other = share(group)
    try {
      await slow.subscribe(topic)
      const held = await pollUntil(slow, 5)
      expect(held.length).toBe(5)
      const acquiredAt = Date.now()
      for (const m of held) expect(m.lockExpiresAt).toBeLessThanOrEqual(acquiredAt + lockMs + 500)
      await other.subscribe(topic)
      // `slow` neither acknowledges nor polls: the broker releases the records at the
      // lock timeout and hands them to `other`.
      const taken = await pollUntil(other, 5, 30_000)
      expect(taken.map((m) => m.value).sort()).toEqual(['0', '1', '2', '3', '4'])
      expect(Date.now() - acquiredAt).toBeGreaterThanOrEqual(lockMs - 500)
      for (const m of taken) expect(m.deliveryCount).toBe(2)
      for (const m of held) m.acknowledge('accept')
      const results = await slow.commit()
      expect(results.length).toBe(1)
      expect(results[0]?.records).toBe(5)
      expect(results[0]?.error?.code).toBe('INVALID_RECORD_STATE')
    } finally {
      await Promise.all([slow.close(), other.close()])
    }
  })

  it('a consumer killed holding records: they come back to another member, delivery count 2', async () => {
    const topic = uniqueTopic('share-killed')
    await createTopic(topic, 1)
    const group = await shareGroup(2000)
    await produceRange(topic, 0, 5)
    // The member that dies runs in a child process: SIGKILL, no close(), no acknowledgement.
    const script = `
      const { ShareConsumer } = require(${JSON.stringify(`${process.cwd()}/dist/index.js`)})
      const c = new ShareConsumer({ bootstrapServers: ${JSON.stringify(brokers())}, groupId: ${JSON.stringify(group)}, acknowledgementMode: 'explicit' }, { valueDeserializer: 'string' })
      setTimeout(() => process.exit(3), 60000).unref()
      ;(async () => {
        await c.subscribe(${JSON.stringify(topic)})
        const held = []
        while (held.length < 5) held.push(...(await c.poll(500)))
        process.stdout.write(JSON.stringify(held.map((m) => [m.value, m.deliveryCount])) + '\\n')
      })().catch((e) => { process.stdout.write(JSON.stringify({ error: e.code }) + '\\n'); process.exit(2) })
    `
    const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const exited = new Promise((r) => child.once('exit', r))
    let line = ''
    child.stdout.on('data', (d: Buffer) => {
      line += d.toString()
    })
    const other = share(group)
    try {
      await until(() => line.includes('\n'), 60_000, 'the child to hold five records')
      expect(JSON.parse(line)).toEqual([
        ['0', 1],
        ['1', 1],
        ['2', 1],
        ['3', 1],
        ['4', 1],
      ])
      child.kill('SIGKILL')
      await exited
      await other.subscribe(topic)
      const taken = await pollUntil(other, 5, 30_000)
      expect(taken.map((m) => m.value).sort()).toEqual(['0', '1', '2', '3', '4'])
      for (const m of taken) expect(m.deliveryCount).toBe(2)
    } finally {
      child.kill('SIGKILL')
      await other.close()
    }
  })

  it('renew keeps a slow record past the lock timeout (KIP-1222)', async () => {
    const topic = uniqueTopic('share-renew')
    await createTopic(topic, 1)
    const lockMs = 2000
    const group = await shareGroup(lockMs)
    await produceRange(topic, 0, 1)
    const slow = share(group, { acknowledgementMode: 'explicit' })
    const other = share(group)
    try {
      await slow.subscribe(topic)
      const [record] = await pollUntil(slow, 1)
      expect(record?.value).toBe('0')
      await other.subscribe(topic)
      const start = Date.now()
      const [stolen] = await Promise.all([
        pollFor(other, 3 * lockMs),
        (async () => {
          // Renew every 0.8 s for three lock durations.
          while (Date.now() - start < 3 * lockMs) {
            await new Promise((r) => setTimeout(r, 800))
            record?.acknowledge('renew')
            expect(await slow.commit()).toEqual([{ topic, partition: 0, records: 1, error: null }])
          }
        })(),
      ])
      expect(stolen).toEqual([])
      record?.acknowledge('accept')
      expect(await slow.commit()).toEqual([{ topic, partition: 0, records: 1, error: null }])
      expect(await pollFor(other, 1500)).toEqual([])
    } finally {
      await Promise.all([slow.close(), other.close()])
    }
  })

  it('close releases what an explicit consumer held: another member gets it at once', async () => {
    const topic = uniqueTopic('share-close')
    await createTopic(topic, 1)
    const group = await shareGroup(60_000)
    await produceRange(topic, 0, 5)
    const first = share(group, { acknowledgementMode: 'explicit' })
    const second = share(group)
    try {
      await first.subscribe(topic)
      await second.subscribe(topic)
      const held = await pollUntil(first, 5)
      expect(held.length).toBe(5)
      const closedAt = Date.now()
      expect(await first.close()).toEqual([{ topic, partition: 0, records: 5, error: null }])
      const next = await pollUntil(second, 5, 20_000)
      expect(next.map((m) => m.value).sort()).toEqual(['0', '1', '2', '3', '4'])
      for (const m of next) expect(m.deliveryCount).toBe(2)
      // Well before the 60 s lock would have run out.
      expect(Date.now() - closedAt).toBeLessThan(20_000)
    } finally {
      await Promise.all([first.close(), second.close()])
    }
  })

  it('implicit close accepts what the app was handed; records it never saw go back', async () => {
    const topic = uniqueTopic('share-implicit-close')
    await createTopic(topic, 1)
    const group = await shareGroup(60_000)
    await produceRange(topic, 0, 6)
    const first = share(group)
    try {
      await first.subscribe(topic)
      // Take three records through the iterator, then leave the loop: the other three of
      // that poll were never seen and are released.
      const seen: string[] = []
      const deadline = Date.now() + 30_000
      for await (const m of first) {
        seen.push(m.value)
        if (seen.length === 3 || Date.now() > deadline) break
      }
      expect(seen).toEqual(['0', '1', '2'])
      await first.close()
    } finally {
      await first.close()
    }
    const second = share(group)
    try {
      await second.subscribe(topic)
      const rest = await pollUntil(second, 3, 20_000)
      expect(rest.map((m) => m.value)).toEqual(['3', '4', '5'])
      expect(rest.map((m) => m.deliveryCount)).toEqual([2, 2, 2])
      expect(await pollFor(second, 1500)).toEqual([])
    } finally {
      await second.close()
    }
  })

  it('close() ends a poll that is waiting, and later calls fail with CLIENT_CLOSED', async () => {
    const topic = uniqueTopic('share-close-poll')
    await createTopic(topic, 1)
    const group = await shareGroup()
    const c = share(group)
    await c.subscribe(topic)
    const waiting = c.poll(60_000)
    await new Promise((r) => setTimeout(r, 1500))
    const t0 = Date.now()
    await c.close()
    expect(await waiting).toEqual([])
    expect(Date.now() - t0).toBeLessThan(10_000)
    await expect(c.poll(100)).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
    await expect(c.commit()).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
  })

  it('explicit mode: polling with records unacknowledged, or acknowledging twice, is ILLEGAL_STATE', async () => {
    const topic = uniqueTopic('share-explicit')
    await createTopic(topic, 1)
    const group = await shareGroup()
    await produceRange(topic, 0, 3)
    const c = share(group, { acknowledgementMode: 'explicit' })
    try {
      await c.subscribe(topic)
      const got = await pollUntil(c, 3)
      expect(got.length).toBe(3)
      got[0]?.acknowledge('accept')
      const poll = await c.poll(100).then(
        () => null,
        (e) => e,
      )
      expect(poll).toBeInstanceOf(KafkaError)
      expect(poll.code).toBe('ILLEGAL_STATE')
      expect(poll.message).toContain('2 record(s)')
      expect(() => got[0]?.acknowledge('release')).toThrow(expect.objectContaining({ code: 'ILLEGAL_STATE' }))
      expect(() => got[1]?.acknowledge('bogus' as never)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }))
      got[1]?.acknowledge('accept')
      got[2]?.acknowledge('accept')
      expect(await c.poll(100)).toEqual([])
      // Settled: the records of that poll cannot be acknowledged any more.
      expect(() => got[2]?.acknowledge('accept')).toThrow(expect.objectContaining({ code: 'ILLEGAL_STATE' }))
    } finally {
      await c.close()
    }
  })

  it('acknowledgement outcomes are per partition: with polls (onAcknowledgement) and from commit()', async () => {
    const topic = uniqueTopic('share-commit')
    await createTopic(topic, 2)
    const group = await shareGroup()
    await produceRange(topic, 0, 40)
    const withPolls: AcknowledgementResult[] = []
    const c = new ShareConsumer<Buffer | null, string>(
      { bootstrapServers: brokers(), groupId: group },
      { valueDeserializer: 'string', onAcknowledgement: (r) => withPolls.push(...r) },
    )
    try {
      await c.subscribe(topic)
      const got = await pollUntil(c, 40)
      expect(got.length).toBe(40)
      const byPartition = [0, 0]
      for (const m of got) byPartition[m.partition] = (byPartition[m.partition] as number) + 1
      const committed = await c.commit()
      // The last poll's records are in commit()'s results, earlier polls' in the hook's.
      expect(committed.length).toBeGreaterThan(0)
      const acked = [0, 0]
      for (const r of [...withPolls, ...committed]) {
        expect(r).toEqual({ topic, partition: r.partition, records: r.records, error: null })
        acked[r.partition] = (acked[r.partition] as number) + r.records
      }
      expect(acked).toEqual(byPartition)
      expect(await c.commit()).toEqual([])
      expect(await pollFor(c, 1500)).toEqual([])
    } finally {
      await c.close()
    }
  })

  it('run(): a resolving handler accepts, a throwing one releases and reports the error', async () => {
    const topic = uniqueTopic('share-run')
    await createTopic(topic, 1)
    const group = await shareGroup()
    await produceRange(topic, 0, 4)
    const errors: KafkaError[] = []
    const c = share(group, {}, errors)
    const calls: Array<[string, number]> = []
    try {
      await c.subscribe(topic)
      const stopAt = Date.now() + 30_000
      await c.run({
        eachMessage: ({ message }) => {
          calls.push([message.value, message.deliveryCount])
          if (calls.length >= 5 || Date.now() > stopAt) c.stop()
          if (message.value === '1' && message.deliveryCount === 1) throw new Error('not yet')
        },
      })
      expect(calls.slice(0, 4)).toEqual([
        ['0', 1],
        ['1', 1],
        ['2', 1],
        ['3', 1],
      ])
      expect(calls[4]).toEqual(['1', 2])
      expect(errors.length).toBe(1)
      expect(errors[0]?.message).toContain('not yet')
    } finally {
      await c.close()
    }
  })
})

describe('ShareConsumer on a broker without share groups', () => {
  /** Sets the cluster's share.version feature with Kafka's FeatureCommand. */
  async function shareVersion(level: 0 | 1): Promise<void> {
    const kafka = await kafkaScript()
    const args = ['--bootstrap-server', brokers(), level === 0 ? 'downgrade' : 'upgrade', '--feature', `share.version=${level}`]
    const r = await kafka.runJava('tools', 'org.apache.kafka.tools.FeatureCommand', args, { jvmArgs: kafka.FAST_START_JVM_ARGS })
    if (r.code !== 0) throw new Error(`FeatureCommand share.version=${level} failed: ${r.stderr}`)
  }

  it('fails the poll with UNSUPPORTED_VERSION naming the broker and the feature', async () => {
    await shareVersion(0)
    try {
      const c = share(uniqueTopic('share-unsupported'))
      try {
        await c.subscribe(uniqueTopic('share-unsupported'))
        let err: unknown = null
        const deadline = Date.now() + 30_000
        while (err === null && Date.now() < deadline) {
          err = await c.poll(500).then(
            () => null,
            (e) => e,
          )
        }
        expect(err).toBeInstanceOf(KafkaError)
        expect((err as KafkaError).code).toBe('UNSUPPORTED_VERSION')
        expect((err as KafkaError).message).toMatch(/broker \d+ does not support share groups/)
        expect((err as KafkaError).message).toContain('share.version')
      } finally {
        await c.close()
      }
    } finally {
      await shareVersion(1)
    }
  })
})
