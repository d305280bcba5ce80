import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument } from '../errors'
import { type ItemResult, itemError, rpc } from './results'

export type QuotaEntityType = 'user' | 'client-id' | 'ip'

/**
 * A quota entity: each type it combines, to a name or to null for the type's default
 * entity. `{ user: 'alice' }` is alice; `{ user: 'alice', 'client-id': null }` is alice's
 * default for client ids without a quota of their own; `{ ip: null }` is every IP's default.
 */
export type QuotaEntity = { [K in QuotaEntityType]?: string | null }

/** Quota keys Kafka knows (a broker may know more; unknown ones fail that entity). */
export type QuotaKey =
  | 'producer_byte_rate'
  | 'consumer_byte_rate'
  | 'request_percentage'
  | 'controller_mutation_rate'
  | 'connection_creation_rate'

/**
 * One part of a describeClientQuotas filter. `match` a string: that entity; `match` null:
 * the default entity; `match` omitted: any entity of the type that has a quota of its own.
 * `matchType` says the same explicitly ('exact' | 'default' | 'any').
 */
export interface QuotaFilterComponent {
  entityType: QuotaEntityType
  match?: string | null
  matchType?: 'exact' | 'default' | 'any'
}

export interface QuotaFilter {
  /** An entity matches when each component matches its part of the entity. */
  components: QuotaFilterComponent[]
  /** Only entities of no other types than the components name. Default false. */
  strict?: boolean
}

/** An entity and its quotas. */
export interface QuotaEntry {
  entity: QuotaEntity
  values: Partial<Record<QuotaKey, number>> & Record<string, number>
}

/** The changes of one entity's quotas: `value` null removes the quota. */
export interface QuotaAlteration {
  entity: QuotaEntity
  ops: Array<{ key: QuotaKey | (string & {}); value: number | null }>
}

export interface AlterQuotaResult extends ItemResult {
  entity: QuotaEntity
}

/** @internal */
export async function describeClientQuotas(binding: BindingAdmin, filter: QuotaFilter): Promise<QuotaEntry[]> {
  if (filter === null || typeof filter !== 'object' || !Array.isArray(filter.components)) {
    throw invalidArgument(`describeClientQuotas takes { components: [...] }, got ${describe(filter)}`)
  }
  if (filter.strict !== undefined && typeof filter.strict !== 'boolean') {
    throw invalidArgument(`describeClientQuotas strict must be a boolean, got ${describe(filter.strict)}`)
  }
  const components = filter.components.map((c, i) => {
    const what = `describeClientQuotas components[${i}]`
    if (c === null || typeof c !== 'object') throw invalidArgument(`${what} must be an object, got ${describe(c)}`)
    if (typeof c.entityType !== 'string') {
      throw invalidArgument(`${what}.entityType must be a string, got ${describe(c.entityType)}`)
    }
    if (c.match !== undefined && c.match !== null && typeof c.match !== 'string') {
      throw invalidArgument(`${what}.match must be a string or null, got ${describe(c.match)}`)
    }
    const matchType = c.matchType ?? (typeof c.match === 'string' ? 'exact' : c.match === null ? 'default' : 'any')
    return { entityType: c.entityType, matchType, match: c.match ?? null }
  })
  return rpc<QuotaEntry[]>(binding, 'describeClientQuotas', { components, strict: filter.strict ?? false })
}

/** @internal */
export async function alterClientQuotas(
  binding: BindingAdmin,
  entries: QuotaAlteration[],
  options: { validateOnly?: boolean },
): Promise<AlterQuotaResult[]> {
  if (!Array.isArray(entries)) throw invalidArgument(`alterClientQuotas takes an array of entries, got ${describe(entries)}`)
  if (options === null || typeof options !== 'object') {
    throw invalidArgument(`alterClientQuotas options must be an object, got ${describe(options)}`)
  }
  if (options.validateOnly !== undefined && typeof options.validateOnly !== 'boolean') {
    throw invalidArgument(`alterClientQuotas validateOnly must be a boolean, got ${describe(options.validateOnly)}`)
  }
  entries.forEach((e, i) => {
    const what = `alterClientQuotas entries[${i}]`
    if (e === null || typeof e !== 'object') throw invalidArgument(`${what} must be an object, got ${describe(e)}`)
    if (e.entity === null || typeof e.entity !== 'object' || Array.isArray(e.entity)) {
      throw invalidArgument(`${what}.entity must be an object, got ${describe(e.entity)}`)
    }
    for (const [t, n] of Object.entries(e.entity)) {
      // An unknown type is that entry's error (from the native layer); a wrong value type is a malformed call.
      if (n !== null && typeof n !== 'string') {
        throw invalidArgument(`${what}.entity['${t}'] must be a string or null, got ${describe(n)}`)
      }
    }
    if (!Array.isArray(e.ops)) throw invalidArgument(`${what}.ops must be an array, got ${describe(e.ops)}`)
    e.ops.forEach((op, j) => {
      if (op === null || typeof op !== 'object' || typeof op.key !== 'string') {
        throw invalidArgument(`${what}.ops[${j}] must be { key: string, value: number | null }, got ${describe(op)}`)
      }
      // NaN and Infinity would cross as JSON null, which removes the quota: refuse them here.
      if (op.value !== null && (typeof op.value !== 'number' || !Number.isFinite(op.value))) {
        throw invalidArgument(`${what}.ops[${j}].value must be a finite number or null (removes), got ${describe(op.value)}`)
      }
    })
  })
  const r = await rpc<Array<AlterQuotaResult & { error: BindingError | null }>>(binding, 'alterClientQuotas', {
    entries: entries.map((e) => ({ entity: e.entity, ops: e.ops.map((o) => ({ key: o.key, value: o.value })) })),
    validateOnly: options.validateOnly ?? false,
  })
  return r.map((x) => ({ entity: x.entity, error: itemError(x.error) }))
}
