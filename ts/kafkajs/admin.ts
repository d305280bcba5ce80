/**
 * KafkaJS's admin client over nkafka's Admin (docs/ADMIN.md). nkafka returns per-item
 * results; KafkaJS rejects when an item failed, so every call here turns item errors into
 * KafkaJS's errors (one error, or KafkaJSAggregateError / KafkaJSDeleteGroupsError /
 * KafkaJSDeleteTopicRecordsError where KafkaJS uses those). Enums are KafkaJS's numbers.
 */
import { Admin as NkafkaAdmin } from '../admin'
import type { AclBinding, AclBindingFilter, AclOperation, AclPatternType, AclPermissionType, AclResourceType } from '../admin/acls'
import type { ConfigResourceType, ConfigSource as NkafkaConfigSource } from '../admin/configs'
import type { KafkaError } from '../errors'
import { encodeMemberAssignment, encodeMemberMetadata } from './assigner-protocol'
import {
  KafkaJSAggregateError,
  KafkaJSCreateTopicError,
  KafkaJSDeleteGroupsError,
  KafkaJSDeleteTopicRecordsError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  kafkajsErrors,
  protocolCode,
  toKafkaJSError,
} from './errors'
import { Instrumentation, type InstrumentationEvent } from './events'
import { groupBy } from './group'
import type { Kafka, Logger, RetryOptions } from './kafka'
import type { PartitionMetadata } from './producer'

export const AclResourceTypes = { UNKNOWN: 0, ANY: 1, TOPIC: 2, GROUP: 3, CLUSTER: 4, TRANSACTIONAL_ID: 5, DELEGATION_TOKEN: 6 } as const
export const ConfigResourceTypes = { UNKNOWN: 0, TOPIC: 2, BROKER: 4, BROKER_LOGGER: 8 } as const
export const ConfigSource = {
  UNKNOWN: 0,
  TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
} as const
export const AclPermissionTypes = { UNKNOWN: 0, ANY: 1, DENY: 2, ALLOW: 3 } as const
export const AclOperationTypes = {
  UNKNOWN: 0,
  ANY: 1,
  ALL: 2,
  READ: 3,
  WRITE: 4,
  CREATE: 5,
  DELETE: 6,
  ALTER: 7,
  DESCRIBE: 8,
  CLUSTER_ACTION: 9,
  DESCRIBE_CONFIGS: 10,
  ALTER_CONFIGS: 11,
  IDEMPOTENT_WRITE: 12,
} as const
export const ResourcePatternTypes = { UNKNOWN: 0, ANY: 1, MATCH: 2, LITERAL: 3, PREFIXED: 4 } as const

const RESOURCE_TYPES: Record<number, AclResourceType | 'any'> = {
  1: 'any',
  2: 'topic',
  3: 'group',
  4: 'cluster',
  5: 'transactional-id',
  6: 'delegation-token',
}
const CONFIG_TYPES: Record<number, ConfigResourceType> = { 2: 'topic', 4: 'broker', 8: 'broker-logger' }
const CONFIG_SOURCES: Record<NkafkaConfigSource, number> = {
  UNKNOWN: 0,
  DYNAMIC_TOPIC_CONFIG: 1,
  DYNAMIC_BROKER_CONFIG: 2,
  DYNAMIC_DEFAULT_BROKER_CONFIG: 3,
  STATIC_BROKER_CONFIG: 4,
  DEFAULT_CONFIG: 5,
  DYNAMIC_BROKER_LOGGER_CONFIG: 6,
  CLIENT_METRICS_CONFIG: 0,
  GROUP_CONFIG: 0,
}
const PERMISSIONS: Record<number, AclPermissionType | 'any'> = { 1: 'any', 2: 'deny', 3: 'allow' }
const OPERATIONS: Record<number, AclOperation | 'any'> = {
  1: 'any',
  2: 'all',
  3: 'read',
  4: 'write',
  5: 'create',
  6: 'delete',
  7: 'alter',
  8: 'describe',
  9: 'cluster-action',
  10: 'describe-configs',
  11: 'alter-configs',
  12: 'idempotent-write',
}
const PATTERNS: Record<number, AclPatternType | 'any' | 'match'> = { 1: 'any', 2: 'match', 3: 'literal', 4: 'prefixed' }

function lookup<T>(table: Record<number, T>, v: unknown, what: string): T {
  const r = typeof v === 'number' ? table[v] : undefined
  if (r === undefined) throw new KafkaJSNonRetriableError(`${what} ${String(v)} is not supported; use the KafkaJS enum values`)
  return r
}
function reverse<T extends string>(table: Record<number, T>, v: string): number {
  for (const [k, x] of Object.entries(table)) if (x === v) return Number(k)
  return 0
}

export interface AdminConfig {
  retry?: RetryOptions
}

export const ADMIN_EVENTS = {
  CONNECT: 'admin.connect',
  DISCONNECT: 'admin.disconnect',
  REQUEST: 'admin.network.request',
  REQUEST_TIMEOUT: 'admin.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'admin.network.request_queue_size',
} as const
const SILENT = new Set<string>([ADMIN_EVENTS.REQUEST, ADMIN_EVENTS.REQUEST_TIMEOUT, ADMIN_EVENTS.REQUEST_QUEUE_SIZE])

export interface SeekEntry {
  partition: number
  offset: string
}

/** The first item error as a KafkaJS error, thrown; several become a KafkaJSAggregateError. */
function throwItems(errors: KafkaError[], what: string): void {
  if (errors.length === 0) return
  const mapped = errors.map((e) => toKafkaJSError(e) as Error)
  if (mapped.length === 1) throw mapped[0]
  throw new KafkaJSAggregateError(`${what}: ${mapped.length} items failed`, mapped)
}

export class Admin {
  readonly events = ADMIN_EVENTS
  private readonly kafka: Kafka
  private readonly log: Logger
  private readonly instrumentation: Instrumentation
  private readonly retry: ReturnType<Kafka['retryOptions']>
  private admin: NkafkaAdmin | null = null

  constructor(kafka: Kafka, config: AdminConfig) {
    if (config === null || typeof config !== 'object') throw new KafkaJSNonRetriableError('admin() takes a config object')
    for (const k of Object.keys(config)) if (k !== 'retry') throw new KafkaJSNonRetriableError(`${k} is not a KafkaJS admin option`)
    this.kafka = kafka
    this.log = kafka.logger().namespace('Admin')
    this.instrumentation = new Instrumentation(ADMIN_EVENTS, SILENT, (m, x) => this.log.debug(m, x))
    this.retry = kafka.retryOptions(config.retry, 'admin ')
  }

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger(): Logger {
    return this.log
  }

  async connect(): Promise<void> {
    if (this.admin === null) {
      const client = await kafkajsErrors(() => this.kafka.clientConfig(this.retry))
      const admin = await kafkajsErrors(async () => new NkafkaAdmin(client))
      try {
        await kafkajsErrors(() => admin.describeCluster())
      } catch (e) {
        await admin.close()
        throw e
      }
      this.admin = admin
    }
    this.instrumentation.emit(ADMIN_EVENTS.CONNECT)
  }

  async disconnect(): Promise<void> {
    const admin = this.admin
    this.admin = null
    await admin?.close()
    this.instrumentation.emit(ADMIN_EVENTS.DISCONNECT)
  }

  private get nk(): NkafkaAdmin {
    if (this.admin === null) throw new KafkaJSNonRetriableError('The admin client is disconnected: call connect() first')
    return this.admin
  }

  async listTopics(): Promise<string[]> {
    return kafkajsErrors(() => this.nk.listTopics({ includeInternal: true }))
  }

  /** True when every topic was created; false when some already existed (not an error in KafkaJS). */
  async createTopics(options: {
    topics: Array<{
      topic: string
      numPartitions?: number
      replicationFactor?: number
      replicaAssignment?: Array<{ partition: number; replicas: number[] }>
      configEntries?: Array<{ name: string; value: string }>
    }>
    validateOnly?: boolean
    waitForLeaders?: boolean
    timeout?: number
  }): Promise<boolean> {
    const { topics, validateOnly, waitForLeaders, timeout } = options ?? ({} as never)
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${String(topics)}`)
    if (waitForLeaders === false)
      this.log.debug('waitForLeaders: false is not honoured: nkafka createTopics returns once leaders exist', {})
    const results = await kafkajsErrors(() =>
      this.nk.createTopics(
        topics.map((t) => ({
          topic: t.topic,
          ...(t.numPartitions !== undefined && t.numPartitions !== -1 ? { numPartitions: t.numPartitions } : {}),
          ...(t.replicationFactor !== undefined && t.replicationFactor !== -1 ? { replicationFactor: t.replicationFactor } : {}),
          ...(t.replicaAssignment?.length
            ? { replicaAssignment: Object.fromEntries(t.replicaAssignment.map((r) => [r.partition, r.replicas])) }
            : {}),
          ...(t.configEntries?.length ? { configs: Object.fromEntries(t.configEntries.map((c) => [c.name, c.value])) } : {}),
        })),
        { ...(validateOnly !== undefined ? { validateOnly } : {}), ...(timeout !== undefined ? { timeoutMs: timeout } : {}) },
      ),
    )
    const failed = results.filter((r) => r.error && r.error.code !== 'TOPIC_ALREADY_EXISTS')
    if (failed.length > 0) {
      const errors = failed.map((r) => {
        const e = r.error as KafkaError
        return new KafkaJSCreateTopicError(
          { message: e.message, type: e.code, code: protocolCode(e.code), retriable: e.retriable },
          r.topic,
          e,
        )
      })
      throw new KafkaJSAggregateError('Topic creation errors', errors)
    }
    return results.every((r) => !r.error)
  }

  async deleteTopics(options: { topics: string[]; timeout?: number }): Promise<void> {
    const { topics, timeout } = options ?? ({} as never)
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError(`Invalid topics array ${String(topics)}`)
    const results = await kafkajsErrors(() => this.nk.deleteTopics(topics, timeout !== undefined ? { timeoutMs: timeout } : {}))
    throwItems(
      results.flatMap((r) => (r.error ? [r.error] : [])),
      'deleteTopics',
    )
  }

  async createPartitions(options: {
    topicPartitions: Array<{ topic: string; count: number; assignments?: number[][] }>
    validateOnly?: boolean
    timeout?: number
  }): Promise<boolean> {
    const { topicPartitions, validateOnly, timeout } = options ?? ({} as never)
    if (!Array.isArray(topicPartitions)) throw new KafkaJSNonRetriableError(`Invalid topic partitions array ${String(topicPartitions)}`)
    const results = await kafkajsErrors(() =>
      this.nk.createPartitions(
        topicPartitions.map((t) => ({ topic: t.topic, count: t.count, ...(t.assignments ? { assignments: t.assignments } : {}) })),
        { ...(validateOnly !== undefined ? { validateOnly } : {}), ...(timeout !== undefined ? { timeoutMs: timeout } : {}) },
      ),
    )
    throwItems(
      results.flatMap((r) => (r.error ? [r.error] : [])),
      'createPartitions',
    )
    return true
  }

  async fetchTopicMetadata(
    options: { topics?: string[] } = {},
  ): Promise<{ topics: Array<{ name: string; partitions: PartitionMetadata[] }> }> {
    const nk = this.nk
    const names = options?.topics?.length ? options.topics : await kafkajsErrors(() => nk.listTopics({ includeInternal: true }))
    const described = await kafkajsErrors(() => nk.describeTopics(names))
    throwItems(
      described.flatMap((d) => (d.error ? [d.error] : [])),
      'fetchTopicMetadata',
    )
    return {
      topics: described.map((d) => ({
        name: d.topic,
        partitions: d.partitions.map((p) => ({
          partitionErrorCode: 0,
          partitionId: p.partition,
          leader: p.leader,
          replicas: p.replicas,
          isr: p.isr,
          offlineReplicas: p.offlineReplicas,
        })),
      })),
    }
  }

  private async partitionsOf(topic: string): Promise<number[]> {
    const [d] = await kafkajsErrors(() => this.nk.describeTopics([topic]))
    if (!d) throw new KafkaJSError(`no metadata for topic ${topic}`)
    if (d.error) throw toKafkaJSError(d.error)
    return d.partitions.map((p) => p.partition).sort((a, b) => a - b)
  }

  private async offsets(
    topic: string,
    partitions: number[],
    spec: 'earliest' | 'latest' | { timestamp: number },
  ): Promise<Map<number, bigint>> {
    const r = await kafkajsErrors(() => this.nk.listOffsets(partitions.map((partition) => ({ topic, partition, spec }))))
    throwItems(
      r.flatMap((x) => (x.error ? [x.error] : [])),
      'listOffsets',
    )
    return new Map(r.map((x) => [x.partition, x.offset]))
  }

  async fetchTopicOffsets(topic: string): Promise<Array<SeekEntry & { high: string; low: string }>> {
    const partitions = await this.partitionsOf(topic)
    const [low, high] = await Promise.all([this.offsets(topic, partitions, 'earliest'), this.offsets(topic, partitions, 'latest')])
    return partitions.map((p) => ({ partition: p, offset: String(high.get(p)), high: String(high.get(p)), low: String(low.get(p)) }))
  }

  /** The first offset at or after `timestamp` per partition; the latest offset where no record is that new (as KafkaJS). */
  async fetchTopicOffsetsByTimestamp(topic: string, timestamp?: number): Promise<SeekEntry[]> {
    const partitions = await this.partitionsOf(topic)
    const high = await this.offsets(topic, partitions, 'latest')
    if (timestamp === undefined) return partitions.map((p) => ({ partition: p, offset: String(high.get(p)) }))
    const at = await this.offsets(topic, partitions, { timestamp })
    return partitions.map((p) => {
      const o = at.get(p) ?? -1n
      return { partition: p, offset: String(o < 0n ? high.get(p) : o) }
    })
  }

  async fetchOffsets(options: {
    groupId: string
    topics?: string[]
    resolveOffsets?: boolean
  }): Promise<Array<{ topic: string; partitions: Array<SeekEntry & { metadata: string | null }> }>> {
    const { groupId, topics, resolveOffsets } = options ?? ({} as never)
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${String(groupId)}`)
    if (topics !== undefined && !Array.isArray(topics)) throw new KafkaJSNonRetriableError('Expected topics array to be set')
    const nk = this.nk
    const wanted = topics?.length
      ? await Promise.all(topics.map(async (t) => ({ topic: t, partitions: await this.partitionsOf(t) })))
      : null
    const spec = wanted
      ? { groupId, partitions: wanted.flatMap((w) => w.partitions.map((partition) => ({ topic: w.topic, partition }))) }
      : { groupId }
    const [g] = await kafkajsErrors(() => nk.listConsumerGroupOffsets([spec]))
    if (!g) throw new KafkaJSError(`no offsets for group ${groupId}`)
    if (g.error) throw toKafkaJSError(g.error)
    throwItems(
      g.partitions.flatMap((p) => (p.error ? [p.error] : [])),
      'fetchOffsets',
    )
    const grouped = groupBy(g.partitions, (p) => p.topic)
    const out = [...new Set([...(wanted ?? []).map((w) => w.topic), ...grouped.keys()])].map((topic) => ({
      topic,
      partitions: (grouped.get(topic) ?? [])
        .map((p) => ({ partition: p.partition, offset: String(p.offset < 0n ? -1n : p.offset), metadata: p.metadata }))
        .sort((a, b) => a.partition - b.partition),
    }))
    if (!resolveOffsets) return out
    // As KafkaJS: partitions without a commit resolve to the latest offset, and that is committed.
    for (const t of out) {
      if (!t.partitions.some((p) => p.offset === '-1')) continue
      const high = await this.offsets(
        t.topic,
        t.partitions.map((p) => p.partition),
        'latest',
      )
      for (const p of t.partitions) if (p.offset === '-1') p.offset = String(high.get(p.partition))
      await this.setOffsets({ groupId, topic: t.topic, partitions: t.partitions })
    }
    return out
  }

  private async ensureGroupEmpty(groupId: string): Promise<void> {
    const [g] = await kafkajsErrors(() => this.nk.describeGroups([groupId]))
    if (g && !g.error && g.state !== 'Empty' && g.state !== 'Dead') {
      throw new KafkaJSNonRetriableError(`The consumer group must have no running instances, current state: ${g.state}`)
    }
  }

  async setOffsets(options: { groupId: string; topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { groupId, topic, partitions } = options ?? ({} as never)
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${String(groupId)}`)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`)
    if (!Array.isArray(partitions) || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions')
    await this.ensureGroupEmpty(groupId)
    const list = partitions.map((p) => {
      const o = Number(p.offset)
      if (!Number.isSafeInteger(o) || o < 0)
        throw new KafkaJSNonRetriableError(`Invalid offset ${String(p.offset)} for partition ${p.partition}`)
      return { topic, partition: p.partition, offset: o }
    })
    const r = await kafkajsErrors(() => this.nk.alterConsumerGroupOffsets(groupId, list))
    throwItems(
      r.flatMap((x) => (x.error ? [x.error] : [])),
      'setOffsets',
    )
  }

  /** Commits the earliest (or latest) offset of every partition of `topic` for the group. */
  async resetOffsets(options: { groupId: string; topic: string; earliest?: boolean }): Promise<void> {
    const { groupId, topic, earliest = false } = options ?? ({} as never)
    if (!groupId) throw new KafkaJSNonRetriableError(`Invalid groupId ${String(groupId)}`)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`)
    const partitions = await this.partitionsOf(topic)
    const at = await this.offsets(topic, partitions, earliest ? 'earliest' : 'latest')
    await this.setOffsets({ groupId, topic, partitions: partitions.map((p) => ({ partition: p, offset: String(at.get(p)) })) })
  }

  /** Deletes records before each offset; offset '-1' means the high watermark (all records). */
  async deleteTopicRecords(options: { topic: string; partitions: SeekEntry[] }): Promise<void> {
    const { topic, partitions } = options ?? ({} as never)
    if (!topic) throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`)
    if (!Array.isArray(partitions) || partitions.length === 0) throw new KafkaJSNonRetriableError('Invalid partitions')
    const needHigh = partitions.some((p) => String(p.offset) === '-1')
    const high = needHigh
      ? await this.offsets(
          topic,
          partitions.map((p) => p.partition),
          'latest',
        )
      : new Map<number, bigint>()
    const items = partitions.map((p) => ({
      topic,
      partition: p.partition,
      offset: String(p.offset) === '-1' ? (high.get(p.partition) as bigint) : BigInt(p.offset),
    }))
    const r = await kafkajsErrors(() => this.nk.deleteRecords(items))
    const failed = r.filter((x) => x.error)
    if (failed.length > 0) {
      throw new KafkaJSDeleteTopicRecordsError({
        topic,
        partitions: failed.map((x) => ({
          partition: x.partition,
          offset: String(items.find((i) => i.partition === x.partition)?.offset),
          error: toKafkaJSError(x.error) as KafkaJSError,
        })),
      })
    }
  }

  async describeCluster(): Promise<{
    brokers: Array<{ nodeId: number; host: string; port: number }>
    controller: number | null
    clusterId: string
  }> {
    const d = await kafkajsErrors(() => this.nk.describeCluster())
    return {
      brokers: d.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port })),
      controller: d.controllerId >= 0 ? d.controllerId : null,
      clusterId: d.clusterId ?? '',
    }
  }

  async listGroups(): Promise<{ groups: Array<{ groupId: string; protocolType: string }> }> {
    const r = await kafkajsErrors(() => this.nk.listGroups())
    throwItems(r.errors, 'listGroups')
    return { groups: r.groups.map((g) => ({ groupId: g.groupId, protocolType: g.protocolType })) }
  }

  async describeGroups(groupIds: string[]): Promise<{
    groups: Array<{
      groupId: string
      errorCode: number
      members: Array<{ clientHost: string; clientId: string; memberId: string; memberAssignment: Buffer; memberMetadata: Buffer }>
      protocol: string
      protocolType: string
      state: string
    }>
  }> {
    if (!Array.isArray(groupIds)) throw new KafkaJSNonRetriableError('describeGroups() takes an array of group ids')
    const r = await kafkajsErrors(() => this.nk.describeGroups(groupIds))
    throwItems(
      r.flatMap((g) => (g.error ? [g.error] : [])),
      'describeGroups',
    )
    return {
      groups: r.map((g) => ({
        groupId: g.groupId,
        errorCode: 0,
        protocol: g.partitionAssignor,
        protocolType: g.protocolType,
        state: g.state,
        members: g.members.map((m) => ({
          clientHost: m.host,
          clientId: m.clientId,
          memberId: m.memberId,
          memberAssignment: encodeMemberAssignment(m.assignment ?? []),
          memberMetadata: encodeMemberMetadata(m.subscribedTopics ?? []),
        })),
      })),
    }
  }

  async deleteGroups(groupIds: string[]): Promise<Array<{ groupId: string; errorCode: number }>> {
    if (!Array.isArray(groupIds)) throw new KafkaJSNonRetriableError('deleteGroups() takes an array of group ids')
    const r = await kafkajsErrors(() => this.nk.deleteGroups(groupIds))
    const failed = r.filter((g) => g.error)
    if (failed.length > 0) {
      const groups = failed.map((g) => ({
        groupId: g.groupId,
        errorCode: protocolCode((g.error as KafkaError).code),
        error: toKafkaJSError(g.error) as KafkaJSError,
      }))
      throw new KafkaJSDeleteGroupsError('Error in DeleteGroups', groups)
    }
    return r.map((g) => ({ groupId: g.groupId, errorCode: 0 }))
  }

  async describeConfigs(options: {
    resources: Array<{ type: number; name: string; configNames?: string[] }>
    includeSynonyms?: boolean
  }): Promise<{
    resources: Array<{
      configEntries: Array<{
        configName: string
        configValue: string | null
        isDefault: boolean
        configSource: number
        isSensitive: boolean
        readOnly: boolean
        configSynonyms: Array<{ configName: string; configValue: string | null; configSource: number }>
      }>
      errorCode: number
      errorMessage: string | null
      resourceName: string
      resourceType: number
    }>
    throttleTime: number
  }> {
    const { resources, includeSynonyms } = options ?? ({} as never)
    if (!Array.isArray(resources)) throw new KafkaJSNonRetriableError('describeConfigs() takes { resources }')
    const r = await kafkajsErrors(() =>
      this.nk.describeConfigs(
        resources.map((x) => ({
          type: lookup(CONFIG_TYPES, x.type, 'config resource type'),
          name: x.name,
          ...(x.configNames?.length ? { configNames: x.configNames } : {}),
        })),
        { includeSynonyms: includeSynonyms === true },
      ),
    )
    throwItems(
      r.flatMap((x) => (x.error ? [x.error] : [])),
      'describeConfigs',
    )
    return {
      throttleTime: 0,
      resources: r.map((x) => ({
        errorCode: 0,
        errorMessage: null,
        resourceName: x.name,
        resourceType: reverse(CONFIG_TYPES, x.type),
        configEntries: x.configs.map((c) => ({
          configName: c.name,
          configValue: c.value,
          isDefault: c.isDefault,
          configSource: CONFIG_SOURCES[c.source] ?? 0,
          isSensitive: c.isSensitive,
          readOnly: c.isReadOnly,
          configSynonyms: c.synonyms.map((s) => ({
            configName: s.name,
            configValue: s.value,
            configSource: CONFIG_SOURCES[s.source] ?? 0,
          })),
        })),
      })),
    }
  }

  /**
   * Sets the given entries. KafkaJS uses the legacy AlterConfigs, which also resets every
   * config not listed; nkafka uses IncrementalAlterConfigs and changes only the listed ones.
   */
  async alterConfigs(options: {
    validateOnly?: boolean
    resources: Array<{ type: number; name: string; configEntries: Array<{ name: string; value: string }> }>
  }): Promise<{
    resources: Array<{ errorCode: number; errorMessage: string | null; resourceName: string; resourceType: number }>
    throttleTime: number
  }> {
    const { resources, validateOnly } = options ?? ({} as never)
    if (!Array.isArray(resources)) throw new KafkaJSNonRetriableError('alterConfigs() takes { resources }')
    const r = await kafkajsErrors(() =>
      this.nk.incrementalAlterConfigs(
        resources.map((x) => ({
          type: lookup(CONFIG_TYPES, x.type, 'config resource type'),
          name: x.name,
          ops: (x.configEntries ?? []).map((e) => ({ name: e.name, value: e.value, op: 'set' as const })),
        })),
        { validateOnly: validateOnly === true },
      ),
    )
    throwItems(
      r.flatMap((x) => (x.error ? [x.error] : [])),
      'alterConfigs',
    )
    return {
      throttleTime: 0,
      resources: r.map((x) => ({ errorCode: 0, errorMessage: null, resourceName: x.name, resourceType: reverse(CONFIG_TYPES, x.type) })),
    }
  }

  async createAcls(options: {
    acl: Array<{
      resourceType: number
      resourceName: string
      resourcePatternType: number
      principal: string
      host: string
      operation: number
      permissionType: number
    }>
  }): Promise<boolean> {
    const { acl } = options ?? ({} as never)
    if (!Array.isArray(acl)) throw new KafkaJSNonRetriableError('createAcls() takes { acl: [...] }')
    const bindings: AclBinding[] = acl.map((a) => ({
      resourceType: lookup(RESOURCE_TYPES, a.resourceType, 'resourceType') as AclResourceType,
      resourceName: a.resourceName,
      patternType: lookup(PATTERNS, a.resourcePatternType, 'resourcePatternType') as AclPatternType,
      principal: a.principal,
      host: a.host,
      operation: lookup(OPERATIONS, a.operation, 'operation') as AclOperation,
      permissionType: lookup(PERMISSIONS, a.permissionType, 'permissionType') as AclPermissionType,
    }))
    const r = await kafkajsErrors(() => this.nk.createAcls(bindings))
    throwItems(
      r.flatMap((x) => (x.error ? [x.error] : [])),
      'createAcls',
    )
    return true
  }

  private toFilter(f: Record<string, unknown>): AclBindingFilter {
    return {
      resourceType: lookup(RESOURCE_TYPES, f.resourceType, 'resourceType'),
      resourceName: (f.resourceName as string | undefined) ?? null,
      patternType: lookup(PATTERNS, f.resourcePatternType, 'resourcePatternType'),
      principal: (f.principal as string | undefined) ?? null,
      host: (f.host as string | undefined) ?? null,
      operation: lookup(OPERATIONS, f.operation, 'operation'),
      permissionType: lookup(PERMISSIONS, f.permissionType, 'permissionType'),
    }
  }

  private fromBinding(b: Required<AclBinding>) {
    return {
      resourceType: reverse(RESOURCE_TYPES, b.resourceType),
      resourceName: b.resourceName,
      resourcePatternType: reverse(PATTERNS, b.patternType),
      principal: b.principal,
      host: b.host,
      operation: reverse(OPERATIONS, b.operation),
      permissionType: reverse(PERMISSIONS, b.permissionType),
    }
  }

  async describeAcls(filter: Record<string, unknown>): Promise<{
    throttleTime: number
    errorCode: number
    resources: Array<{
      resourceType: number
      resourceName: string
      resourcePatternType: number
      acls: Array<{ principal: string; host: string; operation: number; permissionType: number }>
    }>
  }> {
    if (filter === null || typeof filter !== 'object') throw new KafkaJSNonRetriableError('describeAcls() takes a filter')
    const r = await kafkajsErrors(() => this.nk.describeAcls(this.toFilter(filter)))
    const byResource = new Map<
      string,
      {
        resourceType: number
        resourceName: string
        resourcePatternType: number
        acls: Array<{ principal: string; host: string; operation: number; permissionType: number }>
      }
    >()
    for (const b of r) {
      const a = this.fromBinding(b)
      const k = `${a.resourceType}\0${a.resourceName}\0${a.resourcePatternType}`
      let res = byResource.get(k)
      if (res === undefined) {
        res = { resourceType: a.resourceType, resourceName: a.resourceName, resourcePatternType: a.resourcePatternType, acls: [] }
        byResource.set(k, res)
      }
      res.acls.push({ principal: a.principal, host: a.host, operation: a.operation, permissionType: a.permissionType })
    }
    return { throttleTime: 0, errorCode: 0, resources: [...byResource.values()] }
  }

  async deleteAcls(options: { filters: Array<Record<string, unknown>> }): Promise<{
    throttleTime: number
    filterResponses: Array<{
      errorCode: number
      errorMessage: string | null
      matchingAcls: Array<ReturnType<Admin['fromBinding']> & { errorCode: number; errorMessage: string | null }>
    }>
  }> {
    const { filters } = options ?? ({} as never)
    if (!Array.isArray(filters)) throw new KafkaJSNonRetriableError('deleteAcls() takes { filters: [...] }')
    const r = await kafkajsErrors(() => this.nk.deleteAcls(filters.map((f) => this.toFilter(f))))
    throwItems(
      r.flatMap((x) => [...(x.error ? [x.error] : []), ...x.matches.flatMap((m) => (m.error ? [m.error] : []))]),
      'deleteAcls',
    )
    return {
      throttleTime: 0,
      filterResponses: r.map((x) => ({
        errorCode: 0,
        errorMessage: null,
        matchingAcls: x.matches.map((m) => ({ ...this.fromBinding(m.binding), errorCode: 0, errorMessage: null })),
      })),
    }
  }

  async alterPartitionReassignments(request: {
    topics: Array<{ topic: string; partitionAssignment: Array<{ partition: number; replicas: number[] }> }>
    timeout?: number
  }): Promise<void> {
    const { topics, timeout } = request ?? ({} as never)
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError('alterPartitionReassignments() takes { topics }')
    const r = await kafkajsErrors(() =>
      this.nk.alterPartitionReassignments(
        topics.flatMap((t) => t.partitionAssignment.map((a) => ({ topic: t.topic, partition: a.partition, replicas: a.replicas }))),
        timeout !== undefined ? { timeoutMs: timeout } : {},
      ),
    )
    throwItems(
      r.flatMap((x) => (x.error ? [x.error] : [])),
      'alterPartitionReassignments',
    )
  }

  async listPartitionReassignments(request: { topics?: Array<{ topic: string; partitions: number[] }>; timeout?: number } = {}): Promise<{
    topics: Array<{
      topic: string
      partitions: Array<{ partitionIndex: number; replicas: number[]; addingReplicas: number[]; removingReplicas: number[] }>
    }>
  }> {
    const tps = request?.topics?.flatMap((t) => t.partitions.map((partition) => ({ topic: t.topic, partition })))
    const r = await kafkajsErrors(() =>
      this.nk.listPartitionReassignments(tps, request?.timeout !== undefined ? { timeoutMs: request.timeout } : {}),
    )
    const grouped = groupBy(r, (x) => x.topic)
    return {
      topics: [...grouped].map(([topic, xs]) => ({
        topic,
        partitions: xs.map((x) => ({
          partitionIndex: x.partition,
          replicas: x.replicas,
          addingReplicas: x.addingReplicas,
          removingReplicas: x.removingReplicas,
        })),
      })),
    }
  }
}
