import type { BindingAdmin, BindingCluster, BindingTopicResults } from '../../native/binding'
import { type ClientConfig, describe, toBindingClientConfig } from '../config'
import { invalidArgument, KafkaError } from '../errors'
import { type ClientLog, clientLog } from '../logger'
import { native } from '../native'
import {
  type AlterPartitionReassignmentsOptions,
  alterPartitionReassignments,
  type BrokerLogDirs,
  type ClusterDescription,
  type DescribeClusterOptions,
  describeCluster,
  describeLogDirs,
  type ElectLeadersOptions,
  electLeaders,
  listPartitionReassignments,
  type OngoingPartitionReassignment,
  type PartitionReassignment,
  type PartitionResult,
  type TopicPartition,
} from './cluster'
import {
  type AlterConfigsOptions,
  type AlterConfigsResource,
  type AlterConfigsResult,
  type ConfigResource,
  type ConfigResourceResult,
  type DescribeConfigsOptions,
  describeConfigs,
  incrementalAlterConfigs,
} from './configs'
import { type GroupListing, type ListGroupsOptions, listGroups } from './groups'

/** A topic to create. */
export interface NewTopic {
  topic: string
  /** Default: the broker's num.partitions. */
  numPartitions?: number
  /** Default: the broker's default.replication.factor. */
  replicationFactor?: number
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>
}

export interface PartitionMetadata {
  partition: number
  leader: number
  leaderEpoch: number
  replicas: number[]
  isr: number[]
  error: string | null
}

export interface TopicMetadata {
  name: string
  isInternal: boolean
  partitions: PartitionMetadata[]
}

export interface PartitionOffset {
  partition: number
  offset: bigint
  /** Timestamp of that record for timestamp lookups, else -1. */
  timestamp: number
}

export type { ClusterDescription } from './cluster'

const DEFAULT_TIMEOUT_MS = 30_000

/** Cluster administration: describe the cluster, list, create and delete topics. */
export class Admin {
  private readonly binding: BindingAdmin
  private closed = false
  private readonly log: ClientLog

  constructor(config: ClientConfig) {
    const c = toBindingClientConfig(config)
    this.log = clientLog(config as unknown as Record<string, unknown>)
    if (this.log.id !== 0) c.logId = this.log.id
    try {
      this.binding = new native.BindingAdmin(c)
    } catch (e) {
      this.log.close()
      throw KafkaError.fromThrown(e)
    }
  }

  /**
   * Brokers, controller and cluster id (DescribeCluster, KIP-700, where the broker has it);
   * with `includeAuthorizedOperations`, also what this client may do on the cluster.
   */
  async describeCluster(options: DescribeClusterOptions = {}): Promise<ClusterDescription> {
    this.ensureOpen()
    return describeCluster(this.binding, options)
  }

  /** Names of the topics (internal ones only with `includeInternal`). */
  async listTopics(options: { includeInternal?: boolean } = {}): Promise<string[]> {
    const c = await this.cluster(this.binding.describeCluster())
    return c.topics.filter((t) => options.includeInternal || !t.isInternal).map((t) => t.name)
  }

  /** Partitions, leaders and replicas of the named topics (all when omitted). */
  async fetchTopicMetadata(topics?: string[]): Promise<TopicMetadata[]> {
    if (topics !== undefined && (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string'))) {
      throw invalidArgument(`topics must be an array of strings, got ${describe(topics)}`)
    }
    const c = await this.cluster(this.binding.metadata(topics))
    const wanted = topics === undefined ? null : new Set(topics)
    const found = c.topics.filter((t) => wanted === null || wanted.has(t.name))
    for (const name of wanted ?? []) {
      if (!found.some((t) => t.name === name)) {
        throw new KafkaError(`UNKNOWN_TOPIC_OR_PARTITION: topic \`${name}\` does not exist`, {
          code: 'UNKNOWN_TOPIC_OR_PARTITION',
          topic: name,
        })
      }
    }
    const order = topics ?? found.map((t) => t.name)
    found.sort((a, b) => order.indexOf(a.name) - order.indexOf(b.name))
    return found.map((t) => {
      if (t.error) {
        throw new KafkaError(`${t.error}: cannot describe topic \`${t.name}\``, { code: t.error, topic: t.name })
      }
      return {
        name: t.name,
        isInternal: t.isInternal,
        partitions: t.partitions.map((p) => ({
          partition: p.partition,
          leader: p.leader,
          leaderEpoch: p.leaderEpoch,
          replicas: p.replicas,
          isr: p.isr,
          error: p.error ?? null,
        })),
      }
    })
  }

  /**
   * Creates topics and waits until each partition has a leader. Rejects with the first
   * per-topic error (e.g. TOPIC_ALREADY_EXISTS) after all were tried.
   */
  async createTopics(topics: NewTopic[], options: { timeoutMs?: number; validateOnly?: boolean } = {}): Promise<void> {
    this.ensureOpen()
    if (!Array.isArray(topics)) throw invalidArgument(`createTopics takes an array, got ${describe(topics)}`)
    const spec = topics.map((t, i) => {
      if (t === null || typeof t !== 'object' || typeof t.topic !== 'string') {
        throw invalidArgument(`topics[${i}].topic must be a string`)
      }
      for (const k of ['numPartitions', 'replicationFactor'] as const) {
        const v = t[k]
        if (v !== undefined && (!Number.isInteger(v) || (v as number) < 1)) {
          throw invalidArgument(`topics[${i}].${k} must be a positive integer, got ${describe(v)}`)
        }
      }
      return {
        name: t.topic,
        numPartitions: t.numPartitions,
        replicationFactor: t.replicationFactor,
        configs: Object.entries(t.configs ?? {}).map(([k, v]) => [k, String(v)]),
      }
    })
    const r = await this.binding.createTopics(spec, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.validateOnly ?? false)
    throwFirst(r)
  }

  /** Deletes topics. Rejects with the first per-topic error after all were tried. */
  async deleteTopics(topics: string[], options: { timeoutMs?: number } = {}): Promise<void> {
    this.ensureOpen()
    if (!Array.isArray(topics) || topics.some((t) => typeof t !== 'string')) {
      throw invalidArgument(`deleteTopics takes an array of topic names, got ${describe(topics)}`)
    }
    throwFirst(await this.binding.deleteTopics(topics, options.timeoutMs ?? DEFAULT_TIMEOUT_MS))
  }

  /**
   * Offsets of every partition of `topic`: the log start ('earliest'), the next offset to
   * be written ('latest', the default), or the first offset at or after a timestamp.
   */
  async fetchTopicOffsets(topic: string, spec: 'earliest' | 'latest' | number = 'latest'): Promise<PartitionOffset[]> {
    this.ensureOpen()
    if (typeof topic !== 'string') throw invalidArgument(`topic must be a string, got ${describe(topic)}`)
    const r = await this.binding.listOffsets(topic, spec)
    if (r.error) throw KafkaError.fromBinding(r.error)
    return r.offsets.map((o) => ({ partition: o.partition, offset: BigInt(o.offset), timestamp: o.timestamp }))
  }

  // ---- topics, partitions, records, offsets (ts/admin/topics.ts) ----

  // ---- configs (ts/admin/configs.ts) ----

  /** The configs of topics, brokers and broker loggers: one result per resource, in order. */
  async describeConfigs(resources: ConfigResource[], options: DescribeConfigsOptions = {}): Promise<ConfigResourceResult[]> {
    this.ensureOpen()
    return describeConfigs(this.binding, resources, options)
  }

  /** Sets, deletes, appends to or subtracts from configs: one result per resource, in order. */
  async incrementalAlterConfigs(resources: AlterConfigsResource[], options: AlterConfigsOptions = {}): Promise<AlterConfigsResult[]> {
    this.ensureOpen()
    return incrementalAlterConfigs(this.binding, resources, options)
  }

  // ---- cluster: log dirs, reassignments, elections (ts/admin/cluster.ts) ----

  /** The log dirs of each broker (default: every broker) with the replicas in them. */
  async describeLogDirs(brokerIds?: number[]): Promise<BrokerLogDirs[]> {
    this.ensureOpen()
    return describeLogDirs(this.binding, brokerIds)
  }

  /**
   * Moves partitions to new replica sets (`replicas: null` cancels an ongoing move). Resolves
   * once the controller has recorded them; the data moves afterwards (see
   * {@link listPartitionReassignments}). One result per partition, in order.
   */
  async alterPartitionReassignments(
    reassignments: PartitionReassignment[],
    options: AlterPartitionReassignmentsOptions = {},
  ): Promise<PartitionResult[]> {
    this.ensureOpen()
    return alterPartitionReassignments(this.binding, reassignments, options)
  }

  /** The reassignments in progress (of `partitions`, default all). */
  async listPartitionReassignments(
    partitions?: TopicPartition[],
    options: { timeoutMs?: number } = {},
  ): Promise<OngoingPartitionReassignment[]> {
    this.ensureOpen()
    return listPartitionReassignments(this.binding, partitions, options)
  }

  /** Elects preferred or unclean leaders: one result per partition (ELECTION_NOT_NEEDED where the leader is already right). */
  async electLeaders(options: ElectLeadersOptions): Promise<PartitionResult[]> {
    this.ensureOpen()
    return electLeaders(this.binding, options)
  }

  // ---- ACLs and SCRAM users (ts/admin/acls.ts) ----

  // ---- quotas (ts/admin/quotas.ts) ----

  // ---- groups (ts/admin/groups.ts) ----

  /** Every group of the cluster, optionally filtered by state and type (asks every broker). */
  async listGroups(options: ListGroupsOptions = {}): Promise<GroupListing> {
    this.ensureOpen()
    return listGroups(this.binding, options)
  }

  /** Closes connections; later calls throw CLIENT_CLOSED. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.binding.close()
    this.log.close()
  }

  private ensureOpen(): void {
    if (this.closed) throw new KafkaError('the admin client is closed', { code: 'CLIENT_CLOSED' })
  }

  private async cluster(
    p: Promise<{ cluster?: BindingCluster; error?: { code: string; message: string; retriable: boolean } }>,
  ): Promise<BindingCluster> {
    this.ensureOpen()
    const r = await p
    if (r.error) throw KafkaError.fromBinding(r.error)
    return r.cluster as BindingCluster
  }
}

function throwFirst(r: BindingTopicResults): void {
  if (r.error) throw KafkaError.fromBinding(r.error)
  const failed = r.results.find((t) => t.error)
  if (failed?.error) throw KafkaError.fromBinding({ ...failed.error, topic: failed.name })
}
