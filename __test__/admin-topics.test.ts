import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, AdminItemsError, KafkaError, Producer, throwIfFailed } from '../ts/index'
import { brokers, clusterHandle, createTopic, kafkaScript, uniqueTopic, until } from './helpers'

const TOPIC_ID = /^[A-Za-z0-9_-]{22}$/

let admin: Admin
let brokerId: number

beforeAll(async () => {
  admin = new Admin({ bootstrapServers: brokers() })
  const c = await admin.describeCluster()
  expect(c.brokers.length).toBe(1)
  brokerId = c.brokers[0]!.nodeId
})

afterAll(async () => {
  await admin?.close()
})

/** Produces `values` to `partition` with the given timestamps. */
async function produce(topic: string, partition: number, timestamps: number[]): Promise<void> {
  const p = new Producer({ bootstrapServers: brokers() })
  try {
    await p.send({ topic, messages: timestamps.map((timestamp, i) => ({ value: `v${i}`, partition, timestamp })) })
  } finally {
    await p.close()
  }
}

describe('admin: topics', () => {
  it('createTopics: good topics are created with leaders while each bad one fails alone, naming itself', async () => {
    const good = uniqueTopic('at-create')
    const existing = uniqueTopic('at-exists')
    await createTopic(existing, 1)
    const names = {
      badName: 'has space',
      zeroPartitions: uniqueTopic('at-zero'),
      zeroReplicas: uniqueTopic('at-rf0'),
      both: uniqueTopic('at-both'),
      tooManyReplicas: uniqueTopic('at-rf5'),
    }
    const results = await admin.createTopics([
      { topic: names.badName, numPartitions: 1 },
      { topic: good, numPartitions: 3, replicationFactor: 1, configs: { 'retention.ms': '3600000' } },
      { topic: names.zeroPartitions, numPartitions: 0 },
      { topic: names.zeroReplicas, replicationFactor: 0 },
      { topic: names.both, numPartitions: 1, replicaAssignment: [[brokerId]] },
      { topic: names.tooManyReplicas, numPartitions: 1, replicationFactor: 5 },
      { topic: existing, numPartitions: 1 },
    ])
    expect(results.map((r) => [r.topic, r.error?.code ?? null])).toEqual([
      [names.badName, 'INVALID_ARGUMENT'],
      [good, null],
      [names.zeroPartitions, 'INVALID_ARGUMENT'],
      [names.zeroReplicas, 'INVALID_ARGUMENT'],
      [names.both, 'INVALID_ARGUMENT'],
      [names.tooManyReplicas, 'INVALID_REPLICATION_FACTOR'],
      [existing, 'TOPIC_ALREADY_EXISTS'],
    ])
    const created = results[1]!
    expect(created).toMatchObject({ numPartitions: 3, replicationFactor: 1, error: null })
    expect(created.topicId).toMatch(TOPIC_ID)
    expect(results[2]!.error!.message).toMatch(/numPartitions/)
    expect(results[3]!.error!.message).toMatch(/replicationFactor/)
    expect(results[4]!.error!.message).toMatch(/not both/)
    for (const r of results.filter((x) => x.error)) {
      expect(r.error).toBeInstanceOf(KafkaError)
      expect(r.error!.message).toContain(`topic \`${r.topic}\``)
      expect(r.error!.topic).toBe(r.topic)
      expect(r).toMatchObject({ topicId: null, numPartitions: -1, replicationFactor: -1 })
    }
    // Every partition has a leader on return: a producer can use the topic at once.
    const [d] = await admin.describeTopics([good])
    expect(d!.partitions.map((p) => p.leader)).toEqual([brokerId, brokerId, brokerId])
    expect(d!.topicId).toBe(created.topicId)
    await produce(good, 2, [Date.now()])
    // throwIfFailed names every failure.
    const err = (() => {
      try {
        throwIfFailed(results)
      } catch (e) {
        return e as AdminItemsError
      }
      throw new Error('throwIfFailed did not throw')
    })()
    expect(err).toBeInstanceOf(AdminItemsError)
    expect(err.errors.length).toBe(6)
    for (const n of [...Object.values(names), existing]) expect(err.message).toContain(n)
    // The broker rejected nothing it was not asked: none of the bad topics exists.
    const after = await admin.describeTopics([names.zeroPartitions, names.both, names.tooManyReplicas])
    expect(after.map((x) => x.error?.code)).toEqual(Array(3).fill('UNKNOWN_TOPIC_OR_PARTITION'))
  })

  it('createTopics with validateOnly creates nothing but reports what it would create', async () => {
    const topic = uniqueTopic('at-validate')
    const [ok, bad] = await admin.createTopics(
      [
        { topic, numPartitions: 4 },
        { topic: uniqueTopic('at-validate-rf'), numPartitions: 1, replicationFactor: 3 },
      ],
      { validateOnly: true },
    )
    expect(ok).toMatchObject({ topic, error: null, numPartitions: 4, replicationFactor: 1 })
    expect(bad!.error?.code).toBe('INVALID_REPLICATION_FACTOR')
    const [d] = await admin.describeTopics([topic])
    expect(d!.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    expect(await admin.listTopics()).not.toContain(topic)
  })

  it('createTopics with a replica assignment, as an object or an array; a bad broker id fails that topic', async () => {
    const byObject = uniqueTopic('at-assign-obj')
    const byArray = uniqueTopic('at-assign-arr')
    const unknownBroker = uniqueTopic('at-assign-bad')
    const r = await admin.createTopics([
      { topic: byObject, replicaAssignment: { 0: [brokerId], 1: [brokerId] } },
      { topic: byArray, replicaAssignment: [[brokerId], [brokerId], [brokerId]] },
      { topic: unknownBroker, replicaAssignment: [[brokerId + 100]] },
    ])
    expect(r.map((x) => x.error?.code ?? null)).toEqual([null, null, 'INVALID_REPLICA_ASSIGNMENT'])
    expect(r.map((x) => x.numPartitions)).toEqual([2, 3, -1])
    const d = throwIfFailed(await admin.describeTopics([byObject, byArray]))
    expect(d.map((t) => t.partitions.length)).toEqual([2, 3])
    for (const t of d) for (const p of t.partitions) expect(p).toMatchObject({ replicas: [brokerId], leader: brokerId })
  })

  it('a malformed call rejects as a whole with INVALID_ARGUMENT', async () => {
    const bad: Array<() => Promise<unknown>> = [
      () => admin.createTopics('t' as never),
      () => admin.createTopics([{ topic: 'x', numPartitions: 1.5 }]),
      () => admin.createTopics([{ topic: 'x', replicaAssignment: { a: [1] } as never }]),
      () => admin.createTopics([{ topic: 'x' }], { timeoutMs: -1 }),
      () => admin.describeTopics([1 as never]),
      () => admin.deleteTopics('x' as never),
      () => admin.createPartitions([{ topic: 'x' } as never]),
      () => admin.deleteRecords([{ topic: 'x', partition: 0, offset: 5 as never }]),
      () => admin.listOffsets([{ topic: 'x', partition: 0, spec: 'newest' as never }]),
      () => admin.listOffsets([], { isolationLevel: 'read_dirty' as never }),
    ]
    for (const call of bad) await expect(call()).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    const closed = new Admin({ bootstrapServers: brokers() })
    await closed.close()
    await expect(closed.describeTopics(['x'])).rejects.toMatchObject({ code: 'CLIENT_CLOSED' })
  })

  it('describeTopics: partitions, replicas, ISR, id; unknown and invalid names fail alone', async () => {
    const topic = uniqueTopic('at-describe')
    const [c] = throwIfFailed(await admin.createTopics([{ topic, numPartitions: 2, replicationFactor: 1 }]))
    const unknown = uniqueTopic('at-nope')
    const [d, missing, invalid, again] = await admin.describeTopics([topic, unknown, 'a/b', topic])
    expect(d).toMatchObject({ topic, error: null, isInternal: false, topicId: c!.topicId, authorizedOperations: null })
    expect(d!.partitions).toEqual(
      [0, 1].map((partition) => ({
        partition,
        leader: brokerId,
        leaderEpoch: expect.any(Number),
        replicas: [brokerId],
        isr: [brokerId],
        offlineReplicas: [],
      })),
    )
    expect(again).toEqual(d)
    expect(missing).toMatchObject({ topic: unknown, topicId: null, partitions: [] })
    expect(missing!.error).toMatchObject({ code: 'UNKNOWN_TOPIC_OR_PARTITION', topic: unknown })
    expect(missing!.error!.message).toContain(unknown)
    expect(invalid!.error?.code).toBe('INVALID_ARGUMENT')
    // Describing did not auto-create the unknown topic (the test broker auto-creates on Metadata).
    expect(await admin.listTopics()).not.toContain(unknown)
    // Without an authorizer every topic operation is allowed.
    const [withOps] = await admin.describeTopics([topic], { includeAuthorizedOperations: true })
    expect(withOps!.authorizedOperations).toEqual(expect.arrayContaining(['READ', 'WRITE', 'DESCRIBE', 'DELETE']))
    // One partition per DescribeTopicPartitions page: the same answer, gathered.
    expect(await admin.describeTopics([topic, unknown], { partitionSizeLimitPerResponse: 1 })).toEqual([d, missing])
    await expect(admin.describeTopics([topic], { partitionSizeLimitPerResponse: 0 })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('partitionSizeLimitPerResponse'),
    })
  })

  it("describeTopics agrees with Kafka's TopicCommand on a topic it created (id text, counts)", async () => {
    const kafka = await kafkaScript()
    const topic = uniqueTopic('at-java')
    await kafka.createTopic({ bootstrap: brokers(), topic, partitions: 2, replicationFactor: 1 })
    const [d] = throwIfFailed(await admin.describeTopics([topic]))
    expect(d!.partitions.map((p) => p.partition)).toEqual([0, 1])
    const out = await kafka.runJava(
      'tools',
      'org.apache.kafka.tools.TopicCommand',
      ['--bootstrap-server', brokers(), '--describe', '--topic', topic],
      { jvmArgs: kafka.FAST_START_JVM_ARGS },
    )
    const text = String(out.stdout)
    expect(out.code, String(out.stderr)).toBe(0)
    expect(text).toContain(`TopicId: ${d!.topicId}`)
    expect(text).toMatch(/PartitionCount: 2\s+ReplicationFactor: 1/)
  })

  it('listTopics lists the topics sorted, internal ones only when asked', async () => {
    const topic = uniqueTopic('at-list')
    await createTopic(topic, 1)
    // A transactional producer makes sure the internal __transaction_state exists.
    const tx = new Producer({ bootstrapServers: brokers(), transactionalId: uniqueTopic('at-list-tid') })
    try {
      await tx.initTransactions()
    } finally {
      await tx.close()
    }
    const names = await admin.listTopics()
    expect(names).toContain(topic)
    expect([...names].sort()).toEqual(names)
    expect(names.some((n) => n.startsWith('__'))).toBe(false)
    const all = await admin.listTopics({ includeInternal: true })
    expect(all).toEqual(expect.arrayContaining(names))
    const internal = all.filter((n) => !names.includes(n))
    expect(internal).toContain('__transaction_state')
    const described = throwIfFailed(await admin.describeTopics(internal))
    expect(described.every((t) => t.isInternal)).toBe(true)
  })

  it('deleteTopics: the existing topic goes, the unknown and the invalid ones fail alone', async () => {
    const topic = uniqueTopic('at-delete')
    await createTopic(topic, 2)
    const unknown = uniqueTopic('at-delete-nope')
    const r = await admin.deleteTopics([topic, unknown, '..'])
    expect(r.map((x) => [x.topic, x.error?.code ?? null])).toEqual([
      [topic, null],
      [unknown, 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['..', 'INVALID_ARGUMENT'],
    ])
    expect(r[1]!.error!.message).toContain(unknown)
    await until(
      async () => (await admin.describeTopics([topic]))[0]!.error?.code === 'UNKNOWN_TOPIC_OR_PARTITION',
      15_000,
      'the deleted topic to disappear',
    )
    expect(await admin.listTopics()).not.toContain(topic)
  })

  it('createPartitions grows topics (with leaders on return); shrinking, unknown topics and bad counts fail alone', async () => {
    const grow = uniqueTopic('at-grow')
    const assigned = uniqueTopic('at-grow-assigned')
    const shrink = uniqueTopic('at-shrink')
    const validate = uniqueTopic('at-grow-validate')
    for (const t of [grow, assigned, validate]) await createTopic(t, 1)
    await createTopic(shrink, 3)
    const unknown = uniqueTopic('at-grow-nope')
    const r = await admin.createPartitions([
      { topic: grow, count: 3 },
      { topic: assigned, count: 3, assignments: [[brokerId], [brokerId]] },
      { topic: shrink, count: 2 },
      { topic: unknown, count: 2 },
      { topic: uniqueTopic('at-grow-zero'), count: 0 },
      { topic: grow, count: 4 },
    ])
    expect(r.map((x) => x.error?.code ?? null)).toEqual([
      null,
      null,
      'INVALID_PARTITIONS',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'INVALID_ARGUMENT',
      'INVALID_ARGUMENT',
    ])
    expect(r[5]!.error!.message).toMatch(/listed twice/)
    const d = throwIfFailed(await admin.describeTopics([grow, assigned, shrink]))
    expect(d.map((t) => t.partitions.length)).toEqual([3, 3, 3])
    for (const t of d.slice(0, 2)) for (const p of t.partitions) expect(p.leader).toBe(brokerId)
    // validateOnly changes nothing.
    const [v, tooMany] = await admin.createPartitions(
      [
        { topic: validate, count: 5 },
        { topic: grow, count: 5, assignments: [[brokerId]] },
      ],
      { validateOnly: true },
    )
    expect(v!.error).toBe(null)
    expect(tooMany!.error?.code).toBe('INVALID_REPLICA_ASSIGNMENT')
    const [vd] = throwIfFailed(await admin.describeTopics([validate]))
    expect(vd!.partitions.length).toBe(1)
  })

  it('deleteRecords moves the low watermark (listOffsets earliest agrees); bad partitions fail alone', async () => {
    const topic = uniqueTopic('at-delrec')
    await createTopic(topic, 3)
    const now = Date.now()
    await produce(topic, 0, Array(10).fill(now))
    await produce(topic, 1, Array(5).fill(now))
    const unknown = uniqueTopic('at-delrec-nope')
    const r = await admin.deleteRecords([
      { topic, partition: 0, offset: 4n },
      { topic, partition: 1, offset: -1n },
      { topic, partition: 2, offset: 100n },
      { topic, partition: 7, offset: 0n },
      { topic: unknown, partition: 0, offset: 0n },
      { topic, partition: 0, offset: -3n },
    ])
    expect(r.map((x) => [x.partition, x.lowWatermark, x.error?.code ?? null])).toEqual([
      [0, 4n, null],
      [1, 5n, null],
      [2, -1n, 'OFFSET_OUT_OF_RANGE'],
      [7, -1n, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [0, -1n, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [0, -1n, 'INVALID_ARGUMENT'],
    ])
    expect(r[2]!.error).toMatchObject({ topic, partition: 2 })
    expect(r[2]!.error!.message).toContain(`${topic}-2`)
    const earliest = throwIfFailed(await admin.listOffsets([0, 1, 2].map((partition) => ({ topic, partition, spec: 'earliest' as const }))))
    expect(earliest.map((o) => o.offset)).toEqual([4n, 5n, 0n])
    const latest = throwIfFailed(await admin.listOffsets([0, 1, 2].map((partition) => ({ topic, partition, spec: 'latest' as const }))))
    expect(latest.map((o) => o.offset)).toEqual([10n, 5n, 0n])
  })

  it('listOffsets: earliest, latest, max-timestamp and by timestamp against known timestamps', async () => {
    const topic = uniqueTopic('at-offsets')
    await createTopic(topic, 2)
    await produce(topic, 0, [1_000, 5_000, 3_000, 2_000])
    await produce(topic, 1, [7_000])
    const unknown = uniqueTopic('at-offsets-nope')
    const r = await admin.listOffsets([
      { topic, partition: 0, spec: 'earliest' },
      { topic, partition: 0, spec: 'latest' },
      { topic, partition: 0, spec: 'max-timestamp' },
      { topic, partition: 0, spec: { timestamp: 2_500 } },
      { topic, partition: 0, spec: { timestamp: 1_000 } },
      { topic, partition: 0, spec: { timestamp: 6_000 } },
      { topic, partition: 1, spec: { timestamp: 0 } },
      { topic, partition: 1, spec: 'max-timestamp' },
      { topic, partition: 5, spec: 'latest' },
      { topic: unknown, partition: 0, spec: 'latest' },
      { topic, partition: 1, spec: { timestamp: -5 } },
    ])
    expect(r.map((o) => [o.partition, o.offset, o.timestamp, o.error?.code ?? null])).toEqual([
      [0, 0n, -1, null],
      [0, 4n, -1, null],
      [0, 1n, 5_000, null],
      // The first record at or after 2500 in offset order is the one at 5000.
      [0, 1n, 5_000, null],
      [0, 0n, 1_000, null],
      [0, -1n, -1, null],
      [1, 0n, 7_000, null],
      [1, 0n, 7_000, null],
      [5, -1n, -1, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [0, -1n, -1, 'UNKNOWN_TOPIC_OR_PARTITION'],
      [1, -1n, -1, 'INVALID_ARGUMENT'],
    ])
    expect(r[2]!.leaderEpoch).toBeGreaterThanOrEqual(0)
    expect(r[9]!.error).toMatchObject({ topic: unknown, partition: 0 })
    expect(r[9]!.error!.message).toContain(unknown)
  })

  it('listOffsets latest: read_committed stops before an open transaction, read_uncommitted does not', async () => {
    const topic = uniqueTopic('at-isolation')
    await createTopic(topic, 1)
    await produce(topic, 0, [1, 2, 3])
    const latest = async (isolationLevel: 'read_committed' | 'read_uncommitted') => {
      const [o] = throwIfFailed(await admin.listOffsets([{ topic, partition: 0, spec: 'latest' }], { isolationLevel }))
      return o!.offset
    }
    const tx = new Producer({ bootstrapServers: brokers(), transactionalId: uniqueTopic('at-tid') })
    try {
      await tx.initTransactions()
      tx.beginTransaction()
      await tx.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `tx-${i}`, partition: 0 })) })
      expect(await latest('read_uncommitted')).toBe(8n)
      expect(await latest('read_committed')).toBe(3n)
      // The default is read_uncommitted.
      const [o] = throwIfFailed(await admin.listOffsets([{ topic, partition: 0, spec: 'latest' }]))
      expect(o!.offset).toBe(8n)
      await tx.commitTransaction()
      // The commit marker takes offset 8; then the last stable offset catches up.
      await until(async () => (await latest('read_committed')) === 9n, 15_000, 'the last stable offset to pass the commit')
      expect(await latest('read_uncommitted')).toBe(9n)
    } finally {
      await tx.close()
    }
  })
})

describe('admin: topics on the cluster', () => {
  let cluster: any
  afterAll(async () => {
    if (cluster?.stop) await cluster.stop()
  })

  it('listOffsets and deleteRecords follow partitions whose leader was SIGKILLed (stale routes are retried)', async () => {
    cluster = await clusterHandle()
    const kafka = await kafkaScript()
    const topic = uniqueTopic('at-failover')
    const retries: string[] = []
    const logger = {
      debug: (message: string, fields: Record<string, unknown>) => {
        if (message.includes('retrying')) retries.push(`${fields.operation}: ${fields.cause}`)
      },
      info: () => {},
      warn: () => {},
      error: () => {},
    }
    const a = new Admin({ bootstrapServers: cluster.bootstrap, logger, logLevel: 'debug' })
    let killed: number | null = null
    try {
      throwIfFailed(await a.createTopics([{ topic, numPartitions: 3, replicationFactor: 3 }]))
      const p = new Producer({ bootstrapServers: cluster.bootstrap })
      try {
        for (const partition of [0, 1, 2]) {
          await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}`, partition })) })
        }
      } finally {
        await p.close()
      }
      const latest = () => a.listOffsets([0, 1, 2].map((partition) => ({ topic, partition, spec: 'latest' as const })))
      // The admin client now has every leader cached.
      expect(throwIfFailed(await latest()).map((o) => o.offset)).toEqual([5n, 5n, 5n])
      const [before] = throwIfFailed(await a.describeTopics([topic]))
      killed = before!.partitions[0]!.leader
      await kafka.killBroker(cluster, killed)
      // The cached leader of partition 0 is gone: the call retries until the new one answers.
      expect(throwIfFailed(await latest()).map((o) => o.offset)).toEqual([5n, 5n, 5n])
      expect(retries.filter((r) => r.startsWith('ListOffsets')).length).toBeGreaterThan(0)
      const [deleted] = throwIfFailed(await a.deleteRecords([{ topic, partition: 0, offset: 2n }]))
      expect(deleted!.lowWatermark).toBe(2n)
      const [earliest] = throwIfFailed(await a.listOffsets([{ topic, partition: 0, spec: 'earliest' }]))
      expect(earliest!.offset).toBe(2n)
      const [after] = throwIfFailed(await a.describeTopics([topic]))
      expect(after!.partitions[0]!.leader).not.toBe(killed)
      expect(after!.partitions[0]!.isr).not.toContain(killed)
    } finally {
      if (killed !== null) {
        await kafka.restartBroker(cluster, killed)
        // Leave the cluster as found: every partition of the topic back to 3 in-sync replicas.
        await until(
          async () => {
            const [t] = await a.describeTopics([topic])
            return t?.error === null && t.partitions.every((x) => x.isr.length === 3)
          },
          120_000,
          'the restarted broker to rejoin the ISR',
        )
      }
      await a.close()
    }
  })
})
