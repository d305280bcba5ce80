import type { BindingAckResult, BindingShareConfig, BindingShareConsumer, BindingSharePoll } from '../native/binding'
import { CLIENT_KEYS, type ClientConfig, checkKeys, describe, toBindingClientConfig } from './config'
import { invalidArgument, invalidConfig, KafkaError } from './errors'
import { type ClientLog, clientLog } from './logger'
import { type BatchInfo, type Deserializer, Message, RecordRows, resolveDeserializer } from './message'
import { native } from './native'

/**
 * Share consumer settings (KIP-932 share groups, "queues for Kafka"). Several members of
 * one share group read the same partitions; the broker hands each record to one member at
 * a time, under an acquisition lock. See docs/SHARE.md.
 */
export interface ShareConsumerConfig extends ClientConfig {
  /** The share group. Required. */
  groupId: string
  /**
   * 'implicit' (default, as Java): records of a poll that were not acknowledged are
   * accepted by the next poll, commit() or close(). 'explicit': every record must be
   * acknowledged; polling again with some unacknowledged is an ILLEGAL_STATE error.
   */
  acknowledgementMode?: 'implicit' | 'explicit'
  /** Most records one poll asks each broker for. Default 500. */
  maxPollRecords?: number
  /** Longest a ShareFetch waits on the broker for records. Default 500. */
  fetchMaxWaitMs?: number
  /** Most bytes per ShareFetch response. Default 52428800. */
  fetchMaxBytes?: number
  /** Verify batch CRCs. Default true. */
  checkCrcs?: boolean
  clientRack?: string
}

/**
 * How a record is acknowledged. 'renew' (KIP-1222) extends the record's lock and keeps it
 * this member's (it still needs accept, release or reject); it is sent by `commit()`, and
 * needs a broker that speaks ShareAcknowledge v2 (else UNSUPPORTED_VERSION in the result).
 */
export type AcknowledgeType = 'accept' | 'release' | 'reject' | 'renew'

/** The outcome of one partition's acknowledgements. */
export interface AcknowledgementResult {
  topic: string
  partition: number
  /** Records acknowledged. */
  records: number
  /** Why the broker refused them (INVALID_RECORD_STATE: the lock ran out first), or null. */
  error: KafkaError | null
}

/** Hooks and deserializers of a share consumer. */
export interface ShareConsumerOptions<K = Buffer | null, V = Buffer | null> {
  keyDeserializer?: 'string' | 'json' | Deserializer<K>
  valueDeserializer?: 'string' | 'json' | Deserializer<V>
  /** A background failure (a throwing eachMessage handler, a failed acknowledgement). */
  onError?: (error: KafkaError) => void
  /** Outcomes of acknowledgements sent with polls (commit() and close() return theirs). */
  onAcknowledgement?: (results: AcknowledgementResult[]) => void
}

/** A record delivered by a share group: a `Message` with its delivery count and lock. */
export class ShareMessage<K = Buffer | null, V = Buffer | null> extends Message<K, V> {
  /** How many times the broker has delivered this record (1 the first time). */
  readonly deliveryCount: number
  /** When the acquisition lock ends (ms since the epoch): acknowledge before it. */
  readonly lockExpiresAt: number
  /** @internal */
  acknowledged: AcknowledgeType | null = null
  /** @internal */
  private readonly owner: ShareConsumer<K, V>

  /** @internal */
  constructor(
    owner: ShareConsumer<K, V>,
    view: RecordRows,
    row: number,
    info: BatchInfo,
    deliveryCount: number,
    lockExpiresAt: number,
    kd?: Deserializer<unknown>,
    vd?: Deserializer<unknown>,
  ) {
    super(view, row, info, kd, vd)
    this.owner = owner
    this.deliveryCount = deliveryCount
    this.lockExpiresAt = lockExpiresAt
  }

  /** Acknowledges this record; sent with the next poll, commit() or close(). */
  acknowledge(type: AcknowledgeType = 'accept'): void {
    this.owner.acknowledge(this, type)
  }
}

const SHARE_KEYS = new Set([
  ...CLIENT_KEYS,
  'groupId',
  'acknowledgementMode',
  'maxPollRecords',
  'fetchMaxWaitMs',
  'fetchMaxBytes',
  'checkCrcs',
  'clientRack',
])

function toBinding(config: ShareConsumerConfig): BindingShareConfig {
  if (config === null || typeof config !== 'object') throw invalidConfig('config', 'expected an object')
  checkKeys(config, SHARE_KEYS)
  const c = config as unknown as Record<string, unknown>
  const client: Record<string, unknown> = {}
  for (const k of CLIENT_KEYS) {
    if (c[k] !== undefined) client[k] = c[k]
  }
  if (typeof c.groupId !== 'string' || c.groupId === '') {
    throw invalidConfig('groupId', `a share consumer needs a share group name, got ${describe(c.groupId)}`)
  }
  const out: BindingShareConfig = { client: toBindingClientConfig(client as unknown as ClientConfig), groupId: c.groupId }
  for (const key of ['maxPollRecords', 'fetchMaxWaitMs', 'fetchMaxBytes'] as const) {
    const v = c[key]
    if (v === undefined) continue
    if (typeof v !== 'number' || !Number.isFinite(v)) throw invalidConfig(key, `expected a finite number, got ${describe(v)}`)
    out[key] = v
  }
  if (c.maxPollRecords !== undefined && (!Number.isInteger(c.maxPollRecords) || (c.maxPollRecords as number) <= 0)) {
    throw invalidConfig('maxPollRecords', `expected a positive integer, got ${describe(c.maxPollRecords)}`)
  }
  for (const key of ['acknowledgementMode', 'clientRack'] as const) {
    const v = c[key]
    if (v === undefined) continue
    if (typeof v !== 'string') throw invalidConfig(key, `expected a string, got ${describe(v)}`)
    out[key] = v
  }
  if (c.acknowledgementMode !== undefined && c.acknowledgementMode !== 'implicit' && c.acknowledgementMode !== 'explicit') {
    throw invalidConfig('acknowledgementMode', `expected 'implicit' or 'explicit', got ${describe(c.acknowledgementMode)}`)
  }
  if (c.checkCrcs !== undefined) {
    if (typeof c.checkCrcs !== 'boolean') throw invalidConfig('checkCrcs', `expected a boolean, got ${describe(c.checkCrcs)}`)
    out.checkCrcs = c.checkCrcs
  }
  return out
}

const ACK_TYPES = new Set(['accept', 'release', 'reject', 'renew'])
const POLL_SLICE_MS = 1000

function results(list: BindingAckResult[]): AcknowledgementResult[] {
  return list.map((r) => ({
    topic: r.topic,
    partition: r.partition,
    records: r.records,
    error: r.error ? KafkaError.fromBinding(r.error) : null,
  }))
}

/**
 * A share-group consumer (KIP-932). Read with `for await (const m of share)` or
 * `run({ eachMessage })`; acknowledge with `m.acknowledge('accept' | 'release' | 'reject')`.
 */
export class ShareConsumer<K = Buffer | null, V = Buffer | null> {
  private readonly binding: BindingShareConsumer
  private readonly keyDeserializer: Deserializer<unknown> | undefined
  private readonly valueDeserializer: Deserializer<unknown> | undefined
  private readonly hooks: ShareConsumerOptions<K, V>
  private readonly log: ClientLog
  private closed = false
  private stopping = false
  /** The messages of the last poll not yet handed to the app. */
  private pending: ShareMessage<K, V>[] = []

  constructor(config: ShareConsumerConfig, options: ShareConsumerOptions<K, V> = {}) {
    const binding = toBinding(config)
    this.keyDeserializer = resolveDeserializer(options.keyDeserializer, 'keyDeserializer')
    this.valueDeserializer = resolveDeserializer(options.valueDeserializer, 'valueDeserializer')
    for (const hook of ['onError', 'onAcknowledgement'] as const) {
      if (options[hook] !== undefined && typeof options[hook] !== 'function') {
        throw invalidArgument(`${hook} must be a function, got ${describe(options[hook])}`)
      }
    }
    this.hooks = options
    this.log = clientLog(config as unknown as Record<string, unknown>)
    if (this.log.id !== 0) binding.client.logId = this.log.id
    try {
      this.binding = new native.BindingShareConsumer(binding)
    } catch (e) {
      this.log.close()
      throw KafkaError.fromThrown(e)
    }
  }

  /** Joins the share group for these topics (an empty list leaves it). */
  async subscribe(topics: string | string[]): Promise<void> {
    this.ensureOpen()
    const list = typeof topics === 'string' ? [topics] : topics
    if (!Array.isArray(list) || list.some((t) => typeof t !== 'string')) {
      throw invalidArgument(`subscribe() takes topic names, got ${describe(topics)}`)
    }
    this.call(() => this.binding.subscribe(list))
  }

  /** The member id (a UUID the client generated) and the member epoch (0 until joined). */
  get member(): { memberId: string; memberEpoch: number } {
    const [memberId, epoch] = this.binding.member()
    return { memberId: memberId as string, memberEpoch: Number(epoch) }
  }

  /** The partitions the broker assigned to this member (shared with other members). */
  assignment(): Array<{ topic: string; partition: number }> {
    return this.binding.assignment()
  }

  /**
   * Fetches the next records, waiting up to `timeoutMs` (empty when none came). The
   * acknowledgements of the previous poll go with it (implicit mode: whatever was not
   * acknowledged is accepted).
   */
  async poll(timeoutMs = POLL_SLICE_MS): Promise<ShareMessage<K, V>[]> {
    this.ensureOpen()
    if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs < 0) {
      throw invalidArgument(`poll() timeoutMs must be a non-negative number, got ${describe(timeoutMs)}`)
    }
    // Messages of the last poll the app never saw (it left a loop early) go back.
    for (const m of this.pending) if (m.acknowledged === null) this.acknowledge(m, 'release')
    this.pending = []
    const r = await this.binding.poll(timeoutMs)
    this.reportAcks(r.acks)
    if (r.error) throw KafkaError.fromBinding(r.error)
    return this.messagesOf(r)
  }

  /** Acknowledges a record of the last poll (same as `message.acknowledge(type)`). */
  acknowledge(message: ShareMessage<K, V>, type: AcknowledgeType = 'accept'): void {
    this.ensureOpen()
    if (!(message instanceof ShareMessage)) throw invalidArgument(`acknowledge() takes a ShareMessage, got ${describe(message)}`)
    if (typeof type !== 'string' || !ACK_TYPES.has(type)) {
      throw invalidArgument(`acknowledge type must be 'accept', 'release', 'reject' or 'renew', got ${describe(type)}`)
    }
    this.call(() => this.binding.acknowledge(message.topic, message.partition, message.offsetNumber, type), message)
    message.acknowledged = type
  }

  /**
   * Sends the acknowledgements now and returns each partition's outcome (implicit mode:
   * the last poll's unacknowledged records are accepted; explicit: only what was
   * acknowledged is sent).
   */
  async commit(): Promise<AcknowledgementResult[]> {
    this.ensureOpen()
    const r = await this.binding.commit()
    if (r.error) throw KafkaError.fromBinding(r.error)
    return results(r.results)
  }

  /** Yields records one by one; leaving the loop early releases the ones not yet seen. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ShareMessage<K, V>> {
    this.stopping = false
    try {
      for (;;) {
        while (this.pending.length > 0) {
          const m = this.pending.shift() as ShareMessage<K, V>
          yield m
        }
        if (this.closed || this.stopping) return
        const batch = await this.poll(POLL_SLICE_MS)
        if (this.closed) {
          // close() ran during the poll: it settled everything, these were never seen.
          return
        }
        this.pending = batch
      }
    } finally {
      if (!this.closed) for (const m of this.pending) if (m.acknowledged === null) this.acknowledge(m, 'release')
      this.pending = []
    }
  }

  /**
   * Calls `eachMessage` for every record until `stop()` or `close()`: a handler that
   * resolves accepts the record (unless it acknowledged it itself), one that throws
   * releases it for redelivery and the error goes to the log and `onError`.
   */
  async run(options: {
    eachMessage: (payload: { topic: string; partition: number; message: ShareMessage<K, V> }) => Promise<void> | void
  }): Promise<void> {
    const eachMessage = options?.eachMessage
    if (typeof eachMessage !== 'function') throw invalidArgument('run() needs eachMessage')
    for await (const message of this) {
      try {
        await eachMessage({ topic: message.topic, partition: message.partition, message })
        if (message.acknowledged === null && !this.closed) this.acknowledge(message, 'accept')
      } catch (e) {
        if (message.acknowledged === null && !this.closed) this.acknowledge(message, 'release')
        this.backgroundError(
          `eachMessage threw for ${message.topic}-${message.partition} offset ${message.offsetNumber}; the record is released`,
          e,
        )
      }
    }
  }

  /** Ends `run()` and the iterators after the current record; the consumer stays open. */
  stop(): void {
    this.stopping = true
  }

  /**
   * Sends what is pending (implicit mode: the last poll's unacknowledged records are
   * accepted; explicit: released), closes the share sessions, leaves the group.
   */
  async close(): Promise<AcknowledgementResult[]> {
    if (this.closed) return []
    for (const m of this.pending) if (m.acknowledged === null) this.acknowledge(m, 'release')
    this.pending = []
    this.closed = true
    const r = await this.binding.close()
    this.log.close()
    if (r.error) throw KafkaError.fromBinding(r.error)
    return results(r.results)
  }

  private messagesOf(r: BindingSharePoll): ShareMessage<K, V>[] {
    if (r.records === 0) return []
    const view = new RecordRows(this.binding.takePollBuffer(), r.records)
    const out: ShareMessage<K, V>[] = []
    for (const b of r.batches) {
      const info: BatchInfo = { topic: b.topic, partition: b.partition, leaderEpoch: -1, logAppendTime: b.logAppendTime }
      let row = b.first
      const runs = b.deliveryCounts
      for (let i = 0; i + 1 < runs.length; i += 2) {
        const count = runs[i] as number
        const n = runs[i + 1] as number
        for (let j = 0; j < n; j++) {
          out.push(new ShareMessage<K, V>(this, view, row++, info, count, r.lockExpiresAt, this.keyDeserializer, this.valueDeserializer))
        }
      }
    }
    return out
  }

  private reportAcks(list: BindingAckResult[]): void {
    if (list.length === 0) return
    const res = results(list)
    if (this.hooks.onAcknowledgement) {
      try {
        this.hooks.onAcknowledgement(res)
      } catch (e) {
        this.log.log('error', 'consumer', 'the onAcknowledgement hook threw', { cause: String((e as Error)?.message ?? e) })
      }
      return
    }
    for (const r of res) {
      if (r.error) this.backgroundError(`acknowledging ${r.records} record(s) of ${r.topic}-${r.partition} failed`, r.error)
    }
  }

  private backgroundError(what: string, e: unknown): void {
    const err = KafkaError.fromThrown(e)
    this.log.warnCause('consumer', what, err)
    if (!this.hooks.onError) return
    try {
      this.hooks.onError(err)
    } catch (hookError) {
      this.log.log('error', 'consumer', 'the onError hook threw', { cause: String((hookError as Error)?.message ?? hookError) })
    }
  }

  private ensureOpen(): void {
    if (this.closed) throw new KafkaError('the share consumer is closed', { code: 'CLIENT_CLOSED' })
  }

  private call<T>(f: () => T, tp?: { topic?: string; partition?: number }): T {
    try {
      return f()
    } catch (e) {
      throw KafkaError.fromThrown(e, tp ? { topic: tp.topic, partition: tp.partition } : {})
    }
  }
}
