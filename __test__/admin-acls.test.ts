/**
 * ACLs and SCRAM users against the real `secure` broker (StandardAuthorizer, super users
 * User:nkafka and User:ANONYMOUS, allow.everyone.if.no.acl.found): npm test names it in
 * KAFKA_SECURE_JSON; run alone, this file starts (or reuses) it.
 */
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AclBinding, Admin, KafkaError, Producer, throwIfFailed } from '../ts/index'
import { kafkaScript, uniqueTopic } from './helpers'

let secure: any
let stopSecure: (() => Promise<void>) | null = null
let admin: Admin

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
  admin = new Admin(saslConfig(secure.credentials.username, secure.credentials.password))
})

afterAll(async () => {
  await admin?.close()
  if (stopSecure) await stopSecure()
})

function saslConfig(username: string, password: string, mechanism = 'scram-sha-256'): any {
  return {
    bootstrapServers: secure.listeners.SASL_PLAINTEXT,
    requestTimeoutMs: 15_000,
    sasl: { mechanism, username, password },
  }
}

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

/** Sends one record as `username`; resolves the error, or null on success. */
async function produceAs(username: string, password: string, topic: string, mechanism = 'scram-sha-256') {
  const p = new Producer({ ...saslConfig(username, password, mechanism), maxBlockMs: 3000, deliveryTimeoutMs: 20_000 })
  try {
    await p.send({ topic, messages: [{ value: 'x' }] })
    return null
  } catch (e) {
    return e as KafkaError
  } finally {
    await p.close()
  }
}

async function newTopics(...names: string[]): Promise<void> {
  await admin.createTopics(names.map((topic) => ({ topic, numPartitions: 1, replicationFactor: 1 })))
}

describe('admin: SCRAM users', () => {
  it('a user made with alterUserScramCredentials logs in and produces; deleted, it gets SASL_AUTHENTICATION_FAILED', async () => {
    const user = uniqueTopic('scram-user')
    const topic = uniqueTopic('scram-topic')
    await newTopics(topic)

    // The broker's own test user, and one that has no credential.
    const before = await admin.describeUserScramCredentials([secure.credentials.username, user])
    expect(before[0]).toMatchObject({ user: secure.credentials.username, error: null })
    expect(before[0]?.credentials.map((c) => c.mechanism).sort()).toEqual(['SCRAM-SHA-256', 'SCRAM-SHA-512'])
    expect(before[1]?.user).toBe(user)
    expect(before[1]?.error).toBeInstanceOf(KafkaError)
    expect(before[1]?.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND', message: expect.stringContaining(user) })

    const altered = await admin.alterUserScramCredentials([
      { user, mechanism: 'SCRAM-SHA-256', password: 'pw-256', iterations: 8192 },
      { user: `${user}-b`, mechanism: 'SCRAM-SHA-1' as any, password: 'x' },
      { user: `${user}-c`, mechanism: 'SCRAM-SHA-512', password: 'x', iterations: 100 },
      { user: `${user}-d`, mechanism: 'SCRAM-SHA-512' } as any,
      // Valid, but its user has an invalid alteration above: not sent either.
      { user: `${user}-c`, mechanism: 'SCRAM-SHA-256', password: 'fine' },
    ])
    expect(altered.map((r) => r.user)).toEqual([user, `${user}-b`, `${user}-c`, `${user}-d`, `${user}-c`])
    expect(altered[0]?.error).toBeNull()
    expect(altered[1]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('mechanism `SCRAM-SHA-1`') })
    expect(altered[2]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('iterations 100') })
    expect(altered[3]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('password') })
    expect(altered[4]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('not sent: alteration 2') })
    expect(() => throwIfFailed(altered)).toThrow(/4 of the items failed/)

    const described = await until(
      () => admin.describeUserScramCredentials([user]),
      (r) => r[0]?.error === null,
      'the new credential',
    )
    expect(described[0]?.credentials).toEqual([{ mechanism: 'SCRAM-SHA-256', iterations: 8192 }])
    expect((await admin.describeUserScramCredentials([`${user}-c`]))[0]?.error?.code).toBe('RESOURCE_NOT_FOUND')
    // Listing every user includes the new one.
    expect((await admin.describeUserScramCredentials()).map((r) => r.user)).toContain(user)

    expect(await produceAs(user, 'pw-256', topic)).toBeNull()
    expect(await produceAs(user, 'wrong', topic)).toMatchObject({ code: 'SASL_AUTHENTICATION_FAILED' })

    const deleted = await admin.alterUserScramCredentials([{ user, mechanism: 'SCRAM-SHA-256', delete: true }])
    expect(deleted).toEqual([{ user, mechanism: 'SCRAM-SHA-256', error: null }])
    await until(
      () => admin.describeUserScramCredentials([user]),
      (r) => r[0]?.error?.code === 'RESOURCE_NOT_FOUND',
      'the deletion',
    )
    expect(await produceAs(user, 'pw-256', topic)).toMatchObject({ code: 'SASL_AUTHENTICATION_FAILED' })

    // Deleting what is not there is that item's error.
    const again = await admin.alterUserScramCredentials([{ user, mechanism: 'SCRAM-SHA-256', delete: true }])
    expect(again[0]?.error).toMatchObject({ code: 'RESOURCE_NOT_FOUND', message: expect.stringContaining(user) })
  }, 60_000)

  it('malformed calls reject with INVALID_ARGUMENT naming the field; an empty user name fails its item', async () => {
    await expect(admin.alterUserScramCredentials('x' as any)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(admin.alterUserScramCredentials([{ user: 1, mechanism: 'SCRAM-SHA-256', password: 'p' } as any])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('alterations[0].user'),
    })
    await expect(admin.describeUserScramCredentials([1] as any)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    // An empty name is that item's error; the other names are still described.
    const r = await admin.describeUserScramCredentials(['', secure.credentials.username])
    expect(r[0]).toMatchObject({ user: '', error: { code: 'INVALID_ARGUMENT', message: expect.stringContaining('users[0]') } })
    expect(r[1]).toMatchObject({ user: secure.credentials.username, error: null })
  })
})

describe('admin: ACLs', () => {
  it('a DENY WRITE ACL stops one user on one topic; describe and delete filters find exactly it', async () => {
    const user = uniqueTopic('acl-user')
    const principal = `User:${user}`
    const denied = uniqueTopic('acl-denied')
    const open = uniqueTopic('acl-open')
    await newTopics(denied, open)
    throwIfFailed(await admin.alterUserScramCredentials([{ user, mechanism: 'SCRAM-SHA-512', password: 'pw' }]))
    await until(
      () => admin.describeUserScramCredentials([user]),
      (r) => r[0]?.error === null,
      'the credential',
    )

    const deny: AclBinding = {
      resourceType: 'topic',
      resourceName: denied,
      principal,
      operation: 'write',
      permissionType: 'deny',
    }
    const created = await admin.createAcls([
      deny,
      { ...deny, operation: 'wrte' as any },
      { ...deny, resourceType: 'topik' as any },
      { ...deny, patternType: 'match' as any },
      { ...deny, principal: user },
      // Every topic whose name starts with `denied` (so not `open`): no reads either.
      { ...deny, patternType: 'prefixed', operation: 'read' },
      // The broker's own verdict, on that item only: the cluster resource is `kafka-cluster`.
      { ...deny, resourceType: 'cluster', resourceName: 'not-the-cluster' },
    ])
    const full = { ...deny, patternType: 'literal', host: '*' }
    const prefixed = { ...full, patternType: 'prefixed', operation: 'read' }
    expect(created[0]).toEqual({ binding: full, error: null })
    expect(created[1]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('operation `wrte`') })
    expect(created[2]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('resourceType `topik`') })
    expect(created[3]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('patternType `match`') })
    expect(created[4]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining(`principal \`${user}\``) })
    expect(created[5]).toEqual({ binding: prefixed, error: null })
    expect(created[6]?.error).toBeInstanceOf(KafkaError)
    expect(created[6]?.error?.code).toBe('INVALID_REQUEST')
    expect(created[6]?.error?.message).toContain('`not-the-cluster` (cluster)')

    const onTopic = await until(
      () => admin.describeAcls({ resourceType: 'topic', resourceName: denied }),
      (r) => r.length === 2,
      'the ACLs',
    )
    expect(onTopic).toEqual(expect.arrayContaining([full, prefixed]))
    expect(await admin.describeAcls({ resourceType: 'topic', resourceName: denied, patternType: 'literal' })).toEqual([full])
    // 'match' finds the ACLs that apply to a name: here the prefixed one alone.
    expect(await admin.describeAcls({ resourceType: 'topic', resourceName: `${denied}-x`, patternType: 'match', principal })).toEqual([
      prefixed,
    ])
    expect(await admin.describeAcls({ resourceName: denied, principal: 'User:someone-else' })).toEqual([])
    expect((await admin.describeAcls({ principal })).length).toBe(2)
    await expect(admin.describeAcls({ operation: 'reed' as any })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('operation `reed`'),
    })

    const err = await produceAs(user, 'pw', denied, 'scram-sha-512')
    expect(err).toBeInstanceOf(KafkaError)
    expect(err?.code).toBe('TOPIC_AUTHORIZATION_FAILED')
    expect(await produceAs(user, 'pw', open, 'scram-sha-512')).toBeNull()

    const removed = await admin.deleteAcls([
      { resourceType: 'topic', resourceName: denied, principal },
      { resourceType: 'topic', resourceName: open },
      { permissionType: 'maybe' as any },
    ])
    expect(removed[0]).toEqual({
      filter: {
        resourceType: 'topic',
        resourceName: denied,
        patternType: 'any',
        principal,
        host: null,
        operation: 'any',
        permissionType: 'any',
      },
      error: null,
      matches: expect.arrayContaining([
        { binding: full, error: null },
        { binding: prefixed, error: null },
      ]),
    })
    expect(removed[0]?.matches.length).toBe(2)
    expect(removed[1]).toMatchObject({ error: null, matches: [] })
    expect(removed[2]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('permissionType `maybe`') })
    expect(await admin.describeAcls({ principal })).toEqual([])

    // No ACL left on the topic: allow.everyone.if.no.acl.found lets the user write again.
    await until(
      () => produceAs(user, 'pw', denied, 'scram-sha-512'),
      (e) => e === null,
      'writes after the ACL is gone',
      15_000,
    )
    throwIfFailed(await admin.alterUserScramCredentials([{ user, mechanism: 'SCRAM-SHA-512', delete: true }]))
  }, 60_000)

  it('malformed calls reject with INVALID_ARGUMENT naming the field', async () => {
    await expect(admin.createAcls({} as any)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(admin.createAcls([{ resourceType: 'topic' } as any])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('bindings[0].resourceName'),
    })
    await expect(admin.deleteAcls([{ principal: 7 } as any])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('filters[0].principal'),
    })
    await expect(admin.describeAcls({ colour: 'red' } as any)).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('colour'),
    })
  })
})
