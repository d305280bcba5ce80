/** `nkafka metadata`: brokers, controller and topics with their partition counts. */
import { throwIfFailed } from '../index'
import { COMMON_HELP, flag, noExtra, parse } from './args'
import { table, toJson } from './output'
import { withAdmin } from './topics'

export const METADATA_HELP = `Usage: nkafka metadata [--json] [--internal]

The cluster id, the brokers (the controller marked), and every topic with its partition
count and replication factor (--internal: with internal topics).

${COMMON_HELP}`

const OPTIONS = { json: { type: 'boolean' }, internal: { type: 'boolean' } } as const

export async function metadata(argv: string[]): Promise<number> {
  const cmd = 'metadata'
  const p = parse(argv, OPTIONS, cmd)
  if (p.values.help) {
    process.stdout.write(METADATA_HELP)
    return 0
  }
  noExtra(p, 0, cmd)
  const { cluster, topics } = await withAdmin(p, cmd, async (admin) => {
    const cluster = await admin.describeCluster()
    const names = await admin.listTopics({ includeInternal: flag(p, 'internal') })
    const topics = names.length > 0 ? throwIfFailed(await admin.describeTopics(names)) : []
    return { cluster, topics }
  })
  const brokers = [...cluster.brokers].sort((a, b) => a.nodeId - b.nodeId)
  if (flag(p, 'json')) {
    const out = {
      clusterId: cluster.clusterId,
      controllerId: cluster.controllerId,
      brokers,
      topics: topics.map((t) => ({
        topic: t.topic,
        topicId: t.topicId,
        isInternal: t.isInternal,
        partitions: t.partitions.map((x) => ({ partition: x.partition, leader: x.leader, replicas: x.replicas, isr: x.isr })),
      })),
    }
    process.stdout.write(`${toJson(out)}\n`)
    return 0
  }
  process.stdout.write(`cluster ${cluster.clusterId ?? '-'}  controller ${cluster.controllerId}\n`)
  process.stdout.write(
    table(
      ['broker', 'host', 'port', 'rack', 'controller'],
      brokers.map((b) => [b.nodeId, b.host, b.port, b.rack ?? '-', b.nodeId === cluster.controllerId ? 'yes' : '']),
    ),
  )
  process.stdout.write(
    table(
      ['topic', 'partitions', 'replication'],
      topics.map((t) => [t.topic, t.partitions.length, t.partitions[0]?.replicas.length ?? 0]),
    ),
  )
  return 0
}
