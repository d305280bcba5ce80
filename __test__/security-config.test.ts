/**
 * `ssl` and `sasl` without a Kafka broker: shape and PEM errors at construction (INVALID_CONFIG
 * naming the key) for Producer, Consumer and Admin; secrets never shown by util.inspect,
 * stats() or errors; and the OAUTHBEARER provider path JS -> Rust -> JS against a fake broker
 * in this process that speaks just ApiVersions, SaslHandshake and SaslAuthenticate (and
 * refuses every authentication), so the provider's throw, rejection and bad shapes reach
 * the app as OAUTH_TOKEN_PROVIDER_FAILED and a good token reaches the wire.
 *
 * Certificates are made here with node:crypto (a self-signed Ed25519 X.509 certificate in
 * hand-written DER), so no openssl or fixture files are needed.
 */
import { execFile } from 'node:child_process'
import { generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { existsSync } from 'node:fs'
import { createServer, type Server, type Socket } from 'node:net'
import { inspect } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, Consumer, KafkaError, Producer } from '../ts/index'
import { platformSuffix } from '../ts/native'

// --- DER / PEM helpers -----------------------------------------------------------------

function der(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts)
  const n = body.length
  const len = n < 0x80 ? [n] : n < 0x100 ? [0x81, n] : [0x82, n >> 8, n & 0xff]
  return Buffer.concat([Buffer.from([tag, ...len]), body])
}
const seq = (...parts: Buffer[]) => der(0x30, ...parts)

function pemBlock(label: string, body: Buffer): string {
  const lines = body.toString('base64').match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

/** The base64 body of a PEM text (what would leak if a key were shown). */
function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((l) => l && !l.startsWith('-----'))
    .join('')
}

/** A self-signed Ed25519 certificate (X.509 v3, valid for a day either side of now) and its key. */
function selfSigned(cn: string): { certPem: string; keyPem: string; encryptedKeyPem: (passphrase: string) => string } {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519')
  const ed25519 = seq(Buffer.from('06032b6570', 'hex'))
  const name = seq(der(0x31, seq(Buffer.from('0603550403', 'hex'), der(0x0c, Buffer.from(cn)))))
  const utcTime = (ms: number) => der(0x17, Buffer.from(`${new Date(ms).toISOString().replace(/[-:T]/g, '').slice(2, 14)}Z`))
  const day = 86_400_000
  const tbs = seq(
    der(0xa0, der(0x02, Buffer.from([2]))), // version v3
    der(0x02, randomBytes(8).fill(0x11, 0, 1)), // positive serial
    ed25519,
    name,
    seq(utcTime(Date.now() - day), utcTime(Date.now() + day)),
    name,
    publicKey.export({ type: 'spki', format: 'der' }),
  )
  const signature = sign(null, tbs, privateKey)
  const cert = seq(tbs, ed25519, der(0x03, Buffer.from([0]), signature))
  return {
    certPem: pemBlock('CERTIFICATE', cert),
    keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    encryptedKeyPem: (passphrase) => privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase }) as string,
  }
}

// --- fixtures ------------------------------------------------------------------------------

const BOOTSTRAP = ['127.0.0.1:1']
const PASSWORD = `pw-${randomBytes(8).toString('hex')}`
const PASSPHRASE = `pp-${randomBytes(8).toString('hex')}`
const TOKEN = `tok-${randomBytes(12).toString('hex')}`
const ca = selfSigned('nkafka test ca')
const client = selfSigned('nkafka test client')
const other = selfSigned('nkafka other')
const encryptedKey = client.encryptedKeyPem(PASSPHRASE)
/** Texts that must never be shown. */
const SECRETS = [PASSWORD, PASSPHRASE, TOKEN, pemBody(client.keyPem), pemBody(encryptedKey)]

type AnyConfig = Record<string, any>
type Client = { close(): Promise<unknown> }

const CLIENTS: Array<[string, (c: AnyConfig) => Client]> = [
  ['Producer', (c) => new Producer({ bootstrapServers: BOOTSTRAP, ...c } as any)],
  ['Consumer', (c) => new Consumer({ bootstrapServers: BOOTSTRAP, groupId: 'security-config', ...c } as any)],
  ['Admin', (c) => new Admin({ bootstrapServers: BOOTSTRAP, ...c } as any)],
]

function showsNoSecret(text: string): void {
  for (const s of SECRETS) expect(text).not.toContain(s)
}

/** `make` throws INVALID_CONFIG naming `key`, and the error shows no secret. */
function expectInvalid(make: () => Client, key: string): KafkaError {
  let err: unknown
  try {
    const c = make()
    void c.close()
  } catch (e) {
    err = e
  }
  expect(err, `expected INVALID_CONFIG naming ${key}`).toBeInstanceOf(KafkaError)
  const e = err as KafkaError
  expect(e.code).toBe('INVALID_CONFIG')
  expect(e.retriable).toBe(false)
  expect(e.message).toContain(`invalid config \`${key}\``)
  showsNoSecret(e.message)
  showsNoSecret(inspect(e, { depth: Infinity, showHidden: true }))
  showsNoSecret(String(e.stack))
  return e
}

const provider = async () => ({ value: TOKEN })
const saslPlain = { mechanism: 'plain' as const, username: 'alice', password: PASSWORD }

/** Bad settings: [what, config fragment, key the error must name]. */
const BAD: Array<[string, AnyConfig, string]> = [
  ['an unknown mechanism', { sasl: { mechanism: 'gssapi', username: 'a', password: PASSWORD } }, 'sasl.mechanism'],
  ['no mechanism', { sasl: { username: 'a', password: PASSWORD } }, 'sasl.mechanism'],
  ['a mechanism that is not a string', { sasl: { mechanism: 7, username: 'a', password: PASSWORD } }, 'sasl.mechanism'],
  ['a missing username', { sasl: { mechanism: 'plain', password: PASSWORD } }, 'sasl.username'],
  ['an empty username', { sasl: { mechanism: 'scram-sha-256', username: '', password: PASSWORD } }, 'sasl.username'],
  ['a missing password', { sasl: { mechanism: 'scram-sha-256', username: 'alice' } }, 'sasl.password'],
  ['an empty password', { sasl: { mechanism: 'plain', username: 'alice', password: '' } }, 'sasl.password'],
  ['a password that is not a string', { sasl: { mechanism: 'plain', username: 'alice', password: [PASSWORD] } }, 'sasl.password'],
  ['an unknown key in sasl', { sasl: { ...saslPlain, passwrd: PASSWORD } }, 'sasl.passwrd'],
  ['a provider with a password mechanism', { sasl: { ...saslPlain, oauthBearerProvider: provider } }, 'sasl.oauthBearerProvider'],
  ['oauthbearer without a provider', { sasl: { mechanism: 'oauthbearer' } }, 'sasl.oauthBearerProvider'],
  [
    'oauthbearer with a provider that is not a function',
    { sasl: { mechanism: 'oauthbearer', oauthBearerProvider: TOKEN } },
    'sasl.oauthBearerProvider',
  ],
  [
    'oauthbearer with a password',
    { sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider, password: PASSWORD } },
    'sasl.password',
  ],
  ['sasl that is not an object (the password by mistake)', { sasl: PASSWORD }, 'sasl'],
  ['ssl that is not true or an object (a PEM text by mistake)', { ssl: encryptedKey }, 'ssl'],
  ['ssl that is not true or an object (a passphrase by mistake)', { ssl: PASSPHRASE }, 'ssl'],
  ['an unknown key in ssl', { ssl: { cafile: '/etc/ca.pem' } }, 'ssl.cafile'],
  ['ssl.ca of the wrong type', { ssl: { ca: 42 } }, 'ssl.ca'],
  ['ssl.ca as an empty array', { ssl: { ca: [] } }, 'ssl.ca'],
  ['ssl.ca with an entry of the wrong type', { ssl: { ca: [ca.certPem, 5] } }, 'ssl.ca[1]'],
  ['ssl.ca that is not PEM', { ssl: { ca: 'not a certificate' } }, 'ssl.ca'],
  [
    'ssl.ca with garbage base64 in its PEM block',
    { ssl: { ca: '-----BEGIN CERTIFICATE-----\n@@@ not base64 @@@\n-----END CERTIFICATE-----\n' } },
    'ssl.ca',
  ],
  ['ssl.ca with a PEM block that holds no certificate', { ssl: { ca: pemBlock('CERTIFICATE', randomBytes(64)) } }, 'ssl.ca'],
  ['ssl.cert that is not a certificate', { ssl: { cert: pemBlock('CERTIFICATE', randomBytes(64)), key: client.keyPem } }, 'ssl.cert'],
  ['ssl.cert and ssl.key swapped', { ssl: { cert: client.keyPem, key: client.certPem } }, 'ssl.cert'],
  ['ssl.cert of the wrong type', { ssl: { cert: { pem: ca.certPem }, key: client.keyPem } }, 'ssl.cert'],
  ['ssl.key not matching ssl.cert', { ssl: { cert: client.certPem, key: other.keyPem } }, 'ssl.key'],
  ['ssl.key that is not a key', { ssl: { cert: client.certPem, key: 'no key here' } }, 'ssl.key'],
  ['ssl.key of the wrong type', { ssl: { cert: client.certPem, key: 1234 } }, 'ssl.key'],
  ['ssl.cert without ssl.key', { ssl: { cert: client.certPem } }, 'ssl.key'],
  ['ssl.key without ssl.cert', { ssl: { key: client.keyPem } }, 'ssl.cert'],
  ['an encrypted ssl.key without a passphrase', { ssl: { cert: client.certPem, key: encryptedKey } }, 'ssl.key'],
  ['a wrong ssl.passphrase', { ssl: { cert: client.certPem, key: encryptedKey, passphrase: `${PASSPHRASE}-wrong` } }, 'ssl.passphrase'],
  ['ssl.passphrase of the wrong type', { ssl: { cert: client.certPem, key: encryptedKey, passphrase: 42 } }, 'ssl.passphrase'],
  ['ssl.minVersion TLSv1.1', { ssl: { minVersion: 'TLSv1.1' } }, 'ssl.minVersion'],
  ['ssl.minVersion of the wrong type', { ssl: { minVersion: 1.3 } }, 'ssl.minVersion'],
  ['ssl.rejectUnauthorized that is not a boolean', { ssl: { rejectUnauthorized: 'false' } }, 'ssl.rejectUnauthorized'],
  ['ssl.servername that is not a host name', { ssl: { servername: 'not a host!' } }, 'ssl.servername'],
  ['ssl.servername of the wrong type', { ssl: { servername: 7 } }, 'ssl.servername'],
]

/** Good settings, each accepted at construction. */
const GOOD: Array<[string, AnyConfig]> = [
  ['ssl: true', { ssl: true }],
  ['ssl: false (plaintext)', { ssl: false }],
  ['ssl.ca as a string', { ssl: { ca: ca.certPem } }],
  ['ssl.ca as a Buffer', { ssl: { ca: Buffer.from(ca.certPem) } }],
  ['ssl.ca as an array of strings and Buffers', { ssl: { ca: [ca.certPem, Buffer.from(other.certPem)] } }],
  ['ssl.ca with two certificates in one PEM text', { ssl: { ca: ca.certPem + other.certPem } }],
  ['mTLS: ssl.cert and ssl.key', { ssl: { ca: ca.certPem, cert: client.certPem, key: Buffer.from(client.keyPem) } }],
  ['mTLS with an encrypted key and its passphrase', { ssl: { cert: client.certPem, key: encryptedKey, passphrase: PASSPHRASE } }],
  ['ssl.rejectUnauthorized false', { ssl: { rejectUnauthorized: false } }],
  ['ssl.minVersion and ssl.servername', { ssl: { minVersion: 'TLSv1.3', servername: 'kafka.example.com' } }],
  ['sasl plain', { sasl: saslPlain }],
  ['sasl scram-sha-256', { sasl: { ...saslPlain, mechanism: 'scram-sha-256' } }],
  ['sasl scram-sha-512 in upper case', { sasl: { ...saslPlain, mechanism: 'SCRAM-SHA-512' } }],
  ['sasl oauthbearer', { sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider } }],
  ['SASL_SSL: ssl and sasl together', { ssl: { ca: ca.certPem }, sasl: saslPlain }],
]

describe.each(CLIENTS)('%s: ssl and sasl at construction', (_name, make) => {
  for (const [what, config, key] of BAD) {
    it(`${what} is INVALID_CONFIG naming ${key}`, () => {
      expectInvalid(() => make(config), key)
    })
  }

  for (const [what, config] of GOOD) {
    it(`accepts ${what}`, async () => {
      const c = make(config)
      expect(c).toBeDefined()
      await c.close()
    })
  }

  it('does not call the token provider before a connection needs a token', async () => {
    let calls = 0
    const c = make({
      sasl: {
        mechanism: 'oauthbearer',
        oauthBearerProvider: async () => {
          calls++
          return { value: TOKEN }
        },
      },
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(calls).toBe(0)
    await c.close()
  })

  it('util.inspect of the client shows no password, passphrase, private key or token', async () => {
    const configs: AnyConfig[] = [
      { ssl: { ca: ca.certPem, cert: client.certPem, key: encryptedKey, passphrase: PASSPHRASE }, sasl: saslPlain },
      { ssl: { cert: client.certPem, key: client.keyPem }, sasl: { mechanism: 'scram-sha-512', username: 'alice', password: PASSWORD } },
      { ssl: true, sasl: { mechanism: 'oauthbearer', oauthBearerProvider: provider } },
    ]
    for (const config of configs) {
      const c = make(config)
      try {
        const shown = inspect(c, { depth: Infinity, showHidden: true, getters: true })
        expect(shown.length).toBeGreaterThan(0)
        showsNoSecret(shown)
        showsNoSecret(JSON.stringify(Object.entries(c)))
      } finally {
        await c.close()
      }
    }
  })
})

describe('Producer stats()', () => {
  it('has connectionAttempts and reauthentications, and no secret', async () => {
    const p = new Producer({
      bootstrapServers: BOOTSTRAP,
      ssl: { cert: client.certPem, key: encryptedKey, passphrase: PASSPHRASE },
      sasl: saslPlain,
    })
    try {
      const s = p.stats()
      expect(s.connectionAttempts).toBe(0)
      expect(s.reauthentications).toBe(0)
      showsNoSecret(JSON.stringify(s))
      showsNoSecret(inspect(s, { depth: Infinity }))
    } finally {
      await p.close()
    }
  })
})

// --- a fake broker: ApiVersions, SaslHandshake, SaslAuthenticate (always refused) --------------

const i16 = (v: number) => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(v)
  return b
}
const i32 = (v: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(v)
  return b
}
const str = (s: string) => Buffer.concat([i16(Buffer.byteLength(s)), Buffer.from(s)])

interface FakeBroker {
  bootstrap: string
  /** The auth bytes of every SaslAuthenticate request. */
  authBytes: Buffer[]
  /** The mechanism of every SaslHandshake request. */
  mechanisms: string[]
  close(): Promise<void>
}

/** API versions it answers: ApiVersions 0-3, SaslHandshake 1, SaslAuthenticate 0-1, Metadata 0-12. */
const FAKE_APIS = [
  [18, 0, 3],
  [17, 1, 1],
  [36, 0, 1],
  [3, 0, 12],
]

function answer(req: Buffer, broker: FakeBroker): Buffer | null {
  const apiKey = req.readInt16BE(0)
  const version = req.readInt16BE(2)
  const correlationId = req.readInt32BE(4)
  const clientIdLength = req.readInt16BE(8)
  const bodyAt = 10 + Math.max(clientIdLength, 0)
  let body: Buffer
  if (apiKey === 18) {
    // v3+ is flexible (compact array, tagged fields); the response header is v0 at every version.
    body =
      version >= 3
        ? Buffer.concat([
            i16(0),
            Buffer.from([FAKE_APIS.length + 1]),
            ...FAKE_APIS.map(([k, lo, hi]) => Buffer.concat([i16(k!), i16(lo!), i16(hi!), Buffer.from([0])])),
            i32(0),
            Buffer.from([0]),
          ])
        : Buffer.concat([
            i16(0),
            i32(FAKE_APIS.length),
            ...FAKE_APIS.map(([k, lo, hi]) => Buffer.concat([i16(k!), i16(lo!), i16(hi!)])),
            ...(version >= 1 ? [i32(0)] : []),
          ])
  } else if (apiKey === 17) {
    const n = req.readInt16BE(bodyAt)
    broker.mechanisms.push(req.toString('utf8', bodyAt + 2, bodyAt + 2 + n))
    body = Buffer.concat([i16(0), i32(4), str('PLAIN'), str('SCRAM-SHA-256'), str('SCRAM-SHA-512'), str('OAUTHBEARER')])
  } else if (apiKey === 36) {
    const n = req.readInt32BE(bodyAt)
    broker.authBytes.push(Buffer.from(req.subarray(bodyAt + 4, bodyAt + 4 + n)))
    // SASL_AUTHENTICATION_FAILED (58), a message, no auth bytes, (v1) no session lifetime.
    body = Buffer.concat([i16(58), str('the fake broker refuses everyone'), i32(0), ...(version >= 1 ? [Buffer.alloc(8)] : [])])
  } else {
    return null
  }
  return Buffer.concat([i32(4 + body.length), i32(correlationId), body])
}

async function fakeBroker(): Promise<FakeBroker> {
  const sockets = new Set<Socket>()
  const broker: FakeBroker = { bootstrap: '', authBytes: [], mechanisms: [], close: async () => {} }
  const server: Server = createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    socket.on('error', () => {})
    let buf = Buffer.alloc(0)
    socket.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk])
      while (buf.length >= 4 && buf.length >= 4 + buf.readInt32BE(0)) {
        const req = buf.subarray(4, 4 + buf.readInt32BE(0))
        buf = buf.subarray(4 + req.length)
        const out = answer(req, broker)
        if (out === null) socket.destroy()
        else socket.write(out)
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no port')
  broker.bootstrap = `127.0.0.1:${address.port}`
  broker.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>((resolve) => server.close(() => resolve()))
  }
  return broker
}

describe('OAUTHBEARER provider through the native layer (fake broker)', () => {
  let broker: FakeBroker
  beforeAll(async () => {
    broker = await fakeBroker()
  })
  afterAll(async () => {
    await broker.close()
  })

  function admin(oauthBearerProvider: unknown): Admin {
    return new Admin({
      bootstrapServers: broker.bootstrap,
      requestTimeoutMs: 2_000,
      sasl: { mechanism: 'oauthbearer', oauthBearerProvider } as any,
    })
  }

  it('a token reaches SaslAuthenticate (RFC 7628 framing, extensions); the refusal is typed and shows no token', async () => {
    let calls = 0
    const before = broker.authBytes.length
    const a = admin(async () => {
      calls++
      return {
        value: TOKEN,
        lifetimeMs: Date.now() + 3_600_000,
        principal: 'svc',
        extensions: { logicalCluster: 'lkc-1', identityPoolId: 'pool-2' },
      }
    })
    try {
      const err = await a.describeCluster().catch((e) => e)
      expect(err).toBeInstanceOf(KafkaError)
      expect(err.code).toBe('SASL_AUTHENTICATION_FAILED')
      expect(err.message).toContain('the fake broker refuses everyone')
      showsNoSecret(err.message)
      showsNoSecret(inspect(err, { depth: Infinity }))
      expect(calls).toBeGreaterThanOrEqual(1)
      expect(broker.mechanisms).toContain('OAUTHBEARER')
      const sent = broker.authBytes.slice(before).map((b) => b.toString('latin1'))
      expect(sent[0]).toBe(`n,,\x01auth=Bearer ${TOKEN}\x01identityPoolId=pool-2\x01logicalCluster=lkc-1\x01\x01`)
      showsNoSecret(inspect(a, { depth: Infinity, showHidden: true }))
    } finally {
      await a.close()
    }
  })

  it('a provider that returns a plain object (not a Promise) works too', async () => {
    const before = broker.authBytes.length
    const a = admin(() => ({ value: TOKEN }))
    try {
      const err = await a.describeCluster().catch((e) => e)
      expect(err.code).toBe('SASL_AUTHENTICATION_FAILED')
      expect(broker.authBytes.slice(before).map((b) => b.toString('latin1'))[0]).toBe(`n,,\x01auth=Bearer ${TOKEN}\x01\x01`)
    } finally {
      await a.close()
    }
  })

  const failing: Array<[string, () => unknown, RegExp]> = [
    [
      'throws',
      () => {
        throw new Error('idp unreachable (thrown)')
      },
      /idp unreachable \(thrown\)/,
    ],
    [
      'rejects',
      async () => {
        throw new Error('idp unreachable (rejected)')
      },
      /idp unreachable \(rejected\)/,
    ],
    ['rejects with a non-Error', () => Promise.reject('plain string reason'), /plain string reason/],
    ['returns a number as value', async () => ({ value: 42 }), /`value`.*number/],
    ['returns an empty value', async () => ({ value: '' }), /`value`.*empty/],
    ['returns undefined', async () => undefined, /returned undefined/],
    ['returns an unknown key (the token under another name)', async () => ({ token: TOKEN }), /unknown keys `token`/],
    ['returns a bad lifetimeMs', async () => ({ value: TOKEN, lifetimeMs: 'soon' }), /lifetimeMs/],
    ['returns a bad principal', async () => ({ value: TOKEN, principal: 5 }), /principal/],
    ['returns a non-string extension', async () => ({ value: TOKEN, extensions: { logicalCluster: 1 } }), /extension `logicalCluster`/],
    ['returns extensions that are not an object', async () => ({ value: TOKEN, extensions: 'a=b' }), /extensions/],
    ['never settles (bounded by requestTimeoutMs)', () => new Promise(() => {}), /within/],
  ]
  for (const [what, provider, message] of failing) {
    it(`a provider that ${what}: OAUTH_TOKEN_PROVIDER_FAILED carrying why, no token sent or shown`, async () => {
      const before = broker.authBytes.length
      const a = admin(provider)
      try {
        const started = Date.now()
        const err = await a.describeCluster().catch((e) => e)
        expect(Date.now() - started).toBeLessThan(10_000)
        expect(err).toBeInstanceOf(KafkaError)
        expect(err.code).toBe('OAUTH_TOKEN_PROVIDER_FAILED')
        expect(err.retriable).toBe(false)
        expect(err.message).toMatch(/sasl\.oauthBearerProvider/)
        expect(err.message).toMatch(message)
        showsNoSecret(err.message)
        expect(broker.authBytes.length).toBe(before)
      } finally {
        await a.close()
      }
    })
  }

  it('Producer and Consumer: a refused PLAIN password is typed, counted, and never shown', async () => {
    const sasl = { mechanism: 'plain' as const, username: 'alice', password: PASSWORD }
    const p = new Producer({ bootstrapServers: broker.bootstrap, requestTimeoutMs: 2_000, sasl })
    const c = new Consumer({ bootstrapServers: broker.bootstrap, requestTimeoutMs: 2_000, groupId: 'g', sasl })
    try {
      const before = broker.authBytes.length
      const pe = await p.connect().catch((e) => e)
      expect(pe).toBeInstanceOf(KafkaError)
      expect(pe.code).toBe('SASL_AUTHENTICATION_FAILED')
      showsNoSecret(pe.message)
      // The password did go to the (fake) broker, as PLAIN's message: \0user\0password.
      expect(broker.authBytes.slice(before).map((b) => b.toString('latin1'))).toContain(`\0alice\0${PASSWORD}`)
      const s = p.stats()
      expect(s.connectionAttempts).toBeGreaterThanOrEqual(1)
      showsNoSecret(JSON.stringify(s))
      showsNoSecret(inspect(p, { depth: Infinity, showHidden: true }))
      const ce = await c.subscribe(/^security-config/).catch((e) => e)
      expect(ce).toBeInstanceOf(KafkaError)
      expect(ce.code).toBe('SASL_AUTHENTICATION_FAILED')
      showsNoSecret(ce.message)
      showsNoSecret(inspect(c, { depth: Infinity, showHidden: true }))
    } finally {
      await p.close()
      await c.close()
    }
  })

  it('the provider (a weak threadsafe function) does not keep a process alive, after use or unused', async () => {
    const addon = process.env.NKAFKA_NATIVE_PATH ?? new URL(`../native/nkafka.${platformSuffix()}.node`, import.meta.url).pathname
    expect(existsSync(addon)).toBe(true)
    // The binding directly (the TS sources are not runnable by plain node): one client uses
    // its provider against the fake broker, one never does; neither is closed. Without
    // weak threadsafe functions the child would never exit.
    const script = `
      const b = require(${JSON.stringify(addon)})
      const sasl = (value) => ({ mechanism: 'oauthbearer', oauthBearerProvider: async () => { console.log('provider called'); return { value } } })
      new b.BindingAdmin({ bootstrapServers: ['127.0.0.1:1'], sasl: sasl('unused') })
      const used = new b.BindingAdmin({ bootstrapServers: [${JSON.stringify(broker.bootstrap)}], requestTimeoutMs: 2000, sasl: sasl('used') })
      used.describeCluster().then((r) => console.log('result ' + (r.error ? r.error.code : 'none')))
    `
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, ['-e', script], { timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error ? ((error as { code?: number }).code ?? -1) : 0, stdout, stderr })
      })
      child.stdin?.end()
    })
    expect(out.stderr).toBe('')
    expect(out.stdout).toContain('provider called')
    expect(out.stdout).toContain('result SASL_AUTHENTICATION_FAILED')
    expect(out.code).toBe(0)
  })
})
