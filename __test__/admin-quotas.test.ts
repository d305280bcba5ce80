import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, KafkaError, type QuotaEntry, throwIfFailed } from '../ts/index'
import { brokers, uniqueTopic } from './helpers'

let admin: Admin

beforeAll(() => {
  admin = new Admin({ bootstrapServers: brokers() })
})

afterAll(async () => {
  await admin.close()
})

async function until<T>(get: () => Promise<T>, ok: (v: T) => boolean, what: string, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await get()
    if (ok(v)) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: last ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const valuesOf = (entries: QuotaEntry[]) => entries.map((e) => e.values)

describe('admin: client quotas', () => {
  it('sets, describes (exact, default, any, strict), changes and removes quotas', async () => {
    const user = uniqueTopic('q-user')
    const clientId = uniqueTopic('q-client')

    const set = await admin.alterClientQuotas([
      {
        entity: { user },
        ops: [
          { key: 'producer_byte_rate', value: 1_048_576 },
          { key: 'consumer_byte_rate', value: 2048 },
        ],
      },
      { entity: { user, 'client-id': clientId }, ops: [{ key: 'request_percentage', value: 50 }] },
      // The user's default client id (a global default would throttle other tests' clients).
      { entity: { user, 'client-id': null }, ops: [{ key: 'producer_byte_rate', value: 99_999_999 }] },
    ])
    expect(set.map((r) => r.error)).toEqual([null, null, null])
    expect(set[1]?.entity).toEqual({ user, 'client-id': clientId })

    const exact = await until(
      () => admin.describeClientQuotas({ components: [{ entityType: 'user', match: user }], strict: true }),
      (r) => r.length === 1,
      'the user quota',
    )
    expect(exact).toEqual([{ entity: { user }, values: { producer_byte_rate: 1_048_576, consumer_byte_rate: 2048 } }])

    // Not strict: the user's entity combined with a client id matches too.
    const loose = await until(
      () => admin.describeClientQuotas({ components: [{ entityType: 'user', match: user }] }),
      (r) => r.length === 3,
      'the three entities of the user',
    )
    expect(loose.map((e) => e.entity)).toEqual(
      expect.arrayContaining([{ user }, { user, 'client-id': clientId }, { user, 'client-id': null }]),
    )
    const both = await admin.describeClientQuotas({
      components: [
        { entityType: 'user', match: user },
        { entityType: 'client-id', match: clientId },
      ],
    })
    expect(both).toEqual([{ entity: { user, 'client-id': clientId }, values: { request_percentage: 50 } }])

    // match null: the default entity; matchType 'any': every entity of the type with a quota.
    const dflt = await admin.describeClientQuotas({
      components: [
        { entityType: 'user', match: user },
        { entityType: 'client-id', match: null },
      ],
    })
    expect(dflt).toEqual([{ entity: { user, 'client-id': null }, values: { producer_byte_rate: 99_999_999 } }])
    const anyClient = await admin.describeClientQuotas({
      components: [
        { entityType: 'user', match: user },
        { entityType: 'client-id', matchType: 'any' },
      ],
    })
    expect(anyClient.map((e) => e.entity)).toContainEqual({ user, 'client-id': clientId })

    // validateOnly changes nothing.
    const dry = await admin.alterClientQuotas([{ entity: { user }, ops: [{ key: 'producer_byte_rate', value: 1 }] }], {
      validateOnly: true,
    })
    expect(dry[0]?.error).toBeNull()
    expect(valuesOf(await admin.describeClientQuotas({ components: [{ entityType: 'user', match: user }], strict: true }))).toEqual([
      { producer_byte_rate: 1_048_576, consumer_byte_rate: 2048 },
    ])

    // A change and a removal in one op list; removing the last quota removes the entity.
    throwIfFailed(
      await admin.alterClientQuotas([
        {
          entity: { user },
          ops: [
            { key: 'producer_byte_rate', value: 4096 },
            { key: 'consumer_byte_rate', value: null },
          ],
        },
        { entity: { user, 'client-id': clientId }, ops: [{ key: 'request_percentage', value: null }] },
        { entity: { user, 'client-id': null }, ops: [{ key: 'producer_byte_rate', value: null }] },
      ]),
    )
    await until(
      () => admin.describeClientQuotas({ components: [{ entityType: 'user', match: user }] }),
      (r) => r.length === 1 && r[0]?.values.producer_byte_rate === 4096 && r[0]?.values.consumer_byte_rate === undefined,
      'the change',
    )
    throwIfFailed(await admin.alterClientQuotas([{ entity: { user }, ops: [{ key: 'producer_byte_rate', value: null }] }]))
    await until(
      () => admin.describeClientQuotas({ components: [{ entityType: 'user', match: user }] }),
      (r) => r.length === 0,
      'the removal',
    )
  })

  it('a bad entity fails alone: unknown key, bad combination, bad type, no ops', async () => {
    const user = uniqueTopic('q-bad')
    const r = await admin.alterClientQuotas([
      { entity: { user }, ops: [{ key: 'no_such_quota', value: 1 }] },
      { entity: { user, ip: '127.0.0.1' }, ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: { usr: user } as any, ops: [{ key: 'producer_byte_rate', value: 1 }] },
      { entity: { user: `${user}-none` }, ops: [] },
      { entity: { user: `${user}-ok` }, ops: [{ key: 'producer_byte_rate', value: 777 }] },
      { entity: { user: `${user}-ok` }, ops: [{ key: 'consumer_byte_rate', value: 777 }] },
    ])
    expect(r[0]?.error).toBeInstanceOf(KafkaError)
    expect(r[0]?.error?.code).toBe('INVALID_REQUEST')
    expect(r[0]?.error?.message).toContain(user)
    expect(r[1]?.error?.code).toBe('INVALID_REQUEST')
    expect(r[2]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('entity type `usr`') })
    expect(r[3]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('no ops') })
    expect(r[4]?.error).toBeNull()
    expect(r[5]?.error).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('same entity as alteration 4') })
    expect(() => throwIfFailed(r)).toThrow(/5 of the items failed/)
    // Nothing of the failed entries was applied; the good one was.
    const left = await until(
      () => admin.describeClientQuotas({ components: [{ entityType: 'user', match: `${user}-ok` }] }),
      (x) => x.length === 1,
      'the good entry',
    )
    expect(left[0]?.values).toEqual({ producer_byte_rate: 777 })
    expect(await admin.describeClientQuotas({ components: [{ entityType: 'user', match: user }] })).toEqual([])
    throwIfFailed(await admin.alterClientQuotas([{ entity: { user: `${user}-ok` }, ops: [{ key: 'producer_byte_rate', value: null }] }]))
  })

  it('malformed calls and filters reject with INVALID_ARGUMENT naming the problem', async () => {
    await expect(admin.alterClientQuotas({} as any)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(
      admin.alterClientQuotas([{ entity: { user: 'u' }, ops: [{ key: 'producer_byte_rate', value: Number.NaN }] }]),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('finite') })
    await expect(admin.describeClientQuotas({ components: [{ entityType: 'group' as any }] })).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('entity type `group`'),
    })
    await expect(
      admin.describeClientQuotas({ components: [{ entityType: 'user', match: 'a', matchType: 'default' }] }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining('takes no name') })
    await expect(admin.describeClientQuotas({} as any)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
  })
})
