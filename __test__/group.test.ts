import { describe, expect, it } from 'vitest'
import { Consumer, type ConsumerConfig, type ConsumerOptions, KafkaError, type TopicPartition } from '../ts/index'
import { brokers, createTopic, groupMember, produceRange, uniqueTopic, until } from './helpers'

/** A group member that records what it reads, running `run()` in the background. */
function member(groupId: string, topic: string, extra: Partial<ConsumerConfig> = {}, opts: ConsumerOptions<Buffer | null, string> = {}) {
  return groupMember({ bootstrapServers: brokers(), groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1000, ...extra }, topic, opts)
}

describe('consumer groups (classic protocol)', () => {
  it('one member reads all, commits, and a restart continues from the committed offsets', async () => {
    const topic = uniqueTopic('g-restart')
    await createTopic(topic, 3)
    await produceRange(topic, 0, 1000)
    const groupId = uniqueTopic('grp')
    const a = member(groupId, topic)
    await a.start()
    await until(() => a.seen.length >= 1000, 60_000, 'first 1000')
    await a.stop() // commits processed offsets, leaves the group
    expect(a.events[0]).toBe('assigned:0,1,2')
    const committed = await (async () => {
      const c = new Consumer({ bootstrapServers: brokers(), groupId })
      const r = await c.committed([0, 1, 2].map((partition) => ({ topic, partition })))
      await c.close()
      return r
    })()
    expect(committed.reduce((n, o) => n + Number(o.offset ?? 0n), 0)).toBe(1000)

    await produceRange(topic, 1000, 1300)
    const b = member(groupId, topic)
    await b.start()
    await until(() => b.seen.length >= 300, 60_000, 'next 300')
    await new Promise((r) => setTimeout(r, 500))
    await b.stop()
    expect(b.seen.sort((x, y) => x - y)).toEqual(Array.from({ length: 300 }, (_, i) => 1000 + i))
  })

  it('three members share six partitions; leaving and joining rebalance with nothing lost', async () => {
    const topic = uniqueTopic('g-share')
    await createTopic(topic, 6)
    const groupId = uniqueTopic('grp')
    const members = [member(groupId, topic), member(groupId, topic), member(groupId, topic)]
    for (const m of members) await m.start()
    await until(
      () => members.every((m) => m.events.some((e) => e.startsWith('assigned:') && e.length > 'assigned:'.length)),
      60_000,
      'assignments',
    )
    const owned = () => members.flatMap((m) => m.c.assignment().map((p) => p.partition)).sort()
    await until(() => owned().join() === '0,1,2,3,4,5', 30_000, 'full coverage')
    await produceRange(topic, 0, 3000)
    await until(() => members.reduce((n, m) => n + m.seen.length, 0) >= 3000, 60_000, '3000 read')
    // Every message exactly once so far (no member overlap).
    const all = members.flatMap((m) => m.seen).sort((x, y) => x - y)
    expect(all).toEqual(Array.from({ length: 3000 }, (_, i) => i))

    // One leaves: its partitions move; a new one joins.
    await members[2]!.stop()
    const fourth = member(groupId, topic)
    await fourth.start()
    await produceRange(topic, 3000, 6000)
    const live = [members[0]!, members[1]!, fourth]
    await until(() => new Set(live.flatMap((m) => m.seen).filter((v) => v >= 3000)).size >= 3000, 90_000, 'next 3000')
    const later = live.flatMap((m) => m.seen).filter((v) => v >= 3000)
    expect(new Set(later).size).toBe(3000)
    // Duplicates are allowed only for what was processed but not yet committed at a
    // rebalance; with commits on revocation there should be none.
    expect(later.length - new Set(later).size).toBe(0)
    for (const m of live) await m.stop()
  })

  it('a handler slower than sessionTimeoutMs stays in the group (heartbeats run in Rust)', async () => {
    const topic = uniqueTopic('g-slow')
    await createTopic(topic, 2)
    await produceRange(topic, 0, 4)
    const groupId = uniqueTopic('grp')
    const slow = member(groupId, topic, { sessionTimeoutMs: 6000, heartbeatIntervalMs: 1000, maxPollIntervalMs: 60_000 })
    await slow.start(async () => {
      await new Promise((r) => setTimeout(r, 8000))
    })
    await until(() => slow.seen.length >= 1, 60_000, 'first slow message')
    const generation = slow.c.groupMetadata()!.generationId
    await until(() => slow.seen.length >= 2, 60_000, 'second slow message')
    // Still the same member and generation: no rebalance happened while it worked.
    expect(slow.c.groupMetadata()!.generationId).toBe(generation)
    expect(slow.events.filter((e) => e.startsWith('revoked'))).toEqual([])
    await slow.stop()
  }, 120_000)

  it('cooperative-sticky: partitions of a staying member keep flowing during a rebalance', async () => {
    const topic = uniqueTopic('g-coop')
    await createTopic(topic, 4)
    const groupId = uniqueTopic('grp')
    const cfg: Partial<ConsumerConfig> = { partitionAssignors: ['cooperative-sticky'] }
    const a = member(groupId, topic, cfg)
    await a.start()
    await until(() => a.c.assignment().length === 4, 60_000, 'a owns all')
    const b = member(groupId, topic, cfg)
    await b.start()
    await until(() => a.c.assignment().length === 2 && b.c.assignment().length === 2, 60_000, 'balanced')
    // a gave up exactly two partitions, never all four.
    const revoked = a.events.filter((e) => e.startsWith('revoked:'))
    expect(revoked.length).toBeGreaterThan(0)
    for (const r of revoked) expect(r.split(':')[1]!.split(',').length).toBeLessThanOrEqual(2)
    await produceRange(topic, 0, 400)
    await until(() => a.seen.length + b.seen.length >= 400, 60_000, '400 read')
    expect(new Set([...a.seen, ...b.seen]).size).toBe(400)
    await a.stop()
    await b.stop()
  })

  it('group misuse is a typed error', async () => {
    const c = new Consumer({ bootstrapServers: brokers() })
    await expect(c.subscribe(['t'])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/groupId/) })
    await expect(c.commit()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await c.close()
    const g = new Consumer({ bootstrapServers: brokers(), groupId: uniqueTopic('grp') })
    await expect(g.subscribe(['bad topic'])).rejects.toBeInstanceOf(KafkaError)
    await expect(g.commit([{ topic: 't', partition: 0, offset: -5 }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    expect(() => new Consumer({ bootstrapServers: brokers(), groupId: 'x', partitionAssignors: ['sticky' as any] })).toThrow(
      /partitionAssignors/,
    )
    expect(() => new Consumer({ bootstrapServers: brokers(), groupId: 'x', groupProtocol: 'next' as any })).toThrow(
      /groupProtocol.*'classic' or 'consumer'/,
    )
    await g.close()
  })

  it('onRevoked can commit, and revocation hooks see the partitions', async () => {
    const topic = uniqueTopic('g-hooks')
    await createTopic(topic, 2)
    await produceRange(topic, 0, 100)
    const groupId = uniqueTopic('grp')
    const revokedSeen: TopicPartition[][] = []
    const a = member(
      groupId,
      topic,
      { enableAutoCommit: false },
      {
        onRevoked: async (parts) => {
          revokedSeen.push(parts)
          await a.c.commit()
        },
      },
    )
    await a.start()
    await until(() => a.seen.length >= 100, 60_000, '100 read')
    await a.stop()
    expect(
      revokedSeen
        .flat()
        .map((p) => p.partition)
        .sort(),
    ).toEqual([0, 1])
    const check = new Consumer({ bootstrapServers: brokers(), groupId })
    const committed = await check.committed([0, 1].map((partition) => ({ topic, partition })))
    await check.close()
    expect(committed.reduce((n, o) => n + Number(o.offset ?? 0n), 0)).toBe(100)
  })
})
