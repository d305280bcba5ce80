/** `nkafka configs get|set`: topic, broker, broker-logger and group configs. */
import { type AlterConfigOp, type ConfigResourceType, throwIfFailed } from '../index'
import { COMMON_HELP, flag, keyValue, list, parse, UsageError } from './args'
import { table, toJson } from './output'
import { action, withAdmin } from './topics'

export const CONFIGS_HELP = `Usage: nkafka configs get topic|broker|broker-logger|group NAME [KEY...] [--json]
       nkafka configs set topic|broker|broker-logger|group NAME key=value... [--delete KEY]...

  get   every config of the resource (or only KEY...) with its value and source;
        sensitive values are shown as (sensitive)
  set   sets key=value pairs and deletes --delete keys (back to the default), in one
        incremental alter
NAME is a topic name, a broker id (an empty string '' for the cluster-wide broker
defaults), or a group id (KIP-848 group configs such as consumer.session.timeout.ms).

${COMMON_HELP}`

const OPTIONS = { json: { type: 'boolean' }, delete: { type: 'string', multiple: true } } as const
// The resource types are checked here for a clear usage error; the admin client maps them.
const TYPES = ['topic', 'broker', 'broker-logger', 'group']

function resource(cmd: string, positionals: string[]): { type: ConfigResourceType; name: string; rest: string[] } {
  const [type, name, ...rest] = positionals
  if (type === undefined) throw new UsageError(`${cmd}: missing resource type (${TYPES.join(', ')})`)
  if (!TYPES.includes(type)) throw new UsageError(`${cmd}: unknown resource type ${JSON.stringify(type)}; expected ${TYPES.join(', ')}`)
  if (name === undefined) throw new UsageError(`${cmd}: missing ${type} name`)
  return { type: type as ConfigResourceType, name, rest }
}

export async function configs(argv: string[]): Promise<number> {
  const [act, rest] = action(argv, 'configs', ['get', 'set'])
  if (act === 'help') {
    process.stdout.write(CONFIGS_HELP)
    return 0
  }
  const cmd = `configs ${act}`
  const p = parse(rest, OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(CONFIGS_HELP)
    return 0
  }
  const { type, name, rest: args } = resource(cmd, p.positionals)
  if (act === 'get') {
    if (list(p, 'delete').length > 0) throw new UsageError(`${cmd}: --delete is for configs set`)
    const [r] = await withAdmin(p, cmd, (a) => a.describeConfigs([{ type, name, ...(args.length > 0 ? { configNames: args } : {}) }]))
    if (!r) throw new Error(`no result for ${type} ${name}`)
    if (r.error) throw r.error
    const entries = [...r.configs].sort((a, b) => a.name.localeCompare(b.name))
    if (flag(p, 'json')) process.stdout.write(`${toJson(entries)}\n`)
    else
      process.stdout.write(
        table(
          ['name', 'value', 'source'],
          entries.map((e) => [e.name, e.isSensitive ? '(sensitive)' : (e.value ?? '-'), e.source]),
        ),
      )
    return 0
  }
  const ops: AlterConfigOp[] = args.map((kv) => {
    const [k, v] = keyValue(kv, 'configs set', cmd)
    return { name: k, value: v, op: 'set' }
  })
  for (const k of list(p, 'delete')) ops.push({ name: k, op: 'delete' })
  if (ops.length === 0) throw new UsageError(`${cmd}: nothing to change: give key=value pairs or --delete KEY`)
  throwIfFailed(await withAdmin(p, cmd, (a) => a.incrementalAlterConfigs([{ type, name, ops }])))
  process.stdout.write(`updated ${type} ${name}: ${ops.map((o) => (o.op === 'set' ? `${o.name}=${o.value}` : `-${o.name}`)).join(' ')}\n`)
  return 0
}
