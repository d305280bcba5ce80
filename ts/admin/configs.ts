import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument } from '../errors'
import { type ItemResult, itemError, rpc } from './results'

/** What a config belongs to: a topic, a broker (by id), or a broker's log4j loggers. */
export type ConfigResourceType = 'topic' | 'broker' | 'broker-logger' | 'group' | 'client-metrics'

/** Where a config's value comes from (Java's `ConfigEntry.ConfigSource`). */
export type ConfigSource =
  | 'DYNAMIC_TOPIC_CONFIG'
  | 'DYNAMIC_BROKER_CONFIG'
  | 'DYNAMIC_DEFAULT_BROKER_CONFIG'
  | 'STATIC_BROKER_CONFIG'
  | 'DEFAULT_CONFIG'
  | 'DYNAMIC_BROKER_LOGGER_CONFIG'
  | 'CLIENT_METRICS_CONFIG'
  | 'GROUP_CONFIG'
  | 'UNKNOWN'

/** A config's value type (Java's `ConfigEntry.ConfigType`). */
export type ConfigType = 'BOOLEAN' | 'STRING' | 'INT' | 'SHORT' | 'LONG' | 'DOUBLE' | 'LIST' | 'CLASS' | 'PASSWORD' | 'UNKNOWN'

/** A resource whose configs to describe. */
export interface ConfigResource {
  type: ConfigResourceType
  /** Topic name, or broker id as a string ('' for the cluster-wide broker default). */
  name: string
  /** Only these configs (default: all). */
  configNames?: string[]
}

export interface DescribeConfigsOptions {
  /** Also list where else each config is set, by precedence. */
  includeSynonyms?: boolean
  /** Also return each config's documentation. */
  includeDocumentation?: boolean
}

/** A level a config is set at. */
export interface ConfigSynonym {
  name: string
  value: string | null
  source: ConfigSource
}

/** One config of a resource. */
export interface ConfigEntry {
  name: string
  /** null for sensitive configs (passwords) and unset ones. */
  value: string | null
  source: ConfigSource
  isReadOnly: boolean
  isSensitive: boolean
  /** The value is Kafka's default (`source` is DEFAULT_CONFIG). */
  isDefault: boolean
  /** Absent when the broker predates DescribeConfigs v3 (Kafka 2.6). */
  type?: ConfigType
  /** With `includeDocumentation`. */
  documentation?: string
  /** With `includeSynonyms`: the value in effect first, then those it overrides. */
  synonyms: ConfigSynonym[]
}

/** The configs of one resource, or its error. */
export interface ConfigResourceResult extends ItemResult {
  type: ConfigResourceType
  name: string
  configs: ConfigEntry[]
}

/** How an op changes a config: `delete` returns it to the inherited value; `append` and `subtract` edit list configs. */
export type AlterConfigOpType = 'set' | 'delete' | 'append' | 'subtract'

export interface AlterConfigOp {
  name: string
  /** Needed for set, append and subtract. */
  value?: string | null
  op: AlterConfigOpType
}

/** A resource's config changes, applied all or nothing. */
export interface AlterConfigsResource {
  type: ConfigResourceType
  /** Topic name, or broker id as a string ('' for the cluster-wide broker default). */
  name: string
  ops: AlterConfigOp[]
}

export interface AlterConfigsOptions {
  /** Only check the changes (the broker validates them); apply nothing. */
  validateOnly?: boolean
}

/** The outcome of one resource's changes. */
export interface AlterConfigsResult extends ItemResult {
  type: ConfigResourceType
  name: string
}

function checkResource(call: string, r: unknown, i: number): asserts r is { type: string; name: string } {
  if (r === null || typeof r !== 'object') throw invalidArgument(`${call} resources[${i}] must be an object, got ${describe(r)}`)
  const o = r as Record<string, unknown>
  for (const k of ['type', 'name'] as const) {
    if (typeof o[k] !== 'string') throw invalidArgument(`${call} resources[${i}].${k} must be a string, got ${describe(o[k])}`)
  }
}

function checkBool(call: string, options: Record<string, unknown>, k: string): void {
  if (options[k] !== undefined && typeof options[k] !== 'boolean') {
    throw invalidArgument(`${call} options.${k} must be a boolean, got ${describe(options[k])}`)
  }
}

/** @internal */
export async function describeConfigs(
  binding: BindingAdmin,
  resources: ConfigResource[],
  options: DescribeConfigsOptions,
): Promise<ConfigResourceResult[]> {
  if (!Array.isArray(resources)) throw invalidArgument(`describeConfigs takes an array of resources, got ${describe(resources)}`)
  const opts = (options ?? {}) as Record<string, unknown>
  checkBool('describeConfigs', opts, 'includeSynonyms')
  checkBool('describeConfigs', opts, 'includeDocumentation')
  const args = resources.map((r, i) => {
    checkResource('describeConfigs', r, i)
    const names = r.configNames
    if (names !== undefined && (!Array.isArray(names) || names.some((n) => typeof n !== 'string'))) {
      throw invalidArgument(`describeConfigs resources[${i}].configNames must be an array of strings, got ${describe(names)}`)
    }
    return names === undefined ? { type: r.type, name: r.name } : { type: r.type, name: r.name, configNames: names }
  })
  const r = await rpc<Array<Omit<ConfigResourceResult, 'error'> & { error: BindingError | null }>>(binding, 'describeConfigs', {
    resources: args,
    options: { includeSynonyms: opts.includeSynonyms === true, includeDocumentation: opts.includeDocumentation === true },
  })
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}

/** @internal */
export async function incrementalAlterConfigs(
  binding: BindingAdmin,
  resources: AlterConfigsResource[],
  options: AlterConfigsOptions,
): Promise<AlterConfigsResult[]> {
  if (!Array.isArray(resources)) {
    throw invalidArgument(`incrementalAlterConfigs takes an array of resources, got ${describe(resources)}`)
  }
  const opts = (options ?? {}) as Record<string, unknown>
  checkBool('incrementalAlterConfigs', opts, 'validateOnly')
  const args = resources.map((r, i) => {
    checkResource('incrementalAlterConfigs', r, i)
    if (!Array.isArray(r.ops)) {
      throw invalidArgument(`incrementalAlterConfigs resources[${i}].ops must be an array, got ${describe(r.ops)}`)
    }
    const ops = r.ops.map((o, k) => {
      const at = `incrementalAlterConfigs resources[${i}].ops[${k}]`
      if (o === null || typeof o !== 'object') throw invalidArgument(`${at} must be an object, got ${describe(o)}`)
      if (typeof o.name !== 'string') throw invalidArgument(`${at}.name must be a string, got ${describe(o.name)}`)
      if (typeof o.op !== 'string') throw invalidArgument(`${at}.op must be a string, got ${describe(o.op)}`)
      if (o.value !== undefined && o.value !== null && typeof o.value !== 'string') {
        throw invalidArgument(`${at}.value must be a string, got ${describe(o.value)}`)
      }
      return { name: o.name, op: o.op, value: o.value ?? null }
    })
    return { type: r.type, name: r.name, ops }
  })
  const r = await rpc<Array<Omit<AlterConfigsResult, 'error'> & { error: BindingError | null }>>(binding, 'incrementalAlterConfigs', {
    resources: args,
    validateOnly: opts.validateOnly === true,
  })
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}
