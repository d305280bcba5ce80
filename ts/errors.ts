import type { BindingError } from '../native/binding'

/**
 * Codes for problems found on the client side. Errors the broker reports use Kafka's own
 * error names (`NOT_LEADER_OR_FOLLOWER`, `TOPIC_AUTHORIZATION_FAILED`, ...).
 */
export type ClientErrorCode =
  | 'INVALID_CONFIG'
  | 'INVALID_ARGUMENT'
  | 'BUFFER_FULL'
  | 'CLIENT_CLOSED'
  | 'NETWORK_EXCEPTION'
  | 'REQUEST_TIMED_OUT'
  | 'DELIVERY_TIMEOUT'
  | 'TIMEOUT'
  | 'PROTOCOL_ERROR'
  | 'MESSAGE_TOO_LARGE'
  | 'UNSUPPORTED_VERSION'
  | 'NO_OFFSET_FOR_PARTITION'
  | 'TRANSACTION_ABORTED'
  | 'INTERNAL'
  /** A call not allowed now: a share consumer in explicit mode polled with records unacknowledged, a record acknowledged twice. */
  | 'ILLEGAL_STATE'
  /** The broker's certificate does not chain to a trusted CA (`ssl.ca`). */
  | 'SSL_CERTIFICATE_UNTRUSTED'
  /** The broker's certificate is not valid for its host name (see `ssl.servername`). */
  | 'SSL_HOSTNAME_MISMATCH'
  /** The broker's certificate has expired or is not valid yet. */
  | 'SSL_CERTIFICATE_EXPIRED'
  /** Any other TLS failure: an alert, a plaintext port, a refused client certificate. */
  | 'SSL_HANDSHAKE_FAILED'
  /** `sasl.oauthBearerProvider` threw, rejected, timed out or returned an unusable token. */
  | 'OAUTH_TOKEN_PROVIDER_FAILED'

const RETRIABLE_CLIENT_CODES = new Set<string>(['BUFFER_FULL', 'NETWORK_EXCEPTION', 'REQUEST_TIMED_OUT', 'TIMEOUT'])

export interface KafkaErrorFields {
  code: string
  retriable?: boolean
  broker?: string
  topic?: string
  partition?: number
  cause?: unknown
}

/**
 * Every error nkafka throws or reports. `code` is Kafka's error name when the broker said
 * it, or a {@link ClientErrorCode}; `retriable` tells whether trying again can succeed.
 */
export class KafkaError extends Error {
  override readonly name = 'KafkaError'
  readonly code: string
  readonly retriable: boolean
  readonly broker?: string
  readonly topic?: string
  readonly partition?: number

  constructor(message: string, fields: KafkaErrorFields) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause })
    this.code = fields.code
    this.retriable = fields.retriable ?? RETRIABLE_CLIENT_CODES.has(fields.code)
    if (fields.broker !== undefined) this.broker = fields.broker
    if (fields.topic !== undefined) this.topic = fields.topic
    if (fields.partition !== undefined) this.partition = fields.partition
  }

  /** @internal From an error object the native layer returned as data. */
  static fromBinding(e: BindingError): KafkaError {
    return new KafkaError(e.message, {
      code: e.code,
      retriable: e.retriable,
      broker: e.broker ?? undefined,
      topic: e.topic ?? undefined,
      partition: e.partition ?? undefined,
    })
  }

  /**
   * @internal From an exception the native layer threw: its `code` is the stable code
   * string. Anything else (a bug) becomes INTERNAL.
   */
  static fromThrown(e: unknown, context: { topic?: string; partition?: number } = {}): KafkaError {
    if (e instanceof KafkaError) return e
    const err = e as { code?: unknown; message?: unknown }
    const code = typeof err?.code === 'string' && /^[A-Z_]+$/.test(err.code) ? err.code : 'INTERNAL'
    const message = typeof err?.message === 'string' ? err.message : String(e)
    return new KafkaError(message, { code, ...context, cause: code === 'INTERNAL' ? e : undefined })
  }
}

/** @internal */
export function invalidArgument(message: string): KafkaError {
  return new KafkaError(message, { code: 'INVALID_ARGUMENT' })
}

/** @internal */
export function invalidConfig(key: string, problem: string): KafkaError {
  return new KafkaError(`invalid config \`${key}\`: ${problem}`, { code: 'INVALID_CONFIG' })
}
