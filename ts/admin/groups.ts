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
