import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument, type KafkaError } from '../errors'
import { groupId, object, partitionOf, partitionsOf, stringArray, type TopicPartitionRef, type Wire } from './groups'
import { itemError, rpc } from './results'

/** One member of a share group (KIP-932). */
export interface ShareGroupMember {
  memberId: string
  rackId: string | null
  memberEpoch: number
  clientId: string
  host: string
  subscribedTopics: string[]
  /** Partitions assigned to the member, by topic name (members of a share group share partitions). */
  assignment: TopicPartitionRef[]
}

/** What `describeShareGroups` says about one group. */
export interface ShareGroupDescription {
  groupId: string
  /** GROUP_ID_NOT_FOUND for an unknown group and for one that is not a share group. */
  error: KafkaError | null
  /** `Empty`, `Stable` or `Dead`. */
  state: string
  groupEpoch: number
  assignmentEpoch: number
  /** The broker-side assignor (`simple`). */
  partitionAssignor: string
  /** Broker id of the coordinator that answered (-1 when none did). */
  coordinator: number
  /** ACL operation names, when `includeAuthorizedOperations` was set. */
  authorizedOperations: string[] | null
  members: ShareGroupMember[]
}

export interface DescribeShareGroupsOptions {
  /** Ask for the operations the caller may perform on each group. */
  includeAuthorizedOperations?: boolean
}

/** A share group to list start offsets of: every partition it has state for, or only `partitions`. */
export interface ListShareGroupOffsetsSpec {
  groupId: string
  partitions?: TopicPartitionRef[]
}

/** A partition's start offset in a share group: records before it are done with. */
export interface ShareGroupPartitionOffset {
  topic: string
  partition: number
  /** -1n when the group has no start offset for the partition. */
  startOffset: bigint
  leaderEpoch: number | null
  error: KafkaError | null
}

/** The start offsets of one share group. */
export interface ShareGroupOffsets {
  groupId: string
  error: KafkaError | null
  /** In the caller's order when partitions were given, else by topic and partition. */
  partitions: ShareGroupPartitionOffset[]
}

/** A start offset to set with `alterShareGroupOffsets`. */
export interface ShareGroupOffsetToSet {
  topic: string
  partition: number
  /** The next offset the group delivers. */
  offset: bigint | number
}

/** The outcome for one partition of `alterShareGroupOffsets`. */
export interface ShareGroupPartitionResult {
  topic: string
  partition: number
  error: KafkaError | null
}

/** The outcome for one topic of `deleteShareGroupOffsets`. */
export interface ShareGroupTopicResult {
  topic: string
  error: KafkaError | null
}

/** @internal */
export async function describeShareGroups(
  binding: BindingAdmin,
  groupIds: string[],
  options: DescribeShareGroupsOptions,
): Promise<ShareGroupDescription[]> {
  const call = 'describeShareGroups'
  const ids = stringArray(call, 'groupIds', groupIds)
  const ops = object(call, 'options', options).includeAuthorizedOperations
  if (ops !== undefined && typeof ops !== 'boolean') {
    throw invalidArgument(`${call} options.includeAuthorizedOperations must be a boolean, got ${describe(ops)}`)
  }
  const r = await rpc<Wire<ShareGroupDescription>[]>(binding, call, { groupIds: ids, includeAuthorizedOperations: ops ?? false })
  return r.map((g) => ({ ...g, error: itemError(g.error) }))
}

/** @internal */
export async function listShareGroupOffsets(binding: BindingAdmin, groups: ListShareGroupOffsetsSpec[]): Promise<ShareGroupOffsets[]> {
  const call = 'listShareGroupOffsets'
  if (!Array.isArray(groups)) throw invalidArgument(`${call} groups must be an array, got ${describe(groups)}`)
  const specs = groups.map((g, i) => {
    const o = object(call, `groups[${i}]`, g)
    const id = groupId(call, o.groupId)
    return o.partitions === undefined
      ? { groupId: id }
      : { groupId: id, partitions: partitionsOf(call, `groups[${i}].partitions`, o.partitions) }
  })
  type WireOffset = Omit<ShareGroupPartitionOffset, 'error' | 'startOffset'> & { startOffset: string; error: BindingError | null }
  const r = await rpc<Array<{ groupId: string; error: BindingError | null; partitions: WireOffset[] }>>(binding, call, {
    groups: specs,
  })
  return r.map((g) => ({
    groupId: g.groupId,
    error: itemError(g.error),
    partitions: g.partitions.map((p) => ({ ...p, startOffset: BigInt(p.startOffset), error: itemError(p.error) })),
  }))
}

/** @internal */
export async function alterShareGroupOffsets(
  binding: BindingAdmin,
  group: string,
  offsets: ShareGroupOffsetToSet[],
): Promise<ShareGroupPartitionResult[]> {
  const call = 'alterShareGroupOffsets'
  const id = groupId(call, group)
  if (!Array.isArray(offsets)) throw invalidArgument(`${call} offsets must be an array, got ${describe(offsets)}`)
  const wire = offsets.map((o, i) => {
    const p = partitionOf(call, `offsets[${i}]`, o)
    const { offset } = o
    if (typeof offset !== 'bigint' && !Number.isSafeInteger(offset)) {
      throw invalidArgument(`${call} offsets[${i}].offset must be a bigint or an integer, got ${describe(offset)}`)
    }
    return { ...p, offset: String(offset) }
  })
  const r = await rpc<Wire<ShareGroupPartitionResult>[]>(binding, call, { groupId: id, offsets: wire })
  return r.map((p) => ({ ...p, error: itemError(p.error) }))
}

/** @internal */
export async function deleteShareGroupOffsets(binding: BindingAdmin, group: string, topics: string[]): Promise<ShareGroupTopicResult[]> {
  const call = 'deleteShareGroupOffsets'
  const id = groupId(call, group)
  const r = await rpc<Wire<ShareGroupTopicResult>[]>(binding, call, { groupId: id, topics: stringArray(call, 'topics', topics) })
  return r.map((t) => ({ ...t, error: itemError(t.error) }))
}
