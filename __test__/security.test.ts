/**
 * TLS and SASL against the real `secure` broker of scripts/kafka.mjs: every listener
 * (SSL, SASL_PLAINTEXT, SASL_SSL, MTLS with client certificates, REAUTH with a 3 s
 * session limit) and every mechanism, through the public API. npm test starts the broker
 * and names its description in KAFKA_SECURE_JSON; run alone, this file starts it.
 */
import { readFileSync } from 'node:fs'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, Consumer, KafkaError, Producer, throwIfFailed } from '../ts/index'
import { kafkaScript, uniqueTopic } from './helpers'

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

type Mechanism = 'plain' | 'scram-sha-256' | 'scram-sha-512' | 'oauthbearer'

/** Unsecured JWS tokens (alg "none"), which the test broker's default validator checks. */
function unsecuredJws(lifetimeS: number, subject = 'nkafka'): { value: string; lifetimeMs: number } {
  const now = Math.floor(Date.now() / 1000)
  const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url')
  return {
    value: `${b64({ alg: 'none' })}.${b64({ sub: subject, iat: now, exp: now + lifetimeS })}.`,
    lifetimeMs: (now + lifetimeS) * 1000,
  }
}

function countingProvider(lifetimeS = 3600) {
  const p = Object.assign(
    async () => {
      p.calls++
      return unsecuredJws(lifetimeS)
    },
    { calls: 0 },
  )
  return p
}

function conn(listener: string, mechanism?: Mechanism, extra: Record<string, any> = {}): any {
  const bootstrapServers = secure.listeners[listener]
  if (!bootstrapServers) throw new Error(`the secure broker has no ${listener} listener`)
  const c: any = { bootstrapServers, requestTimeoutMs: 15_000 }
  if (listener.includes('SSL') || listener === 'MTLS' || listener === 'REAUTH') c.ssl = { ca: secure.caPem }
  if (mechanism === 'oauthbearer') c.sasl = { mechanism, oauthBearerProvider: countingProvider() }
  else if (mechanism) c.sasl = { mechanism, ...secure.credentials }
  if (c.sasl) delete c.sasl.mechanisms
  return { ...c, ...extra }
}

async function createTopicOn(config: object, topic: string, numPartitions = 2): Promise<void> {
  const admin = new Admin({ ...config })
  try {
    throwIfFailed(await admin.createTopics([{ topic, numPartitions, replicationFactor: 1 }]))
  } finally {
    await admin.close()
  }
}

/** Reads `expected` records of `topic` with a group, or until the deadline. */
async function consumeGroup(config: object, topic: string, expected: number, timeoutMs = 60_000) {
  const c = new Consumer(
    { ...config, groupId: uniqueTopic('sec-grp'), autoOffsetReset: 'earliest' },
    { keyDeserializer: 'string', valueDeserializer: 'string' },
  )
  await c.subscribe([topic])
  const out: { key: string; value: string; partition: number }[] = []
  const timer = setTimeout(() => c.stop(), timeoutMs)
  try {
    for await (const m of c) {
      out.push({ key: m.key as string, value: m.value as string, partition: m.partition })
      if (out.length >= expected) break
    }
  } finally {
    clearTimeout(timer)
    await c.close()
  }
  return out
}

describe('produce and consume over every secure listener', () => {
  const cases: [string, Mechanism | undefined][] = [
    ['SSL', undefined],
    ['SASL_PLAINTEXT', 'plain'],
    ['SASL_PLAINTEXT', 'scram-sha-256'],
    ['SASL_SSL', 'scram-sha-512'],
    ['SASL_SSL', 'plain'],
    ['SASL_SSL', 'oauthbearer'],
  ]
  for (const [listener, mechanism] of cases) {
    it(`${listener}${mechanism ? ` + ${mechanism}` : ''}: a group reads what send() wrote`, async () => {
      const config = conn(listener, mechanism)
      const topic = uniqueTopic(`sec-${listener.toLowerCase()}`)
      await createTopicOn(config, topic)
      const p = new Producer(config)
      const n = 300
      await p.send({ topic, messages: Array.from({ length: n }, (_, i) => ({ key: `k${i % 7}`, value: String(i) })) })
      await p.close()
      const got = await consumeGroup(config, topic, n)
      expect(got.map((m) => Number(m.value)).sort((a, b) => a - b)).toEqual(Array.from({ length: n }, (_, i) => i))
      if (mechanism === 'oauthbearer') expect(config.sasl.oauthBearerProvider.calls).toBeGreaterThan(0)
    })
  }

  it('a transaction over SASL_SSL + scram-sha-512: read_committed sees the committed records only', async () => {
    const config = conn('SASL_SSL', 'scram-sha-512')
    const topic = uniqueTopic('sec-txn')
    await createTopicOn(config, topic, 1)
    const p = new Producer({ ...config, transactionalId: uniqueTopic('sec-tid') })
    await p.initTransactions()
    p.beginTransaction()
    await p.send({ topic, messages: [{ key: 'a', value: 'aborted' }] })
    await p.abortTransaction()
    p.beginTransaction()
    await p.send({ topic, messages: [{ key: 'c', value: 'committed' }] })
    await p.commitTransaction()
    await p.close()
    const c = new Consumer({ ...config, autoOffsetReset: 'earliest', isolationLevel: 'read_committed' }, { valueDeserializer: 'string' })
    c.assign([{ topic, partition: 0 }])
    const values: string[] = []
    const timer = setTimeout(() => c.stop(), 30_000)
    try {
      for await (const m of c) {
        values.push(m.value as string)
        break
      }
    } finally {
      clearTimeout(timer)
      await c.close()
    }
    expect(values).toEqual(['committed'])
  })

  it('the Java console consumer reads over SASL_SSL what nkafka wrote over SASL_SSL', async () => {
    const config = conn('SASL_SSL', 'scram-sha-256')
    const topic = uniqueTopic('sec-java')
    await createTopicOn(config, topic, 1)
    const p = new Producer(config)
    await p.send({ topic, messages: Array.from({ length: 5 }, (_, i) => ({ value: `v${i}` })) })
    await p.close()
    const kafka = await kafkaScript()
    const { bootstrap, properties } = kafka.secureClientProperties(secure, { listener: 'SASL_SSL', mechanism: 'SCRAM-SHA-512' })
    const got = await kafka.consoleConsume({ bootstrap, topic, maxMessages: 5, timeoutMs: 60_000, properties })
    expect(got.map((m: { value: Buffer }) => m.value.toString())).toEqual(['v0', 'v1', 'v2', 'v3', 'v4'])
  }, 120_000)
})

describe('mTLS (listener with ssl.client.auth=required)', () => {
  const client = () => secure.tls.client
  const keys: [string, () => object][] = [
    ['PKCS#8 key', () => ({ cert: client().certPem, key: client().keyPkcs8Pem })],
    ['PKCS#1 RSA key', () => ({ cert: client().certPem, key: Buffer.from(client().keyPkcs1Pem) })],
    ['SEC1 EC key', () => ({ cert: client().ecCertPem, key: client().keySec1Pem })],
    ['encrypted PKCS#8 key', () => ({ cert: client().certPem, key: client().keyEncryptedPem, passphrase: client().passphrase })],
  ]
  for (const [name, ssl] of keys) {
    it(`connects with a client certificate and a ${name}`, async () => {
      const admin = new Admin({ ...conn('MTLS'), ssl: { ca: secure.caPem, ...ssl() } })
      try {
        const cluster = await admin.describeCluster()
        expect(cluster.brokers.length).toBe(1)
      } finally {
        await admin.close()
      }
    })
  }

  it('refuses a client without a certificate, or with one from another CA', async () => {
    for (const ssl of [{ ca: secure.caPem }, { ca: secure.caPem, cert: client().untrustedCertPem, key: client().untrustedKeyPem }]) {
      const admin = new Admin({ ...conn('MTLS'), ssl })
      try {
        const err = await admin.describeCluster().catch((e) => e)
        expect(err).toBeInstanceOf(KafkaError)
        expect(err.code).toBe('SSL_HANDSHAKE_FAILED')
        expect(err.message).toMatch(/client certificate|certificate/)
      } finally {
        await admin.close()
      }
    }
  })

  it('a wrong passphrase is INVALID_CONFIG at construction, naming ssl.passphrase', () => {
    expect(
      () =>
        new Admin({
          ...conn('MTLS'),
          ssl: { ca: secure.caPem, cert: client().certPem, key: client().keyEncryptedPem, passphrase: 'wrong' },
        }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', message: expect.stringMatching(/ssl\.passphrase/) }))
  })
})

describe('failures are typed, prompt and bounded', () => {
  it('a wrong password: SASL_AUTHENTICATION_FAILED at once, then reconnects with backoff (no storm)', async () => {
    const config = conn('SASL_SSL', 'scram-sha-512')
    config.sasl.password = 'not-the-password'
    const p = new Producer({ ...config, reconnectBackoffMs: 100, reconnectBackoffMaxMs: 1000 })
    try {
      const started = Date.now()
      const err = await p.send({ topic: uniqueTopic('sec-badpw'), messages: [{ value: 'x' }] }).catch((e) => e)
      const tookMs = Date.now() - started
      expect(err).toBeInstanceOf(KafkaError)
      expect(err.code).toBe('SASL_AUTHENTICATION_FAILED')
      expect(err.retriable).toBe(false)
      expect(err.message).not.toContain('not-the-password')
      // Far below the 15 s request timeout: the broker's answer is reported, not waited out.
      expect(tookMs).toBeLessThan(5_000)
      // Keep the producer busy for 3 s more: attempts grow with the backoff (about one a
      // second at its cap), not with the send rate.
      const before = p.stats().connectionAttempts
      const until = Date.now() + 3_000
      while (Date.now() < until) {
        await p.send({ topic: uniqueTopic('sec-badpw'), messages: [{ value: 'x' }] }).catch(() => {})
        await new Promise((r) => setTimeout(r, 20))
      }
      const attempts = p.stats().connectionAttempts - before
      expect(attempts).toBeGreaterThan(0)
      expect(attempts).toBeLessThanOrEqual(12)
      expect(JSON.stringify(p.stats())).not.toContain('not-the-password')
      expect(inspect(p, { depth: 10 })).not.toContain('not-the-password')
    } finally {
      await p.close()
    }
  })

  it('a wrong password in a group consumer and in Admin: the iterator and the call reject, typed', async () => {
    const config = conn('SASL_PLAINTEXT', 'scram-sha-256')
    config.sasl.password = 'not-the-password'
    const c = new Consumer({ ...config, groupId: uniqueTopic('sec-badpw-grp'), autoOffsetReset: 'earliest' })
    const stop = setTimeout(() => c.stop(), 30_000)
    try {
      await c.subscribe([uniqueTopic('sec-badpw')])
      const started = Date.now()
      const err = await (async () => {
        for await (const _ of c) return null
        return null
      })().catch((e) => e)
      expect(err).toBeInstanceOf(KafkaError)
      expect(err.code).toBe('SASL_AUTHENTICATION_FAILED')
      expect(err.message).not.toContain('not-the-password')
      expect(Date.now() - started).toBeLessThan(10_000)
    } finally {
      clearTimeout(stop)
      await c.close().catch(() => {})
    }
    const admin = new Admin(config)
    try {
      await expect(admin.listTopics()).rejects.toMatchObject({ code: 'SASL_AUTHENTICATION_FAILED' })
    } finally {
      await admin.close()
    }
  })

  it('a mechanism the listener does not enable: UNSUPPORTED_SASL_MECHANISM naming what it offers', async () => {
    const admin = new Admin(conn('REAUTH', 'scram-sha-256'))
    try {
      const err = await admin.describeCluster().catch((e) => e)
      expect(err.code).toBe('UNSUPPORTED_SASL_MECHANISM')
      expect(err.message).toMatch(/SCRAM-SHA-256/)
      expect(err.message).toMatch(/PLAIN/)
      expect(err.message).toMatch(/OAUTHBEARER/)
    } finally {
      await admin.close()
    }
  })

  it('an untrusted broker certificate and a wrong host name: typed TLS errors', async () => {
    for (const [ssl, code, text] of [
      [true, 'SSL_CERTIFICATE_UNTRUSTED', /trusted CA/],
      [{ ca: secure.caPem, servername: 'not-the-broker.example' }, 'SSL_HOSTNAME_MISMATCH', /not-the-broker\.example/],
    ] as const) {
      const admin = new Admin({ ...conn('SSL'), ssl })
      try {
        const err = await admin.describeCluster().catch((e) => e)
        expect(err.code).toBe(code)
        expect(err.message).toMatch(text)
      } finally {
        await admin.close()
      }
    }
  })

  it('rejectUnauthorized: false connects to a broker whose CA is not given', async () => {
    const admin = new Admin({ ...conn('SSL'), ssl: { rejectUnauthorized: false } })
    try {
      expect((await admin.describeCluster()).brokers.length).toBe(1)
    } finally {
      await admin.close()
    }
  })

  it('plaintext on a TLS port and TLS on a plaintext port: clear errors within requestTimeoutMs', async () => {
    const requestTimeoutMs = 5_000
    for (const [config, text] of [
      [{ bootstrapServers: secure.listeners.SSL, requestTimeoutMs }, /TLS listener/],
      [{ bootstrapServers: secure.listeners.PLAINTEXT, requestTimeoutMs, ssl: { ca: secure.caPem } }, /plaintext/],
    ] as const) {
      const admin = new Admin(config)
      try {
        const started = Date.now()
        const err = await admin.describeCluster().catch((e) => e)
        expect(err).toBeInstanceOf(KafkaError)
        expect(err.message).toMatch(text)
        expect(Date.now() - started).toBeLessThan(requestTimeoutMs + 2_000)
      } finally {
        await admin.close()
      }
    }
  })

  it('SASL on a listener without SASL: ILLEGAL_SASL_STATE that says so', async () => {
    const admin = new Admin(conn('PLAINTEXT', 'plain'))
    try {
      const err = await admin.describeCluster().catch((e) => e)
      expect(err.code).toBe('ILLEGAL_SASL_STATE')
      expect(err.message).toMatch(/does not use SASL/)
    } finally {
      await admin.close()
    }
  })

  it('an expired token: the provider is called again', async () => {
    let calls = 0
    const admin = new Admin({
      ...conn('SASL_PLAINTEXT'),
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => (calls++ === 0 ? unsecuredJws(-60) : unsecuredJws(3600)),
      },
    })
    try {
      expect((await admin.describeCluster()).brokers.length).toBe(1)
      expect(calls).toBe(2)
    } finally {
      await admin.close()
    }
  })

  it('a provider that throws or rejects: OAUTH_TOKEN_PROVIDER_FAILED carrying its message', async () => {
    const providers = [
      () => {
        throw new Error('idp unreachable (thrown)')
      },
      async () => {
        throw new Error('idp unreachable (rejected)')
      },
      async () => ({ value: 42 }) as unknown as { value: string },
    ]
    const messages = [/idp unreachable \(thrown\)/, /idp unreachable \(rejected\)/, /value/]
    for (const [i, oauthBearerProvider] of providers.entries()) {
      const admin = new Admin({ ...conn('SASL_PLAINTEXT'), sasl: { mechanism: 'oauthbearer', oauthBearerProvider } })
      try {
        const err = await admin.describeCluster().catch((e) => e)
        expect(err).toBeInstanceOf(KafkaError)
        expect(err.code).toBe('OAUTH_TOKEN_PROVIDER_FAILED')
        expect(err.message).toMatch(messages[i]!)
      } finally {
        await admin.close()
      }
    }
  })
})

describe('re-authentication (KIP-368)', () => {
  it('30 s of produce + consume on a listener with a 3 s session: nothing lost or reordered, tokens refreshed', async () => {
    const provider = countingProvider()
    const config = { ...conn('REAUTH'), sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider } }
    const topic = uniqueTopic('sec-reauth')
    await createTopicOn(config, topic, 3)
    const p = new Producer({ ...config, lingerMs: 5 })
    const consumer = new Consumer(
      { ...config, groupId: uniqueTopic('sec-reauth-grp'), autoOffsetReset: 'earliest' },
      { keyDeserializer: 'string', valueDeserializer: 'string' },
    )
    await consumer.subscribe([topic])
    const keys = 12
    let sent = 0
    let failed = 0
    const runMs = 30_000
    const producing = (async () => {
      const until = Date.now() + runMs
      while (Date.now() < until) {
        const messages = Array.from({ length: 50 }, (_, i) => ({ key: `k${(sent + i) % keys}`, value: String(sent + i) }))
        sent += messages.length
        await p.send({ topic, messages }).catch(() => {
          failed += messages.length
        })
        await new Promise((r) => setTimeout(r, 20))
      }
    })()
    let doneProducing = false
    const producingDone = producing.then(() => {
      doneProducing = true
    })
    const lastByKey = new Map<string, number>()
    let reordered = 0
    const seen = new Set<number>()
    const stopAt = setTimeout(() => consumer.stop(), runMs + 45_000)
    // The last records may have been read before production ended: check now and then.
    const check = setInterval(() => {
      if (doneProducing && seen.size >= sent) consumer.stop()
    }, 200)
    const reading = (async () => {
      for await (const m of consumer) {
        const v = Number(m.value)
        const prev = lastByKey.get(m.key as string) ?? -1
        if (v <= prev) reordered++
        lastByKey.set(m.key as string, v)
        seen.add(v)
        if (doneProducing && seen.size >= sent) break
      }
    })()
    await producingDone
    await p.flush()
    const stats = p.stats()
    await reading
    clearTimeout(stopAt)
    clearInterval(check)
    await consumer.close()
    await p.close()
    expect(failed).toBe(0)
    expect(sent).toBeGreaterThan(1000)
    expect(seen.size).toBe(sent)
    expect(reordered).toBe(0)
    // 3 s sessions over 30 s: each connection re-authenticates several times, and every
    // re-authentication asks the provider for a token.
    expect(stats.reauthentications).toBeGreaterThanOrEqual(5)
    expect(provider.calls).toBeGreaterThanOrEqual(10)
  }, 120_000)
})
