import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  AclOperationTypes,
  AclPermissionTypes,
  AclResourceTypes,
  type Admin,
  ConfigResourceTypes,
  ConfigSource,
  Kafka,
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteGroupsError,
  KafkaJSProtocolError,
  logLevel,
  ResourcePatternTypes,
} from '../ts/kafkajs'
import { brokers, produceRange, uniqueTopic, until } from './helpers'

const kafka = () => new Kafka({ clientId: 'kjs-admin-test', brokers: [brokers()], logLevel: logLevel.NOTHING })
let admin: Admin

beforeAll(async () => {
  admin = kafka().admin()
  await admin.connect()
})
afterAll(async () => {
  await admin.disconnect()
})

describe('kafkajs admin', () => {
  it('createTopics() resolves true when created and false when the topic already exists; listTopics() lists it', async () => {
    const topic = uniqueTopic('kjs-admin-create')
    expect(
      await admin.createTopics({ topics: [{ topic, numPartitions: 3, configEntries: [{ name: 'retention.ms', value: '3600000' }] }] }),
    ).toBe(true)
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 3 }] })).toBe(false)
    expect(await admin.listTopics()).toContain(topic)
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] })
    expect(topics[0]?.name).toBe(topic)
    expect(topics[0]?.partitions.map((p) => p.partitionId).sort()).toEqual([0, 1, 2])
    expect(topics[0]?.partitions[0]).toMatchObject({ partitionErrorCode: 0, leader: 1, replicas: [1], isr: [1] })
  })

  it('createTopics() rejects with KafkaJSAggregateError of KafkaJSCreateTopicError (type, code) for a bad topic', async () => {
    const err = await admin
      .createTopics({ topics: [{ topic: uniqueTopic('kjs-bad'), numPartitions: 1, replicationFactor: 5 }] })
      .catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSAggregateError)
    const inner = err.errors[0]
    expect(inner).toBeInstanceOf(KafkaJSCreateTopicError)
    expect(inner.type).toBe('INVALID_REPLICATION_FACTOR')
    expect(inner.code).toBe(38)
  })

  it('createPartitions() and deleteTopics(); deleting an unknown topic rejects with a protocol error', async () => {
    const topic = uniqueTopic('kjs-admin-parts')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    expect(await admin.createPartitions({ topicPartitions: [{ topic, count: 4 }] })).toBe(true)
    const offsets = await admin.fetchTopicOffsets(topic)
    expect(offsets.map((o) => o.partition)).toEqual([0, 1, 2, 3])
    await admin.deleteTopics({ topics: [topic] })
    await until(async () => !(await admin.listTopics()).includes(topic), 30_000, 'the topic gone')
    const err = await admin.deleteTopics({ topics: [topic] }).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSProtocolError)
    expect(err.type).toBe('UNKNOWN_TOPIC_OR_PARTITION')
  })

  it('fetchTopicOffsets() gives { partition, offset, high, low }; deleteTopicRecords() moves low; fetchTopicOffsetsByTimestamp()', async () => {
    const topic = uniqueTopic('kjs-admin-offsets')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    const before = Date.now()
    await produceRange(topic, 0, 10)
    expect(await admin.fetchTopicOffsets(topic)).toEqual([{ partition: 0, offset: '10', high: '10', low: '0' }])
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, before - 60_000)).toEqual([{ partition: 0, offset: '0' }])
    expect(await admin.fetchTopicOffsetsByTimestamp(topic, Date.now() + 60_000)).toEqual([{ partition: 0, offset: '10' }])
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '4' }] })
    expect((await admin.fetchTopicOffsets(topic))[0]?.low).toBe('4')
    await admin.deleteTopicRecords({ topic, partitions: [{ partition: 0, offset: '-1' }] })
    expect((await admin.fetchTopicOffsets(topic))[0]?.low).toBe('10')
  })

  it('setOffsets(), fetchOffsets() (-1 without a commit, resolveOffsets), resetOffsets(), listGroups/describeGroups/deleteGroups', async () => {
    const topic = uniqueTopic('kjs-admin-group')
    const groupId = uniqueTopic('kjs-g')
    await admin.createTopics({ topics: [{ topic, numPartitions: 2 }] })
    await produceRange(topic, 0, 20)
    const high = await admin.fetchTopicOffsets(topic)
    expect(await admin.fetchOffsets({ groupId, topics: [topic] })).toEqual([
      {
        topic,
        partitions: [
          { partition: 0, offset: '-1', metadata: '' },
          { partition: 1, offset: '-1', metadata: '' },
        ],
      },
    ])
    await admin.setOffsets({ groupId, topic, partitions: [{ partition: 0, offset: '3' }] })
    const resolved = await admin.fetchOffsets({ groupId, topics: [topic], resolveOffsets: true })
    expect(resolved[0]?.partitions.map((p) => p.offset)).toEqual(['3', high[1]?.high])
    await admin.resetOffsets({ groupId, topic, earliest: true })
    expect((await admin.fetchOffsets({ groupId }))[0]?.partitions.map((p) => p.offset)).toEqual(['0', '0'])
    expect((await admin.listGroups()).groups.map((g) => g.groupId)).toContain(groupId)
    const { groups } = await admin.describeGroups([groupId])
    expect(groups[0]).toMatchObject({ groupId, state: 'Empty', members: [] })
    expect(await admin.deleteGroups([groupId])).toEqual([{ groupId, errorCode: 0 }])
    const err = await admin.deleteGroups([groupId]).catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSDeleteGroupsError)
    expect(err.groups[0]).toMatchObject({ groupId, errorCode: 69 })
  })

  it('describeCluster() gives brokers, controller and clusterId', async () => {
    const c = await admin.describeCluster()
    expect(c.brokers).toEqual([{ nodeId: 1, host: '127.0.0.1', port: Number(brokers().split(':')[1]) }])
    expect(c.controller).toBe(1)
    expect(c.clusterId).toMatch(/.+/)
  })

  it('describeConfigs() and alterConfigs() use KafkaJS enums and entry names', async () => {
    const topic = uniqueTopic('kjs-admin-cfg')
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configEntries: [{ name: 'retention.ms', value: '7200000' }] }],
    })
    const r = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: ['retention.ms', 'cleanup.policy'] }],
    })
    const res = r.resources[0]
    expect(res).toMatchObject({ resourceName: topic, resourceType: ConfigResourceTypes.TOPIC, errorCode: 0 })
    const retention = res?.configEntries.find((e) => e.configName === 'retention.ms')
    expect(retention).toMatchObject({ configValue: '7200000', isDefault: false, configSource: ConfigSource.TOPIC_CONFIG, readOnly: false })
    expect(res?.configEntries.find((e) => e.configName === 'cleanup.policy')?.configSource).toBe(ConfigSource.DEFAULT_CONFIG)
  })

  it('createAcls(), describeAcls() grouped by resource, deleteAcls() with matchingAcls (KafkaJS enum numbers)', async () => {
    const topic = uniqueTopic('kjs-acl')
    const acl = {
      resourceType: AclResourceTypes.TOPIC,
      resourceName: topic,
      resourcePatternType: ResourcePatternTypes.LITERAL,
      principal: 'User:kjs',
      host: '*',
      operation: AclOperationTypes.READ,
      permissionType: AclPermissionTypes.ALLOW,
    }
    const err = await admin.createAcls({ acl: [acl] }).catch((e) => e)
    // The single test broker runs without an authorizer: KafkaJS and nkafka both surface SECURITY_DISABLED.
    if (err !== true) {
      expect(err).toBeInstanceOf(KafkaJSProtocolError)
      expect(err.type).toBe('SECURITY_DISABLED')
      return
    }
    const d = await admin.describeAcls({ ...acl, resourceName: topic })
    expect(d.resources).toEqual([
      {
        resourceType: 2,
        resourceName: topic,
        resourcePatternType: 3,
        acls: [{ principal: 'User:kjs', host: '*', operation: 3, permissionType: 3 }],
      },
    ])
    const del = await admin.deleteAcls({ filters: [acl] })
    expect(del.filterResponses[0]?.matchingAcls).toHaveLength(1)
  })

  it('listPartitionReassignments() is empty on an idle cluster; admin events CONNECT/DISCONNECT are emitted', async () => {
    expect(await admin.listPartitionReassignments({})).toEqual({ topics: [] })
    const a = kafka().admin()
    const types: string[] = []
    a.on(a.events.CONNECT, (e) => types.push(e.type))
    a.on(a.events.DISCONNECT, (e) => types.push(e.type))
    await a.connect()
    await a.disconnect()
    expect(types).toEqual(['admin.connect', 'admin.disconnect'])
  })
})
