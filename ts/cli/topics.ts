/** `nkafka topics list|describe|create|delete`, and the admin client the admin subcommands share. */
import { Admin, type ClientConfig, throwIfFailed } from '../index'
import { COMMON_HELP, clientConfig, flag, int, keyValue, list, makeClient, noExtra, type Parsed, parse, UsageError } from './args'
import { table, toJson } from './output'

export const TOPICS_HELP = `Usage: nkafka topics list [--internal] [--json]
       nkafka topics describe TOPIC... [--json]
       nkafka topics create TOPIC -p PARTITIONS [-r REPLICATION] [--config key=value]...
       nkafka topics delete TOPIC...

  list        topic names, one per line (--internal: with __consumer_offsets etc.)
  describe    partitions with leader, replicas and in-sync replicas
  create      -p partitions (default: the broker's num.partitions), -r replication factor
              (default: the broker's default.replication.factor), --config key=value
              topic configs, repeatable (a --config value without '=' is a config file)
  delete      deletes the topics

${COMMON_HELP}`

/** Runs `fn` with an admin client made from the common flags, closing it after. */
export async function withAdmin<T>(p: Parsed, cmd: string, fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = makeClient(() => new Admin(clientConfig(p, 'admin', cmd) as unknown as ClientConfig))
  try {
    return await fn(admin)
  } finally {
    await admin.close()
  }
}

/** The sub-subcommand (`list` in `topics list`), or a usage error listing the choices. */
export function action(argv: string[], group: string, choices: string[]): [string, string[]] {
  const [first, ...rest] = argv
  if (first === undefined || first === '--help' || first === '-h') return ['help', []]
  if (!choices.includes(first)) throw new UsageError(`${group}: unknown action ${JSON.stringify(first)}; expected ${choices.join(', ')}`)
  return [first, rest]
}

const OPTIONS = {
  internal: { type: 'boolean' },
  json: { type: 'boolean' },
  partitions: { type: 'string', short: 'p' },
  replication: { type: 'string', short: 'r' },
} as const

export async function topics(argv: string[]): Promise<number> {
  const [act, rest] = action(argv, 'topics', ['list', 'describe', 'create', 'delete'])
  if (act === 'help') {
    process.stdout.write(TOPICS_HELP)
    return 0
  }
  const cmd = `topics ${act}`
  const p = parse(rest, OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(TOPICS_HELP)
    return 0
  }
  if (act === 'list') {
    noExtra(p, 0, cmd)
    const names = await withAdmin(p, cmd, (a) => a.listTopics({ includeInternal: flag(p, 'internal') }))
    process.stdout.write(flag(p, 'json') ? `${toJson(names)}\n` : names.map((n) => `${n}\n`).join(''))
    return 0
  }
  if (p.positionals.length === 0) throw new UsageError(`${cmd}: missing topic name`)
  if (act === 'describe') {
    const described = await withAdmin(p, cmd, (a) => a.describeTopics(p.positionals))
    if (flag(p, 'json')) process.stdout.write(`${toJson(described)}\n`)
    else {
      for (const t of described) {
        if (t.error) continue
        const rf = t.partitions[0]?.replicas.length ?? 0
        process.stdout.write(
          `topic ${t.topic}  id ${t.topicId ?? '-'}  partitions ${t.partitions.length}  replication ${rf}${t.isInternal ? '  internal' : ''}\n`,
        )
        const rows = t.partitions.map((x) => [
          x.partition,
          x.leader,
          x.replicas.join(','),
          x.isr.join(','),
          x.offlineReplicas.join(',') || '-',
        ])
        process.stdout.write(table(['partition', 'leader', 'replicas', 'isr', 'offline'], rows))
      }
    }
    throwIfFailed(described)
    return 0
  }
  if (act === 'create') {
    const numPartitions = int(p, 'partitions', cmd, 1)
    const replicationFactor = int(p, 'replication', cmd, 1, 32767)
    const configs: Record<string, string> = {}
    // `--config` is also the common config-file flag: values with '=' are topic configs.
    for (const c of list(p, 'config')) {
      if (c.includes('=')) {
        const [k, v] = keyValue(c, '--config', cmd)
        configs[k] = v
      }
    }
    const fileFlags = { ...p, values: { ...p.values, config: list(p, 'config').filter((c) => !c.includes('=')) } }
    const results = await withAdmin(fileFlags, cmd, (a) =>
      a.createTopics(p.positionals.map((topic) => ({ topic, numPartitions, replicationFactor, configs }))),
    )
    for (const r of results) {
      if (!r.error) process.stdout.write(`created ${r.topic} (${r.numPartitions} partitions, replication ${r.replicationFactor})\n`)
    }
    throwIfFailed(results)
    return 0
  }
  const results = await withAdmin(p, cmd, (a) => a.deleteTopics(p.positionals))
  for (const r of results) if (!r.error) process.stdout.write(`deleted ${r.topic}\n`)
  throwIfFailed(results)
  return 0
}
