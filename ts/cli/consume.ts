/** `nkafka consume`: a group or explicit partitions, from/to offsets or timestamps, kcat-style output. */
import { Admin, type ClientConfig, Consumer, type ConsumerConfig, type Message, type OffsetSpec, throwIfFailed } from '../index'
import { COMMON_HELP, clientConfig, flag, int, makeClient, noExtra, type Parsed, parse, required, str, UsageError } from './args'
import { compileFormat, jsonLine, unescapeText, Writer } from './output'

export const CONSUME_HELP = `Usage: nkafka consume -t TOPIC [-g GROUP | -p PARTITIONS] [options]

Writes the records of a topic to stdout: the value and a newline by default, or as a
format string (-f) or JSON lines (--json).

  -t, --topic TOPIC         topic to read (required)
  -g, --group GROUP         read as a member of this consumer group (commits offsets)
  -p, --partitions LIST     read only these partitions (e.g. 0,2); default all, no group
  -o, --offset START        beginning, end (default), OFFSET, -N (N before the end) or
                            @TIMESTAMP (ms since the epoch); with -g: beginning or end,
                            for partitions the group has no offset for
      --to END              stop each partition before OFFSET or at the first record
                            with a timestamp >= @TIMESTAMP (not with -g)
  -c, --count N             exit after N records
  -e, --exit                exit once every partition reached the end it had at start
  -f, --format FMT          kcat-style: %t topic %p partition %o offset %k key %s value
                            %h headers (k=v,...) %T timestamp %K/%S key/value length
                            (-1 for null) %% percent; \\n \\t \\r \\0 escapes
  -K, --key-delimiter D     print key D value (shorthand for -f '%kD%s\\n')
      --json                one JSON object per record (key/value/headers as UTF-8 text)
      --base64              with --json: key, value and header values in base64

${COMMON_HELP}`

const OPTIONS = {
  topic: { type: 'string', short: 't' },
  group: { type: 'string', short: 'g' },
  partitions: { type: 'string', short: 'p' },
  offset: { type: 'string', short: 'o' },
  to: { type: 'string' },
  count: { type: 'string', short: 'c' },
  exit: { type: 'boolean', short: 'e' },
  format: { type: 'string', short: 'f' },
  'key-delimiter': { type: 'string', short: 'K' },
  json: { type: 'boolean' },
  base64: { type: 'boolean' },
} as const

/** An offset flag's meaning. */
type Position =
  | { kind: 'beginning' }
  | { kind: 'end' }
  | { kind: 'offset'; offset: number }
  | { kind: 'fromEnd'; n: number }
  | { kind: 'time'; ms: number }

function position(v: string, what: string, cmd: string): Position {
  if (v === 'beginning') return { kind: 'beginning' }
  if (v === 'end') return { kind: 'end' }
  if (/^@\d+$/.test(v)) return { kind: 'time', ms: Number(v.slice(1)) }
  if (/^-\d+$/.test(v)) return { kind: 'fromEnd', n: Number(v.slice(1)) }
  if (/^\d+$/.test(v) && Number.isSafeInteger(Number(v))) return { kind: 'offset', offset: Number(v) }
  throw new UsageError(`${cmd}: ${what} expects beginning, end, OFFSET, -N or @TIMESTAMP, got ${JSON.stringify(v)}`)
}

/** `-o -10` would look like a flag to parseArgs: joined into `--offset=-10` first. */
function joinNegative(argv: string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    const next = argv[i + 1]
    if ((a === '-o' || a === '--offset') && next !== undefined && /^-\d+$/.test(next)) {
      out.push(`--offset=${next}`)
      i++
    } else out.push(a)
  }
  return out
}

function outputOf(p: Parsed, cmd: string): (m: Message) => Buffer {
  const format = str(p, 'format')
  const keyDelimiter = str(p, 'key-delimiter')
  const chosen = [format !== undefined, keyDelimiter !== undefined, flag(p, 'json')].filter(Boolean).length
  if (chosen > 1) throw new UsageError(`${cmd}: -f/--format, -K/--key-delimiter and --json exclude each other`)
  if (flag(p, 'base64') && !flag(p, 'json')) throw new UsageError(`${cmd}: --base64 needs --json`)
  if (flag(p, 'json')) return jsonLine(flag(p, 'base64'))
  if (keyDelimiter !== undefined) return compileFormat(`%k${unescapeText(keyDelimiter).replace(/%/g, '%%')}%s\n`)
  return compileFormat(format ?? '%s\n')
}

const key = (topic: string, partition: number) => `${topic}\0${partition}`

export async function consume(argv: string[]): Promise<number> {
  const cmd = 'consume'
  const p = parse(joinNegative(argv), OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(CONSUME_HELP)
    return 0
  }
  noExtra(p, 0, cmd)
  const topic = required(p, 'topic', cmd, 't')
  const group = str(p, 'group')
  const partitionsFlag = str(p, 'partitions')
  if (group !== undefined && partitionsFlag !== undefined) throw new UsageError(`${cmd}: -g/--group and -p/--partitions exclude each other`)
  const start = position(str(p, 'offset') ?? 'end', '-o/--offset', cmd)
  const toFlag = str(p, 'to')
  const to = toFlag === undefined ? undefined : position(toFlag, '--to', cmd)
  if (to !== undefined && to.kind !== 'offset' && to.kind !== 'time')
    throw new UsageError(`${cmd}: --to expects OFFSET or @TIMESTAMP, got ${JSON.stringify(toFlag)}`)
  if (group !== undefined) {
    if (start.kind !== 'beginning' && start.kind !== 'end')
      throw new UsageError(`${cmd}: with -g, -o takes beginning or end (where partitions without a committed offset start)`)
    if (to !== undefined) throw new UsageError(`${cmd}: --to needs explicit partitions, not -g`)
  }
  let partitions: number[] | undefined
  if (partitionsFlag !== undefined) {
    partitions = partitionsFlag.split(',').map((s) => {
      const n = Number(s)
      if (s.trim() === '' || !Number.isInteger(n) || n < 0)
        throw new UsageError(`${cmd}: -p/--partitions expects a list like 0,1,2, got ${JSON.stringify(partitionsFlag)}`)
      return n
    })
  }
  const count = int(p, 'count', cmd, 1)
  const exitAtEnd = flag(p, 'exit')
  const render = outputOf(p, cmd)
  const base = clientConfig(p, 'consumer', cmd)
  const config = { ...base } as unknown as ConsumerConfig
  if (group !== undefined) {
    config.groupId = group
    config.autoOffsetReset = start.kind === 'beginning' ? 'earliest' : 'latest'
  }

  // Offsets are looked up with an admin client: partitions, starts and ends.
  const { bootstrapServers, clientId, ssl, sasl, ...rest } = base as unknown as ClientConfig & Record<string, unknown>
  const adminConfig: ClientConfig = { bootstrapServers, clientId, ssl, sasl }
  if (typeof rest.requestTimeoutMs === 'number') adminConfig.requestTimeoutMs = rest.requestTimeoutMs
  const admin = makeClient(() => new Admin(adminConfig))
  const offsetsOf = async (parts: number[], spec: OffsetSpec) =>
    new Map(
      throwIfFailed(await admin.listOffsets(parts.map((partition) => ({ topic, partition, spec })))).map((o) => [
        o.partition,
        Number(o.offset),
      ]),
    )

  /** Per partition: read before this offset (exclusive), and records before this timestamp. */
  const limit = new Map<string, number>()
  let timeLimit = Number.POSITIVE_INFINITY
  const done = new Set<string>()
  let consumer: Consumer | undefined
  let printed = 0
  let stopTimer: NodeJS.Timeout | undefined
  // The reader went away (`| head`): stop, even while no records arrive.
  const writer = new Writer(process.stdout, () => consumer?.stop())
  const onSignal = () => consumer?.stop()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    consumer = makeClient(
      () =>
        new Consumer(config, {
          onAssigned: async (assigned) => {
            // Partitions of a group arrive here; explicit ones got their limits at assign().
            if (!exitAtEnd || group === undefined) return
            const ends = await offsetsOf(
              assigned.filter((a) => a.topic === topic).map((a) => a.partition),
              'latest',
            )
            for (const [partition, end] of ends) limit.set(key(topic, partition), end)
          },
        }),
    )
    const c = consumer
    if (group !== undefined) {
      await c.subscribe([topic])
    } else {
      const [described] = await admin.describeTopics([topic])
      if (described?.error) throw described.error
      const all = (described?.partitions ?? []).map((x) => x.partition).sort((a, b) => a - b)
      for (const part of partitions ?? []) {
        if (!all.includes(part)) throw new UsageError(`${cmd}: topic ${topic} has no partition ${part} (it has ${all.length})`)
      }
      const parts = partitions ?? all
      const earliest = await offsetsOf(parts, 'earliest')
      const latest = await offsetsOf(parts, 'latest')
      const at = start.kind === 'time' ? await offsetsOf(parts, { timestamp: start.ms }) : undefined
      const toAt = to?.kind === 'time' ? await offsetsOf(parts, { timestamp: to.ms }) : undefined
      if (to?.kind === 'time') timeLimit = to.ms
      const assignment = parts.map((partition) => {
        const lo = earliest.get(partition) ?? 0
        const hi = latest.get(partition) ?? 0
        let offset: number
        if (start.kind === 'beginning') offset = lo
        else if (start.kind === 'end') offset = hi
        else if (start.kind === 'offset') offset = start.offset
        else if (start.kind === 'fromEnd') offset = Math.max(lo, hi - start.n)
        else offset = (at?.get(partition) ?? -1) < 0 ? hi : (at?.get(partition) as number)
        let stop = Number.POSITIVE_INFINITY
        if (to?.kind === 'offset') stop = to.offset
        const t = toAt?.get(partition)
        if (t !== undefined && t >= 0) stop = t
        if (exitAtEnd) stop = Math.min(stop, hi)
        if (stop !== Number.POSITIVE_INFINITY) limit.set(key(topic, partition), stop)
        if (offset >= stop) done.add(key(topic, partition))
        return { topic, partition, offset }
      })
      const live = assignment.filter((a) => !done.has(key(a.topic, a.partition)))
      if (live.length === 0) return 0
      c.assign(live)
    }

    const finish = (t: string, partition: number) => {
      const k = key(t, partition)
      if (done.has(k)) return
      done.add(k)
      c.pause([{ topic: t, partition }])
    }
    /** With a limit on every partition: stop once each is reached (also for partitions that get no records). */
    const allDone = () => {
      const owned = c.assignment()
      if (owned.length === 0 || limit.size === 0) return false
      for (const a of owned) {
        const k = key(a.topic, a.partition)
        if (done.has(k)) continue
        const end = limit.get(k)
        if (end === undefined) return false
        const pos = c.position(a)
        if (pos === null || Number(pos) < end) return false
        finish(a.topic, a.partition)
      }
      return true
    }
    stopTimer = setInterval(() => {
      if (allDone()) c.stop()
    }, 100)
    for await (const m of c) {
      const k = key(m.topic, m.partition)
      const end = limit.get(k)
      if ((end !== undefined && m.offsetNumber >= end) || m.timestamp >= timeLimit) {
        finish(m.topic, m.partition)
        if (allDone()) break
        continue
      }
      writer.write(render(m))
      printed++
      if (count !== undefined && printed >= count) break
      if (end !== undefined && m.offsetNumber + 1 >= end) {
        finish(m.topic, m.partition)
        if (allDone()) break
      }
      await writer.drained()
      if (writer.closed) break
    }
  } finally {
    clearInterval(stopTimer)
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
    await writer.end()
    try {
      await consumer?.close()
    } finally {
      await admin.close()
    }
  }
  return 0
}
