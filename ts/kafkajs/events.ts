/**
 * KafkaJS's instrumentation events: `client.on(client.events.X, listener)` returns a
 * function that removes the listener; each event is `{ id, type, timestamp, payload }`.
 * Events nkafka cannot observe from the TS layer (REQUEST*, HEARTBEAT, FETCH_START: the
 * Rust core does those without telling JS) are accepted by `on()` and never emitted; the
 * registration is logged at debug and docs/KAFKAJS.md lists them.
 */
import { KafkaJSNonRetriableError } from './errors'

export interface InstrumentationEvent<T> {
  id: string
  type: string
  timestamp: number
  payload: T
}

let nextId = 0

/** @internal */
export class Instrumentation {
  private readonly listeners = new Map<string, Set<(e: InstrumentationEvent<unknown>) => void>>()

  constructor(
    private readonly names: Record<string, string>,
    private readonly silent: ReadonlySet<string>,
    private readonly debug: (message: string, extra: object) => void,
  ) {}

  on(type: string, listener: (e: InstrumentationEvent<any>) => void): () => void {
    if (!Object.values(this.names).includes(type)) {
      throw new KafkaJSNonRetriableError(`Event name should be one of ${Object.values(this.names).join(', ')}, got ${String(type)}`)
    }
    if (typeof listener !== 'function') throw new KafkaJSNonRetriableError('the listener must be a function')
    if (this.silent.has(type)) this.debug(`${type} is never emitted by nkafka/kafkajs (docs/KAFKAJS.md)`, { event: type })
    let set = this.listeners.get(type)
    if (set === undefined) {
      set = new Set()
      this.listeners.set(type, set)
    }
    set.add(listener)
    return () => {
      set.delete(listener)
    }
  }

  listens(type: string): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0
  }

  emit(type: string, payload: unknown = null): void {
    const set = this.listeners.get(type)
    if (set === undefined || set.size === 0) return
    const event = { id: String(nextId++), type, timestamp: Date.now(), payload }
    for (const l of set) {
      try {
        l(event)
      } catch (e) {
        // A throwing listener must not break the client: surface it as Node does.
        process.nextTick(() => {
          throw e
        })
      }
    }
  }
}
