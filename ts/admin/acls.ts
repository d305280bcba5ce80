import type { BindingAdmin, BindingError } from '../../native/binding'
import { describe } from '../config'
import { invalidArgument } from '../errors'
import { type ItemResult, itemError, rpc } from './results'

/** Resource types of ACLs (Java's `ResourceType`). */
export type AclResourceType = 'topic' | 'group' | 'cluster' | 'transactional-id' | 'delegation-token' | 'user'
/** How an ACL's resource name matches: exactly, or as a prefix. */
export type AclPatternType = 'literal' | 'prefixed'
/** Operations of ACLs (Java's `AclOperation`). */
export type AclOperation =
  | 'all'
  | 'read'
  | 'write'
  | 'create'
  | 'delete'
  | 'alter'
  | 'describe'
  | 'cluster-action'
  | 'describe-configs'
  | 'alter-configs'
  | 'idempotent-write'
  | 'create-tokens'
  | 'describe-tokens'
  | 'two-phase-commit'
export type AclPermissionType = 'allow' | 'deny'

/**
 * One ACL: `principal` connecting from `host` may (`allow`) or may not (`deny`) perform
 * `operation` on the resources `resourceType` + `resourceName` + `patternType` name.
 * In results, a code this client does not know reads `unknown(<code>)`.
 */
export interface AclBinding {
  resourceType: AclResourceType
  /** `kafka-cluster` for the cluster; `*` for every resource of the type. */
  resourceName: string
  /** Default 'literal'. */
  patternType?: AclPatternType
  /** `User:<name>` (or another principal type the broker knows). */
  principal: string
  /** The client's IP address; default `*` (any host). */
  host?: string
  operation: AclOperation
  permissionType: AclPermissionType
}

/** An ACL as the broker reports it (every field present). */
export type DescribedAclBinding = Required<AclBinding>

/**
 * Which ACLs to describe or delete. An omitted field (or 'any', or a null name, principal
 * or host) matches every ACL. patternType 'match' finds the ACLs that apply to the named
 * resource: its literal ones, the wildcard `*` ones and the prefixed ones that prefix it.
 */
export interface AclBindingFilter {
  resourceType?: AclResourceType | 'any'
  resourceName?: string | null
  patternType?: AclPatternType | 'any' | 'match'
  principal?: string | null
  host?: string | null
  operation?: AclOperation | 'any'
  permissionType?: AclPermissionType | 'any'
}

/** The outcome of one binding of createAcls. */
export interface CreateAclResult extends ItemResult {
  binding: DescribedAclBinding
}

/** One ACL a deleteAcls filter matched; `error` set when deleting it failed. */
export interface AclMatch extends ItemResult {
  binding: DescribedAclBinding
}

/** The outcome of one filter of deleteAcls: `error` when the filter failed as a whole. */
export interface DeleteAclsResult extends ItemResult {
  filter: Required<AclBindingFilter>
  /** The ACLs the filter matched (and were deleted unless their own error is set). */
  matches: AclMatch[]
}

export type ScramMechanism = 'SCRAM-SHA-256' | 'SCRAM-SHA-512'

/** The SCRAM credentials of one user (the broker never returns salts or keys). */
export interface UserScramCredentialsResult extends ItemResult {
  user: string
  /** One per mechanism the user has. */
  credentials: Array<{ mechanism: ScramMechanism; iterations: number }>
}

/**
 * Sets a SCRAM credential: the client draws a salt from the OS CSPRNG and sends only the
 * salted password (PBKDF2-HMAC, the same code the SCRAM login uses), never the password.
 */
export interface ScramUpsertion {
  user: string
  mechanism: ScramMechanism
  /** PBKDF2 iterations, 4096 (default) to 16384. */
  iterations?: number
  password: string
}

/** Removes a user's credential for one mechanism. */
export interface ScramDeletion {
  user: string
  mechanism: ScramMechanism
  delete: true
}

export type ScramAlteration = ScramUpsertion | ScramDeletion

/** The outcome of one alteration (the broker answers per user: alterations of one user share it). */
export interface AlterUserScramCredentialsResult extends ItemResult {
  user: string
  mechanism: string
}

type Raw<T> = Omit<T, 'error'> & { error: BindingError | null }

const BINDING_KEYS = ['resourceType', 'resourceName', 'patternType', 'principal', 'host', 'operation', 'permissionType']

function checkObject(v: unknown, what: string, keys: string[]): Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw invalidArgument(`${what} must be an object, got ${describe(v)}`)
  }
  for (const k of Object.keys(v)) {
    if (!keys.includes(k)) throw invalidArgument(`${what} has an unknown field \`${k}\` (known: ${keys.join(', ')})`)
  }
  return v as Record<string, unknown>
}

function checkArray(v: unknown, call: string, what: string): unknown[] {
  if (!Array.isArray(v)) throw invalidArgument(`${call} takes an array of ${what}, got ${describe(v)}`)
  return v
}

function checkBinding(b: unknown, what: string): void {
  const o = checkObject(b, what, BINDING_KEYS)
  for (const k of BINDING_KEYS) {
    const optional = k === 'patternType' || k === 'host'
    if (o[k] === undefined && optional) continue
    if (typeof o[k] !== 'string') throw invalidArgument(`${what}.${k} must be a string, got ${describe(o[k])}`)
  }
}

function checkFilter(f: unknown, what: string): void {
  const o = checkObject(f, what, BINDING_KEYS)
  for (const k of BINDING_KEYS) {
    const v = o[k]
    if (v === undefined) continue
    const nullable = k === 'resourceName' || k === 'principal' || k === 'host'
    if (typeof v !== 'string' && !(nullable && v === null)) {
      throw invalidArgument(`${what}.${k} must be a string${nullable ? ' or null' : ''}, got ${describe(v)}`)
    }
  }
}

/** @internal */
export async function describeAcls(binding: BindingAdmin, filter: AclBindingFilter): Promise<DescribedAclBinding[]> {
  checkFilter(filter, 'describeAcls filter')
  return rpc<DescribedAclBinding[]>(binding, 'describeAcls', filter)
}

/** @internal */
export async function createAcls(binding: BindingAdmin, bindings: AclBinding[]): Promise<CreateAclResult[]> {
  checkArray(bindings, 'createAcls', 'ACL bindings').forEach((b, i) => {
    checkBinding(b, `createAcls bindings[${i}]`)
  })
  const r = await rpc<Raw<CreateAclResult>[]>(binding, 'createAcls', bindings)
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}

/** @internal */
export async function deleteAcls(binding: BindingAdmin, filters: AclBindingFilter[]): Promise<DeleteAclsResult[]> {
  checkArray(filters, 'deleteAcls', 'ACL filters').forEach((f, i) => {
    checkFilter(f, `deleteAcls filters[${i}]`)
  })
  const r = await rpc<Array<Raw<DeleteAclsResult> & { matches: Raw<AclMatch>[] }>>(binding, 'deleteAcls', filters)
  return r.map((x) => ({
    filter: x.filter,
    error: itemError(x.error),
    matches: x.matches.map((m) => ({ binding: m.binding, error: itemError(m.error) })),
  }))
}

/** @internal */
export async function describeUserScramCredentials(
  binding: BindingAdmin,
  users: string[] | undefined,
): Promise<UserScramCredentialsResult[]> {
  if (users !== undefined && (!Array.isArray(users) || users.some((u) => typeof u !== 'string'))) {
    throw invalidArgument(`describeUserScramCredentials takes an array of user names, got ${describe(users)}`)
  }
  const r = await rpc<Raw<UserScramCredentialsResult>[]>(binding, 'describeUserScramCredentials', {
    users: users ?? null,
  })
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}

/** @internal */
export async function alterUserScramCredentials(
  binding: BindingAdmin,
  alterations: ScramAlteration[],
): Promise<AlterUserScramCredentialsResult[]> {
  checkArray(alterations, 'alterUserScramCredentials', 'alterations').forEach((a, i) => {
    const what = `alterUserScramCredentials alterations[${i}]`
    const o = checkObject(a, what, ['user', 'mechanism', 'iterations', 'password', 'delete'])
    for (const k of ['user', 'mechanism'] as const) {
      if (typeof o[k] !== 'string') throw invalidArgument(`${what}.${k} must be a string, got ${describe(o[k])}`)
    }
    if (o.password !== undefined && typeof o.password !== 'string') {
      throw invalidArgument(`${what}.password must be a string, got ${describe(o.password)}`)
    }
    if (o.iterations !== undefined && !Number.isInteger(o.iterations)) {
      throw invalidArgument(`${what}.iterations must be an integer, got ${describe(o.iterations)}`)
    }
    if (o.delete !== undefined && typeof o.delete !== 'boolean') {
      throw invalidArgument(`${what}.delete must be a boolean, got ${describe(o.delete)}`)
    }
  })
  const r = await rpc<Raw<AlterUserScramCredentialsResult>[]>(binding, 'alterUserScramCredentials', alterations)
  return r.map((x) => ({ ...x, error: itemError(x.error) }))
}
