/**
 * The `logger` / `logLevel` options against the real `single` broker: Rust `tracing`
 * events reach each client's own logger, level filtering, background commit failures
 * reach warn and `onError` with their cause, secrets never appear, and a logger that
 * throws never breaks the client.
 */
import { describe, expect, it } from 'vitest'
import { Admin, Consumer, KafkaError, type LogFields, type Logger, Producer, throwIfFailed } from '../ts/index'
import { brokers, createTopic, uniqueTopic } from './helpers'

interface Entry {
  level: string
  message: string
  fields: LogFields
}

function capture(): { logger: Logger; entries: Entry[] } {
  const entries: Entry[] = []
  const at = (level: string) => (message: string, fields: LogFields) => entries.push({ level, message, fields })
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, entries }
}

async function until(f: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!f() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50))
}

describe('logging', () => {
  it('routes connection and producer debug entries to the logger of the client that made them', async () => {
    const topic = uniqueTopic('log-debug')
    await createTopic(topic)
    const a = capture()
    const b = capture()
    const pa = new Producer({ bootstrapServers: brokers(), clientId: 'log-a', logger: a.logger, logLevel: 'debug' })
    const pb = new Producer({ bootstrapServers: brokers(), clientId: 'log-b', logger: b.logger, logLevel: 'debug' })
    try {
      await pa.send({ topic, messages: [{ value: 'x' }] })
      await pb.send({ topic, messages: [{ value: 'y' }] })
      await until(() => a.entries.some((e) => e.message === 'producer id assigned'), 10_000)
    } finally {
      await pa.close()
      await pb.close()
    }
    const open = a.entries.find((e) => e.message === 'connection open')
    expect(open?.level).toBe('debug')
    expect(open?.fields.namespace).toBe('connection')
    expect(open?.fields.clientId).toBe('log-a')
    expect(String(open?.fields.broker)).toContain('127.0.0.1')
    const pid = a.entries.find((e) => e.message === 'producer id assigned')
    expect(pid?.fields.namespace).toBe('producer')
    expect(typeof pid?.fields.producer_id).toBe('number')
    // Each client's events reach only its own logger.
    expect(a.entries.every((e) => e.fields.clientId === 'log-a')).toBe(true)
    expect(b.entries.length).toBeGreaterThan(0)
    expect(b.entries.every((e) => e.fields.clientId === 'log-b')).toBe(true)
  })

  it('filters by logLevel: warn drops debug and info; off logs nothing', async () => {
    const warn = capture()
    const off = capture()
    // Nothing listens on port 1: connecting fails, which is a warn entry.
    const pw = new Producer({ bootstrapServers: '127.0.0.1:1', logger: warn.logger, logLevel: 'warn', maxBlockMs: 2000 })
    const po = new Producer({ bootstrapServers: '127.0.0.1:1', logger: off.logger, logLevel: 'off', maxBlockMs: 2000 })
    try {
      pw.produce(uniqueTopic('log-level'), null, 'v')
      po.produce(uniqueTopic('log-level'), null, 'v')
      await until(() => warn.entries.some((e) => e.message === 'cannot connect to broker'), 10_000)
      await new Promise((r) => setTimeout(r, 300))
    } finally {
      await pw.close(100).catch(() => undefined)
      await po.close(100).catch(() => undefined)
    }
    expect(warn.entries.length).toBeGreaterThan(0)
    expect(warn.entries.every((e) => e.level === 'warn' || e.level === 'error')).toBe(true)
    const refused = warn.entries.find((e) => e.message === 'cannot connect to broker')
    expect(refused?.fields.namespace).toBe('connection')
    expect(String(refused?.fields.cause)).toMatch(/refused|127\.0\.0\.1:1/i)
    expect(off.entries).toEqual([])
    expect(() => new Producer({ bootstrapServers: brokers(), logLevel: 'verbose' as never })).toThrow(/logLevel/)
    expect(() => new Admin({ bootstrapServers: brokers(), logger: { warn: () => {} } as never })).toThrow(/logger\.debug/)
  })

  it('an auto-commit that fails reaches warn and onError with its cause', async () => {
    const topic = uniqueTopic('log-commit')
    const other = uniqueTopic('log-commit-other')
    await createTopic(topic)
    await createTopic(other)
    const p = new Producer({ bootstrapServers: brokers(), logLevel: 'off' })
    await p.send({ topic, messages: Array.from({ length: 10 }, (_, i) => ({ value: `v${i}` })) })
    await p.close()
    const log = capture()
    const errors: KafkaError[] = []
    const c = new Consumer(
      {
        bootstrapServers: brokers(),
        groupId: uniqueTopic('log-group'),
        autoOffsetReset: 'earliest',
        // Only the commit on revoke runs: the timer never fires during the test.
        autoCommitIntervalMs: 600_000,
        // The commit retries UNKNOWN_TOPIC_OR_PARTITION (retriable) until this deadline.
        requestTimeoutMs: 5000,
        logger: log.logger,
        logLevel: 'warn',
      },
      { onError: (e) => errors.push(e) },
    )
    let seen = 0
    await c.subscribe(topic)
    const running = c.run({
      eachMessage: () => {
        seen++
      },
    })
    try {
      await until(() => seen >= 10, 30_000)
      expect(seen).toBe(10)
      // The processed offsets now name a topic that no longer exists: the commit of the
      // revoked partitions at the next rebalance fails with UNKNOWN_TOPIC_OR_PARTITION.
      const admin = new Admin({ bootstrapServers: brokers(), logLevel: 'off' })
      throwIfFailed(await admin.deleteTopics([topic]))
      await admin.close()
      await c.subscribe(other)
      await until(() => errors.length > 0, 60_000)
    } finally {
      c.stop()
      await running.catch(() => undefined)
      await c.close().catch(() => undefined)
    }
    expect(errors.length).toBeGreaterThan(0)
    expect(errors[0]).toBeInstanceOf(KafkaError)
    const warned = log.entries.find((e) => e.message === 'auto-commit of revoked partitions failed')
    expect(warned?.level).toBe('warn')
    expect(warned?.fields.namespace).toBe('consumer')
    expect(String(warned?.fields.cause)).toBe(errors[0].message)
    expect(warned?.fields.code).toBe(errors[0].code)
  })

  it('never logs SASL credentials', async () => {
    const password = 'hunter2-never-logged-9f1c'
    const log = capture()
    // The single broker's PLAINTEXT listener does not speak SASL: the handshake fails
    // with the credentials in hand, at every retry.
    const p = new Producer({
      bootstrapServers: brokers(),
      sasl: { mechanism: 'plain', username: 'alice', password },
      logger: log.logger,
      logLevel: 'debug',
      maxBlockMs: 2000,
    })
    try {
      p.produce(uniqueTopic('log-secret'), null, 'v')
      await until(() => log.entries.length >= 3, 10_000)
    } finally {
      await p.close(100).catch(() => undefined)
    }
    expect(log.entries.length).toBeGreaterThan(0)
    const text = JSON.stringify(log.entries)
    expect(text).not.toContain(password)
    expect(text).not.toContain(Buffer.from(`\0alice\0${password}`).toString('base64'))
    expect(text).not.toContain(Buffer.from(password).toString('hex'))
  })

  it('a logger that throws never breaks the client', async () => {
    const topic = uniqueTopic('log-throw')
    await createTopic(topic)
    let calls = 0
    const boom = () => {
      calls++
      throw new Error('logger is broken')
    }
    const p = new Producer({
      bootstrapServers: brokers(),
      logger: { debug: boom, info: boom, warn: boom, error: boom },
      logLevel: 'debug',
    })
    try {
      const r = await p.send({ topic, messages: [{ value: 'a' }, { value: 'b' }] })
      expect(r.map((m) => m.offset)).toEqual([0n, 1n])
      await until(() => calls > 0, 10_000)
    } finally {
      await p.close()
    }
    expect(calls).toBeGreaterThan(0)
  })
})
