/**
 * Config objects as users write them, and their shape checks. Ranges and cross-field
 * rules (e.g. deliveryTimeoutMs >= lingerMs + requestTimeoutMs) are checked once, in Rust;
 * here we check that every key is known and every value has the right type, so a typo
 * like `lingerMS` is an error naming the key instead of a silently ignored setting.
 */
import type { BindingClientConfig, BindingOAuthResult, BindingProducerConfig, BindingSasl, BindingSsl } from '../native/binding'
import { invalidConfig } from './errors'
import type { LogConfig } from './logger'

/**
 * TLS settings (`ssl`). PEM text as a string or Buffer; `ssl: true` is TLS with Mozilla's
 * root CAs (compiled in, as Node's `tls` does by default) and full verification.
 */
export interface SslConfig {
  /** Trusted CA certificates (PEM; one text may hold several). Default: Mozilla's roots. */
  ca?: string | Buffer | Array<string | Buffer>
  /** Client certificate chain for mTLS (PEM, leaf first). Needs `key`. */
  cert?: string | Buffer
  /** Client private key (PEM: PKCS#8, PKCS#1 RSA, SEC1 EC, or encrypted PKCS#8 with `passphrase`). */
  key?: string | Buffer
  /** Passphrase of an encrypted `key`. */
  passphrase?: string
  /** Verify the broker's certificate chain and host name. Default true; false is for tests only. */
  rejectUnauthorized?: boolean
  /** Name sent as SNI and verified instead of each broker's advertised host. */
  servername?: string
  /** Lowest TLS version. Default 'TLSv1.2'. */
  minVersion?: 'TLSv1.2' | 'TLSv1.3'
}

/** A token from an OAUTHBEARER provider (KafkaJS's shape, plus librdkafka's lifetime and extensions). */
export interface OAuthBearerToken {
  /** The token, e.g. a JWT or the one aws-msk-iam-sasl-signer-js generates. */
  value: string
  /** When it expires, in ms since the epoch; an expired token makes nkafka ask again. */
  lifetimeMs?: number
  /** Principal name, for messages. */
  principal?: string
  /** SASL extensions (RFC 7628), e.g. Confluent Cloud's `logicalCluster` and `identityPoolId`. */
  extensions?: Record<string, string>
}

/**
 * Supplies OAUTHBEARER tokens. Called for every authentication (new connections and
 * KIP-368 re-authentication), so cache the token until shortly before it expires. A throw
 * or rejection fails the connection with OAUTH_TOKEN_PROVIDER_FAILED carrying its message.
 */
export type OAuthBearerProvider = () => Promise<OAuthBearerToken>

/** SASL with a username and password. PLAIN sends the password as is: use it over `ssl`. */
export interface SaslPasswordConfig {
  mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512'
  username: string
  password: string
}

/** SASL OAUTHBEARER (KIP-255) with tokens from a provider function. */
export interface SaslOAuthBearerConfig {
  mechanism: 'oauthbearer'
  oauthBearerProvider: OAuthBearerProvider
}

/** SASL authentication (`sasl`) on every broker connection. */
export type SaslConfig = SaslPasswordConfig | SaslOAuthBearerConfig

/** Settings every client shares (names as in the Java client, camelCase). */
export interface ClientConfig extends LogConfig {
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
  /** TLS: `true` (public CAs) or settings; absent or false for plaintext. */
  ssl?: boolean | SslConfig
  /** SASL authentication; with `ssl` this is SASL_SSL, without it SASL_PLAINTEXT. */
  sasl?: SaslConfig
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

/** @internal Keys of ClientConfig; the consumer's and producer's key lists include them. */
export const CLIENT_KEYS = new Set<string>([
  'bootstrapServers',
  'clientId',
  'socketKeepAlive',
  'ssl',
  'sasl',
  'logger',
  'logLevel',
  ...CLIENT_NUMBER_KEYS,
])
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

/** @internal Every key of `config` must be in `known`; `prefix` names a nested object (`ssl.`). */
export function checkKeys(config: object, known: Set<string>, prefix = ''): void {
  for (const key of Object.keys(config)) {
    if (!known.has(key)) {
      const near = [...known].find((k) => k.toLowerCase() === key.toLowerCase())
      throw invalidConfig(prefix + key, near ? `unknown key; did you mean \`${prefix}${near}\`?` : 'unknown key')
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
  const ssl = sslConfig(config.ssl)
  if (ssl !== undefined) out.ssl = ssl
  const sasl = saslConfig(config.sasl)
  if (sasl !== undefined) out.sasl = sasl
  return out
}

const SSL_KEYS = new Set(['ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized', 'servername', 'minVersion'])

/**
 * PEM text from a string or bytes. Errors describe the type only: these values may be
 * private keys.
 */
function pem(key: string, v: unknown): string {
  if (typeof v === 'string') return v
  if (v instanceof Uint8Array) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('utf8')
  throw invalidConfig(key, `expected PEM text as a string or Buffer, got ${typeOf(v)}`)
}

/** The type of a value, never its content (for settings that may hold secrets). */
function typeOf(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'an array'
  return typeof v === 'object' ? 'an object' : typeof v
}

function sslConfig(v: unknown): BindingSsl | undefined {
  if (v === undefined || v === false) return undefined
  if (v === true) return { rejectUnauthorized: true }
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw invalidConfig('ssl', `expected true or an object ({ ca, cert, key, ... }), got ${typeOf(v)}`)
  }
  checkKeys(v, SSL_KEYS, 'ssl.')
  const s = v as Record<string, unknown>
  const out: BindingSsl = {}
  if (s.ca !== undefined) {
    if (Array.isArray(s.ca)) {
      if (s.ca.length === 0) throw invalidConfig('ssl.ca', 'is an empty array; omit it to trust the public CAs')
      out.ca = s.ca.map((c, i) => pem(`ssl.ca[${i}]`, c)).join('\n')
    } else {
      out.ca = pem('ssl.ca', s.ca)
    }
  }
  if (s.cert !== undefined) out.cert = pem('ssl.cert', s.cert)
  if (s.key !== undefined) out.key = pem('ssl.key', s.key)
  if (s.passphrase !== undefined) {
    if (typeof s.passphrase !== 'string') {
      throw invalidConfig('ssl.passphrase', `expected a string, got ${typeOf(s.passphrase)}`)
    }
    out.passphrase = s.passphrase
  }
  const reject = s.rejectUnauthorized
  if (reject !== undefined && typeof reject !== 'boolean') {
    throw invalidConfig('ssl.rejectUnauthorized', `expected a boolean, got ${describe(reject)}`)
  }
  // Explicit: the native default would be false.
  out.rejectUnauthorized = reject ?? true
  for (const key of ['servername', 'minVersion'] as const) {
    const x = s[key]
    if (x === undefined) continue
    if (typeof x !== 'string') throw invalidConfig(`ssl.${key}`, `expected a string, got ${describe(x)}`)
    out[key] = x
  }
  return out
}

const PASSWORD_MECHANISMS = new Set(['plain', 'scram-sha-256', 'scram-sha-512'])
const PASSWORD_SASL_KEYS = new Set(['mechanism', 'username', 'password'])
const OAUTH_SASL_KEYS = new Set(['mechanism', 'oauthBearerProvider'])
const MECHANISMS = "'plain', 'scram-sha-256', 'scram-sha-512' or 'oauthbearer'"

function saslConfig(v: unknown): BindingSasl | undefined {
  if (v === undefined) return undefined
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw invalidConfig(
      'sasl',
      `expected an object ({ mechanism, username, password } or { mechanism, oauthBearerProvider }), got ${typeOf(v)}`,
    )
  }
  const s = v as Record<string, unknown>
  const mechanism = s.mechanism
  if (typeof mechanism !== 'string') {
    throw invalidConfig(
      'sasl.mechanism',
      mechanism === undefined ? `is missing; expected ${MECHANISMS}` : `expected ${MECHANISMS}, got ${describe(mechanism)}`,
    )
  }
  const m = mechanism.toLowerCase()
  if (m === 'oauthbearer') {
    for (const key of ['username', 'password']) {
      if (key in s) throw invalidConfig(`sasl.${key}`, "is not used by mechanism 'oauthbearer' (it takes oauthBearerProvider)")
    }
    checkKeys(s, OAUTH_SASL_KEYS, 'sasl.')
    const provider = s.oauthBearerProvider
    if (typeof provider !== 'function') {
      throw invalidConfig(
        'sasl.oauthBearerProvider',
        `${provider === undefined ? 'is missing' : `expected a function, got ${typeOf(provider)}`}: mechanism 'oauthbearer' needs an async function returning { value, lifetimeMs?, principal?, extensions? }`,
      )
    }
    return { mechanism: m, oauthBearerProvider: wrapProvider(provider as () => unknown) }
  }
  if (!PASSWORD_MECHANISMS.has(m)) throw invalidConfig('sasl.mechanism', `${describe(mechanism)} is not supported; expected ${MECHANISMS}`)
  if ('oauthBearerProvider' in s) {
    throw invalidConfig('sasl.oauthBearerProvider', `is only for mechanism 'oauthbearer', not '${m}'`)
  }
  checkKeys(s, PASSWORD_SASL_KEYS, 'sasl.')
  const out: BindingSasl = { mechanism: m }
  for (const key of ['username', 'password'] as const) {
    const x = s[key]
    if (x === undefined) throw invalidConfig(`sasl.${key}`, `is missing: mechanism '${m}' needs a username and password`)
    // The type only, never the value: it may be the password.
    if (typeof x !== 'string') throw invalidConfig(`sasl.${key}`, `expected a string, got ${typeOf(x)}`)
    out[key] = x
  }
  return out
}

const TOKEN_KEYS = new Set(['value', 'lifetimeMs', 'principal', 'extensions'])

/**
 * The user's provider as the native layer calls it: always a Promise that resolves, with
 * the token's fields checked, or with `error` carrying the provider's message (a throw, a
 * rejection, a bad shape). Messages describe types, never the token.
 */
function wrapProvider(provider: () => unknown): () => Promise<BindingOAuthResult> {
  return async () => {
    try {
      let token: unknown
      try {
        token = await provider()
      } catch (e) {
        return { error: messageOf(e) }
      }
      return checkToken(token)
    } catch (e) {
      // A getter or Proxy on the returned object threw.
      return { error: `reading its result threw: ${messageOf(e)}` }
    }
  }
}

function messageOf(e: unknown): string {
  try {
    if (e instanceof Error) return e.message || e.name
    return String(e)
  } catch {
    return 'a value that cannot be shown as text'
  }
}

function checkToken(t: unknown): BindingOAuthResult {
  const expected = 'expected { value: string, lifetimeMs?: number, principal?: string, extensions?: Record<string, string> }'
  if (t === null || typeof t !== 'object' || Array.isArray(t)) return { error: `returned ${typeOf(t)}; ${expected}` }
  const r = t as Record<string, unknown>
  const unknown = Object.keys(r).filter((k) => !TOKEN_KEYS.has(k))
  if (unknown.length > 0) return { error: `returned unknown keys ${unknown.map((k) => `\`${k}\``).join(', ')}; ${expected}` }
  if (typeof r.value !== 'string' || r.value === '') {
    return { error: `returned a \`value\` that is ${r.value === '' ? 'empty' : typeOf(r.value)}, not a non-empty string` }
  }
  const out: BindingOAuthResult = { value: r.value }
  if (r.lifetimeMs !== undefined) {
    if (typeof r.lifetimeMs !== 'number' || !Number.isFinite(r.lifetimeMs)) {
      return { error: `returned a \`lifetimeMs\` that is ${typeOf(r.lifetimeMs)}, not a finite number (ms since the epoch)` }
    }
    out.lifetimeMs = r.lifetimeMs
  }
  if (r.principal !== undefined) {
    if (typeof r.principal !== 'string') return { error: `returned a \`principal\` that is ${typeOf(r.principal)}, not a string` }
    out.principal = r.principal
  }
  if (r.extensions !== undefined) {
    const x = r.extensions
    if (x === null || typeof x !== 'object' || Array.isArray(x)) {
      return { error: `returned \`extensions\` that are ${typeOf(x)}, not an object of strings` }
    }
    const extensions: Record<string, string> = {}
    for (const [k, val] of Object.entries(x)) {
      if (typeof val !== 'string') return { error: `returned extension \`${k}\` as ${typeOf(val)}, not a string` }
      extensions[k] = val
    }
    out.extensions = extensions
  }
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
