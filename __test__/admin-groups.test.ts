import { describe, expect, it } from 'vitest'
import { Admin, AdminItemsError, Consumer, KafkaError, Producer, throwIfFailed } from '../ts/index'
import { brokers, createTopic, kafkaScript, uniqueTopic, until } from './helpers'

describe('admin: groups', () => {
  it('listGroups finds a live classic group with its state and type, and filters by both', async () => {
    const topic = uniqueTopic('ag-list')
    await createTopic(topic, 2)
    const groupId = uniqueTopic('grp-list')
    let assigned = false
    const c = new Consumer(
      { bootstrapServers: brokers(), groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
      {
        onAssigned: async () => {
          assigned = true
        },
      },
    )
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      c.subscribe([topic])
      const running = c.run({ eachMessage: async () => {} })
      await until(() => assigned, 30_000, 'assignment')

      const all = await admin.listGroups()
      expect(all.errors).toEqual([])
      const g = all.groups.find((x) => x.groupId === groupId)
      expect(g).toMatchObject({ groupId, protocolType: 'consumer', state: 'Stable', type: 'classic' })
      expect(g?.coordinator).toBeGreaterThanOrEqual(0)

      const stable = await admin.listGroups({ states: ['Stable'], types: ['classic'] })
      expect(stable.groups.map((x) => x.groupId)).toContain(groupId)
      const empty = await admin.listGroups({ states: ['Empty'] })
      expect(empty.groups.map((x) => x.groupId)).not.toContain(groupId)
      const share = await admin.listGroups({ types: ['share'] })
      expect(share.groups.map((x) => x.groupId)).not.toContain(groupId)

      c.stop()
      await running
      await c.close()
      // Leaving makes the group Empty (it keeps its committed offsets).
      await until(
        async () => (await admin.listGroups({ states: ['Empty'] })).groups.some((x) => x.groupId === groupId),
        30_000,
        'the group to become Empty',
      )
    } finally {
      await c.close()
      await admin.close()
    }
  })

  it('listGroups rejects a bad filter with a typed error naming it', async () => {
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      await expect(admin.listGroups({ types: ['classik' as never] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('`classik` is not a group type'),
      })
      await expect(admin.listGroups({ states: 'Stable' as never })).rejects.toBeInstanceOf(KafkaError)
      await expect(admin.listGroups({ states: 'Stable' as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('options.states must be an array'),
      })
    } finally {
      await admin.close()
    }
  })

  it('a live classic group: describe (decoded members), lag 600 of 1000, and what an active group refuses; then remove its static member and alter, delete offsets and the group', async () => {
    const topic = uniqueTopic('ag-lag')
    await createTopic(topic, 2)
    const groupId = uniqueTopic('grp-lag')
    const instance = 'static-1'
    const admin = new Admin({ bootstrapServers: brokers() })
    const p = new Producer({ bootstrapServers: brokers() })
    // Static membership: close() leaves the member in the group until its session ends,
    // which is what removeMembersFromConsumerGroup is for.
    const c = new Consumer({
      bootstrapServers: brokers(),
      groupId,
      groupInstanceId: instance,
      clientId: 'lag-test',
      sessionTimeoutMs: 30_000,
      heartbeatIntervalMs: 500,
      enableAutoCommit: false,
      autoOffsetReset: 'earliest',
    })
    try {
      const messages = Array.from({ length: 1000 }, (_, i) => ({ value: `v${i}`, partition: i % 2 }))
      await p.send({ topic, messages })
      await p.flush()

      // Consume 400 and commit each assigned partition's position, as Java's commitSync()
      // does: 0 for a partition the 400 did not reach (the fetcher may drain one first).
      const next = new Map<number, number>([
        [0, 0],
        [1, 0],
      ])
      let seen = 0
      let committed: Promise<void> | undefined
      await c.subscribe([topic])
      const running = c.run({
        eachMessage: async ({ partition, message }) => {
          if (seen >= 400) return
          seen++
          next.set(partition, message.offsetNumber + 1)
          if (seen === 400) {
            committed = c.commit([...next].map(([partition, offset]) => ({ topic, partition, offset })))
          }
        },
      })
      await until(() => committed !== undefined, 30_000, '400 messages')
      await committed

      const [live, unknown, empty] = await admin.describeGroups([groupId, 'no-such-group-ag', ''], {
        includeAuthorizedOperations: true,
      })
      expect(live?.error).toBeNull()
      expect(live).toMatchObject({ groupId, type: 'classic', state: 'Stable', protocolType: 'consumer' })
      expect(live?.partitionAssignor).toMatch(/range|cooperative-sticky/)
      expect(live?.coordinator).toBeGreaterThanOrEqual(0)
      expect(live?.authorizedOperations).toEqual(expect.arrayContaining(['READ', 'DESCRIBE', 'DELETE']))
      expect(live?.members).toHaveLength(1)
      const m = live?.members[0]
      expect(m).toMatchObject({ groupInstanceId: instance, clientId: 'lag-test', subscribedTopics: [topic], memberEpoch: null })
      expect(m?.host).toContain('127.0.0.1')
      expect(m?.assignment).toEqual([
        { topic, partition: 0 },
        { topic, partition: 1 },
      ])
      expect(unknown?.error?.code).toBe('GROUP_ID_NOT_FOUND')
      expect(unknown?.error?.message).toContain('group `no-such-group-ag`')
      expect(unknown?.members).toEqual([])
      expect(empty?.error?.code).toBe('INVALID_ARGUMENT')

      // The lag: two groups in one call (one coordinator: one OffsetFetch for both).
      const [offsets, none] = await admin.listConsumerGroupOffsets([{ groupId }, { groupId: 'no-such-group-ag' }])
      expect(offsets?.error).toBeNull()
      expect(offsets?.partitions.map((x) => x.partition)).toEqual([0, 1])
      const total = (f: (x: { offset: bigint; lag: bigint | null }) => bigint) => (offsets?.partitions ?? []).reduce((a, x) => a + f(x), 0n)
      expect(total((x) => x.offset)).toBe(400n)
      expect(total((x) => x.lag ?? -1000n)).toBe(600n)
      for (const x of offsets?.partitions ?? []) {
        expect(x.offset + (x.lag ?? 0n)).toBe(500n)
        expect(x.error).toBeNull()
      }
      // A group that committed nothing lists no partitions, or -1 for the ones asked.
      expect(none).toMatchObject({ error: null, partitions: [] })
      const [asked] = await admin.listConsumerGroupOffsets(
        [
          {
            groupId,
            partitions: [
              { topic, partition: 1 },
              { topic: `${topic}-gone`, partition: 0 },
            ],
          },
        ],
        { requireStable: true },
      )
      expect(asked?.partitions[0]).toMatchObject({ topic, partition: 1, offset: BigInt(next.get(1) ?? -1), error: null })
      expect(asked?.partitions[1]).toMatchObject({ topic: `${topic}-gone`, partition: 0, offset: -1n, lag: null })

      // What a group with a live member refuses, per item.
      const altered = await admin.alterConsumerGroupOffsets(groupId, [{ topic, partition: 0, offset: 0n }])
      expect(altered[0]?.error?.code).toBe('UNKNOWN_MEMBER_ID')
      expect(altered[0]?.error?.message).toContain(`partition ${topic}-0`)
      const deletedLive = await admin.deleteConsumerGroupOffsets(groupId, [{ topic, partition: 0 }])
      expect(deletedLive[0]?.error?.code).toBe('GROUP_SUBSCRIBED_TO_TOPIC')
      const [nonEmpty] = await admin.deleteGroups([groupId])
      expect(nonEmpty?.error?.code).toBe('NON_EMPTY_GROUP')
      expect(() => throwIfFailed([nonEmpty as NonNullable<typeof nonEmpty>])).toThrow(AdminItemsError)

      c.stop()
      await running
      await c.close()
      // The static member stays until removed; a wrong instance id is that member's error.
      const [wrong] = await admin.removeMembersFromConsumerGroup(groupId, [{ groupInstanceId: 'static-nope' }])
      expect(wrong).toMatchObject({ groupInstanceId: 'static-nope' })
      expect(wrong?.error?.code).toBe('UNKNOWN_MEMBER_ID')
      expect(wrong?.error?.message).toContain('member `static-nope`')
      const removed = await admin.removeMembersFromConsumerGroup(groupId)
      expect(removed).toHaveLength(1)
      expect(removed[0]).toMatchObject({ groupInstanceId: instance, error: null })
      expect(removed[0]?.memberId).not.toBe('')
      await until(async () => (await admin.describeGroups([groupId]))[0]?.state === 'Empty', 10_000, 'the group to be Empty')
      const [emptied] = await admin.describeGroups([groupId])
      expect(emptied).toMatchObject({ error: null, state: 'Empty', members: [] })
      expect(await admin.removeMembersFromConsumerGroup(groupId)).toEqual([])

      // Empty now: offsets can be set and deleted, and the group deleted.
      const set = await admin.alterConsumerGroupOffsets(groupId, [
        { topic, partition: 0, offset: 10n, metadata: 'reset' },
        { topic, partition: 1, offset: 1000n },
        { topic, partition: 0, offset: -5n },
        { topic: `${topic}-none`, partition: 0, offset: 1n },
      ])
      expect(set.map((x) => x.error?.code ?? null)).toEqual([null, null, 'INVALID_ARGUMENT', 'UNKNOWN_TOPIC_OR_PARTITION'])
      expect(set[3]?.error?.message).toContain(`partition ${topic}-none-0`)
      const [after] = await admin.listConsumerGroupOffsets([{ groupId }])
      expect(after?.partitions.map((x) => [x.partition, x.offset, x.metadata, x.lag])).toEqual([
        [0, 10n, 'reset', 490n],
        [1, 1000n, '', 0n],
      ])
      const dropped = await admin.deleteConsumerGroupOffsets(groupId, [{ topic, partition: 0 }])
      expect(dropped).toEqual([{ topic, partition: 0, error: null }])
      const [left] = await admin.listConsumerGroupOffsets([{ groupId }])
      expect(left?.partitions.map((x) => x.partition)).toEqual([1])
      const deleted = await admin.deleteGroups([groupId, groupId.replace('grp', 'nogrp')])
      expect(deleted[0]).toEqual({ groupId, error: null })
      expect(deleted[1]?.error?.code).toBe('GROUP_ID_NOT_FOUND')
      const [gone] = await admin.describeGroups([groupId])
      expect(gone?.error?.code).toBe('GROUP_ID_NOT_FOUND')
    } finally {
      await c.close()
      await p.close()
      await admin.close()
    }
  })

  it('a KIP-848 group (the Java console consumer, group.protocol=consumer) is described with ConsumerGroupDescribe', async () => {
    const topic = uniqueTopic('ag-848')
    await createTopic(topic, 2)
    const groupId = uniqueTopic('grp-848')
    const admin = new Admin({ bootstrapServers: brokers() })
    const p = new Producer({ bootstrapServers: brokers() })
    const kafka = await kafkaScript()
    let consuming: Promise<unknown> | undefined
    try {
      await p.send({
        topic,
        messages: [
          { value: 'a', partition: 0 },
          { value: 'b', partition: 1 },
        ],
      })
      // Runs in the background until it has read a third record, or 40 s at most.
      consuming = kafka.consoleConsume({
        bootstrap: brokers(),
        topic,
        group: groupId,
        maxMessages: 3,
        timeoutMs: 40_000,
        properties: { 'group.protocol': 'consumer', 'client.id': 'java-848' },
      })
      consuming.catch(() => {})
      let g: Awaited<ReturnType<Admin['describeGroups']>>[number] | undefined
      await until(
        async () => {
          ;[g] = await admin.describeGroups([groupId])
          return g?.error === null && g.state === 'Stable' && (g.members[0]?.assignment?.length ?? 0) === 2
        },
        40_000,
        'the KIP-848 group to be Stable with both partitions assigned',
      )
      expect(g).toMatchObject({ groupId, type: 'consumer', protocolType: 'consumer' })
      expect(g?.partitionAssignor).toMatch(/uniform|range/)
      expect(g?.groupEpoch).toBeGreaterThanOrEqual(1)
      expect(g?.targetAssignmentEpoch).toBe(g?.groupEpoch)
      const m = g?.members[0]
      expect(m).toMatchObject({ clientId: 'java-848', subscribedTopics: [topic], groupInstanceId: null })
      expect(m?.memberEpoch).toBeGreaterThanOrEqual(1)
      expect(m?.targetAssignment).toEqual(m?.assignment)
      // With a classic group and an unknown one in the same call (batched per coordinator:
      // one ConsumerGroupDescribe, then one DescribeGroups for those it did not know).
      const classic = uniqueTopic('grp-848-classic')
      expect(await admin.alterConsumerGroupOffsets(classic, [{ topic, partition: 0, offset: 0 }])).toEqual([
        { topic, partition: 0, error: null },
      ])
      const mixed = await admin.describeGroups([classic, groupId, 'no-such-group-848'])
      expect(mixed.map((x) => [x.groupId, x.type, x.error?.code ?? null])).toEqual([
        [classic, 'classic', null],
        [groupId, 'consumer', null],
        ['no-such-group-848', '', 'GROUP_ID_NOT_FOUND'],
      ])
      expect(mixed[1]?.members.map((x) => x.clientId)).toEqual(['java-848'])
      const listed = await admin.listGroups({ types: ['consumer'] })
      expect(listed.groups.find((x) => x.groupId === groupId)).toMatchObject({ type: 'consumer', protocolType: 'consumer' })
      const [busy] = await admin.deleteGroups([groupId])
      expect(busy?.error?.code).toBe('NON_EMPTY_GROUP')

      await p.send({ topic, messages: [{ value: 'c', partition: 0 }] })
      const records = (await consuming) as unknown[]
      expect(records).toHaveLength(3)
      // The console consumer left; the group is Empty and can go.
      await until(async () => (await admin.describeGroups([groupId]))[0]?.state === 'Empty', 20_000, 'the group to be Empty')
      // It committed on the way out: offsets of a KIP-848 group read the same way.
      const [o] = await admin.listConsumerGroupOffsets([{ groupId }])
      expect(o?.partitions.map((x) => [x.partition, x.offset, x.lag])).toEqual([
        [0, 2n, 0n],
        [1, 1n, 0n],
      ])
      expect((await admin.deleteGroups([groupId]))[0]).toEqual({ groupId, error: null })
    } finally {
      await consuming?.catch(() => {})
      await p.close()
      await admin.close()
    }
  })

  it('bad arguments: a malformed call rejects naming the field, a bad item is that item error', async () => {
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      await expect(admin.describeGroups('g' as never)).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('describeGroups groupIds must be an array of strings'),
      })
      await expect(admin.listConsumerGroupOffsets([{ groupId: 7 as never }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('groupId must be a string'),
      })
      await expect(admin.alterConsumerGroupOffsets('g', [{ topic: 't', partition: 0, offset: 1.5 }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('offsets[0].offset'),
      })
      await expect(admin.deleteConsumerGroupOffsets('g', [{ topic: 't' } as never])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('partitions[0].partition must be an integer'),
      })
      await expect(admin.removeMembersFromConsumerGroup('no-such-group-ag')).rejects.toMatchObject({
        code: 'GROUP_ID_NOT_FOUND',
        message: expect.stringContaining('group `no-such-group-ag`'),
      })
      await expect(admin.removeMembersFromConsumerGroup('g', [{ groupInstanceId: '' }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })

      const deleted = await admin.deleteGroups(['', 'no-such-group-ag'])
      expect(deleted.map((d) => d.error?.code)).toEqual(['INVALID_ARGUMENT', 'GROUP_ID_NOT_FOUND'])
      let thrown: unknown
      try {
        throwIfFailed(deleted)
      } catch (e) {
        thrown = e
      }
      expect(thrown).toBeInstanceOf(AdminItemsError)
      expect((thrown as AdminItemsError).errors).toHaveLength(2)
      expect((thrown as Error).message).toContain('group `no-such-group-ag`')

      const offsets = await admin.deleteConsumerGroupOffsets('no-such-group-ag', [
        { topic: 't', partition: 0 },
        { topic: '', partition: 0 },
      ])
      expect(offsets.map((o) => o.error?.code)).toEqual(['GROUP_ID_NOT_FOUND', 'INVALID_ARGUMENT'])
      const listed = await admin.listConsumerGroupOffsets([{ groupId: '' }, { groupId: 'g', partitions: [{ topic: 't', partition: -1 }] }])
      expect(listed.map((g) => g.error?.code)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT'])
      await expect(admin.describeGroups(['x'], { includeAuthorizedOperations: 'yes' as never })).rejects.toBeInstanceOf(KafkaError)
    } finally {
      await admin.close()
    }
  })
})
