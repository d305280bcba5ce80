/**
 * Starts the project's local Kafka broker (scripts/kafka.mjs) for the test run unless
 * KAFKA_BROKERS points at one, and stops it afterwards if it started it.
 */
import type { TestProject } from 'vitest/node'

declare module 'vitest' {
  export interface ProvidedContext {
    kafkaBrokers: string
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.KAFKA_BROKERS?.trim()
  if (existing) {
    project.provide('kafkaBrokers', existing)
    return async () => {}
  }
  // @ts-expect-error -- plain ESM script without type declarations
  const kafka = await import('../scripts/kafka.mjs')
  const started = await kafka.startKafka({ mode: 'single', fresh: true, quiet: true, autoCreateTopics: false })
  project.provide('kafkaBrokers', started.bootstrap)
  return async () => {
    await started.stop()
  }
}
