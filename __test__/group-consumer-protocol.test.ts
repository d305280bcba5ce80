import { describe, expect, it } from 'vitest'
import { Consumer, type ConsumerConfig, type ConsumerOptions, type Message, Producer } from '../ts/index'
import { brokers, createTopic, kafkaScript, produceRange, uniqueTopic, until } from './helpers'

/** KIP-848: groupProtocol 'consumer' (ConsumerGroupHeartbeat; the broker assigns). */

function member(groupId: string, topic: string, extra: Partial<ConsumerConfig> = {}, opts: ConsumerOptions<Buffer | null, string> = {}) {
  const seen: number[] = []
  const events: string[] = []
  const c = new Consumer<Buffer | null, string>(
    { bootstrapServers: brokers(), groupId, groupProtocol: 'consumer', autoOffsetReset: 'earliest', autoCommitIntervalMs: 500, ...extra },
    {
      valueDeserializer: 'string',
      onAssigned: async (p) => {
        events.push(`assigned:${p.map((x) => x.partition).join(',')}`)
        await opts.onAssigned?.(p)
      },
      onRevoked: async (p) => {
        events.push(`revoked:${p.map((x) => x.partition).join(',')}`)
        await opts.onRevoked?.(p)
      },
      ...(opts.onLost ? { onLost: opts.onLost } : {}),
    },
  )
  let running: Promise<void> = Promise.resolve()
  let failure: unknown = null
  return {
    c,
    seen,
    events,
    failure: () => failure,
    async start(eachMessage?: (m: Message<Buffer | null, string>) => Promise<void>) {
      await c.subscribe([topic])
      running = c.run({
        eachMessage: async ({ message }) => {
          if (eachMessage) await eachMessage(message)
          seen.push(Number(message.value))
        },
      })
      running.catch((e) => {
        failure = e
      })
    },
    async stop() {
      c.stop()
      await running.catch(() => {})
      await c.close()
    },
  }
}

/** Samples the members' assignments until stopped: any partition owned by two at once. */
function watchOverlap(members: () => Array<{ c: Consumer<Buffer | null, string> }>) {
  const overlaps: string[] = []
  const timer = setInterval(() => {
    const owners = new Map<number, number>()
    members().forEach((m, i) => {
      for (const p of m.c.assignment()) {
        if (owners.has(p.partition)) overlaps.push(`partition ${p.partition} owned by members ${owners.get(p.partition)} and ${i}`)
        owners.set(p.partition, i)
      }
    })
  }, 20)
  return { overlaps, stop: () => clearInterval(timer) }
}

describe('consumer groups (KIP-848 consumer protocol)', () => {
  it('three members share six partitions; leave and join move partitions, never owned twice, nothing lost or read twice', async () => {
    const topic = uniqueTopic('g848-share')
    await createTopic(topic, 6)
    const groupId = uniqueTopic('grp848')
    const members = [member(groupId, topic), member(groupId, topic), member(groupId, topic)]
    const live = [...members]
    const watch = watchOverlap(() => live)
    try {
      for (const m of members) await m.start()
      const owned = () => live.flatMap((m) => m.c.assignment().map((p) => p.partition)).sort()
      await until(() => owned().join() === '0,1,2,3,4,5' && live.every((m) => m.c.assignment().length === 2), 60_000, 'balanced')
      const meta = members[0]!.c.groupMetadata()!
      expect(meta.generationId).toBeGreaterThan(0) // the member epoch
      expect(meta.memberId.length).toBeGreaterThan(0)
      await produceRange(topic, 0, 3000)
      await until(() => members.reduce((n, m) => n + m.seen.length, 0) >= 3000, 60_000, '3000 read')
      expect(members.flatMap((m) => m.seen).sort((x, y) => x - y)).toEqual(Array.from({ length: 3000 }, (_, i) => i))

      await members[2]!.stop()
      live.splice(2, 1)
      await until(() => owned().join() === '0,1,2,3,4,5', 60_000, 'the leaver’s partitions moved')
      const fourth = member(groupId, topic)
      live.push(fourth)
      await fourth.start()
      await until(() => fourth.c.assignment().length === 2, 60_000, 'the joiner got two partitions')
      await produceRange(topic, 3000, 6000)
      await until(() => new Set(live.flatMap((m) => m.seen).filter((v) => v >= 3000)).size >= 3000, 90_000, 'next 3000')
      const later = live.flatMap((m) => m.seen).filter((v) => v >= 3000)
      expect(later.length).toBe(3000)
      // The staying members gave partitions up (revoked) before the joiner got them.
      expect(members[0]!.events.some((e) => e.startsWith('revoked:'))).toBe(true)
      for (const m of live) expect(m.failure()).toBeNull()
    } finally {
      watch.stop()
      for (const m of live) await m.stop()
    }
    expect(watch.overlaps.slice(0, 5)).toEqual([])
  }, 180_000)

  it('commits carry the member epoch; a restart reads on from the committed offsets', async () => {
    const topic = uniqueTopic('g848-commit')
    await createTopic(topic, 2)
    await produceRange(topic, 0, 500)
    const groupId = uniqueTopic('grp848')
    const a = member(groupId, topic, { enableAutoCommit: false }, {})
    await a.start()
    await until(() => a.seen.length >= 500, 60_000, '500 read')
    await a.c.commit()
    const committed = await a.c.committed([0, 1].map((partition) => ({ topic, partition })))
    expect(committed.reduce((n, o) => n + Number(o.offset ?? 0n), 0)).toBe(500)
    await a.stop()
    await produceRange(topic, 500, 700)
    const b = member(groupId, topic)
    await b.start()
    await until(() => b.seen.length >= 200, 60_000, 'next 200')
    await new Promise((r) => setTimeout(r, 300))
    expect(b.seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => 500 + i))
    await b.stop()
  }, 120_000)

  it('a static member that restarts gets its partitions back without moving the others', async () => {
    const topic = uniqueTopic('g848-static')
    await createTopic(topic, 4)
    const groupId = uniqueTopic('grp848')
    const a = member(groupId, topic, { groupInstanceId: 'static-a' })
    const b = member(groupId, topic)
    await a.start()
    await b.start()
    await until(() => a.c.assignment().length === 2 && b.c.assignment().length === 2, 60_000, 'balanced')
    const mine = a.c
      .assignment()
      .map((p) => p.partition)
      .join()
    const theirs = b.c
      .assignment()
      .map((p) => p.partition)
      .join()
    const bEvents = b.events.length
    await a.stop() // a static leave (epoch -2): the broker keeps a's assignment for it
    const again = member(groupId, topic, { groupInstanceId: 'static-a' })
    await again.start()
    await until(() => again.c.assignment().length === 2, 60_000, 'the static member back')
    expect(
      again.c
        .assignment()
        .map((p) => p.partition)
        .join(),
    ).toBe(mine)
    expect(
      b.c
        .assignment()
        .map((p) => p.partition)
        .join(),
    ).toBe(theirs)
    expect(b.events.slice(bEvents).filter((e) => e.startsWith('revoked:'))).toEqual([])
    await again.stop()
    await b.stop()
  }, 120_000)

  it('mixed groups: with the Java console consumer (group.protocol=consumer), and a classic nkafka member upgrading in place', async () => {
    const kafka = await kafkaScript()
    const topic = uniqueTopic('g848-mixed')
    await createTopic(topic, 2)
    const groupId = uniqueTopic('grp848')
    const ours = member(groupId, topic)
    await ours.start()
    await until(() => ours.c.assignment().length === 2, 60_000, 'ours owns both')
    const java = kafka.consoleConsume({
      bootstrap: brokers(),
      topic,
      group: groupId,
      timeoutMs: 15_000,
      properties: { 'group.protocol': 'consumer' },
    })
    // The broker takes one partition away from us for the Java member.
    await until(() => ours.c.assignment().length === 1, 60_000, 'the Java member to join')
    await produceRange(topic, 0, 400)
    const theirs = (await java).map((m: any) => Number(m.value.toString()))
    await until(() => ours.seen.length + theirs.length >= 400, 30_000, '400 read between the two')
    expect(theirs.length).toBeGreaterThan(0)
    expect(ours.seen.length).toBeGreaterThan(0)
    expect([...ours.seen, ...theirs].sort((x, y) => x - y)).toEqual(Array.from({ length: 400 }, (_, i) => i))
    await ours.stop()

    // A classic member, then a new-protocol member of the same group (Kafka's online
    // upgrade): the group is converted and the two share the partitions.
    const topic2 = uniqueTopic('g848-upgrade')
    await createTopic(topic2, 2)
    const group2 = uniqueTopic('grp848')
    const classic = member(group2, topic2, { groupProtocol: 'classic', sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000 })
    await classic.start()
    await until(() => classic.c.assignment().length === 2, 60_000, 'the classic member owns both')
    const next = member(group2, topic2)
    await next.start()
    await until(() => classic.c.assignment().length === 1 && next.c.assignment().length === 1, 60_000, 'shared')
    await produceRange(topic2, 0, 200)
    await until(() => classic.seen.length + next.seen.length >= 200, 60_000, '200 read')
    expect([...classic.seen, ...next.seen].sort((x, y) => x - y)).toEqual(Array.from({ length: 200 }, (_, i) => i))
    expect(classic.failure()).toBeNull()
    expect(next.failure()).toBeNull()
    await next.stop()
    await classic.stop()
  }, 180_000)

  it('a RegExp subscription picks up a topic created later', async () => {
    const prefix = uniqueTopic('g848re')
    await createTopic(`${prefix}-a`, 1)
    const groupId = uniqueTopic('grp848')
    const seen: string[] = []
    const c = new Consumer<Buffer | null, string>(
      { bootstrapServers: brokers(), groupId, groupProtocol: 'consumer', autoOffsetReset: 'earliest', metadataMaxAgeMs: 1000 },
      { valueDeserializer: 'string' },
    )
    await c.subscribe(new RegExp(`^${prefix}-.*`))
    const running = c.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.topic}:${message.value}`)
      },
    })
    try {
      await until(() => c.assignment().length === 1, 60_000, 'the first topic')
      await createTopic(`${prefix}-b`, 1)
      await until(() => c.assignment().length === 2, 60_000, 'the second topic')
      const p = new Producer({ bootstrapServers: brokers() })
      await p.send({ topic: `${prefix}-a`, messages: [{ value: 'x' }] })
      await p.send({ topic: `${prefix}-b`, messages: [{ value: 'y' }] })
      await p.close()
      await until(() => seen.length >= 2, 30_000, 'both records')
      expect(seen.sort()).toEqual([`${prefix}-a:x`, `${prefix}-b:y`])
    } finally {
      c.stop()
      await running
      await c.close()
    }
  }, 120_000)

  it('consume-transform-produce: offsets go in the transaction with the member epoch', async () => {
    const kafka = await kafkaScript()
    const input = uniqueTopic('g848-in')
    const output = uniqueTopic('g848-out')
    await createTopic(input, 1)
    await createTopic(output, 1)
    await produceRange(input, 0, 300)
    const groupId = uniqueTopic('grp848')
    const consumer = new Consumer<Buffer | null, string>(
      { bootstrapServers: brokers(), groupId, groupProtocol: 'consumer', autoOffsetReset: 'earliest', enableAutoCommit: false },
      { valueDeserializer: 'string' },
    )
    const producer = new Producer({ bootstrapServers: brokers(), transactionalId: uniqueTopic('tid') })
    await producer.initTransactions()
    await consumer.subscribe([input])
    let copied = 0
    const deadline = Date.now() + 60_000
    for await (const batch of consumer.batches()) {
      producer.beginTransaction()
      for (const m of batch.messages) producer.produce(output, m.keyBytes, `copy-${m.value}`)
      const last = batch.messages[batch.messages.length - 1]!
      const meta = consumer.groupMetadata()!
      expect(meta.generationId).toBeGreaterThan(0)
      await producer.sendOffsetsToTransaction([{ topic: batch.topic, partition: batch.partition, offset: last.offset + 1n }], meta)
      await producer.commitTransaction()
      copied += batch.messages.length
      if (copied >= 300 || Date.now() > deadline) break
    }
    const [committed] = await consumer.committed([{ topic: input, partition: 0 }])
    await consumer.close()
    await producer.close()
    expect(copied).toBe(300)
    expect(committed?.offset).toBe(300n)
    const out = await kafka.consoleConsume({ bootstrap: brokers(), topic: output, maxMessages: 300, isolationLevel: 'read_committed' })
    expect(out.map((m: any) => m.value.toString())).toEqual(Array.from({ length: 300 }, (_, i) => `copy-${i}`))
  }, 120_000)

  it('bad settings are typed errors: client-side at construction, the broker’s through run()', async () => {
    for (const [extra, key] of [
      [{ sessionTimeoutMs: 10_000 }, 'sessionTimeoutMs'],
      [{ heartbeatIntervalMs: 1000 }, 'heartbeatIntervalMs'],
      [{ partitionAssignors: ['range'] }, 'partitionAssignors'],
    ] as const) {
      expect(() => new Consumer({ bootstrapServers: brokers(), groupId: 'x', groupProtocol: 'consumer', ...extra })).toThrow(
        new RegExp(`${key}.*groupProtocol 'consumer'`),
      )
    }
    expect(() => new Consumer({ bootstrapServers: brokers(), groupId: 'x', groupRemoteAssignor: 'uniform' })).toThrow(/groupRemoteAssignor/)
    const topic = uniqueTopic('g848-bad')
    await createTopic(topic, 1)
    const m = member(uniqueTopic('grp848'), topic, { groupRemoteAssignor: 'no-such-assignor' })
    await m.start()
    await until(() => m.failure() !== null, 30_000, 'the group to fail')
    expect(m.failure()).toMatchObject({ code: 'UNSUPPORTED_ASSIGNOR' })
    await m.stop()
  })
})
