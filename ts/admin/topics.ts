import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument } from '../errors'
import { type ItemResult, itemError, rpc } from './results'

/**
 * A topic to create. Give the counts (each defaults to the broker's setting) or a
 * `replicaAssignment`, not both.
 */
export interface NewTopic {
  topic: string
  /** Default: the broker's `num.partitions`. */
  numPartitions?: number
  /** Default: the broker's `default.replication.factor`. */
  replicationFactor?: number
  /** Topic configs, e.g. `{ 'cleanup.policy': 'compact' }`. */
  configs?: Record<string, string>
  /**
   * Replica broker ids of each partition (partitions 0..n-1), the preferred leader first:
   * `{ 0: [1, 2], 1: [2, 1] }` or `[[1, 2], [2, 1]]`.
   */
  replicaAssignment?: Record<number, number[]> | number[][]
}

export interface CreateTopicsOptions {
  /** Only check that the topics could be created; nothing is created. */
  validateOnly?: boolean
  /**
   * How long the controller may take, then how long to wait for every new partition's
   * leader. Default: `requestTimeoutMs`.
   */
  timeoutMs?: number
}

export interface CreateTopicResult extends ItemResult {
  topic: string
  /** The new topic's id, in Kafka's text form (as `kafka-topics.sh` prints it). */
  topicId: string | null
  /** Partitions it has (or would have, with `validateOnly`); -1 on error. */
  numPartitions: number
  /** -1 on error. */
  replicationFactor: number
}

/** The outcome of an operation on one topic. */
export interface TopicResult extends ItemResult {
  topic: string
}

export interface DeleteTopicsOptions {
  /** How long the controller may take. Default: `requestTimeoutMs`. */
  timeoutMs?: number
}

export interface ListTopicsOptions {
  /** Also list internal topics (`__consumer_offsets`, `__transaction_state`). */
  includeInternal?: boolean
}

export interface DescribeTopicsOptions {
  /** Also report the ACL operations this client may perform on each topic. */
  includeAuthorizedOperations?: boolean
  /** Partitions per DescribeTopicPartitions response (its page size; Java's name). Default 2000. */
  partitionSizeLimitPerResponse?: number
}

export interface TopicPartitionInfo {
  partition: number
  /** Broker id of the leader; -1 when the partition has none. */
  leader: number
  leaderEpoch: number
  /** Replica broker ids, the preferred leader first. */
  replicas: number[]
  isr: number[]
  offlineReplicas: number[]
}

export interface TopicDescription extends ItemResult {
  topic: string
  /** In Kafka's text form; null for an error. */
  topicId: string | null
  isInternal: boolean
  /** By partition index; empty for an error. */
  partitions: TopicPartitionInfo[]
  /**
   * With `includeAuthorizedOperations`: the ACL operations allowed on the topic, by Java's
   * `AclOperation` names (`READ`, `WRITE`, `DESCRIBE`, `DESCRIBE_CONFIGS`, ...); else null.
   */
  authorizedOperations: string[] | null
}

/** Partitions to add: grow `topic` to `count` partitions. */
export interface NewPartitions {
  topic: string
  count: number
  /** Replica broker ids of each new partition, in order. Default: the broker places them. */
  assignments?: number[][]
}

export interface CreatePartitionsOptions {
  /** Only check that the partitions could be added. */
  validateOnly?: boolean
  /** How long the controller may take, then how long to wait for the new leaders. Default: `requestTimeoutMs`. */
  timeoutMs?: number
}

/** Delete the records of a partition before `offset`. */
export interface RecordsToDelete {
  topic: string
  partition: number
  /** The new log start offset; `-1n` for the high watermark (delete everything). */
  offset: bigint
}

export interface DeleteRecordsOptions {
  /** How long the leader may wait for its followers. Default: `requestTimeoutMs`. */
  timeoutMs?: number
}

export interface DeletedRecords extends ItemResult {
  topic: string
  partition: number
  /** The partition's log start offset now; -1n on error. */
  lowWatermark: bigint
}

/**
 * Which offset `listOffsets` looks up: the log start, the next offset to be written, the
 * record with the highest timestamp, or the first record at or after a timestamp (ms).
 */
export type OffsetSpec = 'earliest' | 'latest' | 'max-timestamp' | { timestamp: number }

export interface OffsetQuery {
  topic: string
  partition: number
  spec: OffsetSpec
}

export interface ListOffsetsOptions {
  /** With 'read_committed', 'latest' is the last stable offset (open transactions excluded). */
  isolationLevel?: 'read_uncommitted' | 'read_committed'
}

export interface ListedOffset extends ItemResult {
  topic: string
  partition: number
  /** -1n when no record is at or after a timestamp, and on error. */
  offset: bigint
  /** The record's timestamp for timestamp and max-timestamp lookups, else -1. */
  timestamp: number
  /** Leader epoch of the record's batch; -1 when unknown. */
  leaderEpoch: number
}

type Wire<T> = Omit<T, 'error'> & { error: BindingError | null }

function checkArray(call: string, v: unknown): asserts v is unknown[] {
  if (!Array.isArray(v)) throw invalidArgument(`${call} takes an array, got ${describe(v)}`)
}

function checkObject(call: string, v: unknown): asserts v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw invalidArgument(`${call} takes an options object, got ${describe(v)}`)
  }
}

function checkInt(what: string, v: unknown, optional = true): void {
  if (v === undefined && optional) return
  if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2 ** 31 - 1) {
    throw invalidArgument(`${what} must be an integer, got ${describe(v)}`)
  }
}

function checkTimeout(call: string, options: Record<string, unknown>): void {
  const t = options.timeoutMs
  if (t !== undefined && (typeof t !== 'number' || !Number.isInteger(t) || t < 0)) {
    throw invalidArgument(`${call} options.timeoutMs must be a non-negative integer, got ${describe(t)}`)
  }
}

function checkBool(call: string, options: Record<string, unknown>, key: string): void {
  if (options[key] !== undefined && typeof options[key] !== 'boolean') {
    throw invalidArgument(`${call} options.${key} must be a boolean, got ${describe(options[key])}`)
  }
}

function checkTopicName(what: string, v: unknown): void {
  if (typeof v !== 'string') throw invalidArgument(`${what} must be a string, got ${describe(v)}`)
}

function checkBrokerList(what: string, v: unknown): void {
  if (!Array.isArray(v)) throw invalidArgument(`${what} must be an array of broker ids, got ${describe(v)}`)
  for (const [i, b] of v.entries()) checkInt(`${what}[${i}]`, b, false)
}

function withErrors<T extends ItemResult>(items: Wire<T>[]): T[] {
  return items.map((r) => ({ ...r, error: itemError(r.error) }) as unknown as T)
}

/** @internal */
export async function listTopics(binding: BindingAdmin, options: ListTopicsOptions): Promise<string[]> {
  checkObject('listTopics', options)
  checkBool('listTopics', options as Record<string, unknown>, 'includeInternal')
  return rpc<string[]>(binding, 'listTopics', { includeInternal: options.includeInternal ?? false })
}

/** @internal */
export async function describeTopics(binding: BindingAdmin, topics: string[], options: DescribeTopicsOptions): Promise<TopicDescription[]> {
  checkArray('describeTopics', topics)
  for (const [i, t] of topics.entries()) checkTopicName(`topics[${i}]`, t)
  checkObject('describeTopics', options)
  checkBool('describeTopics', options as Record<string, unknown>, 'includeAuthorizedOperations')
  const limit: unknown = options.partitionSizeLimitPerResponse
  if (limit !== undefined && (typeof limit !== 'number' || !Number.isInteger(limit) || limit <= 0 || limit > 2 ** 31 - 1)) {
    throw invalidArgument(`describeTopics options.partitionSizeLimitPerResponse must be a positive integer, got ${describe(limit)}`)
  }
  const r = await rpc<Wire<TopicDescription>[]>(binding, 'describeTopics', {
    items: topics,
    options: { includeAuthorizedOperations: options.includeAuthorizedOperations ?? false, partitionSizeLimitPerResponse: limit },
  })
  return withErrors(r)
}

/** `{ 0: [1], 1: [2] }` or `[[1], [2]]` as the native side takes it (a map by partition). */
function replicaAssignment(i: number, a: unknown): Record<string, number[]> | undefined {
  if (a === undefined) return undefined
  const what = `topics[${i}].replicaAssignment`
  if (a === null || typeof a !== 'object') {
    throw invalidArgument(`${what} must be an object by partition or an array, got ${describe(a)}`)
  }
  const entries = Array.isArray(a) ? a.map((ids, p) => [String(p), ids] as const) : Object.entries(a)
  const out: Record<string, number[]> = {}
  for (const [p, ids] of entries) {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(p)) throw invalidArgument(`${what}: \`${p}\` is not a partition index`)
    checkBrokerList(`${what}[${p}]`, ids)
    out[p] = ids as number[]
  }
  return out
}

/** @internal */
export async function createTopics(binding: BindingAdmin, topics: NewTopic[], options: CreateTopicsOptions): Promise<CreateTopicResult[]> {
  checkArray('createTopics', topics)
  checkObject('createTopics', options)
  checkBool('createTopics', options as Record<string, unknown>, 'validateOnly')
  checkTimeout('createTopics', options as Record<string, unknown>)
  const items = topics.map((t, i) => {
    if (t === null || typeof t !== 'object') throw invalidArgument(`topics[${i}] must be an object, got ${describe(t)}`)
    checkTopicName(`topics[${i}].topic`, t.topic)
    checkInt(`topics[${i}].numPartitions`, t.numPartitions)
    checkInt(`topics[${i}].replicationFactor`, t.replicationFactor)
    if (t.replicationFactor !== undefined && Math.abs(t.replicationFactor) > 32_767) {
      throw invalidArgument(`topics[${i}].replicationFactor must fit 16 bits, got ${t.replicationFactor}`)
    }
    if (t.configs !== undefined && (t.configs === null || typeof t.configs !== 'object' || Array.isArray(t.configs))) {
      throw invalidArgument(`topics[${i}].configs must be an object of strings, got ${describe(t.configs)}`)
    }
    const configs: Record<string, string> = {}
    for (const [k, v] of Object.entries(t.configs ?? {})) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
        throw invalidArgument(`topics[${i}].configs.${k} must be a string, got ${describe(v)}`)
      }
      configs[k] = String(v)
    }
    return {
      topic: t.topic,
      numPartitions: t.numPartitions,
      replicationFactor: t.replicationFactor,
      configs,
      replicaAssignment: replicaAssignment(i, t.replicaAssignment),
    }
  })
  const r = await rpc<Wire<CreateTopicResult>[]>(binding, 'createTopics', {
    items,
    options: { validateOnly: options.validateOnly ?? false, timeoutMs: options.timeoutMs },
  })
  return withErrors(r)
}

/** @internal */
export async function deleteTopics(binding: BindingAdmin, topics: string[], options: DeleteTopicsOptions): Promise<TopicResult[]> {
  checkArray('deleteTopics', topics)
  for (const [i, t] of topics.entries()) checkTopicName(`topics[${i}]`, t)
  checkObject('deleteTopics', options)
  checkTimeout('deleteTopics', options as Record<string, unknown>)
  const r = await rpc<Wire<TopicResult>[]>(binding, 'deleteTopics', {
    items: topics,
    options: { timeoutMs: options.timeoutMs },
  })
  return withErrors(r)
}

/** @internal */
export async function createPartitions(
  binding: BindingAdmin,
  items: NewPartitions[],
  options: CreatePartitionsOptions,
): Promise<TopicResult[]> {
  checkArray('createPartitions', items)
  checkObject('createPartitions', options)
  checkBool('createPartitions', options as Record<string, unknown>, 'validateOnly')
  checkTimeout('createPartitions', options as Record<string, unknown>)
  const wire = items.map((p, i) => {
    if (p === null || typeof p !== 'object') throw invalidArgument(`items[${i}] must be an object, got ${describe(p)}`)
    checkTopicName(`items[${i}].topic`, p.topic)
    checkInt(`items[${i}].count`, p.count, false)
    if (p.assignments !== undefined) {
      if (!Array.isArray(p.assignments)) {
        throw invalidArgument(`items[${i}].assignments must be an array of broker id arrays, got ${describe(p.assignments)}`)
      }
      for (const [j, ids] of p.assignments.entries()) checkBrokerList(`items[${i}].assignments[${j}]`, ids)
    }
    return { topic: p.topic, count: p.count, assignments: p.assignments }
  })
  const r = await rpc<Wire<TopicResult>[]>(binding, 'createPartitions', {
    items: wire,
    options: { validateOnly: options.validateOnly ?? false, timeoutMs: options.timeoutMs },
  })
  return withErrors(r)
}

function checkPartition(what: string, topic: unknown, partition: unknown): void {
  checkTopicName(`${what}.topic`, topic)
  checkInt(`${what}.partition`, partition, false)
}

/** @internal */
export async function deleteRecords(
  binding: BindingAdmin,
  items: RecordsToDelete[],
  options: DeleteRecordsOptions,
): Promise<DeletedRecords[]> {
  checkArray('deleteRecords', items)
  checkObject('deleteRecords', options)
  checkTimeout('deleteRecords', options as Record<string, unknown>)
  const wire = items.map((r, i) => {
    if (r === null || typeof r !== 'object') throw invalidArgument(`items[${i}] must be an object, got ${describe(r)}`)
    checkPartition(`items[${i}]`, r.topic, r.partition)
    if (typeof r.offset !== 'bigint') throw invalidArgument(`items[${i}].offset must be a bigint, got ${describe(r.offset)}`)
    return { topic: r.topic, partition: r.partition, offset: r.offset.toString() }
  })
  const r = await rpc<Wire<Omit<DeletedRecords, 'lowWatermark'> & { lowWatermark: string }>[]>(binding, 'deleteRecords', {
    items: wire,
    options: { timeoutMs: options.timeoutMs },
  })
  return r.map((d) => ({ ...d, lowWatermark: BigInt(d.lowWatermark), error: itemError(d.error) }))
}

const NAMED_SPECS = new Set(['earliest', 'latest', 'max-timestamp'])

/** @internal */
export async function listOffsets(binding: BindingAdmin, items: OffsetQuery[], options: ListOffsetsOptions): Promise<ListedOffset[]> {
  checkArray('listOffsets', items)
  checkObject('listOffsets', options)
  const level = options.isolationLevel
  if (level !== undefined && level !== 'read_uncommitted' && level !== 'read_committed') {
    throw invalidArgument(`listOffsets options.isolationLevel must be 'read_uncommitted' or 'read_committed', got ${describe(level)}`)
  }
  const wire = items.map((q, i) => {
    if (q === null || typeof q !== 'object') throw invalidArgument(`items[${i}] must be an object, got ${describe(q)}`)
    checkPartition(`items[${i}]`, q.topic, q.partition)
    const s = q.spec as unknown
    const named = typeof s === 'string' && NAMED_SPECS.has(s)
    const at =
      s !== null && typeof s === 'object' && typeof (s as { timestamp?: unknown }).timestamp === 'number'
        ? Math.floor((s as { timestamp: number }).timestamp)
        : undefined
    if (!named && (at === undefined || !Number.isFinite(at))) {
      throw invalidArgument(`items[${i}].spec must be 'earliest', 'latest', 'max-timestamp' or { timestamp: ms }, got ${describe(s)}`)
    }
    return { topic: q.topic, partition: q.partition, spec: named ? s : { timestamp: at } }
  })
  const r = await rpc<Wire<Omit<ListedOffset, 'offset'> & { offset: string }>[]>(binding, 'listOffsets', {
    items: wire,
    options: { isolationLevel: level ?? 'read_uncommitted' },
  })
  return r.map((o) => ({ ...o, offset: BigInt(o.offset), error: itemError(o.error) }))
}
