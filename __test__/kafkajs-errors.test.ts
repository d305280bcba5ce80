import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { KafkaError } from '../ts/index'
import {
  Kafka,
  KafkaJSConnectionError,
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNotImplemented,
  KafkaJSOffsetOutOfRange,
  KafkaJSProtocolError,
  KafkaJSRequestTimeoutError,
  KafkaJSSASLAuthenticationError,
  KafkaJSTimeout,
  logLevel,
} from '../ts/kafkajs'
import { toKafkaJSError } from '../ts/kafkajs/errors'
import { brokers, kafkaScript, uniqueTopic } from './helpers'

describe('kafkajs errors', () => {
  it('a broker error becomes KafkaJSProtocolError with type (Kafka name), code (number), retriable, and the KafkaError as cause', async () => {
    const k = new Kafka({ brokers: [brokers()], logLevel: logLevel.NOTHING })
    const admin = k.admin()
    await admin.connect()
    const err = await admin.deleteTopics({ topics: [uniqueTopic('kjs-missing')] }).catch((e) => e)
    await admin.disconnect()
    expect(err).toBeInstanceOf(KafkaJSProtocolError)
    expect(err).toBeInstanceOf(KafkaJSError)
    expect(err.name).toBe('KafkaJSProtocolError')
    expect([err.type, err.code, err.retriable]).toEqual(['UNKNOWN_TOPIC_OR_PARTITION', 3, true])
    expect(err.cause).toBeInstanceOf(KafkaError)
  })

  it('an unreachable broker rejects connect() with a retriable KafkaJS error naming the problem, within the request timeout', async () => {
    const k = new Kafka({ brokers: ['127.0.0.1:1'], requestTimeout: 2000, logLevel: logLevel.NOTHING })
    const admin = k.admin()
    const started = Date.now()
    const err = await admin.connect().catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSError)
    expect(err.retriable).toBe(true)
    expect(err.cause).toBeInstanceOf(KafkaError)
    expect(Date.now() - started).toBeLessThan(60_000)
  })

  it('client codes map to KafkaJS classes: connection, request timeout, timeout, SASL, offset out of range, non-retriable config', () => {
    const map = (code: string, extra: Record<string, unknown> = {}) => toKafkaJSError(new KafkaError(`m ${code}`, { code, ...extra }))
    const conn = map('NETWORK_EXCEPTION', { broker: '127.0.0.1:1' }) as KafkaJSConnectionError
    expect(conn).toBeInstanceOf(KafkaJSConnectionError)
    expect([conn.broker, conn.retriable]).toEqual(['127.0.0.1:1', true])
    expect(map('SSL_HANDSHAKE_FAILED')).toBeInstanceOf(KafkaJSConnectionError)
    expect((map('SSL_HANDSHAKE_FAILED') as KafkaJSError).retriable).toBe(false)
    expect(map('REQUEST_TIMED_OUT')).toBeInstanceOf(KafkaJSRequestTimeoutError)
    expect(map('TIMEOUT')).toBeInstanceOf(KafkaJSTimeout)
    expect(map('SASL_AUTHENTICATION_FAILED')).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    expect(map('OAUTH_TOKEN_PROVIDER_FAILED')).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    const oor = map('OFFSET_OUT_OF_RANGE', { topic: 't', partition: 2 }) as KafkaJSOffsetOutOfRange
    expect(oor).toBeInstanceOf(KafkaJSOffsetOutOfRange)
    expect([oor.topic, oor.partition, oor.code]).toEqual(['t', 2, 1])
    const cfg = map('INVALID_CONFIG') as KafkaJSError
    expect(cfg).toBeInstanceOf(KafkaJSNonRetriableError)
    expect(cfg.retriable).toBe(false)
    // An app's own error passes through untouched.
    const own = new Error('mine')
    expect(toKafkaJSError(own)).toBe(own)
  })

  it('unsupported KafkaJS options are typed errors (KafkaJSNotImplemented), unknown options name the key', () => {
    const k = new Kafka({ brokers: [brokers()], logLevel: logLevel.NOTHING })
    expect(() => new Kafka({ brokers: [brokers()], ssl: { ciphers: 'HIGH' } })).toThrow(KafkaJSNotImplemented)
    expect(() => new Kafka({ brokers: [brokers()], sasl: { mechanism: 'custom', authenticationProvider: () => ({}) } })).toThrow(
      KafkaJSNotImplemented,
    )
    expect(() => k.consumer({ groupId: 'g', partitionAssigners: [() => ({})] })).toThrow(KafkaJSNotImplemented)
    expect(() => k.consumer({ groupId: 'g', sessionTimeoutMs: 1 } as never)).toThrow(/sessionTimeoutMs is not a KafkaJS consumer option/)
    expect(() => k.consumer({} as never)).toThrow(/groupId/)
    expect(() => new Kafka({ brokers: [] })).toThrow(KafkaJSNonRetriableError)
  })

  it('KafkaJS error classes can be constructed by apps as in KafkaJS (retriable defaults true; NonRetriable false)', () => {
    expect(new KafkaJSError('x').retriable).toBe(true)
    expect(new KafkaJSError('x', { retriable: false }).retriable).toBe(false)
    expect(new KafkaJSNonRetriableError('x').retriable).toBe(false)
    const wrapped = new KafkaJSError(new Error('inner'))
    expect([wrapped.message, (wrapped.cause as Error).message]).toEqual(['inner', 'inner'])
  })
})

describe('kafkajs ssl and sasl options on the secure broker', () => {
  let secure: any
  let stopSecure: (() => Promise<void>) | null = null
  beforeAll(async () => {
    const file = process.env.KAFKA_SECURE_JSON?.trim()
    if (file) {
      secure = JSON.parse(readFileSync(file, 'utf8'))
    } else {
      const kafka = await kafkaScript()
      const started = await kafka.startKafka({ mode: 'secure', quiet: true, autoCreateTopics: false })
      secure = started
      stopSecure = started.reused ? null : () => started.stop()
    }
  })
  afterAll(async () => {
    if (stopSecure) await stopSecure()
  })

  it("ssl: { ca } with sasl: { mechanism: 'scram-sha-512', username, password } connects, creates a topic and sends", async () => {
    const { username, password } = secure.credentials
    const k = new Kafka({
      brokers: [secure.listeners.SASL_SSL],
      ssl: { ca: [secure.caPem] },
      sasl: { mechanism: 'scram-sha-512', username, password },
      logLevel: logLevel.NOTHING,
    })
    const admin = k.admin()
    await admin.connect()
    const topic = uniqueTopic('kjs-sasl')
    expect(await admin.createTopics({ topics: [{ topic, numPartitions: 1 }] })).toBe(true)
    await admin.disconnect()
    const producer = k.producer()
    await producer.connect()
    const [r] = await producer.send({ topic, messages: [{ value: 'secure' }] })
    await producer.disconnect()
    expect(r?.baseOffset).toBe('0')
  })

  it('a wrong password rejects connect() with KafkaJSSASLAuthenticationError (not retriable)', async () => {
    const k = new Kafka({
      brokers: [secure.listeners.SASL_SSL],
      ssl: { ca: secure.caPem },
      sasl: { mechanism: 'plain', username: secure.credentials.username, password: 'wrong' },
      requestTimeout: 10_000,
      logLevel: logLevel.NOTHING,
    })
    const err = await k
      .admin()
      .connect()
      .catch((e) => e)
    expect(err).toBeInstanceOf(KafkaJSSASLAuthenticationError)
    expect(err.retriable).toBe(false)
    expect(err.cause).toBeInstanceOf(KafkaError)
  })
})
