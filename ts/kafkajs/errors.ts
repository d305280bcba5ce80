/**
 * KafkaJS's error classes, and the one place an nkafka {@link KafkaError} becomes one of
 * them. Code that catches by class (`e instanceof KafkaJSProtocolError`), by `e.name`, by
 * `e.type` ('UNKNOWN_TOPIC_OR_PARTITION') or by `e.retriable` keeps working; the original
 * KafkaError is always the `cause`, so nkafka's own `code` is one step away.
 */
import { KafkaError } from '../errors'
import { native } from '../native'

export class KafkaJSError extends Error {
  override name = 'KafkaJSError'
  readonly retriable: boolean
  readonly helpUrl?: string

  constructor(e: Error | string, options: { retriable?: boolean; cause?: unknown } = {}) {
    const cause = options.cause ?? (e instanceof Error ? e : undefined)
    super(typeof e === 'string' ? e : e.message, cause === undefined ? undefined : { cause })
    this.retriable = options.retriable ?? true
  }
}

export class KafkaJSNonRetriableError extends KafkaJSError {
  override name = 'KafkaJSNonRetriableError'
  constructor(e: Error | string, options: { cause?: unknown } = {}) {
    super(e, { ...options, retriable: false })
  }
}

/** An error the broker returned: `type` is Kafka's name, `code` its number. */
export class KafkaJSProtocolError extends KafkaJSError {
  override name = 'KafkaJSProtocolError'
  readonly type: string
  readonly code: number

  constructor(
    e: Error | string | { message: string; type: string; code: number; retriable: boolean },
    options: { retriable?: boolean; cause?: unknown } = {},
  ) {
    if (typeof e === 'object' && !(e instanceof Error)) {
      super(e.message, { retriable: options.retriable ?? e.retriable, cause: options.cause })
      this.type = e.type
      this.code = e.code
    } else {
      super(e, options)
      this.type = 'UNKNOWN'
      this.code = -1
    }
  }
}

export class KafkaJSOffsetOutOfRange extends KafkaJSProtocolError {
  override name = 'KafkaJSOffsetOutOfRange'
  readonly topic?: string
  readonly partition?: number
  constructor(
    e: ConstructorParameters<typeof KafkaJSProtocolError>[0],
    meta: { topic?: string; partition?: number; cause?: unknown } = {},
  ) {
    super(e, { cause: meta.cause })
    this.topic = meta.topic
    this.partition = meta.partition
  }
}

export class KafkaJSNumberOfRetriesExceeded extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNumberOfRetriesExceeded'
  readonly retryCount: number
  readonly retryTime: number
  constructor(e: Error | string, meta: { retryCount: number; retryTime: number }) {
    super(e, { cause: e instanceof Error ? e : undefined })
    this.retryCount = meta.retryCount
    this.retryTime = meta.retryTime
  }
}

export class KafkaJSConnectionError extends KafkaJSError {
  override name = 'KafkaJSConnectionError'
  readonly broker?: string
  readonly code?: string
  constructor(e: Error | string, meta: { broker?: string; code?: string; cause?: unknown; retriable?: boolean } = {}) {
    super(e, { cause: meta.cause, retriable: meta.retriable ?? true })
    this.broker = meta.broker
    this.code = meta.code
  }
}

export class KafkaJSRequestTimeoutError extends KafkaJSError {
  override name = 'KafkaJSRequestTimeoutError'
  readonly broker?: string
  constructor(e: Error | string, meta: { broker?: string; cause?: unknown } = {}) {
    super(e, { cause: meta.cause })
    this.broker = meta.broker
  }
}

export class KafkaJSSASLAuthenticationError extends KafkaJSNonRetriableError {
  override name = 'KafkaJSSASLAuthenticationError'
}

export class KafkaJSTimeout extends KafkaJSNonRetriableError {
  override name = 'KafkaJSTimeout'
}

export class KafkaJSNotImplemented extends KafkaJSNonRetriableError {
  override name = 'KafkaJSNotImplemented'
}

export class KafkaJSServerDoesNotSupportApiKey extends KafkaJSNonRetriableError {
  override name = 'KafkaJSServerDoesNotSupportApiKey'
}

export class KafkaJSTopicMetadataNotLoaded extends KafkaJSError {
  override name = 'KafkaJSTopicMetadataNotLoaded'
  readonly topic: string
  constructor(e: Error | string, meta: { topic: string }) {
    super(e)
    this.topic = meta.topic
  }
}

/** Items of a deleteGroups() call that failed. */
export class KafkaJSDeleteGroupsError extends KafkaJSError {
  override name = 'KafkaJSDeleteGroupsError'
  readonly groups: Array<{ groupId: string; errorCode: number; error: KafkaJSError }>
  constructor(e: Error | string, groups: Array<{ groupId: string; errorCode: number; error: KafkaJSError }> = []) {
    super(e)
    this.groups = groups
  }
}

/** Partitions of a deleteTopicRecords() call that failed. */
export class KafkaJSDeleteTopicRecordsError extends KafkaJSError {
  override name = 'KafkaJSDeleteTopicRecordsError'
  readonly partitions: Array<{ partition: number; offset: string; error: KafkaJSError }>
  constructor(meta: { topic: string; partitions: Array<{ partition: number; offset: string; error: KafkaJSError }> }) {
    const first = meta.partitions[0]?.error
    super(first ?? `deleting records of ${meta.topic} failed`, { retriable: meta.partitions.every((p) => p.error.retriable) })
    this.partitions = meta.partitions
  }
}

export class KafkaJSCreateTopicError extends KafkaJSProtocolError {
  override name = 'KafkaJSCreateTopicError'
  readonly topic: string
  constructor(e: ConstructorParameters<typeof KafkaJSProtocolError>[0], topic: string, cause?: unknown) {
    super(e, { cause })
    this.topic = topic
  }
}

export class KafkaJSAggregateError extends Error {
  override name = 'KafkaJSAggregateError'
  readonly errors: Array<Error | string>
  constructor(message: Error | string, errors: Array<Error | string>) {
    super(typeof message === 'string' ? message : message.message)
    this.errors = errors
  }
}

let table: Map<string, { code: number; retriable: boolean }> | undefined

/** Kafka's error table by name (from the Rust core, so it is the one the core speaks). */
function protocolCodes(): Map<string, { code: number; retriable: boolean }> {
  if (table === undefined) {
    table = new Map()
    for (const c of native.errorCodes()) table.set(c.name, { code: c.code, retriable: c.retriable })
  }
  return table
}

/** Kafka's numeric code of an error name, -1 when it is not one of Kafka's. */
export function protocolCode(name: string): number {
  return protocolCodes().get(name)?.code ?? -1
}

/** Kafka's error by numeric code: `{ type, code, retriable }`, as KafkaJS's protocol errors carry. */
export function protocolErrorByCode(code: number): { type: string; code: number; retriable: boolean } | null {
  for (const [type, c] of protocolCodes()) if (c.code === code) return { type, ...c }
  return null
}

const TIMEOUT_CODES = new Set(['TIMEOUT', 'DELIVERY_TIMEOUT'])
const CONNECTION_CODES = new Set([
  'NETWORK_EXCEPTION',
  'SSL_CERTIFICATE_UNTRUSTED',
  'SSL_HOSTNAME_MISMATCH',
  'SSL_CERTIFICATE_EXPIRED',
  'SSL_HANDSHAKE_FAILED',
])
const NON_RETRIABLE_CLIENT_CODES = new Set([
  'INVALID_CONFIG',
  'INVALID_ARGUMENT',
  'CLIENT_CLOSED',
  'MESSAGE_TOO_LARGE',
  'PROTOCOL_ERROR',
  'INTERNAL',
  'NO_OFFSET_FOR_PARTITION',
  'TRANSACTION_ABORTED',
])

/**
 * The KafkaJS error for anything nkafka threw: already-KafkaJS errors pass through, a
 * KafkaError maps by its code, anything else (an app's own error) is returned as is.
 */
export function toKafkaJSError(e: unknown): unknown {
  if (e instanceof KafkaJSError || !(e instanceof KafkaError)) return e
  const { code, message } = e
  if (code === 'SASL_AUTHENTICATION_FAILED' || code === 'OAUTH_TOKEN_PROVIDER_FAILED' || code === 'ILLEGAL_SASL_STATE') {
    return new KafkaJSSASLAuthenticationError(message, { cause: e })
  }
  if (CONNECTION_CODES.has(code)) {
    return new KafkaJSConnectionError(message, { broker: e.broker, code, cause: e, retriable: code === 'NETWORK_EXCEPTION' })
  }
  if (code === 'REQUEST_TIMED_OUT') return new KafkaJSRequestTimeoutError(message, { broker: e.broker, cause: e })
  if (TIMEOUT_CODES.has(code)) return new KafkaJSTimeout(message, { cause: e })
  if (code === 'UNSUPPORTED_VERSION') return new KafkaJSServerDoesNotSupportApiKey(message, { cause: e })
  // INVALID_CONFIG is also Kafka's code 40: nkafka's own config checks carry no broker or
  // topic, the broker's answers (createTopics, alterConfigs) do.
  const clientSide = code === 'INVALID_CONFIG' && e.broker === undefined && e.topic === undefined
  const known = clientSide ? undefined : protocolCodes().get(code)
  if (known !== undefined) {
    const shape = { message, type: code, code: known.code, retriable: e.retriable }
    if (code === 'OFFSET_OUT_OF_RANGE') return new KafkaJSOffsetOutOfRange(shape, { topic: e.topic, partition: e.partition, cause: e })
    return new KafkaJSProtocolError(shape, { cause: e })
  }
  if (NON_RETRIABLE_CLIENT_CODES.has(code) || !e.retriable) return new KafkaJSNonRetriableError(message, { cause: e })
  return new KafkaJSError(message, { retriable: true, cause: e })
}

/** Runs `f`, rethrowing nkafka errors as KafkaJS ones. */
export async function kafkajsErrors<T>(f: () => Promise<T>): Promise<T> {
  try {
    return await f()
  } catch (e) {
    throw toKafkaJSError(e)
  }
}

/** The typed error for a KafkaJS option nkafka cannot honour. */
export function notSupported(what: string): KafkaJSNonRetriableError {
  return new KafkaJSNotImplemented(`${what} is not supported by nkafka/kafkajs (see docs/KAFKAJS.md)`)
}
