import { describe, expect, it } from 'vitest'
import { Admin, Consumer, KafkaError } from '../ts/index'
import { brokers, createTopic, uniqueTopic } from './helpers'

async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('admin: groups', () => {
  it('listGroups finds a live classic group with its state and type, and filters by both', async () => {
    const topic = uniqueTopic('ag-list')
    await createTopic(topic, 2)
    const groupId = uniqueTopic('grp-list')
    let assigned = false
    const c = new Consumer(
      { bootstrapServers: brokers(), groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 500 },
      {
        onAssigned: async () => {
          assigned = true
        },
      },
    )
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      c.subscribe([topic])
      const running = c.run({ eachMessage: async () => {} })
      await until(() => assigned, 30_000, 'assignment')

      const all = await admin.listGroups()
      expect(all.errors).toEqual([])
      const g = all.groups.find((x) => x.groupId === groupId)
      expect(g).toMatchObject({ groupId, protocolType: 'consumer', state: 'Stable', type: 'classic' })
      expect(g?.coordinator).toBeGreaterThanOrEqual(0)

      const stable = await admin.listGroups({ states: ['Stable'], types: ['classic'] })
      expect(stable.groups.map((x) => x.groupId)).toContain(groupId)
      const empty = await admin.listGroups({ states: ['Empty'] })
      expect(empty.groups.map((x) => x.groupId)).not.toContain(groupId)
      const share = await admin.listGroups({ types: ['share'] })
      expect(share.groups.map((x) => x.groupId)).not.toContain(groupId)

      c.stop()
      await running
      await c.close()
      // Leaving makes the group Empty (it keeps its committed offsets).
      await until(
        async () => (await admin.listGroups({ states: ['Empty'] })).groups.some((x) => x.groupId === groupId),
        30_000,
        'the group to become Empty',
      )
    } finally {
      await c.close()
      await admin.close()
    }
  })

  it('listGroups rejects a bad filter with a typed error naming it', async () => {
    const admin = new Admin({ bootstrapServers: brokers() })
    try {
      await expect(admin.listGroups({ types: ['classik' as never] })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('`classik` is not a group type'),
      })
      await expect(admin.listGroups({ states: 'Stable' as never })).rejects.toBeInstanceOf(KafkaError)
      await expect(admin.listGroups({ states: 'Stable' as never })).rejects.toMatchObject({
        code: 'INVALID_ARGUMENT',
        message: expect.stringContaining('options.states must be an array'),
      })
    } finally {
      await admin.close()
    }
  })
})
