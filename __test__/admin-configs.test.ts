import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Admin, AdminItemsError, type ConfigEntry, throwIfFailed } from '../ts/index'
import { brokers, createTopic, uniqueTopic } from './helpers'

let admin: Admin
let brokerId: string

beforeAll(async () => {
  admin = new Admin({ bootstrapServers: brokers() })
  brokerId = String((await admin.describeCluster()).brokers[0]?.nodeId)
})

afterAll(async () => {
  await admin?.close()
})

async function topicConfig(topic: string, name: string, options = {}): Promise<ConfigEntry> {
  const [r] = throwIfFailed(await admin.describeConfigs([{ type: 'topic', name: topic }], options))
  const c = r?.configs.find((x) => x.name === name)
  if (!c) throw new Error(`no ${name} in the configs of ${topic}`)
  return c
}

// A change is applied by the controller and reaches the brokers through the metadata log:
// a read right after it may still show the old value.
const eventually = { timeout: 10_000, interval: 100 }

describe('admin: configs', () => {
  it('a topic config: set, read back as DYNAMIC_TOPIC_CONFIG with synonyms and docs, delete, back to the default', async () => {
    const topic = uniqueTopic('cfg-topic')
    await createTopic(topic)
    const before = await topicConfig(topic, 'retention.ms')
    expect(before).toMatchObject({ source: 'DEFAULT_CONFIG', isDefault: true, isReadOnly: false, isSensitive: false })
    expect(before.type).toBe('LONG')
    expect(before.documentation).toBeUndefined()

    const set = await admin.incrementalAlterConfigs([
      { type: 'topic', name: topic, ops: [{ name: 'retention.ms', value: '3600000', op: 'set' }] },
    ])
    expect(set).toEqual([{ type: 'topic', name: topic, error: null }])

    await expect
      .poll(() => topicConfig(topic, 'retention.ms'), eventually)
      .toMatchObject({ value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG', isDefault: false })
    const after = await topicConfig(topic, 'retention.ms', { includeSynonyms: true, includeDocumentation: true })
    expect(after.synonyms).toEqual([{ name: 'retention.ms', value: '3600000', source: 'DYNAMIC_TOPIC_CONFIG' }])
    expect(after.documentation).toMatch(/retain a log/)
    // A topic config not set on the topic: its synonym is the broker config it inherits.
    expect((await topicConfig(topic, 'cleanup.policy', { includeSynonyms: true })).synonyms).toEqual([
      { name: 'log.cleanup.policy', value: 'delete', source: 'DEFAULT_CONFIG' },
    ])

    // Only the named configs.
    const [some] = await admin.describeConfigs([{ type: 'topic', name: topic, configNames: ['retention.ms', 'cleanup.policy'] }])
    expect(some?.configs.map((c) => c.name).sort()).toEqual(['cleanup.policy', 'retention.ms'])

    throwIfFailed(await admin.incrementalAlterConfigs([{ type: 'topic', name: topic, ops: [{ name: 'retention.ms', op: 'delete' }] }]))
    await expect.poll(() => topicConfig(topic, 'retention.ms'), eventually).toEqual(before)
  })

  it('append and subtract edit a list config', async () => {
    const topic = uniqueTopic('cfg-list')
    await createTopic(topic)
    const alter = (op: 'set' | 'append' | 'subtract', value: string) =>
      admin.incrementalAlterConfigs([{ type: 'topic', name: topic, ops: [{ name: 'cleanup.policy', value, op }] }])
    throwIfFailed(await alter('set', 'delete'))
    throwIfFailed(await alter('append', 'compact'))
    await expect.poll(async () => (await topicConfig(topic, 'cleanup.policy')).value, eventually).toBe('delete,compact')
    throwIfFailed(await alter('subtract', 'delete'))
    await expect.poll(async () => (await topicConfig(topic, 'cleanup.policy')).value, eventually).toBe('compact')
    // append on a config that is not a list: the broker's error, on that item.
    const [bad] = await admin.incrementalAlterConfigs([
      { type: 'topic', name: topic, ops: [{ name: 'retention.ms', value: '5', op: 'append' }] },
    ])
    expect(bad?.error?.code).toMatch(/^INVALID_(CONFIG|REQUEST)$/)
    expect(bad?.error?.message).toContain(`topic \`${topic}\``)
  })

  it('a dynamic broker config on that broker: set, read back as DYNAMIC_BROKER_CONFIG, delete', async () => {
    const read = async () => {
      const [r] = throwIfFailed(
        await admin.describeConfigs([{ type: 'broker', name: brokerId, configNames: ['log.cleaner.threads', 'message.max.bytes'] }]),
      )
      return Object.fromEntries((r?.configs ?? []).map((c) => [c.name, c]))
    }
    const threads = async () => (await read())['log.cleaner.threads']
    const before = await read()
    expect(before['message.max.bytes']).toMatchObject({ type: 'INT', isReadOnly: false })
    expect(before['log.cleaner.threads']).toMatchObject({ source: 'DEFAULT_CONFIG', value: '1', isDefault: true })
    const alter = (op: 'set' | 'delete') =>
      admin.incrementalAlterConfigs([
        {
          type: 'broker',
          name: brokerId,
          ops: [op === 'set' ? { name: 'log.cleaner.threads', value: '2', op } : { name: 'log.cleaner.threads', op }],
        },
      ])
    try {
      throwIfFailed(await alter('set'))
      await expect.poll(threads, eventually).toMatchObject({ value: '2', source: 'DYNAMIC_BROKER_CONFIG', isDefault: false })
    } finally {
      throwIfFailed(await alter('delete'))
    }
    await expect.poll(threads, eventually).toEqual(before['log.cleaner.threads'])

    // The cluster-wide default ('') is a resource too: only dynamic defaults are listed there.
    const [defaults] = await admin.describeConfigs([{ type: 'broker', name: '' }])
    expect(defaults?.error).toBeNull()
    expect(defaults?.configs.every((c) => c.source === 'DYNAMIC_DEFAULT_BROKER_CONFIG')).toBe(true)
  })

  it('broker loggers: read, set a level, delete it again', async () => {
    const logger = 'kafka.server.ReplicaFetcherManager'
    const read = async () => {
      const [r] = throwIfFailed(await admin.describeConfigs([{ type: 'broker-logger', name: brokerId }]))
      return r?.configs ?? []
    }
    const loggers = await read()
    expect(loggers.length).toBeGreaterThan(10)
    expect(loggers.every((c) => c.source === 'DYNAMIC_BROKER_LOGGER_CONFIG' && c.documentation === undefined)).toBe(true)
    expect(loggers.find((c) => c.name === 'root')?.value).toMatch(/^(TRACE|DEBUG|INFO|WARN|ERROR|FATAL|OFF)$/)
    const level = async () => (await read()).find((c) => c.name === logger)?.value
    const before = await level()
    expect(before).toMatch(/^(TRACE|DEBUG|INFO|WARN)$/)
    try {
      throwIfFailed(
        await admin.incrementalAlterConfigs([
          { type: 'broker-logger', name: brokerId, ops: [{ name: logger, value: 'ERROR', op: 'set' }] },
        ]),
      )
      await expect.poll(level, eventually).toBe('ERROR')
    } finally {
      throwIfFailed(await admin.incrementalAlterConfigs([{ type: 'broker-logger', name: brokerId, ops: [{ name: logger, op: 'delete' }] }]))
    }
    await expect.poll(level, eventually).toBe(before)
  })

  it('validateOnly checks the changes and applies nothing', async () => {
    const topic = uniqueTopic('cfg-validate')
    await createTopic(topic)
    const before = await topicConfig(topic, 'retention.ms')
    const r = await admin.incrementalAlterConfigs(
      [
        { type: 'topic', name: topic, ops: [{ name: 'retention.ms', value: '1234', op: 'set' }] },
        { type: 'topic', name: topic.replace('cfg-', 'cfg2-'), ops: [{ name: 'retention.ms', value: '1', op: 'set' }] },
      ],
      { validateOnly: true },
    )
    expect(r[0]?.error).toBeNull()
    expect(r[1]?.error?.code).toBe('UNKNOWN_TOPIC_OR_PARTITION')
    // A real change after it, once visible, shows that the validated one was never applied
    // (changes reach the broker in order).
    throwIfFailed(
      await admin.incrementalAlterConfigs([{ type: 'topic', name: topic, ops: [{ name: 'segment.ms', value: '600000', op: 'set' }] }]),
    )
    await expect.poll(async () => (await topicConfig(topic, 'segment.ms')).value, eventually).toBe('600000')
    expect(await topicConfig(topic, 'retention.ms')).toEqual(before)
    const [invalid] = await admin.incrementalAlterConfigs(
      [{ type: 'topic', name: topic, ops: [{ name: 'retention.ms', value: 'soon', op: 'set' }] }],
      { validateOnly: true },
    )
    expect(invalid?.error?.code).toBe('INVALID_CONFIG')
  })

  it('a group config (KIP-848): set before the group exists, read back as GROUP_CONFIG, delete', async () => {
    const group = uniqueTopic('cfg-group')
    const set = await admin.incrementalAlterConfigs([
      { type: 'group', name: group, ops: [{ name: 'consumer.session.timeout.ms', value: '6000', op: 'set' }] },
    ])
    expect(set.map((r) => r.error)).toEqual([null])
    const read = async () => {
      const [r] = await admin.describeConfigs([{ type: 'group', name: group, configNames: ['consumer.session.timeout.ms'] }])
      expect(r?.error).toBeNull()
      return r?.configs.find((c) => c.name === 'consumer.session.timeout.ms')
    }
    expect(await read()).toMatchObject({ value: '6000', source: 'GROUP_CONFIG', isDefault: false })
    // Below the broker's floor (group.consumer.min.session.timeout.ms): that group's error.
    const [low] = await admin.incrementalAlterConfigs([
      { type: 'group', name: group, ops: [{ name: 'consumer.session.timeout.ms', value: '10', op: 'set' }] },
    ])
    expect(low?.error?.code).toBe('INVALID_CONFIG')
    expect(low?.error?.message).toContain(`group \`${group}\``)
    throwIfFailed(
      await admin.incrementalAlterConfigs([{ type: 'group', name: group, ops: [{ name: 'consumer.session.timeout.ms', op: 'delete' }] }]),
    )
    expect((await read())?.source).not.toBe('GROUP_CONFIG')
  })

  it('bad items fail alone, each with a typed error naming it', async () => {
    const good = uniqueTopic('cfg-good')
    const other = uniqueTopic('cfg-other')
    await createTopic(good)
    await createTopic(other)
    const missing = uniqueTopic('cfg-missing')

    const described = await admin.describeConfigs([
      { type: 'topic', name: missing },
      { type: 'topic', name: good },
      { type: 'broker', name: '9999' },
      { type: 'broker', name: 'one' },
      { type: 'topic', name: 'bad name' },
      { type: 'consumer-group' as never, name: 'g' },
      { type: 'broker-logger', name: brokerId },
    ])
    expect(described.map((r) => [r.type, r.name, r.error?.code ?? null])).toEqual([
      ['topic', missing, 'UNKNOWN_TOPIC_OR_PARTITION'],
      ['topic', good, null],
      ['broker', '9999', 'BROKER_NOT_AVAILABLE'],
      ['broker', 'one', 'INVALID_ARGUMENT'],
      ['topic', 'bad name', 'INVALID_ARGUMENT'],
      ['consumer-group', 'g', 'INVALID_ARGUMENT'],
      ['broker-logger', brokerId, null],
    ])
    expect(described[0]?.error).toMatchObject({ topic: missing, message: expect.stringContaining(`topic \`${missing}\``) })
    expect(described[1]?.configs.length).toBeGreaterThan(10)
    expect(described[2]?.error?.message).toContain('broker 9999 is not in the cluster')
    expect(described[5]?.error?.message).toContain('unknown resource type')
    let thrown: unknown
    try {
      throwIfFailed(described)
    } catch (e) {
      thrown = e
    }
    expect(thrown).toBeInstanceOf(AdminItemsError)
    expect((thrown as AdminItemsError).errors).toHaveLength(5)
    expect((thrown as AdminItemsError).message).toContain('bad name')

    const third = uniqueTopic('cfg-third')
    const altered = await admin.incrementalAlterConfigs([
      { type: 'topic', name: good, ops: [{ name: 'no.such.config', value: '1', op: 'set' }] },
      { type: 'topic', name: other, ops: [{ name: 'retention.ms', value: '7200000', op: 'set' }] },
      { type: 'topic', name: third, ops: [{ name: 'retention.ms', value: '1', op: 'put' as never }] },
      { type: 'topic', name: other.replace('other', 'nope'), ops: [{ name: 'retention.ms', value: '1', op: 'set' }] },
      { type: 'broker-logger', name: brokerId, ops: [{ name: 'kafka.server.ReplicaManager', op: 'set' }] },
      // Brokers accept unknown (plugin) configs; a static one is refused.
      { type: 'broker', name: brokerId, ops: [{ name: 'log.retention.hours', value: '1', op: 'set' }] },
    ])
    expect(altered.map((r) => r.error?.code ?? null)).toEqual([
      expect.stringMatching(/^INVALID_(CONFIG|REQUEST)$/),
      null,
      'INVALID_ARGUMENT',
      'UNKNOWN_TOPIC_OR_PARTITION',
      'INVALID_ARGUMENT',
      expect.stringMatching(/^INVALID_(CONFIG|REQUEST)$/),
    ])
    expect(altered[0]?.error?.message).toContain('no.such.config')
    expect(altered[2]?.error?.message).toContain('`put` is not an op')
    expect(altered[4]?.error?.message).toContain('`set` needs a value')
    expect(altered[5]?.error?.message).toContain(`broker \`${brokerId}\`: INVALID_REQUEST`)
    expect(altered[5]?.error?.message).toContain('log.retention.hours')
    await expect.poll(async () => (await topicConfig(other, 'retention.ms')).value, eventually).toBe('7200000')

    // The same resource twice: ambiguous, both refused.
    const twice = await admin.incrementalAlterConfigs([
      { type: 'topic', name: good, ops: [{ name: 'retention.ms', value: '1000', op: 'set' }] },
      { type: 'topic', name: good, ops: [{ name: 'retention.ms', value: '2000', op: 'set' }] },
    ])
    expect(twice.map((r) => r.error?.code)).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT'])
    expect((await topicConfig(good, 'retention.ms')).source).toBe('DEFAULT_CONFIG')
  })

  it('a malformed call rejects with INVALID_ARGUMENT naming the field', async () => {
    await expect(admin.describeConfigs('t' as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' })
    await expect(admin.describeConfigs([{ type: 'topic', name: 3 as never }])).rejects.toMatchObject({
      code: 'INVALID_ARGUMENT',
      message: expect.stringContaining('resources[0].name must be a string'),
    })
    await expect(admin.describeConfigs([{ type: 'topic', name: 't' }], { includeSynonyms: 'yes' as never })).rejects.toMatchObject({
      message: expect.stringContaining('options.includeSynonyms must be a boolean'),
    })
    await expect(admin.incrementalAlterConfigs([{ type: 'topic', name: 't', ops: { name: 'x' } as never }])).rejects.toMatchObject({
      message: expect.stringContaining('resources[0].ops must be an array'),
    })
    await expect(
      admin.incrementalAlterConfigs([{ type: 'topic', name: 't', ops: [{ name: 'x', value: 5 as never, op: 'set' }] }]),
    ).rejects.toMatchObject({ message: expect.stringContaining('ops[0].value must be a string') })
  })
})
