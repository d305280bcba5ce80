import { spawn } from 'node:child_process'
import { describe, expect, it } from 'vitest'
import { re2jPattern } from '../ts/consumer'
import { Admin, Consumer, type ConsumerConfig, type ConsumerOptions, Producer, throwIfFailed } from '../ts/index'
import { brokers, createTopic, groupMember, kafkaScript, produceRange, uniqueTopic, until } from './helpers'

/** KIP-848: groupProtocol 'consumer' (ConsumerGroupHeartbeat; the broker assigns). */

function member(groupId: string, topic: string, extra: Partial<ConsumerConfig> = {}, opts: ConsumerOptions<Buffer | null, string> = {}) {
  return groupMember({ bootstrapServers: brokers(), groupId, groupProtocol: 'consumer', ...extra }, topic, opts)
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

  it('a RegExp subscription is resolved by the broker: it picks up a topic created later, auto-commits, and names replace it', async () => {
    const prefix = uniqueTopic('g848re')
    await createTopic(`${prefix}-a`, 1)
    await createTopic(`${prefix}-c`, 1)
    const groupId = uniqueTopic('grp848')
    const seen: string[] = []
    // metadataMaxAgeMs is long: the client never lists topics itself, the broker sees
    // the new one. The i flag and the named group go through the RE2J translation.
    const c = new Consumer<Buffer | null, string>(
      {
        bootstrapServers: brokers(),
        groupId,
        groupProtocol: 'consumer',
        autoOffsetReset: 'earliest',
        metadataMaxAgeMs: 300_000,
        autoCommitIntervalMs: 300,
      },
      { valueDeserializer: 'string' },
    )
    const pattern = new RegExp(`^${prefix.toUpperCase()}-(?<which>a|b)$`, 'i')
    expect(re2jPattern(pattern)).toBe(`(?i).*(?:^${prefix.toUpperCase()}-(?P<which>a|b)$).*`)
    await c.subscribe(pattern)
    const running = c.run({
      eachMessage: async ({ message }) => {
        seen.push(`${message.topic}:${message.value}`)
      },
    })
    try {
      await until(() => c.assignment().length === 1, 60_000, 'the first topic')
      expect(c.assignment()[0].topic).toBe(`${prefix}-a`)
      await createTopic(`${prefix}-b`, 1)
      await until(() => c.assignment().length === 2, 60_000, 'the second topic')
      const p = new Producer({ bootstrapServers: brokers() })
      for (const t of ['a', 'b', 'c']) await p.send({ topic: `${prefix}-${t}`, messages: [{ value: t }] })
      await p.close()
      await until(() => seen.length >= 2, 30_000, 'both records')
      expect(seen.sort()).toEqual([`${prefix}-a:a`, `${prefix}-b:b`])
      // The periodic auto-commit runs for pattern subscriptions too.
      await until(async () => (await c.committed([{ topic: `${prefix}-a`, partition: 0 }]))[0]?.offset === 1n, 10_000, 'the auto-commit')
      // Names replace the pattern on the broker: only -c stays.
      await c.subscribe([`${prefix}-c`])
      await until(() => c.assignment().length === 1 && c.assignment()[0].topic === `${prefix}-c`, 60_000, 'names to replace the pattern')
      await until(() => seen.length >= 3, 30_000, 'the record of -c')
      expect(seen).toContain(`${prefix}-c:c`)
    } finally {
      c.stop()
      await running
      await c.close()
    }
  }, 150_000)

  it('patterns RE2J cannot express are refused naming the construct; one the broker refuses fails run() typed', async () => {
    const c = new Consumer({ bootstrapServers: brokers(), groupId: uniqueTopic('grp848'), groupProtocol: 'consumer' })
    await expect(c.subscribe(/^orders-(?!test)/)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringMatching(/lookaround/),
    })
    await expect(c.subscribe(/(a)\1/)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/backreference/) })
    // `[^]` (any character in JS) is a syntax error in RE2J: the broker says so.
    // biome-ignore lint/complexity/useRegexLiterals: a literal [^] trips another lint; this is the pattern under test
    await c.subscribe(new RegExp('[^]'))
    await expect(c.run({ eachMessage: async () => {} })).rejects.toMatchObject({ code: 'INVALID_REGULAR_EXPRESSION' })
    await c.close()
    expect(re2jPattern(/x/)).toBe('.*(?:x).*')
    expect(re2jPattern(/a\\1/ms)).toBe('(?sm).*(?:a\\\\1).*')
  }, 60_000)

  it('fencing: a member stopped past its session loses its partitions (onLost), rejoins, and nothing is lost', async () => {
    const topic = uniqueTopic('g848-fence')
    await createTopic(topic, 4)
    const groupId = uniqueTopic('grp848')
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      throwIfFailed(
        await admin.incrementalAlterConfigs([
          {
            type: 'group',
            name: groupId,
            ops: [
              { name: 'consumer.session.timeout.ms', value: '4000', op: 'set' },
              { name: 'consumer.heartbeat.interval.ms', value: '500', op: 'set' },
            ],
          },
        ]),
      )
    } finally {
      await admin.close()
    }
    // The member to fence runs in a child process, so SIGSTOP freezes its heartbeats
    // while this process goes on. It prints one JSON line per event.
    const script = `
      const { Consumer } = require(${JSON.stringify(`${process.cwd()}/dist/index.js`)})
      const out = (o) => process.stdout.write(JSON.stringify(o) + '\\n')
      const parts = (p) => p.map((x) => x.partition).sort()
      const c = new Consumer(
        { bootstrapServers: ${JSON.stringify(brokers())}, groupId: ${JSON.stringify(groupId)}, groupProtocol: 'consumer', autoOffsetReset: 'earliest', autoCommitIntervalMs: 200 },
        { valueDeserializer: 'string', onAssigned: (p) => out({ ev: 'assigned', p: parts(p) }), onRevoked: (p) => out({ ev: 'revoked', p: parts(p) }), onLost: (p) => out({ ev: 'lost', p: parts(p) }) },
      )
      setTimeout(() => { out({ ev: 'timeout' }); process.exit(3) }, 110000).unref()
      process.stdin.on('data', async () => { c.stop(); await c.close(); out({ ev: 'closed' }); process.exit(0) })
      c.subscribe([${JSON.stringify(topic)}]).then(() => c.run({ eachMessage: async ({ message }) => out({ ev: 'msg', v: Number(message.value) }) }))
        .catch((e) => { out({ ev: 'error', code: e.code, message: e.message }); process.exit(2) })
    `
    const child = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
    const events: any[] = []
    let buffered = ''
    child.stdout.on('data', (d: Buffer) => {
      buffered += d.toString()
      const lines = buffered.split('\n')
      buffered = lines.pop() ?? ''
      for (const l of lines) if (l.trim()) events.push(JSON.parse(l))
    })
    const childSeen = () => events.filter((e) => e.ev === 'msg').map((e) => e.v as number)
    const b = member(groupId, topic)
    try {
      await until(() => events.some((e) => e.ev === 'assigned' && e.p.length === 4), 60_000, 'the child to own all 4 partitions')
      await produceRange(topic, 0, 100)
      await until(() => new Set(childSeen()).size === 100, 30_000, 'the child to read 0..99')
      await new Promise((r) => setTimeout(r, 1000)) // an auto-commit or more
      child.kill('SIGSTOP')
      const stoppedAt = events.length
      await b.start()
      await until(() => b.c.assignment().length === 4, 30_000, 'the live member to take all 4 partitions after the session timeout')
      await produceRange(topic, 100, 200)
      await until(() => b.seen.filter((v) => v >= 100).length >= 100, 30_000, 'the live member to read 100..199')
      child.kill('SIGCONT')
      await until(() => events.slice(stoppedAt).some((e) => e.ev === 'lost'), 30_000, 'the child to hear it lost its partitions')
      await until(
        () => events.slice(stoppedAt).some((e) => e.ev === 'assigned' && e.p.length > 0) && b.c.assignment().length === 2,
        60_000,
        'the child to rejoin and get 2 partitions',
      )
      const lost = events.slice(stoppedAt).find((e) => e.ev === 'lost')
      expect(lost.p).toEqual([0, 1, 2, 3])
      await produceRange(topic, 200, 300)
      await until(() => new Set([...childSeen(), ...b.seen].filter((v) => v >= 200)).size === 100, 30_000, 'both to read 200..299')
      const all = new Set([...childSeen(), ...b.seen])
      expect(all.size).toBe(300)
      // What b re-read of 0..99 is at most what the child read after its last commit.
      expect(b.seen.filter((v) => v < 100).length).toBeLessThan(100)
      const childParts = events.filter((e) => e.ev === 'assigned').at(-1).p as number[]
      const bParts = b.c.assignment().map((x) => x.partition)
      expect([...childParts, ...bParts].sort()).toEqual([0, 1, 2, 3])
    } finally {
      child.kill('SIGCONT')
      child.stdin.write('stop\n')
      await new Promise((r) => child.once('exit', r))
      await b.stop()
    }
    expect(events.some((e) => e.ev === 'error' || e.ev === 'timeout')).toBe(false)
  }, 180_000)

  it('a second static member with an instance id in use is refused with UNRELEASED_INSTANCE_ID', async () => {
    const topic = uniqueTopic('g848-dup')
    await createTopic(topic, 2)
    const groupId = uniqueTopic('grp848')
    const first = member(groupId, topic, { groupInstanceId: 'only-one' })
    await first.start()
    await until(() => first.c.assignment().length === 2, 60_000, 'the first member')
    const second = member(groupId, topic, { groupInstanceId: 'only-one' })
    await second.start()
    await until(() => second.failure() !== null, 30_000, 'the second member to be refused')
    expect(second.failure()).toMatchObject({ code: 'UNRELEASED_INSTANCE_ID' })
    // The first one is untouched.
    expect(first.c.assignment().length).toBe(2)
    expect(first.failure()).toBeNull()
    await second.stop()
    await first.stop()
  }, 120_000)

  it('a member past the group’s size limit is refused with GROUP_MAX_SIZE_REACHED; the others keep their partitions', async () => {
    // The test broker sets group.consumer.max.size=8 (scripts/kafka/config.mjs).
    const topic = uniqueTopic('g848-full')
    await createTopic(topic, 8)
    const groupId = uniqueTopic('grp848')
    const members = Array.from({ length: 8 }, () => member(groupId, topic))
    try {
      for (const m of members) await m.start()
      await until(() => members.every((m) => m.c.assignment().length === 1), 90_000, 'eight members with a partition each')
      const ninth = member(groupId, topic)
      members.push(ninth)
      await ninth.start()
      await until(() => ninth.failure() !== null, 30_000, 'the ninth member to be refused')
      expect(ninth.failure()).toMatchObject({ code: 'GROUP_MAX_SIZE_REACHED' })
      expect(ninth.c.assignment()).toEqual([])
      for (const m of members.slice(0, 8)) {
        expect(m.failure()).toBeNull()
        expect(m.c.assignment().length).toBe(1)
      }
    } finally {
      for (const m of members) await m.stop()
    }
  }, 180_000)

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
