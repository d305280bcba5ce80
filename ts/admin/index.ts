import type { BindingAdmin, BindingCluster } from '../../native/binding'
import { type ClientConfig, toBindingClientConfig } from '../config'
import { KafkaError } from '../errors'
import { type ClientLog, clientLog } from '../logger'
import { native } from '../native'
import {
  alterConsumerGroupOffsets,
  type DeleteGroupResult,
  type DescribeGroupsOptions,
  deleteConsumerGroupOffsets,
  deleteGroups,
  describeGroups,
  type GroupDescription,
  type GroupListing,
  type GroupOffsets,
  type GroupOffsetToCommit,
  type GroupPartitionResult,
  type ListConsumerGroupOffsetsOptions,
  type ListConsumerGroupOffsetsSpec,
  type ListGroupsOptions,
  listConsumerGroupOffsets,
  listGroups,
  type RemoveMemberResult,
  removeMembersFromConsumerGroup,
  type TopicPartitionRef,
} from './groups'
import {
  type CreatePartitionsOptions,
  type CreateTopicResult,
  type CreateTopicsOptions,
  createPartitions,
  createTopics,
  type DeletedRecords,
  type DeleteRecordsOptions,
  type DeleteTopicsOptions,
  type DescribeTopicsOptions,
  deleteRecords,
  deleteTopics,
  describeTopics,
  type ListedOffset,
  type ListOffsetsOptions,
  type ListTopicsOptions,
  listOffsets,
  listTopics,
  type NewPartitions,
  type NewTopic,
  type OffsetQuery,
  type RecordsToDelete,
  type TopicDescription,
  type TopicResult,
} from './topics'

export interface ClusterDescription {
  clusterId: string | null
  controllerId: number
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>
}

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

  // ---- topics, partitions, records, offsets (ts/admin/topics.ts) ----

  /** Names of the topics, sorted (internal ones only with `includeInternal`). */
  async listTopics(options: ListTopicsOptions = {}): Promise<string[]> {
    this.ensureOpen()
    return listTopics(this.binding, options)
  }

  /** Partitions, leaders, replicas, ISR, id and internal flag of each topic; one result per name. */
  async describeTopics(topics: string[], options: DescribeTopicsOptions = {}): Promise<TopicDescription[]> {
    this.ensureOpen()
    return describeTopics(this.binding, topics, options)
  }

  /**
   * Creates topics, one result per topic (see `throwIfFailed`); unless `validateOnly`,
   * returns once every partition of each new topic has a leader.
   */
  async createTopics(topics: NewTopic[], options: CreateTopicsOptions = {}): Promise<CreateTopicResult[]> {
    this.ensureOpen()
    return createTopics(this.binding, topics, options)
  }

  /** Deletes topics, one result per topic. */
  async deleteTopics(topics: string[], options: DeleteTopicsOptions = {}): Promise<TopicResult[]> {
    this.ensureOpen()
    return deleteTopics(this.binding, topics, options)
  }

  /** Grows topics to more partitions, one result per topic; returns once the new partitions have leaders. */
  async createPartitions(items: NewPartitions[], options: CreatePartitionsOptions = {}): Promise<TopicResult[]> {
    this.ensureOpen()
    return createPartitions(this.binding, items, options)
  }

  /** Deletes the records before an offset in each partition, one result per partition. */
  async deleteRecords(items: RecordsToDelete[], options: DeleteRecordsOptions = {}): Promise<DeletedRecords[]> {
    this.ensureOpen()
    return deleteRecords(this.binding, items, options)
  }

  /** Earliest, latest, max-timestamp or by-timestamp offsets of partitions, one result per partition. */
  async listOffsets(items: OffsetQuery[], options: ListOffsetsOptions = {}): Promise<ListedOffset[]> {
    this.ensureOpen()
    return listOffsets(this.binding, items, options)
  }

  // ---- configs (ts/admin/configs.ts) ----

  // ---- cluster: log dirs, reassignments, elections (ts/admin/cluster.ts) ----

  // ---- ACLs and SCRAM users (ts/admin/acls.ts) ----

  // ---- quotas (ts/admin/quotas.ts) ----

  // ---- groups (ts/admin/groups.ts) ----

  /** Every group of the cluster, optionally filtered by state and type (asks every broker). */
  async listGroups(options: ListGroupsOptions = {}): Promise<GroupListing> {
    this.ensureOpen()
    return listGroups(this.binding, options)
  }

  /**
   * Describes groups: KIP-848 groups with ConsumerGroupDescribe, classic ones with
   * DescribeGroups (member subscriptions and assignments decoded for `consumer` groups).
   * One result per group, in order; an unknown group's `error` is GROUP_ID_NOT_FOUND.
   */
  async describeGroups(groupIds: string[], options: DescribeGroupsOptions = {}): Promise<GroupDescription[]> {
    this.ensureOpen()
    return describeGroups(this.binding, groupIds, options)
  }

  /** Deletes groups and their offsets; a group with members fails with NON_EMPTY_GROUP. */
  async deleteGroups(groupIds: string[]): Promise<DeleteGroupResult[]> {
    this.ensureOpen()
    return deleteGroups(this.binding, groupIds)
  }

  /** Committed offsets of groups, with each partition's lag behind its latest offset. */
  async listConsumerGroupOffsets(
    groups: ListConsumerGroupOffsetsSpec[],
    options: ListConsumerGroupOffsetsOptions = {},
  ): Promise<GroupOffsets[]> {
    this.ensureOpen()
    return listConsumerGroupOffsets(this.binding, groups, options)
  }

  /** Sets a group's committed offsets; the group must have no live members (else UNKNOWN_MEMBER_ID per partition). */
  async alterConsumerGroupOffsets(groupId: string, offsets: GroupOffsetToCommit[]): Promise<GroupPartitionResult[]> {
    this.ensureOpen()
    return alterConsumerGroupOffsets(this.binding, groupId, offsets)
  }

  /** Deletes a group's committed offsets; GROUP_SUBSCRIBED_TO_TOPIC for topics live members subscribe to. */
  async deleteConsumerGroupOffsets(groupId: string, partitions: TopicPartitionRef[]): Promise<GroupPartitionResult[]> {
    this.ensureOpen()
    return deleteConsumerGroupOffsets(this.binding, groupId, partitions)
  }

  /** Removes static members by groupInstanceId, or with none given every member the group has now. */
  async removeMembersFromConsumerGroup(groupId: string, members?: Array<{ groupInstanceId: string }>): Promise<RemoveMemberResult[]> {
    this.ensureOpen()
    return removeMembersFromConsumerGroup(this.binding, groupId, members)
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
