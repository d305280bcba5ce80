import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument, type KafkaError } from '../errors'
import { itemError, rpc } from './results'

/** The group types of KIP-848 and KIP-932 (`classic` is every group before them). */
export type GroupType = 'classic' | 'consumer' | 'share'

/** One group as ListGroups reports it. */
export interface GroupOverview {
  groupId: string
  /** `consumer` for classic consumer groups; other classic users set their own (e.g. `connect`). */
  protocolType: string
  /** `Stable`, `Empty`, `PreparingRebalance`, ...; '' when the broker does not report it. */
  state: string
  /** '' when the broker predates KIP-848 (ListGroups v5). */
  type: GroupType | ''
  /** Broker id of the group's coordinator. */
  coordinator: number
}

export interface ListGroupsOptions {
  /** Only groups in one of these states (e.g. ['Stable', 'Empty']). */
  states?: string[]
  /** Only groups of these types. */
  types?: GroupType[]
}

export interface GroupListing {
  groups: GroupOverview[]
  /** One error per broker that could not list its groups: `groups` is then partial. */
  errors: KafkaError[]
}

/** @internal */
export async function listGroups(binding: BindingAdmin, options: ListGroupsOptions): Promise<GroupListing> {
  for (const k of ['states', 'types'] as const) {
    const v = options[k]
    if (v !== undefined && (!Array.isArray(v) || v.some((s) => typeof s !== 'string'))) {
      throw invalidArgument(`listGroups options.${k} must be an array of strings, got ${describe(v)}`)
    }
  }
  const r = await rpc<{ groups: GroupOverview[]; errors: BindingError[] }>(binding, 'listGroups', {
    states: options.states ?? [],
    types: options.types ?? [],
  })
  return { groups: r.groups, errors: r.errors.map((e) => itemError(e) as KafkaError) }
}

/** A partition of a topic. */
export interface TopicPartitionRef {
  topic: string
  partition: number
}

/** One member of a described group. */
export interface GroupMember {
  memberId: string
  /** Static membership id (KIP-345), or null. */
  groupInstanceId: string | null
  clientId: string
  /** The address the member connected from. */
  host: string
  rackId: string | null
  /** KIP-848 groups only (null for classic). */
  memberEpoch: number | null
  /** Decoded from the subscription for classic `consumer` groups; null for other protocol types. */
  subscribedTopics: string[] | null
  /** KIP-848 members subscribed by regular expression. */
  subscribedTopicRegex: string | null
  /** The partitions the member owns (decoded for classic `consumer` groups; null for other protocol types). */
  assignment: TopicPartitionRef[] | null
  /** KIP-848 only: the partitions the member is to own once reconciled. */
  targetAssignment: TopicPartitionRef[] | null
}

/** One group of `describeGroups`. `error` is GROUP_ID_NOT_FOUND for a group that does not exist. */
export interface GroupDescription {
  groupId: string
  error: KafkaError | null
  /** `consumer` for KIP-848 groups (described with ConsumerGroupDescribe), `classic` otherwise; '' on error. */
  type: 'classic' | 'consumer' | ''
  state: string
  /** `consumer` for consumer groups (KIP-848 ones too); e.g. `connect` for other classic users. */
  protocolType: string
  /** The classic group's chosen protocol (its assignor), or the KIP-848 group's server assignor. */
  partitionAssignor: string
  /** KIP-848 only. */
  groupEpoch: number | null
  /** KIP-848 only. */
  targetAssignmentEpoch: number | null
  /** Broker id of the coordinator (-1 on error). */
  coordinator: number
  /** ACL operation names (e.g. 'READ', 'DESCRIBE') when asked for with includeAuthorizedOperations. */
  authorizedOperations: string[] | null
  members: GroupMember[]
}

export interface DescribeGroupsOptions {
  /** Ask for the operations the caller may perform on each group. */
  includeAuthorizedOperations?: boolean
}

/** The outcome for one group of `deleteGroups`. */
export interface DeleteGroupResult {
  groupId: string
  error: KafkaError | null
}

/** A group to list offsets of: every committed partition, or only `partitions`. */
export interface ListConsumerGroupOffsetsSpec {
  groupId: string
  partitions?: TopicPartitionRef[]
}

export interface ListConsumerGroupOffsetsOptions {
  /** KIP-447: wait for pending transactional offset commits instead of skipping them. */
  requireStable?: boolean
}

/** A partition's committed offset and lag. */
export interface GroupPartitionOffset {
  topic: string
  partition: number
  /** -1n when the group has no committed offset for the partition. */
  offset: bigint
  leaderEpoch: number | null
  metadata: string | null
  /** Latest offset (high watermark) minus `offset`; null without a committed offset or when the latest offset could not be read (`error` says why). */
  lag: bigint | null
  error: KafkaError | null
}

/** The committed offsets of one group. */
export interface GroupOffsets {
  groupId: string
  /** Why the group's offsets could not be read. */
  error: KafkaError | null
  /** In the caller's order when partitions were given, else by topic and partition. */
  partitions: GroupPartitionOffset[]
}

/** An offset to set with `alterConsumerGroupOffsets`. */
export interface GroupOffsetToCommit {
  topic: string
  partition: number
  /** The next offset the group will read. */
  offset: bigint | number
  leaderEpoch?: number
  metadata?: string
}

/** The outcome for one partition of altering or deleting offsets. */
export interface GroupPartitionResult {
  topic: string
  partition: number
  error: KafkaError | null
}

/** The outcome for one member of `removeMembersFromConsumerGroup`. */
export interface RemoveMemberResult {
  /** '' when the member was named by its groupInstanceId. */
  memberId: string
  groupInstanceId: string | null
  error: KafkaError | null
}

/** @internal */
export function stringArray(call: string, field: string, v: unknown): string[] {
  if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) {
    throw invalidArgument(`${call} ${field} must be an array of strings, got ${describe(v)}`)
  }
  return v
}

/** @internal */
export function groupId(call: string, v: unknown): string {
  if (typeof v !== 'string') throw invalidArgument(`${call} groupId must be a string, got ${describe(v)}`)
  return v
}

/** @internal */
export function object(call: string, field: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) {
    throw invalidArgument(`${call} ${field} must be an object, got ${describe(v)}`)
  }
  return v as Record<string, unknown>
}

/** @internal */
export function partitionOf(call: string, field: string, v: unknown): TopicPartitionRef {
  const o = object(call, field, v)
  if (typeof o.topic !== 'string') {
    throw invalidArgument(`${call} ${field}.topic must be a string, got ${describe(o.topic)}`)
  }
  if (!Number.isInteger(o.partition)) {
    throw invalidArgument(`${call} ${field}.partition must be an integer, got ${describe(o.partition)}`)
  }
  return { topic: o.topic, partition: o.partition as number }
}

/** @internal */
export function partitionsOf(call: string, field: string, v: unknown): TopicPartitionRef[] {
  if (!Array.isArray(v)) throw invalidArgument(`${call} ${field} must be an array, got ${describe(v)}`)
  return v.map((p, i) => partitionOf(call, `${field}[${i}]`, p))
}

/** @internal */
export type Wire<T> = Omit<T, 'error'> & { error: BindingError | null }

/** @internal */
export async function describeGroups(
  binding: BindingAdmin,
  groupIds: string[],
  options: DescribeGroupsOptions,
): Promise<GroupDescription[]> {
  const ids = stringArray('describeGroups', 'groupIds', groupIds)
  const ops = object('describeGroups', 'options', options).includeAuthorizedOperations
  if (ops !== undefined && typeof ops !== 'boolean') {
    throw invalidArgument(`describeGroups options.includeAuthorizedOperations must be a boolean, got ${describe(ops)}`)
  }
  const r = await rpc<Wire<GroupDescription>[]>(binding, 'describeGroups', {
    groupIds: ids,
    includeAuthorizedOperations: ops ?? false,
  })
  return r.map((g) => ({ ...g, error: itemError(g.error) }))
}

/** @internal */
export async function deleteGroups(binding: BindingAdmin, groupIds: string[]): Promise<DeleteGroupResult[]> {
  const ids = stringArray('deleteGroups', 'groupIds', groupIds)
  const r = await rpc<Wire<DeleteGroupResult>[]>(binding, 'deleteGroups', { groupIds: ids })
  return r.map((g) => ({ ...g, error: itemError(g.error) }))
}

/** @internal */
export async function listConsumerGroupOffsets(
  binding: BindingAdmin,
  groups: ListConsumerGroupOffsetsSpec[],
  options: ListConsumerGroupOffsetsOptions,
): Promise<GroupOffsets[]> {
  const call = 'listConsumerGroupOffsets'
  if (!Array.isArray(groups)) throw invalidArgument(`${call} groups must be an array, got ${describe(groups)}`)
  const specs = groups.map((g, i) => {
    const o = object(call, `groups[${i}]`, g)
    const id = groupId(call, o.groupId)
    return o.partitions === undefined
      ? { groupId: id }
      : { groupId: id, partitions: partitionsOf(call, `groups[${i}].partitions`, o.partitions) }
  })
  const stable = object(call, 'options', options).requireStable
  if (stable !== undefined && typeof stable !== 'boolean') {
    throw invalidArgument(`${call} options.requireStable must be a boolean, got ${describe(stable)}`)
  }
  type WireOffset = Omit<GroupPartitionOffset, 'error' | 'offset' | 'lag'> & {
    offset: string
    lag: string | null
    error: BindingError | null
  }
  const r = await rpc<Array<{ groupId: string; error: BindingError | null; partitions: WireOffset[] }>>(binding, call, {
    groups: specs,
    requireStable: stable ?? false,
  })
  return r.map((g) => ({
    groupId: g.groupId,
    error: itemError(g.error),
    partitions: g.partitions.map((p) => ({
      ...p,
      offset: BigInt(p.offset),
      lag: p.lag === null ? null : BigInt(p.lag),
      error: itemError(p.error),
    })),
  }))
}

/** @internal */
export async function alterConsumerGroupOffsets(
  binding: BindingAdmin,
  group: string,
  offsets: GroupOffsetToCommit[],
): Promise<GroupPartitionResult[]> {
  const call = 'alterConsumerGroupOffsets'
  const id = groupId(call, group)
  if (!Array.isArray(offsets)) throw invalidArgument(`${call} offsets must be an array, got ${describe(offsets)}`)
  const wire = offsets.map((o, i) => {
    const p = partitionOf(call, `offsets[${i}]`, o)
    const { offset, leaderEpoch, metadata } = o
    if (typeof offset !== 'bigint' && !Number.isSafeInteger(offset)) {
      throw invalidArgument(`${call} offsets[${i}].offset must be a bigint or an integer, got ${describe(offset)}`)
    }
    if (leaderEpoch !== undefined && !Number.isInteger(leaderEpoch)) {
      throw invalidArgument(`${call} offsets[${i}].leaderEpoch must be an integer, got ${describe(leaderEpoch)}`)
    }
    if (metadata !== undefined && typeof metadata !== 'string') {
      throw invalidArgument(`${call} offsets[${i}].metadata must be a string, got ${describe(metadata)}`)
    }
    return { ...p, offset: String(offset), leaderEpoch, metadata }
  })
  const r = await rpc<Wire<GroupPartitionResult>[]>(binding, call, { groupId: id, offsets: wire })
  return r.map((p) => ({ ...p, error: itemError(p.error) }))
}

/** @internal */
export async function deleteConsumerGroupOffsets(
  binding: BindingAdmin,
  group: string,
  partitions: TopicPartitionRef[],
): Promise<GroupPartitionResult[]> {
  const call = 'deleteConsumerGroupOffsets'
  const id = groupId(call, group)
  const r = await rpc<Wire<GroupPartitionResult>[]>(binding, call, {
    groupId: id,
    partitions: partitionsOf(call, 'partitions', partitions),
  })
  return r.map((p) => ({ ...p, error: itemError(p.error) }))
}

/** @internal */
export async function removeMembersFromConsumerGroup(
  binding: BindingAdmin,
  group: string,
  members: Array<{ groupInstanceId: string }> | undefined,
): Promise<RemoveMemberResult[]> {
  const call = 'removeMembersFromConsumerGroup'
  const id = groupId(call, group)
  let wire: Array<{ groupInstanceId: string }> | undefined
  if (members !== undefined) {
    if (!Array.isArray(members)) throw invalidArgument(`${call} members must be an array, got ${describe(members)}`)
    wire = members.map((m, i) => {
      const o = object(call, `members[${i}]`, m)
      if (typeof o.groupInstanceId !== 'string') {
        throw invalidArgument(`${call} members[${i}].groupInstanceId must be a string, got ${describe(o.groupInstanceId)}`)
      }
      return { groupInstanceId: o.groupInstanceId }
    })
  }
  const r = await rpc<Wire<RemoveMemberResult>[]>(binding, call, { groupId: id, members: wire })
  return r.map((m) => ({ ...m, error: itemError(m.error) }))
}
