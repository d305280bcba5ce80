import type { BindingAdmin, BindingCluster, BindingTopicResults } from '../../native/binding'
import { type ClientConfig, describe, toBindingClientConfig } from '../config'
import { invalidArgument, KafkaError } from '../errors'
import { type ClientLog, clientLog } from '../logger'
import { native } from '../native'
import {
  type AclBinding,
  type AclBindingFilter,
  type AlterUserScramCredentialsResult,
  alterUserScramCredentials,
  type CreateAclResult,
  createAcls,
  type DeleteAclsResult,
  type DescribedAclBinding,
  deleteAcls,
  describeAcls,
  describeUserScramCredentials,
  type ScramAlteration,
  type UserScramCredentialsResult,
} from './acls'
import { type GroupListing, type ListGroupsOptions, listGroups } from './groups'
import {
  type AlterQuotaResult,
  alterClientQuotas,
  describeClientQuotas,
  type QuotaAlteration,
  type QuotaEntry,
  type QuotaFilter,
} from './quotas'

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

export interface ClusterDescription {
  clusterId: string | null
  controllerId: number
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>
}

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

  /** Brokers, controller and cluster id. */
  async describeCluster(): Promise<ClusterDescription> {
    const c = await this.cluster(this.binding.describeCluster())
    return {
      clusterId: c.clusterId ?? null,
      controllerId: c.controllerId,
      brokers: c.brokers.map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null })),
    }
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

  // ---- cluster: log dirs, reassignments, elections (ts/admin/cluster.ts) ----

  // ---- ACLs and SCRAM users (ts/admin/acls.ts) ----

  /** The ACLs that match `filter` (every ACL when omitted). Needs an authorizer on the broker. */
  async describeAcls(filter: AclBindingFilter = {}): Promise<DescribedAclBinding[]> {
    this.ensureOpen()
    return describeAcls(this.binding, filter)
  }

  /** Creates ACLs: one result per binding, in order (an invalid binding fails alone). */
  async createAcls(bindings: AclBinding[]): Promise<CreateAclResult[]> {
    this.ensureOpen()
    return createAcls(this.binding, bindings)
  }

  /** Deletes the ACLs each filter matches: one result per filter, with the ACLs it matched. */
  async deleteAcls(filters: AclBindingFilter[]): Promise<DeleteAclsResult[]> {
    this.ensureOpen()
    return deleteAcls(this.binding, filters)
  }

  /** SCRAM credentials of the named users (all users when omitted): mechanisms and iterations. */
  async describeUserScramCredentials(users?: string[]): Promise<UserScramCredentialsResult[]> {
    this.ensureOpen()
    return describeUserScramCredentials(this.binding, users)
  }

  /** Sets (salted here, never sending the password) or deletes SCRAM credentials: one result per alteration. */
  async alterUserScramCredentials(alterations: ScramAlteration[]): Promise<AlterUserScramCredentialsResult[]> {
    this.ensureOpen()
    return alterUserScramCredentials(this.binding, alterations)
  }

  // ---- quotas (ts/admin/quotas.ts) ----

  /** The quotas of the entities `filter` matches. */
  async describeClientQuotas(filter: QuotaFilter): Promise<QuotaEntry[]> {
    this.ensureOpen()
    return describeClientQuotas(this.binding, filter)
  }

  /** Sets or removes quotas: one result per entity, in order. */
  async alterClientQuotas(entries: QuotaAlteration[], options: { validateOnly?: boolean } = {}): Promise<AlterQuotaResult[]> {
    this.ensureOpen()
    return alterClientQuotas(this.binding, entries, options)
  }

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
