/**
 * `new Kafka({ clientId, brokers, ssl, sasl, ... })`: KafkaJS's client options mapped to
 * nkafka's ClientConfig, KafkaJS's logLevel/logCreator over nkafka's logger, and the
 * factory of producers, consumers and admins. Options nkafka cannot honour are a typed
 * error (KafkaJSNotImplemented) or a documented no-op logged at debug (docs/KAFKAJS.md).
 */
import type { ClientConfig, SaslConfig, SslConfig } from '../config'
import type { LogFields, LogLevel, Logger as NkafkaLogger } from '../logger'
import { Admin, type AdminConfig } from './admin'
import { Consumer, type ConsumerConfig } from './consumer'
import { KafkaJSNonRetriableError, notSupported } from './errors'
import { Producer, type ProducerConfig } from './producer'

/** KafkaJS's log levels (numbers, as KafkaJS has them). */
export const logLevel = { NOTHING: 0, ERROR: 1, WARN: 2, INFO: 4, DEBUG: 5 } as const
export type logLevel = (typeof logLevel)[keyof typeof logLevel]

export interface LogEntry {
  namespace: string
  level: logLevel
  label: string
  log: { timestamp: string; message: string; [key: string]: unknown }
}
export type logCreator = (level: logLevel) => (entry: LogEntry) => void

/** KafkaJS's `kafka.logger()` shape. */
export interface Logger {
  info(message: string, extra?: object): void
  error(message: string, extra?: object): void
  warn(message: string, extra?: object): void
  debug(message: string, extra?: object): void
  namespace(namespace: string, level?: logLevel): Logger
  setLogLevel(level: logLevel): void
}

export interface RetryOptions {
  maxRetryTime?: number
  initialRetryTime?: number
  factor?: number
  multiplier?: number
  retries?: number
  restartOnFailure?: (e: Error) => Promise<boolean>
}

export type BrokersFunction = () => string[] | Promise<string[]>

export interface KafkaConfig {
  brokers: string[] | BrokersFunction
  clientId?: string
  ssl?: boolean | Record<string, unknown>
  sasl?: { mechanism: string; [key: string]: unknown }
  connectionTimeout?: number
  authenticationTimeout?: number
  reauthenticationThreshold?: number
  requestTimeout?: number
  enforceRequestTimeout?: boolean
  retry?: RetryOptions
  socketFactory?: unknown
  logLevel?: logLevel
  logCreator?: logCreator
}

const LABELS: Record<number, string> = { 1: 'ERROR', 2: 'WARN', 4: 'INFO', 5: 'DEBUG' }
const TO_NKAFKA: Record<number, LogLevel> = { 0: 'off', 1: 'error', 2: 'warn', 4: 'info', 5: 'debug' }

/** KafkaJS's default: one JSON object per line on the console. */
const defaultLogCreator: logCreator = () => (entry) => {
  const line = JSON.stringify({ level: entry.label, ...entry.log })
  if (entry.level === logLevel.ERROR) console.error(line)
  else if (entry.level === logLevel.WARN) console.warn(line)
  else console.log(line)
}

/** The retry defaults KafkaJS documents. */
export const RETRY_DEFAULTS = { maxRetryTime: 30_000, initialRetryTime: 300, factor: 0.2, multiplier: 2, retries: 5 }

/** KafkaJS's backoff for attempt `n` (0-based): initial * multiplier^n, randomized by factor, capped. */
export function retryTime(retry: Required<Omit<RetryOptions, 'restartOnFailure'>>, n: number): number {
  const base = retry.initialRetryTime * retry.multiplier ** n
  const jitter = base * retry.factor * (Math.random() * 2 - 1)
  return Math.max(0, Math.min(retry.maxRetryTime, Math.round(base + jitter)))
}

export function checkRetry(retry: unknown, where: string): Required<Omit<RetryOptions, 'restartOnFailure'>> & RetryOptions {
  if (retry === undefined) return { ...RETRY_DEFAULTS }
  if (retry === null || typeof retry !== 'object') throw new KafkaJSNonRetriableError(`${where}retry must be an object`)
  const r = retry as Record<string, unknown>
  for (const k of Object.keys(r)) {
    if (!['maxRetryTime', 'initialRetryTime', 'factor', 'multiplier', 'retries', 'restartOnFailure'].includes(k)) {
      throw new KafkaJSNonRetriableError(`${where}retry.${k} is not a KafkaJS retry option`)
    }
    const v = r[k]
    if (k === 'restartOnFailure') {
      if (typeof v !== 'function') throw new KafkaJSNonRetriableError(`${where}retry.restartOnFailure must be a function`)
    } else if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) {
      throw new KafkaJSNonRetriableError(`${where}retry.${k} must be a non-negative number, got ${String(v)}`)
    }
  }
  return { ...RETRY_DEFAULTS, ...(r as RetryOptions) } as Required<Omit<RetryOptions, 'restartOnFailure'>> & RetryOptions
}

const KAFKA_KEYS = new Set([
  'brokers',
  'clientId',
  'ssl',
  'sasl',
  'connectionTimeout',
  'authenticationTimeout',
  'reauthenticationThreshold',
  'requestTimeout',
  'enforceRequestTimeout',
  'retry',
  'socketFactory',
  'logLevel',
  'logCreator',
])
/** Accepted, and nothing in nkafka corresponds: logged at debug, listed in docs/KAFKAJS.md. */
const NO_OP_KEYS = ['connectionTimeout', 'authenticationTimeout', 'reauthenticationThreshold', 'enforceRequestTimeout'] as const

const SSL_KEYS = new Set(['ca', 'cert', 'key', 'passphrase', 'rejectUnauthorized', 'servername', 'minVersion'])

function mapSsl(ssl: unknown): boolean | SslConfig | undefined {
  if (ssl === undefined || typeof ssl === 'boolean') return ssl
  if (ssl === null || typeof ssl !== 'object') throw new KafkaJSNonRetriableError('ssl must be true or TLS options')
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(ssl)) {
    if (v === undefined) continue
    if (!SSL_KEYS.has(k)) throw notSupported(`ssl.${k}`)
    if ((k === 'cert' || k === 'key') && Array.isArray(v)) {
      if (v.length !== 1) throw notSupported(`ssl.${k} with several entries`)
      out[k] = v[0]
    } else out[k] = v
  }
  return out as SslConfig
}

function mapSasl(sasl: KafkaConfig['sasl']): SaslConfig | undefined {
  if (sasl === undefined) return undefined
  if (sasl === null || typeof sasl !== 'object') throw new KafkaJSNonRetriableError('sasl must be an object with a mechanism')
  if ('authenticationProvider' in sasl) throw notSupported('a custom SASL mechanism (authenticationProvider)')
  const mechanism = typeof sasl.mechanism === 'string' ? sasl.mechanism.toLowerCase() : sasl.mechanism
  switch (mechanism) {
    case 'plain':
    case 'scram-sha-256':
    case 'scram-sha-512':
      return { mechanism, username: sasl.username as string, password: sasl.password as string }
    case 'oauthbearer':
      return { mechanism, oauthBearerProvider: sasl.oauthBearerProvider as never }
    case 'aws':
      throw notSupported(
        "sasl mechanism 'aws' (AWS_MSK_IAM); use 'oauthbearer' with aws-msk-iam-sasl-signer-js's generateAuthToken as the provider",
      )
    default:
      throw new KafkaJSNonRetriableError(
        `sasl.mechanism ${String(sasl.mechanism)} is not one of plain, scram-sha-256, scram-sha-512, oauthbearer`,
      )
  }
}

/** The KafkaJS entry point. */
export class Kafka {
  private readonly config: KafkaConfig
  private readonly rootLogger: Logger
  private readonly level: logLevel
  private readonly logFn: (entry: LogEntry) => void

  constructor(config: KafkaConfig) {
    if (config === null || typeof config !== 'object') throw new KafkaJSNonRetriableError('new Kafka() takes a config object')
    for (const k of Object.keys(config)) {
      if (!KAFKA_KEYS.has(k)) throw new KafkaJSNonRetriableError(`${k} is not a KafkaJS client option`)
    }
    const b = config.brokers
    if (typeof b !== 'function' && (!Array.isArray(b) || b.length === 0 || b.some((x) => typeof x !== 'string'))) {
      throw new KafkaJSNonRetriableError('brokers must be a non-empty array of "host:port" strings or a function returning one')
    }
    if (config.socketFactory !== undefined) throw notSupported('socketFactory')
    mapSsl(config.ssl)
    mapSasl(config.sasl)
    checkRetry(config.retry, '')
    const envLevel = logLevel[(process.env.KAFKAJS_LOG_LEVEL ?? '').toUpperCase() as keyof typeof logLevel]
    const level = envLevel ?? config.logLevel ?? logLevel.INFO
    if (!(level in TO_NKAFKA)) throw new KafkaJSNonRetriableError(`logLevel must be one of logLevel.*, got ${String(level)}`)
    if (config.logCreator !== undefined && typeof config.logCreator !== 'function') {
      throw new KafkaJSNonRetriableError('logCreator must be a function')
    }
    this.config = config
    this.level = level
    this.logFn = (config.logCreator ?? defaultLogCreator)(level)
    this.rootLogger = this.makeLogger('Kafka', () => this.level)
    for (const k of NO_OP_KEYS) {
      if (config[k] !== undefined)
        this.rootLogger.debug(`${k} has no nkafka equivalent and is ignored (docs/KAFKAJS.md)`, { [k]: config[k] })
    }
  }

  /** KafkaJS's `kafka.logger()`. */
  logger(): Logger {
    return this.rootLogger
  }

  /** @internal A logger entry of the configured logCreator. */
  emitLog(level: logLevel, namespace: string, message: string, extra: object = {}): void {
    if (level > this.level || level === logLevel.NOTHING) return
    try {
      this.logFn({
        namespace,
        level,
        label: LABELS[level] ?? 'INFO',
        log: { timestamp: new Date().toISOString(), logger: 'kafkajs', message, ...extra },
      })
    } catch {
      // A throwing logCreator must not break the client; there is nowhere else to report it.
    }
  }

  private makeLogger(namespace: string, current: () => logLevel): Logger {
    let own: logLevel | null = null
    const at = (l: logLevel) => (message: string, extra?: object) => {
      if (l > (own ?? current())) return
      this.emitLog(l, namespace, message, extra)
    }
    return {
      info: at(logLevel.INFO),
      error: at(logLevel.ERROR),
      warn: at(logLevel.WARN),
      debug: at(logLevel.DEBUG),
      namespace: (ns: string, l?: logLevel) => this.makeLogger(ns, () => l ?? own ?? current()),
      setLogLevel: (l: logLevel) => {
        own = l
      },
    }
  }

  /** @internal nkafka's ClientConfig for one client, with brokers resolved now. */
  async clientConfig(retry: { initialRetryTime: number; maxRetryTime: number }): Promise<ClientConfig> {
    const c = this.config
    let brokers = c.brokers
    if (typeof brokers === 'function') {
      brokers = await brokers()
      if (!Array.isArray(brokers) || brokers.length === 0 || brokers.some((x) => typeof x !== 'string')) {
        throw new KafkaJSNonRetriableError('the brokers function must return a non-empty array of "host:port" strings')
      }
    }
    const ssl = mapSsl(c.ssl)
    const sasl = mapSasl(c.sasl)
    return {
      bootstrapServers: brokers,
      clientId: c.clientId ?? 'kafkajs',
      ...(c.requestTimeout !== undefined ? { requestTimeoutMs: c.requestTimeout } : {}),
      retryBackoffMs: retry.initialRetryTime,
      retryBackoffMaxMs: Math.max(retry.initialRetryTime, retry.maxRetryTime),
      ...(ssl !== undefined ? { ssl } : {}),
      ...(sasl !== undefined ? { sasl } : {}),
      logLevel: TO_NKAFKA[this.level] as LogLevel,
      logger: this.nkafkaLogger(),
    }
  }

  /** nkafka's logger interface, writing KafkaJS log entries (namespace: nkafka's). */
  private nkafkaLogger(): NkafkaLogger {
    const at =
      (l: logLevel) =>
      (message: string, fields: LogFields): void => {
        const { namespace, ...rest } = fields
        this.emitLog(l, namespace, message, rest)
      }
    return { debug: at(logLevel.DEBUG), info: at(logLevel.INFO), warn: at(logLevel.WARN), error: at(logLevel.ERROR) }
  }

  /** @internal The retry options of the client, overridden by a client's own. */
  retryOptions(own: unknown, where: string): ReturnType<typeof checkRetry> {
    return checkRetry(own ?? this.config.retry, where)
  }

  producer(config: ProducerConfig = {}): Producer {
    return new Producer(this, config)
  }

  consumer(config: ConsumerConfig): Consumer {
    return new Consumer(this, config)
  }

  admin(config: AdminConfig = {}): Admin {
    return new Admin(this, config)
  }
}
