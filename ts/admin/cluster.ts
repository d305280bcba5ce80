import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument, type KafkaError } from '../errors'
import { type ItemResult, itemError, rpc } from './results'

/** Brokers, controller and cluster id. */
export interface ClusterDescription {
  clusterId: string | null
  /** In KRaft a live broker that forwards to the controller quorum (clients never reach the quorum). */
  controllerId: number
  /** `isFenced`: the controller fenced the broker (down, or not caught up yet); such brokers are listed only with `includeFencedBrokers`. */
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null; isFenced: boolean }>
  /**
   * With `includeAuthorizedOperations`: the ACL operations this client may perform on the
   * cluster (Java's `AclOperation` names: 'DESCRIBE', 'ALTER', 'ALTER_CONFIGS', ...); else null.
   */
  authorizedOperations: string[] | null
}

export interface DescribeClusterOptions {
  includeAuthorizedOperations?: boolean
  /** Also list fenced brokers (DescribeCluster v2, KIP-1073, Kafka 4.0+). */
  includeFencedBrokers?: boolean
}

/** One replica in a log dir. Sizes are bigints (Kafka's longs). */
export interface LogDirReplica {
  partition: number
  /** Bytes on disk. */
  size: bigint
  /** How far it is behind: the high watermark for a current replica, the current replica for a future one. */
  offsetLag: bigint
  /** A future replica: being moved into this dir from another. */
  isFuture: boolean
}

export interface LogDirTopic {
  topic: string
  partitions: LogDirReplica[]
}

/** One log dir of a broker. */
export interface LogDir {
  path: string
  /** KAFKA_STORAGE_ERROR for an offline dir. */
  error: KafkaError | null
  /** Size of the volume; null when the broker does not report it (before Kafka 3.3). */
  totalBytes: bigint | null
  /** Free space of the volume; null when the broker does not report it. */
  usableBytes: bigint | null
  topics: LogDirTopic[]
}

/** The log dirs of one broker, or why it could not be asked. */
export interface BrokerLogDirs extends ItemResult {
  broker: number
  dirs: LogDir[]
}

export interface TopicPartition {
  topic: string
  partition: number
}

/** A partition's new replica set (preferred leader first), or `replicas: null` to cancel its reassignment. */
export interface PartitionReassignment {
  topic: string
  partition: number
  replicas: number[] | null
}

export interface AlterPartitionReassignmentsOptions {
  /** How long the controller may take to record them (default: requestTimeoutMs). */
  timeoutMs?: number
}

/** The outcome of an operation on one partition. */
export interface PartitionResult extends ItemResult {
  topic: string
  partition: number
}

/** A reassignment in progress. */
export interface OngoingPartitionReassignment {
  topic: string
  partition: number
  /** The replicas now: old and new ones while data moves. */
  replicas: number[]
  addingReplicas: number[]
  removingReplicas: number[]
}

/** `preferred`: the first replica, if in sync. `unclean`: any live replica, even out of sync, where there is no leader (may lose data). */
export type ElectionType = 'preferred' | 'unclean'

export interface ElectLeadersOptions {
  type: ElectionType
  /** Default: every partition (the result then leaves out partitions that have the wanted leader already). */
  partitions?: TopicPartition[]
  /** How long the controller may take (default: requestTimeoutMs). */
  timeoutMs?: number
}

function isInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v)
}

function checkTimeout(call: string, v: unknown): number | undefined {
  if (v === undefined) return undefined
  if (!isInt(v) || v < 0) throw invalidArgument(`${call} options.timeoutMs must be a non-negative integer, got ${describe(v)}`)
  return v
}

function checkPartitions(call: string, field: string, ps: unknown): TopicPartition[] {
  if (!Array.isArray(ps)) throw invalidArgument(`${call} ${field} must be an array, got ${describe(ps)}`)
  return ps.map((p, i) => {
    if (p === null || typeof p !== 'object') throw invalidArgument(`${call} ${field}[${i}] must be an object, got ${describe(p)}`)
    if (typeof p.topic !== 'string') throw invalidArgument(`${call} ${field}[${i}].topic must be a string, got ${describe(p.topic)}`)
    if (!isInt(p.partition)) {
      throw invalidArgument(`${call} ${field}[${i}].partition must be an integer, got ${describe(p.partition)}`)
    }
    return { topic: p.topic, partition: p.partition }
  })
}

type Wire<T> = Omit<T, 'error'> & { error: BindingError | null }

/** @internal */
export async function describeCluster(binding: BindingAdmin, options: DescribeClusterOptions): Promise<ClusterDescription> {
  const opts = (options ?? {}) as Record<string, unknown>
  for (const k of ['includeAuthorizedOperations', 'includeFencedBrokers']) {
    const v = opts[k]
    if (v !== undefined && typeof v !== 'boolean') {
      throw invalidArgument(`describeCluster options.${k} must be a boolean, got ${describe(v)}`)
    }
  }
  return rpc<ClusterDescription>(binding, 'describeCluster', {
    includeAuthorizedOperations: opts.includeAuthorizedOperations === true,
    includeFencedBrokers: opts.includeFencedBrokers === true,
  })
}

/** @internal */
export async function describeLogDirs(binding: BindingAdmin, brokerIds?: number[]): Promise<BrokerLogDirs[]> {
  if (brokerIds !== undefined && (!Array.isArray(brokerIds) || brokerIds.some((b) => !isInt(b) || b < 0))) {
    throw invalidArgument(`describeLogDirs takes an array of broker ids, got ${describe(brokerIds)}`)
  }
  type WireDir = Omit<LogDir, 'error' | 'totalBytes' | 'usableBytes' | 'topics'> & {
    error: BindingError | null
    totalBytes: string | null
    usableBytes: string | null
    topics: Array<{ topic: string; partitions: Array<{ partition: number; size: string; offsetLag: string; isFuture: boolean }> }>
  }
  const r = await rpc<Array<{ broker: number; error: BindingError | null; dirs: WireDir[] }>>(binding, 'describeLogDirs', {
    brokerIds: brokerIds ?? null,
  })
  return r.map((b) => ({
    broker: b.broker,
    error: itemError(b.error),
    dirs: b.dirs.map((d) => ({
      path: d.path,
      error: itemError(d.error),
      totalBytes: d.totalBytes === null ? null : BigInt(d.totalBytes),
      usableBytes: d.usableBytes === null ? null : BigInt(d.usableBytes),
      topics: d.topics.map((t) => ({
        topic: t.topic,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          size: BigInt(p.size),
          offsetLag: BigInt(p.offsetLag),
          isFuture: p.isFuture,
        })),
      })),
    })),
  }))
}

/** @internal */
export async function alterPartitionReassignments(
  binding: BindingAdmin,
  reassignments: PartitionReassignment[],
  options: AlterPartitionReassignmentsOptions,
): Promise<PartitionResult[]> {
  const call = 'alterPartitionReassignments'
  if (!Array.isArray(reassignments)) throw invalidArgument(`${call} takes an array, got ${describe(reassignments)}`)
  const timeoutMs = checkTimeout(call, options?.timeoutMs)
  const items = checkPartitions(call, 'reassignments', reassignments).map((p, i) => {
    const replicas = (reassignments[i] as PartitionReassignment).replicas
    if (replicas !== null && (!Array.isArray(replicas) || replicas.some((b) => !isInt(b)))) {
      throw invalidArgument(
        `${call} reassignments[${i}].replicas must be an array of broker ids, or null to cancel; got ${describe(replicas)}`,
      )
    }
    return { ...p, replicas }
  })
  const r = await rpc<Wire<PartitionResult>[]>(binding, call, { reassignments: items, timeoutMs: timeoutMs ?? null })
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}

/** @internal */
export async function listPartitionReassignments(
  binding: BindingAdmin,
  partitions: TopicPartition[] | undefined,
  options: { timeoutMs?: number },
): Promise<OngoingPartitionReassignment[]> {
  const call = 'listPartitionReassignments'
  const timeoutMs = checkTimeout(call, options?.timeoutMs)
  const ps = partitions === undefined ? null : checkPartitions(call, 'partitions', partitions)
  return rpc<OngoingPartitionReassignment[]>(binding, call, { partitions: ps, timeoutMs: timeoutMs ?? null })
}

/** @internal */
export async function electLeaders(binding: BindingAdmin, options: ElectLeadersOptions): Promise<PartitionResult[]> {
  const call = 'electLeaders'
  if (options === null || typeof options !== 'object') {
    throw invalidArgument(`${call} takes an options object with a type, got ${describe(options)}`)
  }
  if (typeof options.type !== 'string') {
    throw invalidArgument(`${call} options.type must be 'preferred' or 'unclean', got ${describe(options.type)}`)
  }
  const timeoutMs = checkTimeout(call, options.timeoutMs)
  const ps = options.partitions === undefined ? null : checkPartitions(call, 'options.partitions', options.partitions)
  const r = await rpc<Wire<PartitionResult>[]>(binding, call, {
    type: options.type,
    partitions: ps,
    timeoutMs: timeoutMs ?? null,
  })
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}
