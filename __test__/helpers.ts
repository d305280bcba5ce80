import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { Admin } from '../ts/index'

/** Bootstrap address of the test broker (started by global-setup or KAFKA_BROKERS). */
export function brokers(): string {
  return inject('kafkaBrokers')
}

/** A topic name no other test uses. */
export function uniqueTopic(prefix: string): string {
  return `${prefix}-${Date.now()}-${randomBytes(4).toString('hex')}`
}

/** Creates a topic and waits for its leaders. */
export async function createTopic(
  topic: string,
  numPartitions = 1,
  configs: Record<string, string> = {},
  bootstrap: string = brokers(),
): Promise<void> {
  const admin = new Admin({ bootstrapServers: bootstrap })
  try {
    await admin.createTopics([{ topic, numPartitions, replicationFactor: 1, configs }])
  } finally {
    await admin.close()
  }
}

/** The scripts/kafka.mjs module (broker control and Java oracles). */
export async function kafkaScript(): Promise<any> {
  // @ts-expect-error -- plain ESM script without type declarations
  return import('../scripts/kafka.mjs')
}
