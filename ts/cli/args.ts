/**
 * Flag parsing for every subcommand (node:util parseArgs, strict), the flags all
 * subcommands share (brokers, client id, security, -X, --config FILE) and how they become
 * a client config. A bad flag is a UsageError: main prints its one line and exits 2.
 */
import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { type ParseArgsConfig, parseArgs } from 'node:util'
import { type ClientConfig, type ConsumerConfig, KafkaError, type ProducerConfig, type SaslConfig, type SslConfig } from '../index'

/** A bad or missing flag: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/**
 * Makes a client: the library checks the config's keys and types when a client is made,
 * and those come from -X and --config, so its INVALID_CONFIG is a usage error (exit 2).
 * A broker's INVALID_CONFIG later (e.g. configs set) stays a Kafka error (exit 1).
 */
export function makeClient<T>(make: () => T): T {
  try {
    return make()
  } catch (e) {
    if (e instanceof KafkaError && e.code === 'INVALID_CONFIG') {
      // A key camel-cased from a .properties file: name the property the user wrote.
      const key = /`([^`.]+)/.exec(e.message)?.[1]
      const origin = key === undefined ? undefined : propertyOrigin.get(key)
      throw new UsageError(`INVALID_CONFIG: ${e.message}${origin ? ` (from ${origin})` : ''}`)
    }
    throw e
  }
}

type Options = NonNullable<ParseArgsConfig['options']>

/** Flags every subcommand takes. */
export const COMMON_OPTIONS = {
  brokers: { type: 'string', short: 'b' },
  'client-id': { type: 'string' },
  ssl: { type: 'boolean' },
  'ssl-ca': { type: 'string' },
  'ssl-cert': { type: 'string' },
  'ssl-key': { type: 'string' },
  'ssl-key-password': { type: 'string' },
  'sasl-mechanism': { type: 'string' },
  'sasl-username': { type: 'string' },
  'sasl-password': { type: 'string' },
  X: { type: 'string', short: 'X', multiple: true },
  config: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
} as const satisfies Options

export const COMMON_HELP = `Connection (every subcommand):
  -b, --brokers LIST        host:port,... (default $KAFKA_BROKERS, else localhost:9092)
      --client-id ID        client id sent to the brokers (default nkafka-cli)
      --ssl                 TLS with the public CAs (implied by --ssl-ca/--ssl-cert)
      --ssl-ca FILE         trusted CA certificates (PEM)
      --ssl-cert FILE       client certificate chain for mTLS (PEM); needs --ssl-key
      --ssl-key FILE        client private key (PEM); --ssl-key-password if encrypted
      --sasl-mechanism M    plain, scram-sha-256 or scram-sha-512
      --sasl-username U     (default $KAFKA_SASL_USERNAME)
      --sasl-password P     (default $KAFKA_SASL_PASSWORD)
  -X  key=value             an nkafka config key (camelCase, e.g. -X lingerMs=20), repeatable
      --config FILE         JSON (nkafka config keys) or Java .properties; see docs/CLI.md
  -h, --help                this help`

export interface Parsed {
  values: Record<string, string | boolean | string[] | undefined>
  positionals: string[]
}

/**
 * Parses `argv` with the common flags and `options`. Node's own messages are long and
 * name the option oddly ('--t <value>'); each becomes one line naming the flag.
 */
export function parse(argv: string[], options: Options, command: string): Parsed {
  let r: ReturnType<typeof parseArgs>
  try {
    r = parseArgs({ args: argv, options: { ...COMMON_OPTIONS, ...options }, allowPositionals: true, strict: true })
  } catch (e) {
    const err = e as NodeJS.ErrnoException
    const flag = /'([^' ]+)/.exec(err.message)?.[1] ?? ''
    const name = flag.replace(/^-+/, '')
    const shown = name.length > 1 ? `--${name}` : `-${name}`
    if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`${command}: unknown flag ${flag} (see ${command} --help)`)
    if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      if (/argument missing|ambiguous/.test(err.message)) throw new UsageError(`${command}: flag ${shown} needs a value`)
      throw new UsageError(`${command}: flag ${shown} does not take a value`)
    }
    throw new UsageError(`${command}: ${err.message.split('\n')[0]}`)
  }
  return { values: r.values as Parsed['values'], positionals: r.positionals }
}

/** Rejects positionals beyond the `max` a command takes, naming the first extra one. */
export function noExtra(p: Parsed, max: number, command: string): void {
  const extra = p.positionals[max]
  if (extra !== undefined) throw new UsageError(`${command}: unexpected argument ${JSON.stringify(extra)}`)
}

export function str(p: Parsed, key: string): string | undefined {
  const v = p.values[key]
  return typeof v === 'string' ? v : undefined
}

export function list(p: Parsed, key: string): string[] {
  const v = p.values[key]
  return Array.isArray(v) ? v : typeof v === 'string' ? [v] : []
}

export function flag(p: Parsed, key: string): boolean {
  return p.values[key] === true
}

export function required(p: Parsed, key: string, command: string, short?: string): string {
  const v = str(p, key)
  if (v === undefined || v === '') throw new UsageError(`${command}: missing required flag ${short ? `-${short}/` : ''}--${key}`)
  return v
}

/** An integer flag in [min, max]; undefined when absent. */
export function int(p: Parsed, key: string, command: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const v = str(p, key)
  if (v === undefined) return undefined
  const n = Number(v)
  if (v.trim() === '' || !Number.isInteger(n) || n < min || n > max) {
    throw new UsageError(
      `${command}: --${key} expects an integer${max === Number.MAX_SAFE_INTEGER ? ` >= ${min}` : ` in ${min}..${max}`}, got ${JSON.stringify(v)}`,
    )
  }
  return n
}

/** `k=v` into its two halves, naming the flag when there is no '='. */
export function keyValue(s: string, what: string, command: string): [string, string] {
  const i = s.indexOf('=')
  if (i <= 0) throw new UsageError(`${command}: ${what} expects key=value, got ${JSON.stringify(s)}`)
  return [s.slice(0, i), s.slice(i + 1)]
}

/** A -X / properties value as JSON-ish: numbers and booleans typed, everything else a string. */
function typed(v: string): string | number | boolean {
  if (v === 'true') return true
  if (v === 'false') return false
  if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v)
  return v
}

/** Keys only producers take, and only consumers take (checked against the public types). */
const PRODUCER_ONLY = [
  'acks',
  'lingerMs',
  'batchSize',
  'maxRequestSize',
  'maxInFlightRequestsPerConnection',
  'retries',
  'deliveryTimeoutMs',
  'bufferMemory',
  'maxBlockMs',
  'partitioner',
  'enableIdempotence',
  'compressionType',
  'compressionLevel',
  'transactionalId',
  'transactionTimeoutMs',
] as const satisfies ReadonlyArray<Exclude<keyof ProducerConfig, keyof ClientConfig>>
const CONSUMER_ONLY = [
  'groupId',
  'groupInstanceId',
  'sessionTimeoutMs',
  'heartbeatIntervalMs',
  'maxPollIntervalMs',
  'autoOffsetReset',
  'enableAutoCommit',
  'autoCommitIntervalMs',
  'fetchMinBytes',
  'fetchMaxBytes',
  'maxPartitionFetchBytes',
  'fetchMaxWaitMs',
  'isolationLevel',
  'checkCrcs',
  'clientRack',
  'maxPollRecords',
  'partitionAssignors',
  'groupProtocol',
  'groupRemoteAssignor',
  'rebalanceTimeoutMs',
] as const satisfies ReadonlyArray<Exclude<keyof ConsumerConfig, keyof ClientConfig>>

export type ClientKind = 'producer' | 'consumer' | 'admin'

/** What a config file holds, before the flags are applied. */
interface FileConfig {
  config: Record<string, unknown>
  ssl: Record<string, unknown>
  sasl: Record<string, unknown>
}

/** The Java/librdkafka .properties keys understood (docs/CLI.md lists them). */
export const PROPERTIES_KEYS = [
  'bootstrap.servers',
  'client.id',
  'security.protocol',
  'sasl.mechanism',
  'sasl.mechanisms',
  'sasl.jaas.config',
  'sasl.username',
  'sasl.password',
  'ssl.ca.location',
  'ssl.truststore.location',
  'ssl.truststore.type',
  'ssl.certificate.location',
  'ssl.key.location',
  'ssl.key.password',
]

/** Java .properties text into key/value pairs: `=`, `:` or space separators, `#`/`!` comments, `\` continuations. */
export function parseProperties(text: string): Map<string, string> {
  const out = new Map<string, string>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    let line = (lines[i] as string).replace(/^\s+/, '')
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + (lines[++i] as string).replace(/^\s+/, '')
    }
    const m = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line)
    const key = unescapeProperty(m ? (m[1] as string) : line)
    out.set(key, m ? unescapeProperty(m[2] as string) : '')
  }
  return out
}

function unescapeProperty(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) => {
    if (c.length === 5) return String.fromCharCode(Number.parseInt(c.slice(1), 16))
    return c === 't' ? '\t' : c === 'n' ? '\n' : c === 'r' ? '\r' : c === 'f' ? '\f' : c
  })
}

/** nkafka keys made from .properties names, and where they came from, for error messages. */
const propertyOrigin = new Map<string, string>()

/** Java names (`request.timeout.ms`) into nkafka's (`requestTimeoutMs`). */
function camel(key: string): string {
  return key.replace(/\.([a-z])/g, (_, c: string) => c.toUpperCase())
}

function readText(file: string, what: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (e) {
    throw new UsageError(`${what}: cannot read ${JSON.stringify(file)}: ${(e as Error).message}`)
  }
}

function fromProperties(file: string): FileConfig {
  const props = parseProperties(readText(file, '--config'))
  const out: FileConfig = { config: {}, ssl: {}, sasl: {} }
  const where = (k: string) => `--config ${file}: ${k}`
  const protocol = props.get('security.protocol')?.toUpperCase()
  if (protocol !== undefined) {
    if (!['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'].includes(protocol)) {
      throw new UsageError(
        `${where('security.protocol')} expects PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL, got ${JSON.stringify(protocol)}`,
      )
    }
    if (protocol.endsWith('SSL')) out.ssl.enabled = true
  }
  for (const [key, value] of props) {
    switch (key) {
      case 'bootstrap.servers':
        out.config.bootstrapServers = value
        break
      case 'client.id':
        out.config.clientId = value
        break
      case 'security.protocol':
        break
      case 'sasl.mechanism':
      case 'sasl.mechanisms':
        out.sasl.mechanism = value.toLowerCase()
        break
      case 'sasl.jaas.config': {
        for (const field of ['username', 'password']) {
          const m = new RegExp(`${field}\\s*=\\s*"((?:\\\\.|[^"\\\\])*)"`).exec(value)
          if (m) out.sasl[field] = (m[1] as string).replace(/\\(.)/g, '$1')
        }
        if (out.sasl.username === undefined)
          throw new UsageError(`${where(key)} has no username="..." (only PlainLoginModule/ScramLoginModule are understood)`)
        break
      }
      case 'sasl.username':
        out.sasl.username = value
        break
      case 'sasl.password':
        out.sasl.password = value
        break
      case 'ssl.ca.location':
      case 'ssl.truststore.location':
        out.ssl.ca = readText(resolve(dirname(file), value), where(key))
        break
      case 'ssl.truststore.type':
        if (value.toUpperCase() !== 'PEM')
          throw new UsageError(`${where(key)}: only PEM truststores are understood, got ${JSON.stringify(value)}`)
        break
      case 'ssl.certificate.location':
        out.ssl.cert = readText(resolve(dirname(file), value), where(key))
        break
      case 'ssl.key.location':
        out.ssl.key = readText(resolve(dirname(file), value), where(key))
        break
      case 'ssl.key.password':
        out.ssl.passphrase = value
        break
      default:
        // Other Java names map to nkafka's by camel-casing (linger.ms -> lingerMs); the
        // client rejects any that it does not know, naming it.
        out.config[camel(key)] = typed(value)
        propertyOrigin.set(camel(key), `property \`${key}\` in ${file}`)
    }
  }
  return out
}

function fromJson(file: string): FileConfig {
  let parsed: unknown
  try {
    parsed = JSON.parse(readText(file, '--config'))
  } catch (e) {
    if (e instanceof UsageError) throw e
    throw new UsageError(`--config ${file}: not valid JSON: ${(e as Error).message}`)
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new UsageError(`--config ${file}: expected a JSON object of nkafka config keys`)
  const { ssl, sasl, ...config } = parsed as Record<string, unknown>
  const out: FileConfig = { config, ssl: {}, sasl: {} }
  if (ssl === true) out.ssl.enabled = true
  else if (ssl !== undefined && ssl !== false) {
    if (ssl === null || typeof ssl !== 'object') throw new UsageError(`--config ${file}: ssl expects true or an object`)
    out.ssl = { enabled: true, ...(ssl as Record<string, unknown>) }
    // PEM text, or a path to it (relative to the config file).
    for (const k of ['ca', 'cert', 'key'] as const) {
      const v = out.ssl[k]
      if (typeof v === 'string' && !v.includes('-----BEGIN')) out.ssl[k] = readText(resolve(dirname(file), v), `--config ${file}: ssl.${k}`)
    }
  }
  if (sasl !== undefined) {
    if (sasl === null || typeof sasl !== 'object') throw new UsageError(`--config ${file}: sasl expects an object`)
    out.sasl = { ...(sasl as Record<string, unknown>) }
  }
  return out
}

function loadFile(file: string): FileConfig {
  return file.endsWith('.json') ? fromJson(file) : fromProperties(file)
}

/**
 * The client config from the common flags, for a client of `kind`. Precedence: flags,
 * then -X, then the config files (later files win), then the environment.
 * `--config` keys of another client kind (linger.ms for a consumer) are left out, so one
 * file serves every subcommand; -X keys are passed as given.
 */
export function clientConfig(p: Parsed, kind: ClientKind, command: string): Record<string, unknown> {
  const merged: FileConfig = { config: {}, ssl: {}, sasl: {} }
  for (const file of list(p, 'config')) {
    const f = loadFile(file)
    Object.assign(merged.config, f.config)
    Object.assign(merged.ssl, f.ssl)
    Object.assign(merged.sasl, f.sasl)
  }
  const skip = new Set<string>(
    kind === 'producer' ? CONSUMER_ONLY : kind === 'consumer' ? PRODUCER_ONLY : [...PRODUCER_ONLY, ...CONSUMER_ONLY],
  )
  const config: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(merged.config)) if (!skip.has(k)) config[k] = v
  for (const x of list(p, 'X')) {
    const [k, v] = keyValue(x, '-X', command)
    config[k] = typed(v)
  }
  const brokers = str(p, 'brokers') ?? (config.bootstrapServers as string | undefined) ?? process.env.KAFKA_BROKERS ?? 'localhost:9092'
  config.bootstrapServers = brokers
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')
  if ((config.bootstrapServers as string[]).length === 0) throw new UsageError(`${command}: --brokers is empty`)
  config.clientId = str(p, 'client-id') ?? config.clientId ?? 'nkafka-cli'
  // The library's warnings (retries it recovers from) would interleave with the output; -X logLevel=warn shows them.
  config.logLevel ??= 'error'

  const ssl = { ...merged.ssl }
  const files: Array<[string, 'ca' | 'cert' | 'key']> = [
    ['ssl-ca', 'ca'],
    ['ssl-cert', 'cert'],
    ['ssl-key', 'key'],
  ]
  for (const [f, k] of files) {
    const file = str(p, f)
    if (file !== undefined) ssl[k] = readText(file, `--${f}`)
  }
  const passphrase = str(p, 'ssl-key-password')
  if (passphrase !== undefined) ssl.passphrase = passphrase
  if (flag(p, 'ssl') || Object.keys(ssl).length > 0) {
    const { enabled: _, ...rest } = ssl
    config.ssl = Object.keys(rest).length > 0 ? (rest as SslConfig) : true
  }
  if (ssl.cert !== undefined && ssl.key === undefined) throw new UsageError(`${command}: --ssl-cert needs --ssl-key`)

  const sasl = { ...merged.sasl }
  const mechanism = str(p, 'sasl-mechanism')
  if (mechanism !== undefined) sasl.mechanism = mechanism.toLowerCase()
  const username = str(p, 'sasl-username') ?? (sasl.username as string | undefined) ?? process.env.KAFKA_SASL_USERNAME
  const password = str(p, 'sasl-password') ?? (sasl.password as string | undefined) ?? process.env.KAFKA_SASL_PASSWORD
  if (sasl.mechanism !== undefined) {
    const m = sasl.mechanism
    if (m !== 'plain' && m !== 'scram-sha-256' && m !== 'scram-sha-512') {
      throw new UsageError(`${command}: --sasl-mechanism expects plain, scram-sha-256 or scram-sha-512, got ${JSON.stringify(m)}`)
    }
    if (username === undefined) throw new UsageError(`${command}: --sasl-mechanism ${m} needs --sasl-username (or $KAFKA_SASL_USERNAME)`)
    if (password === undefined) throw new UsageError(`${command}: --sasl-mechanism ${m} needs --sasl-password (or $KAFKA_SASL_PASSWORD)`)
    config.sasl = { ...sasl, mechanism: m, username, password } as SaslConfig
  } else if (str(p, 'sasl-username') !== undefined || str(p, 'sasl-password') !== undefined) {
    throw new UsageError(`${command}: --sasl-username/--sasl-password need --sasl-mechanism`)
  }
  return config
}
