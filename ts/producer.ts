import type { BindingProducer, BindingReport } from '../native/binding'
import { describe, type PartitionerFunction, type ProducerConfig, toBindingProducerConfig } from './config'
import { type ProduceContext, produceChannel, type SendContext, sendChannel, traced } from './diagnostics'
import { invalidArgument, KafkaError } from './errors'
import { type ClientLog, clientLog } from './logger'
import { type Header, RecordRows } from './message'
import { native } from './native'
import { DeliveryReport, ReportBatch } from './report'

/** What keys, values and header values may be. */
export type Value = Buffer | Uint8Array | string | null | undefined

/** Headers: an ordered list of pairs (duplicates allowed), or an object (KafkaJS style). */
export type Headers = Array<[string, Value]> | Record<string, Value | Value[]>

/** Options of `produce()`. */
export interface ProduceOptions {
  /** Explicit partition; otherwise the partitioner chooses. */
  partition?: number
  /** CreateTime in ms since the epoch; default now. */
  timestamp?: number
  headers?: Headers
}

/** A message of `send()`. */
export interface ProducerMessage {
  key?: Value
  value: Value
  headers?: Headers
  partition?: number
  timestamp?: number
}

/** Where a message of `send()` landed. */
export interface RecordMetadata {
  topic: string
  partition: number
  /** -1n with acks=0. */
  offset: bigint
  timestamp: number
}

/** The argument of `send()`. */
export interface ProducerRecord {
  topic: string
  messages: ProducerMessage[]
  /** Must equal the producer's `acks` when given (per-send acks are not supported yet). */
  acks?: 0 | 1 | -1 | 'all'
}

/** Called once per `produce()`d record with its outcome (`send()` records settle their promise instead). */
export type DeliveryCallback = (report: DeliveryReport) => void

/** Information about the cluster, from `connect()`. */
export interface ClusterInfo {
  clusterId: string | null
  controllerId: number
  brokers: Array<{ nodeId: number; host: string; port: number; rack: string | null }>
}

/** Counters, for monitoring and tests. */
export interface ProducerStats {
  bufferedBytes: number
  /** Records handed over and not yet reported. */
  outstanding: number
  /** Produce requests written. */
  requests: number
  /** Highest number of produce requests in flight on one connection. */
  maxInFlight: number
  retries: number
  metadataRefreshes: number
  /** Idempotent producer id, -1 when not idempotent (or not yet assigned). */
  producerId: number
  producerEpoch: number
  /** Broker connections attempted: with bad credentials it grows with the reconnect backoff, not the send rate. */
  connectionAttempts: number
  /** KIP-368 re-authentications of live connections (a broker with connections.max.reauth.ms). */
  reauthentications: number
}

/** Messages in one send() (the low bits of a token hold the index). */
const SEND_INDEX_BITS = 2 ** 22

interface PendingSend {
  topic: string
  results: Array<RecordMetadata | undefined>
  left: number
  resolve: (r: RecordMetadata[]) => void
  reject: (e: KafkaError) => void
}

const DEFAULT_CLOSE_TIMEOUT_MS = 30_000

/**
 * A Kafka producer. `produce()` is the fast path: a synchronous call that encodes the
 * record into its partition's batch in Rust and returns; outcomes arrive at `onDelivery`.
 * `send()` is the Promise path (KafkaJS's shape).
 */
export class Producer {
  private readonly binding: BindingProducer
  /** The native fast path: a plain function, much cheaper to call than a class method. */
  private readonly fast: ReturnType<BindingProducer['fastProduceFn']>
  private readonly onDelivery: DeliveryCallback | undefined
  private readonly partitioner: PartitionerFunction | undefined
  private readonly acks: number
  private readonly maxBlockMs: number
  private readonly topicIds = new Map<string, number>()
  private readonly topicNames: string[] = []
  private readonly sends = new Map<number, PendingSend>()
  private nextSendId = 1
  private pending = 0
  private closed = false
  private spaceWaiters: Array<() => void> = []
  private readonly log: ClientLog
  private readonly clientId: string

  constructor(config: ProducerConfig, onDelivery?: DeliveryCallback) {
    if (onDelivery !== undefined && typeof onDelivery !== 'function') {
      throw invalidArgument(`onDelivery must be a function, got ${describe(onDelivery)}`)
    }
    const binding = toBindingProducerConfig(config)
    this.acks = binding.acks ?? -1
    this.maxBlockMs = binding.maxBlockMs ?? 60_000
    this.onDelivery = onDelivery
    this.partitioner = typeof config.partitioner === 'function' ? config.partitioner : undefined
    this.clientId = binding.client.clientId ?? 'nkafka'
    this.log = clientLog(config as unknown as Record<string, unknown>)
    if (this.log.id !== 0) binding.client.logId = this.log.id
    try {
      this.binding = new native.BindingProducer(binding, () => this.drainReports(), onDelivery !== undefined)
      this.fast = this.binding.fastProduceFn()
    } catch (e) {
      this.log.close()
      throw KafkaError.fromThrown(e)
    }
  }

  /**
   * Checks the cluster is reachable (metadata round trip). Optional: the first produce
   * connects. With `topics`, also waits (up to maxBlockMs) until their partitions are
   * known, which a partitioner function needs before `produce()`.
   */
  async connect(topics?: string[]): Promise<ClusterInfo> {
    this.ensureOpen()
    if (topics !== undefined && !Array.isArray(topics)) throw invalidArgument(`topics must be an array, got ${describe(topics)}`)
    const ids = (topics ?? []).map((t) => this.topicId(t))
    const r = await this.binding.connect()
    if (r.error) throw KafkaError.fromBinding(r.error)
    for (const id of ids) await this.partitionCount(id)
    const c = r.cluster
    return {
      clusterId: c?.clusterId ?? null,
      controllerId: c?.controllerId ?? -1,
      brokers: (c?.brokers ?? []).map((b) => ({ nodeId: b.nodeId, host: b.host, port: b.port, rack: b.rack ?? null })),
    }
  }

  /**
   * Hands a record over. Returns at once; the outcome arrives at `onDelivery`. Throws a
   * KafkaError for bad input, BUFFER_FULL when bufferMemory is exhausted (wait for
   * deliveries, e.g. `await producer.waitForSpace()`), CLIENT_CLOSED after close().
   */
  produce(topic: string, key: Value, value: Value, options?: ProduceOptions): void {
    if (this.closed) this.ensureOpen()
    if (produceChannel.hasSubscribers) {
      // Observers see (and may add headers to) a copy of the options; the fast path below
      // is then skipped for this call.
      const ctx: ProduceContext = { topic, key, value, options: { ...options }, clientId: this.clientId }
      produceChannel.publish(ctx)
      options = ctx.options as ProduceOptions
    }
    const id = this.topicIds.get(topic) ?? this.topicId(topic)
    if (this.partitioner !== undefined && options?.partition === undefined) {
      const count = this.binding.partitionCount(id)
      if (count < 0) {
        throw new KafkaError(
          `partitions of topic \`${topic}\` are not known yet: with a partitioner function, \`await producer.connect([topic])\` (or send()) first; produce() cannot wait`,
          { code: 'UNKNOWN_TOPIC_OR_PARTITION', retriable: true, topic },
        )
      }
      this.enqueue(id, topic, key, value, { ...options, partition: this.choosePartition(topic, key, count) }, 0)
      return
    }
    if (options !== undefined) {
      this.enqueue(id, topic, key, value, options, 0)
      return
    }
    // The hot path: no options, nothing to check in JS.
    try {
      if (key === null || key === undefined) this.fast(id, value)
      else this.fast(id, key, value)
    } catch (e) {
      throw KafkaError.fromThrown(e, { topic })
    }
    if (this.pending++ === 0) this.binding.setRef(true)
  }

  /**
   * Sends messages and resolves with where each landed. Concurrent sends share batches.
   * When the buffer is full it waits up to maxBlockMs for space, then rejects.
   */
  send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (!traced(sendChannel)) return this.sendNow(record)
    const ctx: SendContext = { topic: record?.topic, messages: record?.messages, clientId: this.clientId }
    return sendChannel.tracePromise(() => this.sendNow(record), ctx)
  }

  private async sendNow(record: ProducerRecord): Promise<RecordMetadata[]> {
    this.ensureOpen()
    if (record === null || typeof record !== 'object') throw invalidArgument('send() takes { topic, messages }')
    const { topic, messages, acks } = record
    if (!Array.isArray(messages)) throw invalidArgument(`messages must be an array, got ${describe(messages)}`)
    if (acks !== undefined) {
      const a = acks === 'all' ? -1 : acks
      if (a !== this.acks) {
        throw invalidArgument(
          `send() acks ${String(acks)} differs from the producer's acks ${this.acks}; per-send acks are not supported, create a producer with the acks you need`,
        )
      }
    }
    if (messages.length >= SEND_INDEX_BITS) {
      throw invalidArgument(`a send() takes at most ${SEND_INDEX_BITS - 1} messages, got ${messages.length}`)
    }
    const topicId = this.topicId(topic)
    if (messages.length === 0) return []
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i]
      if (m === null || typeof m !== 'object') throw invalidArgument(`messages[${i}] must be an object`)
    }
    const partitions = this.partitioner !== undefined ? await this.partitionCount(topicId) : 0
    const id = this.nextSendId++
    if (this.nextSendId >= 2 ** 30) this.nextSendId = 1
    // Reports can settle this send while the loop below still waits for buffer space. The
    // promise is made only once every message is handed over, so an early outcome is kept
    // here until then (a promise rejected before anyone holds it would be "unhandled").
    const early: { value?: RecordMetadata[]; error?: KafkaError } = {}
    const entry: PendingSend = {
      topic,
      results: new Array(messages.length),
      left: messages.length,
      resolve: (value) => {
        early.value = value
      },
      reject: (error) => {
        early.error = error
      },
    }
    this.sends.set(id, entry)
    const deadline = Date.now() + this.maxBlockMs
    try {
      for (let i = 0; i < messages.length; i++) {
        let m = messages[i] as ProducerMessage
        if (partitions > 0 && m.partition === undefined) m = { ...m, partition: this.choosePartition(topic, m.key, partitions) }
        for (;;) {
          try {
            this.enqueue(topicId, topic, m.key, m.value, m, id * SEND_INDEX_BITS + i)
            break
          } catch (e) {
            if (!(e instanceof KafkaError) || e.code !== 'BUFFER_FULL') throw e
            if (!(await this.waitForSpace(deadline - Date.now()))) {
              throw new KafkaError(
                `bufferMemory stayed full for maxBlockMs (${this.maxBlockMs} ms); ${i} of ${messages.length} messages were handed over`,
                { code: 'BUFFER_FULL', topic, cause: early.error },
              )
            }
            this.ensureOpen()
          }
        }
      }
    } catch (e) {
      this.sends.delete(id)
      // A message handed over earlier already failed: the caller learns that too.
      if (early.error && e instanceof Error && e.cause === undefined) e.cause = early.error
      throw e
    }
    if (early.error) throw early.error
    if (early.value) return early.value
    return new Promise<RecordMetadata[]>((resolve, reject) => {
      entry.resolve = resolve
      entry.reject = reject
    })
  }

  /**
   * Resolves when some buffer memory was freed by deliveries (true), or after `timeoutMs`
   * (false). For `produce()` loops that hit BUFFER_FULL.
   */
  waitForSpace(timeoutMs = this.maxBlockMs): Promise<boolean> {
    if (this.pending === 0) return Promise.resolve(true)
    return new Promise((resolve) => {
      const timer = setTimeout(
        () => {
          this.spaceWaiters = this.spaceWaiters.filter((w) => w !== wake)
          resolve(false)
        },
        Math.max(0, timeoutMs),
      )
      const wake = () => {
        clearTimeout(timer)
        resolve(true)
      }
      this.spaceWaiters.push(wake)
    })
  }

  /** Resolves when every record handed over so far has its report. */
  async flush(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.ensureOpen()
    checkTimeout(timeoutMs)
    const err = await this.binding.flush(timeoutMs)
    if (err) throw KafkaError.fromBinding(err)
  }

  /**
   * Flushes (up to `timeoutMs`), then closes: records still pending get a CLIENT_CLOSED
   * report, connections close, and later calls throw CLIENT_CLOSED.
   */
  async close(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    if (this.closed) return
    checkTimeout(timeoutMs)
    this.closed = true
    const err = await this.binding.close(timeoutMs)
    // Reports of requests that were in flight arrive shortly (their connections are closed).
    if (this.pending > 0) await this.waitUntilSettled(Math.max(1000, timeoutMs))
    for (const [id, s] of this.sends) {
      this.sends.delete(id)
      s.reject(new KafkaError('the producer was closed before the send completed', { code: 'CLIENT_CLOSED', topic: s.topic }))
    }
    this.binding.setRef(false)
    this.log.close()
    if (err) throw KafkaError.fromBinding(err)
  }

  /**
   * Registers `transactionalId` with its coordinator. Fences any older producer with the
   * same id (its next call fails with PRODUCER_FENCED) and aborts its open transaction.
   */
  async initTransactions(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.ensureOpen()
    checkTimeout(timeoutMs)
    const err = await this.binding.initTransactions(timeoutMs)
    if (err) throw KafkaError.fromBinding(err)
  }

  /** Opens a transaction: what is produced until commit or abort belongs to it. */
  beginTransaction(): void {
    this.ensureOpen()
    try {
      this.binding.beginTransaction()
    } catch (e) {
      throw KafkaError.fromThrown(e)
    }
  }

  /**
   * Commits a consumer's offsets as part of the transaction (consume-transform-produce).
   * `group` is `consumer.groupMetadata()`; a stale generation is fenced (KIP-447).
   */
  async sendOffsetsToTransaction(
    offsets: Array<{ topic: string; partition: number; offset: bigint | number; metadata?: string }>,
    group: { groupId: string; memberId: string; generationId: number; groupInstanceId?: string | null } | null,
    timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS,
  ): Promise<void> {
    this.ensureOpen()
    if (!group || typeof group.groupId !== 'string')
      throw invalidArgument('sendOffsetsToTransaction needs the consumer group metadata (consumer.groupMetadata())')
    if (!Array.isArray(offsets)) throw invalidArgument(`offsets must be an array, got ${describe(offsets)}`)
    const list = offsets.map((o, i) => {
      const n = typeof o.offset === 'bigint' ? Number(o.offset) : o.offset
      if (!Number.isSafeInteger(n) || n < 0) throw invalidArgument(`offsets[${i}].offset must be a non-negative integer`)
      return { topic: o.topic, partition: o.partition, offset: n, ...(o.metadata !== undefined ? { metadata: o.metadata } : {}) }
    })
    const err = await this.binding.sendOffsetsToTransaction(
      list,
      {
        groupId: group.groupId,
        memberId: group.memberId,
        generationId: group.generationId,
        groupInstanceId: group.groupInstanceId ?? undefined,
      },
      timeoutMs,
    )
    if (err) throw KafkaError.fromBinding(err)
  }

  /**
   * Sends everything produced in the transaction and commits it. If a record failed, the
   * transaction cannot commit: this rejects, and the app must `abortTransaction()`.
   */
  async commitTransaction(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.ensureOpen()
    checkTimeout(timeoutMs)
    const err = await this.binding.commitTransaction(timeoutMs)
    if (err) throw KafkaError.fromBinding(err)
  }

  /** Aborts the transaction: unsent records fail with TRANSACTION_ABORTED; written ones are hidden from read_committed readers. */
  async abortTransaction(timeoutMs = DEFAULT_CLOSE_TIMEOUT_MS): Promise<void> {
    this.ensureOpen()
    checkTimeout(timeoutMs)
    const err = await this.binding.abortTransaction(timeoutMs)
    if (err) throw KafkaError.fromBinding(err)
  }

  /** Counters. */
  stats(): ProducerStats {
    const s = this.binding.stats()
    return {
      bufferedBytes: s.bufferedBytes,
      outstanding: s.outstanding,
      requests: s.requests,
      maxInFlight: s.maxInFlight,
      retries: s.retries,
      metadataRefreshes: s.metadataRefreshes,
      producerId: s.producerId,
      producerEpoch: s.producerEpoch,
      connectionAttempts: s.connectionAttempts,
      reauthentications: s.reauthentications,
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new KafkaError('the producer is closed', { code: 'CLIENT_CLOSED' })
  }

  private topicId(topic: string): number {
    const id = this.topicIds.get(topic)
    if (id !== undefined) return id
    if (typeof topic !== 'string') throw invalidArgument(`topic must be a string, got ${describe(topic)}`)
    let newId: number
    try {
      newId = this.binding.topicId(topic)
    } catch (e) {
      throw KafkaError.fromThrown(e, { topic })
    }
    this.topicIds.set(topic, newId)
    this.topicNames[newId] = topic
    return newId
  }

  /** The topic's partition count, waiting for metadata (up to maxBlockMs) if needed. */
  private async partitionCount(topicId: number): Promise<number> {
    const known = this.binding.partitionCount(topicId)
    if (known >= 0) return known
    const r = await this.binding.waitForPartitions(topicId)
    if (r.error) throw KafkaError.fromBinding(r.error)
    return r.count
  }

  /** Runs the partitioner function; a throw or a bad answer is a typed error for this record only. */
  private choosePartition(topic: string, key: Value, count: number): number {
    const fn = this.partitioner as PartitionerFunction
    let bytes: Buffer | null = null
    if (typeof key === 'string') bytes = Buffer.from(key)
    else if (Buffer.isBuffer(key)) bytes = key
    else if (key instanceof Uint8Array) bytes = Buffer.from(key.buffer, key.byteOffset, key.byteLength)
    let p: unknown
    try {
      p = fn(topic, bytes, count)
    } catch (e) {
      throw new KafkaError(`the partitioner function threw: ${e instanceof Error ? e.message : String(e)}`, {
        code: 'INVALID_ARGUMENT',
        topic,
        cause: e,
      })
    }
    if (typeof p !== 'number' || !Number.isInteger(p) || p < 0 || p >= count) {
      throw new KafkaError(
        `the partitioner function returned ${typeof p === 'number' ? p : describe(p)} for topic \`${topic}\` with ${count} partitions; expected an integer in [0, ${count})`,
        {
          code: 'INVALID_ARGUMENT',
          topic,
        },
      )
    }
    return p
  }

  private enqueue(topicId: number, topic: string, key: Value, value: Value, o: ProduceOptions | undefined, token: number): void {
    let partition = -1
    let timestamp = -1
    let headers: Array<Value> | undefined
    if (o !== undefined) {
      if (o.partition !== undefined) {
        partition = o.partition
        if (!Number.isInteger(partition) || partition < 0 || partition > 2 ** 31 - 1) {
          throw new KafkaError(`invalid partition: ${describe(o.partition)} is not a non-negative integer`, {
            code: 'INVALID_ARGUMENT',
            topic,
          })
        }
      }
      if (o.timestamp !== undefined) {
        timestamp = o.timestamp
        if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
          throw new KafkaError(`invalid timestamp: ${describe(o.timestamp)} is not a finite non-negative number`, {
            code: 'INVALID_ARGUMENT',
            topic,
          })
        }
        timestamp = Math.floor(timestamp)
      }
      if (o.headers !== undefined) headers = flattenHeaders(o.headers, topic)
    }
    try {
      if (headers !== undefined) this.binding.produceWithHeaders(topicId, partition, key, value, timestamp, token, headers)
      else if (partition < 0 && timestamp < 0 && token === 0) {
        if (key === null || key === undefined) this.fast(topicId, value)
        else this.fast(topicId, key, value)
      } else this.fast(topicId, partition, key, value, timestamp, token)
    } catch (e) {
      throw KafkaError.fromThrown(e, partition >= 0 ? { topic, partition } : { topic })
    }
    if (this.pending++ === 0) this.binding.setRef(true)
  }

  /** Called by the native layer (through one threadsafe-function call) when reports are ready. */
  private drainReports(): void {
    const reports = this.binding.takeReports()
    let rows: RecordRows | null = null
    if (this.onDelivery !== undefined) {
      let n = 0
      for (const r of reports) n += Math.max(0, r.count)
      rows = new RecordRows(this.binding.takeRecords(), n)
    }
    let settled = 0
    for (const r of reports) {
      settled += r.count
      const topic = this.topicNames[r.topicId] ?? `<topic ${r.topicId}>`
      if (r.tokens) this.settleSends(topic, r)
      const cb = this.onDelivery
      if (cb !== undefined) {
        const batch = new ReportBatch(topic, r, rows)
        const tokens = r.tokens
        for (let i = 0; i < r.count; i++) {
          // Records from send() settle their promise instead.
          if (tokens && tokens[i] !== 0) continue
          try {
            cb(new DeliveryReport(batch, i))
          } catch (e) {
            // A throwing callback must not lose the other reports; surface it like Node does.
            process.nextTick(() => {
              throw e
            })
          }
        }
      }
    }
    this.pending -= settled
    if (this.pending === 0) this.binding.setRef(false)
    if (this.spaceWaiters.length > 0) {
      const waiters = this.spaceWaiters
      this.spaceWaiters = []
      for (const w of waiters) w()
    }
  }

  private settleSends(topic: string, r: BindingReport): void {
    const tokens = r.tokens as number[]
    const timestamps = r.timestamps ?? []
    const error = r.error ? KafkaError.fromBinding(r.error) : null
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as number
      if (token === 0) continue
      const id = Math.floor(token / SEND_INDEX_BITS)
      const s = this.sends.get(id)
      if (s === undefined) continue
      if (error) {
        this.sends.delete(id)
        s.reject(error)
        continue
      }
      s.results[token - id * SEND_INDEX_BITS] = {
        topic,
        partition: r.partition,
        offset: r.baseOffset < 0 ? -1n : BigInt(r.baseOffset + i),
        timestamp: timestamps[i] ?? r.baseTimestamp,
      }
      if (--s.left === 0) {
        this.sends.delete(id)
        s.resolve(s.results as RecordMetadata[])
      }
    }
  }

  private waitUntilSettled(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs
    return new Promise((resolve) => {
      const check = () => {
        if (this.pending <= 0 || Date.now() >= deadline) resolve()
        else this.waitForSpace(deadline - Date.now()).then(check)
      }
      check()
    })
  }
}

function checkTimeout(timeoutMs: number): void {
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
    throw invalidArgument(`timeout must be a non-negative number of ms, got ${describe(timeoutMs)}`)
  }
}

function flattenHeaders(headers: Headers, topic: string): Value[] {
  const flat: Value[] = []
  const bad = (what: string) => new KafkaError(`invalid headers: ${what}`, { code: 'INVALID_ARGUMENT', topic })
  if (Array.isArray(headers)) {
    for (const h of headers) {
      if (!Array.isArray(h) || h.length !== 2) throw bad('each header must be a [key, value] pair')
      if (typeof h[0] !== 'string') throw bad(`header key must be a string, got ${describe(h[0])}`)
      flat.push(h[0], h[1])
    }
  } else if (headers !== null && typeof headers === 'object') {
    for (const [k, v] of Object.entries(headers)) {
      if (Array.isArray(v)) for (const x of v) flat.push(k, x)
      else flat.push(k, v)
    }
  } else {
    throw bad(`expected a list of [key, value] pairs or an object, got ${describe(headers)}`)
  }
  return flat
}

export type { Header }
