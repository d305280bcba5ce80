import type { BindingAdmin, BindingCluster } from '../../native/binding'
import { type ClientConfig, toBindingClientConfig } from '../config'
import { KafkaError } from '../errors'
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
  type AlterQuotaResult,
  alterClientQuotas,
  describeClientQuotas,
  type QuotaAlteration,
  type QuotaEntry,
  type QuotaFilter,
} from './quotas'
import {
  alterShareGroupOffsets,
  type DescribeShareGroupsOptions,
  deleteShareGroupOffsets,
  describeShareGroups,
  type ListShareGroupOffsetsSpec,
  listShareGroupOffsets,
  type ShareGroupDescription,
  type ShareGroupOffsets,
  type ShareGroupOffsetToSet,
  type ShareGroupPartitionResult,
  type ShareGroupTopicResult,
} from './share'
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

export type { ClusterDescription } from './cluster'

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

  // ---- share groups (ts/admin/share.ts) ----

  /** Describes share groups (KIP-932): state, epochs, members and their assignments; one result per group, in order. */
  async describeShareGroups(groupIds: string[], options: DescribeShareGroupsOptions = {}): Promise<ShareGroupDescription[]> {
    this.ensureOpen()
    return describeShareGroups(this.binding, groupIds, options)
  }

  /** Start offsets of share groups per partition (DescribeShareGroupOffsets). */
  async listShareGroupOffsets(groups: ListShareGroupOffsetsSpec[]): Promise<ShareGroupOffsets[]> {
    this.ensureOpen()
    return listShareGroupOffsets(this.binding, groups)
  }

  /** Sets a share group's start offsets; the group must have no members (else NON_EMPTY_GROUP per partition). */
  async alterShareGroupOffsets(groupId: string, offsets: ShareGroupOffsetToSet[]): Promise<ShareGroupPartitionResult[]> {
    this.ensureOpen()
    return alterShareGroupOffsets(this.binding, groupId, offsets)
  }

  /** Deletes a share group's state for whole topics; the group must have no members. */
  async deleteShareGroupOffsets(groupId: string, topics: string[]): Promise<ShareGroupTopicResult[]> {
    this.ensureOpen()
    return deleteShareGroupOffsets(this.binding, groupId, topics)
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
