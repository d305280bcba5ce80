import { randomBytes } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { inject } from 'vitest'
import { Admin, Consumer, type ConsumerConfig, type ConsumerOptions, type Message, Producer, throwIfFailed } from '../ts/index'

/** Bootstrap address of the test broker (started by global-setup or KAFKA_BROKERS). */
export function brokers(): string {
  return inject('kafkaBrokers')
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now()}-${randomBytes(4).toString('hex')}`
}

/** Creates a topic; it has a leader for every partition on return. */
export async function createTopic(
  topic: string,
  numPartitions = 1,
  configs: Record<string, string> = {},
  bootstrap: string = brokers(),
): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap })
  try {
    throwIfFailed(await admin.createTopics([{ topic, numPartitions, replicationFactor: 1, configs }]))
  } finally {
    await admin.close()
  }
}

/** The scripts/kafka.mjs module (broker control and Java oracles). */
export async function kafkaScript(): Promise<any> {
  // @ts-expect-error -- plain ESM script without type declarations
  return import('../scripts/kafka.mjs')
}

/**
 * The 3-broker `cluster` (RF 3, min.insync.replicas 2): the one npm test started, named
 * by KAFKA_CLUSTER_JSON, else (a file run alone) started or reused here; `stop` is set
 * only when this call started it.
 */
export async function clusterHandle(): Promise<any> {
  const file = process.env.KAFKA_CLUSTER_JSON?.trim()
  if (file) return JSON.parse(readFileSync(file, 'utf8'))
  const kafka = await kafkaScript()
  const handle = await kafka.startKafka({ mode: 'cluster', quiet: true, autoCreateTopics: false })
  return handle.reused ? { ...handle, stop: undefined } : handle
}

/** Waits (polling) until `cond` holds; throws naming `what` after `timeoutMs`. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs = 60_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Produces records `from..to` (key `k<i>`, value `<i>`) and waits for them all. */
export async function produceRange(topic: string, from: number, to: number): Promise<void> {
  const p = new Producer({ bootstrapServers: brokers(), lingerMs: 2 })
  const all = []
  for (let i = from; i < to; i += 200) {
    all.push(
      p.send({ topic, messages: Array.from({ length: Math.min(200, to - i) }, (_, j) => ({ key: `k${i + j}`, value: String(i + j) })) }),
    )
  }
  await Promise.all(all)
  await p.close()
}

/**
 * A group member on `topic` that records what it reads (values as numbers) and its
 * rebalance events (`assigned:0,1`, `revoked:2`), running `run()` in the background.
 * `config` is the protocol's settings; the group tests of each protocol wrap this.
 */
export function groupMember(config: ConsumerConfig, topic: string, opts: ConsumerOptions<Buffer | null, string> = {}) {
  const seen: number[] = []
  const events: string[] = []
  const c = new Consumer<Buffer | null, string>(
    { autoOffsetReset: 'earliest', autoCommitIntervalMs: 500, ...config },
    {
      valueDeserializer: 'string',
      onAssigned: async (p) => {
        events.push(`assigned:${p.map((x) => x.partition).join(',')}`)
        await opts.onAssigned?.(p)
      },
      onRevoked: async (p) => {
        events.push(`revoked:${p.map((x) => x.partition).join(',')}`)
        await opts.onRevoked?.(p)
      },
      ...(opts.onLost ? { onLost: opts.onLost } : {}),
    },
  )
  let running: Promise<void> = Promise.resolve()
  let failure: unknown = null
  return {
    c,
    seen,
    events,
    /** What run() rejected with, once it has. */
    failure: () => failure,
    async start(eachMessage?: (m: Message<Buffer | null, string>) => Promise<void>) {
      await c.subscribe([topic])
      running = c.run({
        eachMessage: async ({ message }) => {
          if (eachMessage) await eachMessage(message)
          seen.push(Number(message.value))
        },
      })
      running.catch((e) => {
        failure = e
      })
    },
    async stop() {
      c.stop()
      await running.catch(() => {})
      await c.close()
    },
  }
}

/** Sets a group's own configs (KIP-848/932 group configs) through the Admin client. */
export async function setGroupConfig(group: string, configs: Record<string, string | number>): Promise<void> {
  const admin = new Admin({ bootstrapServers: brokers() })
  try {
    const ops = Object.entries(configs).map(([name, value]) => ({ name, value: String(value), op: 'set' as const }))
    throwIfFailed(await admin.incrementalAlterConfigs([{ type: 'group', name: group, ops }]))
  } finally {
    await admin.close()
  }
}
