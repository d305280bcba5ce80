/**
 * The `diagnostics_channel` surface: what nkafka tells observers (OpenTelemetry, APMs,
 * your own metrics) about its work. Publishing costs one property read when nobody
 * subscribes (`hasSubscribers`), so the hot paths stay as they are.
 *
 * Channels (names are stable API):
 * - `nkafka:producer:send` (TracingChannel, around `send()`): context
 *   `{ topic, messages, clientId }`. `start` runs before any message is handed to the
 *   client, so a subscriber may add headers to `messages` (trace context injection);
 *   `asyncEnd`/`error` when the send settles, with `result` (RecordMetadata[]) or `error`.
 * - `nkafka:producer:produce` (channel, each `produce()` call): `{ topic, key, value,
 *   options, clientId }`; `options` is always an object a subscriber may add `headers` to.
 * - `nkafka:consumer:process` (TracingChannel, around each `run()` handler call):
 *   `{ groupId, clientId, topic, partition, message }` for eachMessage, `{ ..., batch }`
 *   for eachBatch. A `start` subscriber may set `within(fn)` to run the handler inside
 *   its own async context (how the OpenTelemetry span becomes the handler's active one).
 * - `nkafka:consumer:commit` (TracingChannel, around each commit): `{ groupId, clientId,
 *   offsets }` (`offsets` undefined: what was processed).
 * - `nkafka:consumer:rebalance` (channel): `{ groupId, clientId, type: 'assigned' |
 *   'revoked' | 'lost', partitions }`, before the app's hook runs.
 */
import { channel, tracingChannel } from 'node:diagnostics_channel'

export const sendChannel = tracingChannel<object, SendContext>('nkafka:producer:send')
export const produceChannel = channel('nkafka:producer:produce')
export const processChannel = tracingChannel<object, ProcessContext>('nkafka:consumer:process')
export const commitChannel = tracingChannel<object, CommitContext>('nkafka:consumer:commit')
export const rebalanceChannel = channel('nkafka:consumer:rebalance')

export interface SendContext {
  topic: string
  messages: Array<{ key?: unknown; value?: unknown; headers?: unknown; partition?: number }>
  clientId: string
  result?: unknown
  error?: unknown
}

export interface ProduceContext {
  topic: string
  key: unknown
  value: unknown
  options: { headers?: unknown; partition?: number }
  clientId: string
}

export interface ProcessContext {
  groupId: string | null
  clientId: string
  topic: string
  partition: number
  message?: unknown
  batch?: { messages: unknown[] }
  error?: unknown
  /** Set by a `start` subscriber: runs the handler inside its context (e.g. a span's). */
  within?: <T>(fn: () => T) => T
}

export interface CommitContext {
  groupId: string | null
  clientId: string
  offsets: unknown
  error?: unknown
}

export interface RebalanceContext {
  groupId: string | null
  clientId: string
  type: 'assigned' | 'revoked' | 'lost'
  partitions: Array<{ topic: string; partition: number }>
}

/**
 * Whether anyone listens on a TracingChannel (any of its five channels). Node 20's
 * TracingChannel has no `hasSubscribers` of its own.
 */
export function traced(tc: { start: { hasSubscribers: boolean }; asyncEnd: { hasSubscribers: boolean } }): boolean {
  return tc.start.hasSubscribers || tc.asyncEnd.hasSubscribers
}
