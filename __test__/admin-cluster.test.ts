import { afterAll, describe, expect, it } from 'vitest'
import { Admin, Producer, throwIfFailed } from '../ts/index'
import { brokers, clusterHandle, createTopic, kafkaScript, uniqueTopic } from './helpers'

let cluster: any

afterAll(async () => {
  if (cluster?.stop) await cluster.stop()
})

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    // Metadata answered by a broker that has not caught up yet may not know a new topic.
    const v = await probe().catch((e) => {
      if (e?.code === 'UNKNOWN_TOPIC_OR_PARTITION') return undefined
      throw e
    })
    if (v !== undefined) return v
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(200)
  }
}

async function partition0(admin: Admin, topic: string) {
  const [t] = throwIfFailed(await admin.describeTopics([topic]))
  const p = t?.partitions[0]
  if (!p) throw new Error(`no partition 0 of ${topic}`)
  return p
}

describe('admin: cluster (single broker)', () => {
  it('describeCluster: brokers, controller, cluster id; authorized operations when asked', async () => {
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      const c = await admin.describeCluster()
      expect(c.clusterId).toMatch(/^[A-Za-z0-9_-]{22}$/)
      expect(c.brokers.length).toBe(1)
      const [host, port] = brokers().split(',')[0]!.split(':')
      expect(c.brokers[0]).toEqual({ nodeId: c.brokers[0]?.nodeId, host, port: Number(port), rack: null, isFenced: false })
      // The one broker is live: with fenced brokers asked for, the same list.
      expect((await admin.describeCluster({ includeFencedBrokers: true })).brokers).toEqual(c.brokers)
      expect(c.controllerId).toBe(c.brokers[0]?.nodeId)
      expect(c.authorizedOperations).toBeNull()
      const withOps = await admin.describeCluster({ includeAuthorizedOperations: true })
      // No authorizer on this broker: every cluster operation is allowed.
      expect(withOps.authorizedOperations).toEqual(expect.arrayContaining(['DESCRIBE', 'ALTER', 'ALTER_CONFIGS']))
      expect(withOps.clusterId).toBe(c.clusterId)
      await expect(admin.describeCluster({ includeAuthorizedOperations: 1 as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      await expect(admin.describeCluster({ includeFencedBrokers: 'yes' as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('includeFencedBrokers'),
      })
    } finally {
      await admin.close()
    }
  })

  it('describeLogDirs: the replicas of a topic with their size after producing; an unknown broker fails alone', async () => {
    const topic = uniqueTopic('logdirs')
    await createTopic(topic, 2)
    const p = new Producer({ bootstrapServers: brokers() })
    await p.send({ topic, messages: Array.from({ length: 50 }, (_, i) => ({ value: `v${i}`.repeat(20), partition: 0 })) })
    await p.close()
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      const id = (await admin.describeCluster()).brokers[0]!.nodeId
      const all = await admin.describeLogDirs()
      expect(all.map((b) => [b.broker, b.error])).toEqual([[id, null]])
      const dirs = all[0]!.dirs
      expect(dirs.length).toBeGreaterThanOrEqual(1)
      const dir = dirs.find((d) => d.topics.some((t) => t.topic === topic))
      expect(dir?.error).toBeNull()
      expect(dir?.path).toMatch(/\//)
      expect(dir?.totalBytes).toBeGreaterThan(0n)
      expect(dir?.usableBytes).toBeGreaterThan(0n)
      const replicas = dir?.topics.find((t) => t.topic === topic)?.partitions ?? []
      expect(replicas.map((r) => r.partition).sort()).toEqual([0, 1])
      const p0 = replicas.find((r) => r.partition === 0)
      expect(p0?.size).toBeGreaterThan(0n)
      expect(p0).toMatchObject({ offsetLag: 0n, isFuture: false })
      expect(replicas.find((r) => r.partition === 1)?.size).toBe(0n)

      const some = await admin.describeLogDirs([77, id])
      expect(some.map((b) => [b.broker, b.error?.code ?? null])).toEqual([
        [77, 'BROKER_NOT_AVAILABLE'],
        [id, null],
      ])
      expect(some[0]?.error?.message).toContain('broker 77')
      await expect(admin.describeLogDirs([-1])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    } finally {
      await admin.close()
    }
  })

  it('electLeaders: unclean on a partition that has a leader is ELECTION_NOT_NEEDED; bad input is typed', async () => {
    const topic = uniqueTopic('elect-single')
    await createTopic(topic)
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      const missing = uniqueTopic('elect-missing')
      const r = await admin.electLeaders({
        type: 'unclean',
        partitions: [
          { topic, partition: 0 },
          { topic: missing, partition: 0 },
          { topic: 'bad name', partition: 0 },
          { topic, partition: -1 },
        ],
      })
      expect(r.map((x) => [x.topic, x.partition, x.error?.code])).toEqual([
        [topic, 0, 'ELECTION_NOT_NEEDED'],
        [missing, 0, 'UNKNOWN_TOPIC_OR_PARTITION'],
        ['bad name', 0, 'INVALID_ARGUMENT'],
        [topic, -1, 'INVALID_ARGUMENT'],
      ])
      expect(r[0]?.error).toMatchObject({ topic, partition: 0, message: expect.stringContaining(`topic \`${topic}\` partition 0`) })
      await expect(admin.electLeaders({ type: 'random' as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('`random` is not an election type'),
      })
      await expect(admin.electLeaders({ type: 'preferred', partitions: 'x' as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
    } finally {
      await admin.close()
    }
  })
})

describe('admin: reassignments and elections (cluster)', () => {
  it('moves a partition to another broker set, lists it until done, then elects the new preferred leader', async () => {
    cluster = await clusterHandle()
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    try {
      const ids: number[] = (await admin.describeCluster()).brokers.map((b) => b.nodeId)
      expect(ids).toHaveLength(3)
      const topic = uniqueTopic('reassign')
      throwIfFailed(await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 2 }]))
      const before = await until('both replicas in sync', 30_000, async () => {
        const p = await partition0(admin, topic)
        return p.isr.length === 2 && p.leader === p.replicas[0] ? p : undefined
      })
      const [first, second] = before.replicas as [number, number]
      const third = ids.find((b) => !before.replicas.includes(b)) as number
      // The third broker first: it becomes the preferred leader, while the old leader
      // (still a replica) keeps leading until an election moves it.
      const target = [third, first]

      const started = await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: target }])
      expect(started).toEqual([{ topic, partition: 0, error: null }])
      await until('the reassignment to finish', 30_000, async () =>
        (await admin.listPartitionReassignments([{ topic, partition: 0 }])).length === 0 ? true : undefined,
      )
      const moved = await until('metadata to show the new replicas', 10_000, async () => {
        const p = await partition0(admin, topic)
        return p.replicas.join() === target.join() && p.isr.length === 2 ? p : undefined
      })
      expect(moved.replicas).not.toContain(second)

      // The old leader, still a replica, keeps leading (the controller moves a leader only
      // when it leaves the replica set); the preferred election makes `third` the leader,
      // and a second one has nothing to do.
      expect(moved.leader).toBe(first)
      const elected = await admin.electLeaders({ type: 'preferred', partitions: [{ topic, partition: 0 }] })
      expect(elected).toEqual([{ topic, partition: 0, error: null }])
      await until('the preferred leader to lead', 10_000, async () =>
        (await partition0(admin, topic)).leader === third ? true : undefined,
      )
      const again = await admin.electLeaders({ type: 'preferred', partitions: [{ topic, partition: 0 }] })
      expect(again[0]?.error).toMatchObject({ code: 'ELECTION_NOT_NEEDED', topic, partition: 0 })
      // Every partition: those already led by their preferred replica are left out.
      const everything = await admin.electLeaders({ type: 'preferred' })
      expect(everything.some((r) => r.topic === topic)).toBe(false)

      // Bad input: each item fails alone, the good one goes through.
      const missing = uniqueTopic('reassign-missing')
      const bad = await admin.alterPartitionReassignments([
        { topic: missing, partition: 0, replicas: ids.slice(0, 2) },
        { topic, partition: 0, replicas: [third, 99] },
        { topic, partition: 0, replicas: [] },
        { topic, partition: 5, replicas: target },
        { topic: 'bad name', partition: 0, replicas: target },
      ])
      expect(bad.map((r) => r.error?.code ?? null)).toEqual([
        'UNKNOWN_TOPIC_OR_PARTITION',
        'INVALID_ARGUMENT', // listed more than once
        'INVALID_ARGUMENT', // listed more than once
        'UNKNOWN_TOPIC_OR_PARTITION',
        'INVALID_ARGUMENT',
      ])
      const [unknownReplica, cancelNone] = await admin.alterPartitionReassignments([
        { topic, partition: 0, replicas: [third, 99] },
        { topic: missing, partition: 1, replicas: null },
      ])
      expect(unknownReplica?.error).toMatchObject({ code: 'INVALID_REPLICA_ASSIGNMENT', topic, partition: 0 })
      expect(cancelNone?.error).toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', topic: missing, partition: 1 })
      const [nothingToCancel] = await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: null }])
      expect(nothingToCancel?.error?.code).toBe('NO_REASSIGNMENT_IN_PROGRESS')
      const [empty] = await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: [] }])
      expect(empty?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('replicas is empty') })
      await expect(admin.alterPartitionReassignments([{ topic, partition: 0, replicas: '1,2' as never }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      await expect(admin.listPartitionReassignments([{ topic: 'bad name', partition: 0 }])).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
      })
      expect((await partition0(admin, topic)).replicas).toEqual(target)
      await admin.deleteTopics([topic])
    } finally {
      await admin.close()
    }
  }, 90_000)

  it('a reassignment held back by a replication throttle is listed as ongoing, then cancelled (replicas: null)', async () => {
    cluster ??= await clusterHandle()
    const admin = new Admin({ bootstrapServers: cluster.bootstrap })
    const topic = uniqueTopic('reassign-cancel')
    const throttle = (op: 'set' | 'delete') =>
      admin.incrementalAlterConfigs([
        {
          // The cluster-wide broker default: every broker throttles replication to 1 KiB/s.
          type: 'broker',
          name: '',
          ops: ['leader.replication.throttled.rate', 'follower.replication.throttled.rate'].map((name) =>
            op === 'set' ? { name, value: '1024', op } : { name, op },
          ),
        },
        {
          type: 'topic',
          name: topic,
          ops: ['leader.replication.throttled.replicas', 'follower.replication.throttled.replicas'].map((name) =>
            op === 'set' ? { name, value: '*', op } : { name, op },
          ),
        },
      ])
    try {
      const ids: number[] = (await admin.describeCluster()).brokers.map((b) => b.nodeId)
      throwIfFailed(await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 2 }]))
      const before = await until('both replicas in sync', 30_000, async () => {
        const p = await partition0(admin, topic)
        return p.isr.length === 2 ? p : undefined
      })
      // More than one replica fetch (1 MiB) of data, so that the throttle holds the new replica back.
      const producer = new Producer({ bootstrapServers: cluster.bootstrap })
      const value = Buffer.alloc(1024, 7)
      for (let i = 0; i < 3; i++) {
        await producer.send({ topic, messages: Array.from({ length: 1000 }, () => ({ value, partition: 0 })) })
      }
      await producer.close()
      throwIfFailed(await throttle('set'))

      const third = ids.find((b) => !before.replicas.includes(b)) as number
      const target = [third, before.replicas[0] as number]
      throwIfFailed(await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: target }], { timeoutMs: 10_000 }))
      const [ongoing] = await admin.listPartitionReassignments([{ topic, partition: 0 }])
      expect(ongoing).toMatchObject({ topic, partition: 0, addingReplicas: [third], removingReplicas: [before.replicas[1]] })
      expect([...(ongoing?.replicas ?? [])].sort()).toEqual([...ids].sort())
      // Listing everything includes it too.
      expect((await admin.listPartitionReassignments()).some((r) => r.topic === topic)).toBe(true)

      expect(await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: null }])).toEqual([
        { topic, partition: 0, error: null },
      ])
      await until('the cancelled reassignment to be gone', 10_000, async () =>
        (await admin.listPartitionReassignments([{ topic, partition: 0 }])).length === 0 ? true : undefined,
      )
      await until('the old replicas back', 10_000, async () =>
        (await partition0(admin, topic)).replicas.join() === before.replicas.join() ? true : undefined,
      )
    } finally {
      const undone = await throttle('delete').catch((e) => [{ error: e }])
      await admin.deleteTopics([topic]).catch(() => {})
      await admin.close()
      expect(undone.map((r) => r.error)).toEqual([null, null])
    }
  }, 90_000)

  it('reassignments go on while a broker is down: a dead route is retried on a live broker', async () => {
    cluster ??= await clusterHandle()
    const kafka = await kafkaScript()
    const admin = new Admin({ bootstrapServers: cluster.bootstrap, requestTimeoutMs: 20_000 })
    const topic = uniqueTopic('reassign-down')
    let down: number | undefined
    try {
      const ids: number[] = (await admin.describeCluster()).brokers.map((b) => b.nodeId)
      throwIfFailed(await admin.createTopics([{ topic, numPartitions: 1, replicationFactor: 2 }]))
      const before = await until('both replicas in sync', 30_000, async () => {
        const p = await partition0(admin, topic)
        return p.isr.length === 2 ? p : undefined
      })
      // A replica's broker dies; the partition moves to the two live ones. KRaft metadata
      // names a random live broker as controller, so the calls below reach the dead one
      // some of the time (until its session expires) and must be retried elsewhere.
      down = before.replicas[1] as number
      await kafka.killBroker(cluster, down)
      const live = ids.filter((b) => b !== down)
      // Once its session expires the controller fences it: gone from describeCluster,
      // listed as fenced with includeFencedBrokers (KIP-1073).
      await until('the dead broker to be fenced', 30_000, async () => {
        const all = await admin.describeCluster({ includeFencedBrokers: true })
        return all.brokers.find((b) => b.nodeId === down)?.isFenced === true ? true : undefined
      })
      expect((await admin.describeCluster()).brokers.map((b) => b.nodeId)).toEqual(live)
      const withFenced = await admin.describeCluster({ includeFencedBrokers: true })
      expect(withFenced.brokers.map((b) => [b.nodeId, b.isFenced])).toEqual(ids.map((b) => [b, b === down]))
      for (let i = 0; i < 8; i++) {
        await admin.listTopics() // a metadata refresh: a new random "controller"
        expect(await admin.listPartitionReassignments([{ topic, partition: 0 }])).toEqual([])
      }
      expect(await admin.alterPartitionReassignments([{ topic, partition: 0, replicas: live }])).toEqual([
        { topic, partition: 0, error: null },
      ])
      await until('the move off the dead broker to finish', 30_000, async () =>
        (await admin.listPartitionReassignments([{ topic, partition: 0 }])).length === 0 ? true : undefined,
      )
      await until('metadata to show the new replicas', 10_000, async () =>
        (await partition0(admin, topic)).replicas.join() === live.join() ? true : undefined,
      )
    } finally {
      if (down !== undefined) await kafka.restartBroker(cluster, down)
      await admin.deleteTopics([topic]).catch(() => {})
      await admin.close()
    }
  }, 90_000)
})
