/** `nkafka groups list|describe|lag|reset-offsets`. */
import { type Admin, type GroupOffsets, type OffsetSpec, throwIfFailed } from '../index'
import { COMMON_HELP, flag, list, noExtra, parse, str, UsageError } from './args'
import { table, toJson } from './output'
import { action, withAdmin } from './topics'

export const GROUPS_HELP = `Usage: nkafka groups list [--json]
       nkafka groups describe GROUP [--json]
       nkafka groups lag GROUP [--json]
       nkafka groups reset-offsets GROUP (--topic T... | --all-topics) TARGET [--execute]

  list           every group: id, state, type, protocol type
  describe       state, assignor, coordinator, members and their partitions, then the
                 committed offsets with lag
  lag            committed offset, end offset and lag per partition, and the total
  reset-offsets  new committed offsets for the group's partitions of --topic (repeatable)
                 or of every topic it has offsets for (--all-topics); TARGET is one of
                 --to-earliest, --to-latest, --to-offset N, --to-datetime TIME (ISO 8601
                 or ms since the epoch). Prints the plan; changes nothing without
                 --execute (as kafka-consumer-groups.sh). The group must have no members.

${COMMON_HELP}`

const OPTIONS = {
  json: { type: 'boolean' },
  topic: { type: 'string', multiple: true },
  'all-topics': { type: 'boolean' },
  'to-earliest': { type: 'boolean' },
  'to-latest': { type: 'boolean' },
  'to-offset': { type: 'string' },
  'to-datetime': { type: 'string' },
  execute: { type: 'boolean' },
} as const

async function offsetsOf(admin: Admin, group: string): Promise<GroupOffsets> {
  const [g] = await admin.listConsumerGroupOffsets([{ groupId: group }])
  if (!g) throw new Error(`no offsets result for group ${group}`)
  if (g.error) throw g.error
  return g
}

function lagRows(g: GroupOffsets): { rows: string[][]; total: bigint } {
  let total = 0n
  const sorted = [...g.partitions].sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
  const rows = sorted.map((o) => {
    if (o.lag !== null) total += o.lag
    const end = o.lag !== null && o.offset >= 0n ? String(o.offset + o.lag) : '-'
    return [
      o.topic,
      String(o.partition),
      o.offset >= 0n ? String(o.offset) : '-',
      end,
      o.lag === null ? '-' : String(o.lag),
      o.error ? o.error.code : '',
    ]
  })
  return { rows, total }
}

export async function groups(argv: string[]): Promise<number> {
  const [act, rest] = action(argv, 'groups', ['list', 'describe', 'lag', 'reset-offsets'])
  if (act === 'help') {
    process.stdout.write(GROUPS_HELP)
    return 0
  }
  const cmd = `groups ${act}`
  const p = parse(rest, OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(GROUPS_HELP)
    return 0
  }
  const json = flag(p, 'json')
  if (act === 'list') {
    noExtra(p, 0, cmd)
    const listing = await withAdmin(p, cmd, (a) => a.listGroups())
    const sorted = [...listing.groups].sort((a, b) => a.groupId.localeCompare(b.groupId))
    if (json) process.stdout.write(`${toJson(sorted)}\n`)
    else
      process.stdout.write(
        table(
          ['group', 'state', 'type', 'protocol'],
          sorted.map((g) => [g.groupId, g.state, g.type || '-', g.protocolType || '-']),
        ),
      )
    // A broker that could not be asked makes the list incomplete: say so, and fail.
    if (listing.errors.length > 0) throw listing.errors[0]
    return 0
  }
  const group = p.positionals[0]
  if (group === undefined) throw new UsageError(`${cmd}: missing group id`)
  noExtra(p, 1, cmd)
  if (act === 'describe') {
    return withAdmin(p, cmd, async (admin) => {
      const [d] = await admin.describeGroups([group])
      if (!d) throw new Error(`no result for group ${group}`)
      if (d.error) throw d.error
      const offsets = await offsetsOf(admin, group)
      if (json) {
        process.stdout.write(`${toJson({ ...d, offsets: offsets.partitions })}\n`)
        return 0
      }
      process.stdout.write(
        `group ${d.groupId}  state ${d.state}  type ${d.type || '-'}  protocol ${d.protocolType || '-'}  assignor ${d.partitionAssignor || '-'}  coordinator ${d.coordinator}\n`,
      )
      const members = d.members.map((m) => [
        m.memberId,
        m.clientId,
        m.host,
        (m.assignment ?? []).map((a) => `${a.topic}:${a.partition}`).join(',') || '-',
      ])
      process.stdout.write(members.length > 0 ? table(['member', 'client', 'host', 'assignment'], members) : 'no members\n')
      const { rows, total } = lagRows(offsets)
      if (rows.length > 0) {
        process.stdout.write(table(['topic', 'partition', 'committed', 'end', 'lag', 'error'], rows))
        process.stdout.write(`total lag ${total}\n`)
      }
      return 0
    })
  }
  if (act === 'lag') {
    const offsets = await withAdmin(p, cmd, (admin) => offsetsOf(admin, group))
    const { rows, total } = lagRows(offsets)
    if (json) process.stdout.write(`${toJson({ groupId: group, totalLag: total, partitions: offsets.partitions })}\n`)
    else {
      process.stdout.write(table(['topic', 'partition', 'committed', 'end', 'lag', 'error'], rows))
      process.stdout.write(`total lag ${total}\n`)
    }
    return 0
  }
  // reset-offsets
  const targets = ['to-earliest', 'to-latest', 'to-offset', 'to-datetime'].filter((t) => p.values[t] !== undefined)
  if (targets.length !== 1)
    throw new UsageError(`${cmd}: give exactly one of --to-earliest, --to-latest, --to-offset N, --to-datetime TIME`)
  let spec: OffsetSpec | undefined
  let fixed: bigint | undefined
  if (flag(p, 'to-earliest')) spec = 'earliest'
  else if (flag(p, 'to-latest')) spec = 'latest'
  else if (str(p, 'to-offset') !== undefined) {
    const v = str(p, 'to-offset') as string
    if (!/^\d+$/.test(v)) throw new UsageError(`${cmd}: --to-offset expects a non-negative integer, got ${JSON.stringify(v)}`)
    fixed = BigInt(v)
  } else {
    const v = str(p, 'to-datetime') as string
    const ms = /^\d+$/.test(v) ? Number(v) : Date.parse(v)
    if (!Number.isFinite(ms))
      throw new UsageError(`${cmd}: --to-datetime expects ISO 8601 (2026-01-31T12:00:00Z) or ms since the epoch, got ${JSON.stringify(v)}`)
    spec = { timestamp: ms }
  }
  const topicsFlag = list(p, 'topic')
  if (topicsFlag.length === 0 && !flag(p, 'all-topics')) throw new UsageError(`${cmd}: missing --topic T (or --all-topics)`)
  if (topicsFlag.length > 0 && flag(p, 'all-topics')) throw new UsageError(`${cmd}: --topic and --all-topics exclude each other`)
  return withAdmin(p, cmd, async (admin) => {
    const current = await offsetsOf(admin, group)
    const committed = new Map(current.partitions.map((o) => [`${o.topic}\0${o.partition}`, o.offset]))
    let parts: Array<{ topic: string; partition: number }>
    if (topicsFlag.length > 0) {
      const described = throwIfFailed(await admin.describeTopics(topicsFlag))
      parts = described.flatMap((t) => t.partitions.map((x) => ({ topic: t.topic, partition: x.partition })))
    } else {
      parts = current.partitions.map((o) => ({ topic: o.topic, partition: o.partition }))
    }
    parts.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition)
    let next: bigint[]
    if (fixed !== undefined) {
      // As Kafka's tool: an offset outside the partition's range is clamped into it.
      const lo = throwIfFailed(await admin.listOffsets(parts.map((x) => ({ ...x, spec: 'earliest' as const }))))
      const hi = throwIfFailed(await admin.listOffsets(parts.map((x) => ({ ...x, spec: 'latest' as const }))))
      next = parts.map((_, i) => {
        const l = (lo[i] as { offset: bigint }).offset
        const h = (hi[i] as { offset: bigint }).offset
        const f = fixed as bigint
        if (f < l) return l
        if (f > h) return h
        return f
      })
    } else {
      const found = throwIfFailed(await admin.listOffsets(parts.map((x) => ({ ...x, spec: spec as OffsetSpec }))))
      // A time after the last record: no offset (-1); Kafka's tool moves to the end then.
      const needEnd = found.some((f) => f.offset < 0n)
      const hi = needEnd ? throwIfFailed(await admin.listOffsets(parts.map((x) => ({ ...x, spec: 'latest' as const })))) : []
      next = found.map((f, i) => (f.offset >= 0n ? f.offset : (hi[i] as { offset: bigint }).offset))
    }
    const plan = parts.map((x, i) => ({ ...x, current: committed.get(`${x.topic}\0${x.partition}`) ?? null, offset: next[i] as bigint }))
    const execute = flag(p, 'execute')
    const errors = new Map<string, string>()
    let firstError: Error | null = null
    if (execute) {
      const results = await admin.alterConsumerGroupOffsets(
        group,
        plan.map((x) => ({ topic: x.topic, partition: x.partition, offset: x.offset })),
      )
      for (const r of results) {
        if (r.error) {
          firstError ??= r.error
          errors.set(`${r.topic}\0${r.partition}`, r.error.code)
        }
      }
    }
    const errorOf = (x: { topic: string; partition: number }) => errors.get(`${x.topic}\0${x.partition}`) ?? null
    if (json) process.stdout.write(`${toJson(plan.map((x) => ({ ...x, error: errorOf(x) })))}\n`)
    else {
      const rows = plan.map((x) => [
        x.topic,
        x.partition,
        x.current === null || x.current < 0n ? '-' : x.current,
        x.offset,
        errorOf(x) ?? '',
      ])
      process.stdout.write(table(['topic', 'partition', 'current', 'new', 'error'], rows))
      if (!execute) process.stdout.write(`dry run: nothing changed; add --execute to commit these offsets for group ${group}\n`)
      else if (firstError === null) process.stdout.write(`reset ${plan.length} partitions of group ${group}\n`)
    }
    // Some partitions failed (e.g. UNKNOWN_MEMBER_ID: the group has live members): exit 1.
    if (firstError !== null) throw firstError
    return 0
  })
}
