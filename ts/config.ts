/**
 * Config objects as users write them, and their shape checks. Ranges and cross-field
 * rules (e.g. deliveryTimeoutMs >= lingerMs + requestTimeoutMs) are checked once, in Rust;
 * here we check that every key is known and every value has the right type, so a typo
 * like `lingerMS` is an error naming the key instead of a silently ignored setting.
 */
import type { BindingClientConfig, BindingProducerConfig } from '../native/binding'
import { invalidConfig } from './errors'

/** Settings every client shares (names as in the Java client, camelCase). */
export interface ClientConfig {
  /** `host:port` list, as one comma-separated string or an array. Required. */
  bootstrapServers: string | string[]
  /** Sent with every request; shows in broker logs and quotas. Default `nkafka`. */
  clientId?: string
  /** Time to wait for any response. Default 30000. */
  requestTimeoutMs?: number
  /** Refresh metadata at least this often. Default 300000. */
  metadataMaxAgeMs?: number
  /** Close idle connections after this long. Default 540000. */
  connectionsMaxIdleMs?: number
  /** TCP keep-alive. Default true. */
  socketKeepAlive?: boolean
  /** First reconnect backoff. Default 50. */
  reconnectBackoffMs?: number
  /** Reconnect backoff cap. Default 1000. */
  reconnectBackoffMaxMs?: number
  /** First retry backoff. Default 100. */
  retryBackoffMs?: number
  /** Retry backoff cap. Default 1000. */
  retryBackoffMaxMs?: number
}

/**
 * Chooses a partition for a record without an explicit one: return an integer in
 * `[0, partitionCount)`. Called on the JS thread with the record's key as bytes (string
 * keys UTF-8 encoded). It must be quick and pure: it runs inside `produce()` / `send()`.
 */
export type PartitionerFunction = (topic: string, key: Buffer | null, partitionCount: number) => number

/** Producer settings. Defaults follow the Java client 4.x unless noted. */
export interface ProducerConfig extends ClientConfig {
  /** 0 (no wait), 1 (leader), -1 or 'all' (all in-sync replicas). Default 'all'. */
  acks?: 0 | 1 | -1 | 'all'
  /** Wait this long for more records before sending a partition's batch. Default 5. */
  lingerMs?: number
  /** Upper bound of one partition's batch in bytes. Default 262144 (256 KiB; see docs). */
  batchSize?: number
  /** Upper bound of a request, and so of a record. Default 1048576. */
  maxRequestSize?: number
  /** Produce requests in flight per broker connection. Default 5. */
  maxInFlightRequestsPerConnection?: number
  /** Retries of a failed batch (bounded in time by deliveryTimeoutMs). Default 2147483647. */
  retries?: number
  /** Upper bound from produce() to the delivery report. Default 120000. */
  deliveryTimeoutMs?: number
  /** Bytes of records buffered and not yet reported. Default 33554432 (32 MiB). */
  bufferMemory?: number
  /** How long send() waits for buffer space and topics wait for metadata. Default 60000. */
  maxBlockMs?: number
  /**
   * 'murmur2' (Java's default: key hash, sticky for null keys), 'random', or a function
   * (see PartitionerFunction). With a function, `produce()` needs the topic's partition
   * count: it throws UNKNOWN_TOPIC_OR_PARTITION until metadata names it (`await
   * producer.connect([topics])` first); `send()` waits for it up to maxBlockMs.
   */
  partitioner?: 'murmur2' | 'random' | PartitionerFunction
  /**
   * Idempotent producer (KIP-98): no duplicates and no reordering under retries, up to 5
   * requests in flight. Default: on, unless acks is not 'all', retries is 0 or
   * maxInFlightRequestsPerConnection is above 5 (then off, as in the Java client);
   * explicitly true with any of those is an INVALID_CONFIG error naming the key.
   */
  enableIdempotence?: boolean
  /** Batch compression. Default 'none'. */
  compressionType?: 'none' | 'gzip' | 'snappy' | 'lz4' | 'zstd'
  /** Codec level: gzip 1-9, lz4 1-17, zstd -131072..22. Default: the codec's (Java's). */
  compressionLevel?: number
  /** Enables transactions (exactly-once); implies idempotence and acks 'all'. */
  transactionalId?: string
  /** How long the coordinator lets a transaction stay open. Default 60000. */
  transactionTimeoutMs?: number
}

const CLIENT_NUMBER_KEYS = [
  'requestTimeoutMs',
  'metadataMaxAgeMs',
  'connectionsMaxIdleMs',
  'reconnectBackoffMs',
  'reconnectBackoffMaxMs',
  'retryBackoffMs',
  'retryBackoffMaxMs',
] as const

const PRODUCER_NUMBER_KEYS = [
  'lingerMs',
  'batchSize',
  'maxRequestSize',
  'maxInFlightRequestsPerConnection',
  'retries',
  'deliveryTimeoutMs',
  'bufferMemory',
  'maxBlockMs',
] as const

const CLIENT_KEYS = new Set<string>(['bootstrapServers', 'clientId', 'socketKeepAlive', ...CLIENT_NUMBER_KEYS])
const PRODUCER_KEYS = new Set<string>([
  ...CLIENT_KEYS,
  ...PRODUCER_NUMBER_KEYS,
  'acks',
  'partitioner',
  'enableIdempotence',
  'compressionType',
  'compressionLevel',
  'transactionalId',
  'transactionTimeoutMs',
])

function checkKeys(config: object, known: Set<string>): void {
  for (const key of Object.keys(config)) {
    if (!known.has(key)) {
      const near = [...known].find((k) => k.toLowerCase() === key.toLowerCase())
      throw invalidConfig(key, near ? `unknown key; did you mean \`${near}\`?` : 'unknown key')
    }
  }
}

function num(config: Record<string, unknown>, key: string): number | undefined {
  const v = config[key]
  if (v === undefined) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw invalidConfig(key, `expected a finite number, got ${describe(v)}`)
  }
  return v
}

function bool(config: Record<string, unknown>, key: string): boolean | undefined {
  const v = config[key]
  if (v === undefined) return undefined
  if (typeof v !== 'boolean') throw invalidConfig(key, `expected a boolean, got ${describe(v)}`)
  return v
}

/** @internal */
export function describe(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  if (typeof v === 'string') return `the string ${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}...` : v)}`
  return typeof v === 'object' ? 'an object' : `${typeof v} ${String(v)}`
}

function clientConfig(config: Record<string, unknown>): BindingClientConfig {
  const servers = config.bootstrapServers
  let list: string[]
  if (typeof servers === 'string') list = [servers]
  else if (Array.isArray(servers) && servers.every((s) => typeof s === 'string')) list = servers as string[]
  else throw invalidConfig('bootstrapServers', `expected "host:port,..." or an array of them, got ${describe(servers)}`)
  const clientId = config.clientId
  if (clientId !== undefined && typeof clientId !== 'string') {
    throw invalidConfig('clientId', `expected a string, got ${describe(clientId)}`)
  }
  const out: BindingClientConfig = { bootstrapServers: list }
  if (clientId !== undefined) out.clientId = clientId
  for (const key of CLIENT_NUMBER_KEYS) {
    const v = num(config, key)
    if (v !== undefined) out[key] = v
  }
  const keepAlive = bool(config, 'socketKeepAlive')
  if (keepAlive !== undefined) out.socketKeepAlive = keepAlive
  return out
}

/** @internal Checks a client config's shape and maps it for the native layer. */
export function toBindingClientConfig(config: ClientConfig): BindingClientConfig {
  if (config === null || typeof config !== 'object') throw invalidConfig('config', 'expected an object')
  checkKeys(config, CLIENT_KEYS)
  return clientConfig(config as unknown as Record<string, unknown>)
}

/** @internal Checks a producer config's shape and maps it for the native layer. */
export function toBindingProducerConfig(config: ProducerConfig): BindingProducerConfig {
  if (config === null || typeof config !== 'object') throw invalidConfig('config', 'expected an object')
  checkKeys(config, PRODUCER_KEYS)
  const c = config as unknown as Record<string, unknown>
  const out: BindingProducerConfig = { client: clientConfig(c) }
  for (const key of PRODUCER_NUMBER_KEYS) {
    const v = num(c, key)
    if (v !== undefined) out[key] = v
  }
  const acks = c.acks
  if (acks !== undefined) {
    if (acks === 'all' || acks === -1) out.acks = -1
    else if (acks === 0 || acks === 1) out.acks = acks
    else throw invalidConfig('acks', `expected 0, 1, -1 or 'all', got ${describe(acks)}`)
  }
  const partitioner = c.partitioner
  if (partitioner !== undefined) {
    // A function runs in JS (Producer passes its choice as an explicit partition).
    if (typeof partitioner !== 'function') {
      if (partitioner !== 'murmur2' && partitioner !== 'random') {
        throw invalidConfig('partitioner', `expected 'murmur2', 'random' or a function, got ${describe(partitioner)}`)
      }
      out.partitioner = partitioner
    }
  }
  const idem = bool(c, 'enableIdempotence')
  if (idem !== undefined) out.enableIdempotence = idem
  const ct = c.compressionType
  if (ct !== undefined) {
    if (typeof ct !== 'string') throw invalidConfig('compressionType', `expected a codec name, got ${describe(ct)}`)
    out.compressionType = ct
  }
  const level = num(c, 'compressionLevel')
  if (level !== undefined) out.compressionLevel = level
  const tid = c.transactionalId
  if (tid !== undefined) {
    if (typeof tid !== 'string') throw invalidConfig('transactionalId', `expected a string, got ${describe(tid)}`)
    out.transactionalId = tid
  }
  const tto = num(c, 'transactionTimeoutMs')
  if (tto !== undefined) out.transactionTimeoutMs = tto
  return out
}
