/**
 * KafkaJS's consumer over nkafka's Consumer. nkafka's auto-commit is off: this layer
 * keeps KafkaJS's "resolved offsets" per partition and commits them itself (after each
 * batch by default, or per autoCommitInterval / autoCommitThreshold, on revoke and on
 * stop), so a throwing handler never commits the message it threw on. The handler is
 * then retried per `retry` (the consumer seeks back to that message), and after the
 * last retry the consumer crashes (CRASH event) and restarts unless restartOnFailure
 * says no, as KafkaJS does.
 */
import { Admin as NkafkaAdmin } from '../admin'
import { Consumer as NkafkaConsumer, type ConsumerConfig as NkafkaConsumerConfig } from '../consumer'
import type { Message as NkafkaMessage } from '../message'
import { encodeMemberAssignment, encodeMemberMetadata } from './assigner-protocol'
import {
  KafkaJSError,
  KafkaJSNonRetriableError,
  KafkaJSNumberOfRetriesExceeded,
  kafkajsErrors,
  notSupported,
  toKafkaJSError,
} from './errors'
import { Instrumentation, type InstrumentationEvent } from './events'
import { byTopic, partitionsByTopic } from './group'
import { type Kafka, type Logger, type RetryOptions, retryTime } from './kafka'

/** KafkaJS's assigner list: only round robin ships with KafkaJS; nkafka's assignors by name. */
export const PartitionAssigners = {
  roundRobin: namedAssigner('roundrobin'),
  /** nkafka extras (not in KafkaJS). */
  range: namedAssigner('range'),
  cooperativeSticky: namedAssigner('cooperative-sticky'),
}
const ASSIGNOR_NAMES = new Map<unknown, 'roundrobin' | 'range' | 'cooperative-sticky'>([
  [PartitionAssigners.roundRobin, 'roundrobin'],
  [PartitionAssigners.range, 'range'],
  [PartitionAssigners.cooperativeSticky, 'cooperative-sticky'],
])

function namedAssigner(name: string): () => never {
  const f = () => {
    throw new KafkaJSError(`the ${name} assigner runs in nkafka, not in JS`)
  }
  return f
}

export interface ConsumerConfig {
  groupId: string
  partitionAssigners?: unknown[]
  metadataMaxAge?: number
  sessionTimeout?: number
  rebalanceTimeout?: number
  heartbeatInterval?: number
  maxBytesPerPartition?: number
  minBytes?: number
  maxBytes?: number
  maxWaitTimeInMs?: number
  retry?: RetryOptions
  allowAutoTopicCreation?: boolean
  maxInFlightRequests?: number
  readUncommitted?: boolean
  rackId?: string
}

export interface KafkaMessage {
  key: Buffer | null
  value: Buffer | null
  timestamp: string
  attributes: number
  offset: string
  headers: Record<string, Buffer | null | Array<Buffer | null>>
}

export interface Batch {
  topic: string
  partition: number
  highWatermark: string
  messages: KafkaMessage[]
  isEmpty(): boolean
  firstOffset(): string | null
  lastOffset(): string
  offsetLag(): string
  offsetLagLow(): string
}

export interface TopicOffsets {
  topic: string
  partitions: Array<{ partition: number; offset: string }>
}

export interface EachMessagePayload {
  topic: string
  partition: number
  message: KafkaMessage
  heartbeat(): Promise<void>
  pause(): () => void
}

export interface EachBatchPayload {
  batch: Batch
  resolveOffset(offset: string): void
  heartbeat(): Promise<void>
  pause(): () => void
  commitOffsetsIfNecessary(offsets?: { topics: TopicOffsets[] }): Promise<void>
  uncommittedOffsets(): { topics: TopicOffsets[] }
  isRunning(): boolean
  isStale(): boolean
}

export interface ConsumerRunConfig {
  autoCommit?: boolean
  autoCommitInterval?: number | null
  autoCommitThreshold?: number | null
  eachBatchAutoResolve?: boolean
  partitionsConsumedConcurrently?: number
  eachBatch?: (payload: EachBatchPayload) => Promise<void>
  eachMessage?: (payload: EachMessagePayload) => Promise<void>
}

export const CONSUMER_EVENTS = {
  HEARTBEAT: 'consumer.heartbeat',
  COMMIT_OFFSETS: 'consumer.commit_offsets',
  GROUP_JOIN: 'consumer.group_join',
  FETCH_START: 'consumer.fetch_start',
  FETCH: 'consumer.fetch',
  START_BATCH_PROCESS: 'consumer.start_batch_process',
  END_BATCH_PROCESS: 'consumer.end_batch_process',
  CONNECT: 'consumer.connect',
  DISCONNECT: 'consumer.disconnect',
  STOP: 'consumer.stop',
  CRASH: 'consumer.crash',
  REBALANCING: 'consumer.rebalancing',
  RECEIVED_UNSUBSCRIBED_TOPICS: 'consumer.received_unsubscribed_topics',
  REQUEST: 'consumer.network.request',
  REQUEST_TIMEOUT: 'consumer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'consumer.network.request_queue_size',
} as const
const SILENT = new Set<string>([
  CONSUMER_EVENTS.HEARTBEAT,
  CONSUMER_EVENTS.FETCH_START,
  CONSUMER_EVENTS.FETCH,
  CONSUMER_EVENTS.RECEIVED_UNSUBSCRIBED_TOPICS,
  CONSUMER_EVENTS.REQUEST,
  CONSUMER_EVENTS.REQUEST_TIMEOUT,
  CONSUMER_EVENTS.REQUEST_QUEUE_SIZE,
])

const CONSUMER_KEYS = new Set([
  'groupId',
  'partitionAssigners',
  'metadataMaxAge',
  'sessionTimeout',
  'rebalanceTimeout',
  'heartbeatInterval',
  'maxBytesPerPartition',
  'minBytes',
  'maxBytes',
  'maxWaitTimeInMs',
  'retry',
  'allowAutoTopicCreation',
  'maxInFlightRequests',
  'readUncommitted',
  'rackId',
])
const RUN_KEYS = new Set([
  'autoCommit',
  'autoCommitInterval',
  'autoCommitThreshold',
  'eachBatchAutoResolve',
  'partitionsConsumedConcurrently',
  'eachBatch',
  'eachMessage',
])

/** How long a fetched high watermark is reused before ListOffsets is asked again. */
const WATERMARK_MAX_AGE_MS = 1000

const key = (topic: string, partition: number) => `${topic}\0${partition}`
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

export class Consumer {
  readonly events = CONSUMER_EVENTS
  private readonly kafka: Kafka
  private readonly config: ConsumerConfig
  private readonly log: Logger
  private readonly instrumentation: Instrumentation
  private readonly retry: ReturnType<Kafka['retryOptions']>
  private readonly assignors: Array<'roundrobin' | 'range' | 'cooperative-sticky'>
  private admin: NkafkaAdmin | null = null
  private consumer: NkafkaConsumer | null = null
  private connected = false
  private readonly topics: string[] = []
  private readonly patterns: RegExp[] = []
  private fromBeginning: boolean | undefined
  private running = false
  private loop: Promise<void> | null = null
  private restartTimer: NodeJS.Timeout | undefined
  private runConfig: Required<Omit<ConsumerRunConfig, 'eachBatch' | 'eachMessage'>> & ConsumerRunConfig = {
    autoCommit: true,
    autoCommitInterval: null,
    autoCommitThreshold: null,
    eachBatchAutoResolve: true,
    partitionsConsumedConcurrently: 1,
  }
  /** Next offset to commit per partition: past the last resolved message. */
  private readonly resolved = new Map<string, { topic: string; partition: number; offset: number }>()
  private readonly committedOffsets = new Map<string, number>()
  private uncommittedCount = 0
  private commitChain: Promise<void> = Promise.resolve()
  private lastCommitAt = Date.now()
  /** Bumped by seek and revoke: a batch read before is stale. */
  private readonly versions = new Map<string, number>()
  private readonly pendingSeeks = new Map<string, { topic: string; partition: number; offset: number }>()
  private readonly pausedTopics = new Set<string>()
  private readonly pausedPartitions = new Set<string>()
  private readonly watermarks = new Map<string, { at: number; high: number }>()
  private joinStarted = Date.now()

  constructor(kafka: Kafka, config: ConsumerConfig) {
    if (config === null || typeof config !== 'object') throw new KafkaJSNonRetriableError('consumer() takes a config object')
    for (const k of Object.keys(config)) {
      if (!CONSUMER_KEYS.has(k)) throw new KafkaJSNonRetriableError(`${k} is not a KafkaJS consumer option`)
    }
    if (typeof config.groupId !== 'string' || config.groupId.length === 0) {
      throw new KafkaJSNonRetriableError('Consumer groupId must be a non-empty string.')
    }
    this.kafka = kafka
    this.config = config
    this.log = kafka.logger().namespace('Consumer')
    this.instrumentation = new Instrumentation(CONSUMER_EVENTS, SILENT, (m, x) => this.log.debug(m, x))
    this.retry = kafka.retryOptions(config.retry, 'consumer ')
    const assigners = config.partitionAssigners ?? [PartitionAssigners.roundRobin]
    if (!Array.isArray(assigners) || assigners.length === 0)
      throw new KafkaJSNonRetriableError('partitionAssigners must be a non-empty array')
    this.assignors = assigners.map((a) => {
      const name = ASSIGNOR_NAMES.get(a)
      if (name === undefined) throw notSupported('a custom partition assigner (assignment runs in nkafka; use PartitionAssigners.*)')
      return name
    })
    for (const k of ['allowAutoTopicCreation', 'maxInFlightRequests'] as const) {
      if (config[k] !== undefined)
        this.log.debug(`${k} has no nkafka consumer equivalent and is ignored (docs/KAFKAJS.md)`, { [k]: config[k] })
    }
  }

  on(eventName: string, listener: (event: InstrumentationEvent<any>) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger(): Logger {
    return this.log
  }

  /** Checks the cluster is reachable (DescribeCluster); the group is joined by run(). */
  async connect(): Promise<void> {
    if (this.admin === null) {
      const client = await kafkajsErrors(() => this.kafka.clientConfig(this.retry))
      const admin = await kafkajsErrors(async () => new NkafkaAdmin(client))
      try {
        await kafkajsErrors(() => admin.describeCluster())
      } catch (e) {
        await admin.close()
        throw e
      }
      this.admin = admin
    }
    this.connected = true
    this.instrumentation.emit(CONSUMER_EVENTS.CONNECT)
  }

  async subscribe(subscription: { topic?: string | RegExp; topics?: Array<string | RegExp>; fromBeginning?: boolean }): Promise<void> {
    if (this.running) throw new KafkaJSNonRetriableError('Cannot subscribe to topic while consumer is running')
    if (subscription === null || typeof subscription !== 'object')
      throw new KafkaJSNonRetriableError('subscribe() takes { topics } or { topic }')
    const list = subscription.topics ?? (subscription.topic !== undefined ? [subscription.topic] : [])
    if (!Array.isArray(list) || list.length === 0) throw new KafkaJSNonRetriableError('Missing required argument "topics"')
    const from = subscription.fromBeginning ?? false
    if (this.fromBeginning !== undefined && this.fromBeginning !== from) {
      throw notSupported(
        'subscriptions with different fromBeginning values in one consumer (nkafka has one auto.offset.reset per consumer)',
      )
    }
    for (const t of list) {
      if (t instanceof RegExp) {
        if (t.flags.replace(/[gy]/g, '') !== '') throw notSupported(`RegExp flags /${t.flags} in a subscription`)
        this.patterns.push(t)
      } else if (typeof t === 'string' && t.length > 0) {
        if (!this.topics.includes(t)) this.topics.push(t)
      } else throw new KafkaJSNonRetriableError(`Invalid topic ${String(t)}`)
    }
    this.fromBeginning = from
  }

  async run(config: ConsumerRunConfig = {}): Promise<void> {
    if (!this.connected) throw new KafkaJSNonRetriableError('The consumer is disconnected: call connect() first')
    if (this.running) {
      this.log.warn('consumer#run was called while the consumer is already running', { groupId: this.config.groupId })
      return
    }
    if (config === null || typeof config !== 'object') throw new KafkaJSNonRetriableError('run() takes a config object')
    for (const k of Object.keys(config)) {
      if (!RUN_KEYS.has(k)) throw new KafkaJSNonRetriableError(`${k} is not a KafkaJS run() option`)
    }
    if (typeof config.eachMessage !== 'function' && typeof config.eachBatch !== 'function') {
      throw new KafkaJSNonRetriableError('Consumer#run needs eachMessage or eachBatch')
    }
    if (this.topics.length === 0 && this.patterns.length === 0)
      throw new KafkaJSNonRetriableError('Consumer#run needs a subscription: call subscribe() first')
    this.runConfig = { ...this.runConfig, ...config }
    const n = this.runConfig.partitionsConsumedConcurrently
    if (!Number.isInteger(n) || n < 1) throw new KafkaJSNonRetriableError('partitionsConsumedConcurrently must be a positive integer')
    await this.start()
  }

  /** Creates the nkafka consumer, subscribes and starts the processing loop (not awaited, as in KafkaJS). */
  private async start(): Promise<void> {
    const c = this.config
    const client = await kafkajsErrors(() => this.kafka.clientConfig(this.retry))
    const nk: NkafkaConsumerConfig = {
      ...client,
      groupId: c.groupId,
      enableAutoCommit: false,
      autoOffsetReset: this.fromBeginning ? 'earliest' : 'latest',
      sessionTimeoutMs: c.sessionTimeout ?? 30_000,
      rebalanceTimeoutMs: c.rebalanceTimeout ?? 60_000,
      heartbeatIntervalMs: c.heartbeatInterval ?? 3000,
      maxPartitionFetchBytes: c.maxBytesPerPartition ?? 1_048_576,
      fetchMinBytes: c.minBytes ?? 1,
      fetchMaxBytes: c.maxBytes ?? 10_485_760,
      fetchMaxWaitMs: c.maxWaitTimeInMs ?? 5000,
      isolationLevel: c.readUncommitted ? 'read_uncommitted' : 'read_committed',
      partitionAssignors: this.assignors,
      ...(c.metadataMaxAge !== undefined ? { metadataMaxAgeMs: c.metadataMaxAge } : {}),
      ...(c.rackId !== undefined ? { clientRack: c.rackId } : {}),
    }
    this.joinStarted = Date.now()
    const consumer = await kafkajsErrors(
      async () =>
        new NkafkaConsumer(nk, {
          onAssigned: (tps) => this.onAssigned(tps),
          onRevoked: (tps) => this.onRevoked(tps),
          onLost: (tps) => this.onLost(tps),
          onError: (e) => this.log.error(e.message, { groupId: c.groupId, error: e.code }),
        }),
    )
    try {
      await kafkajsErrors(() => consumer.subscribe(this.subscription()))
    } catch (e) {
      await consumer.close().catch(() => {})
      throw e
    }
    this.consumer = consumer
    this.running = true
    this.loop = this.processLoop(consumer)
  }

  private subscription(): string[] | RegExp {
    if (this.patterns.length === 0) return this.topics
    const escaped = this.topics.map((t) => `^${t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`)
    return new RegExp([...escaped, ...this.patterns.map((p) => `(?:${p.source})`)].join('|'))
  }

  /**
   * Pulls batches and runs the handler on them: one at a time, or with
   * partitionsConsumedConcurrently > 1 on up to that many partitions at once, each
   * partition's batches still in order. The first fatal error ends the loop and crashes.
   */
  private async processLoop(consumer: NkafkaConsumer): Promise<void> {
    const limit = this.runConfig.partitionsConsumedConcurrently
    const failures = new Map<string, number>()
    const inFlight = new Map<string, Promise<void>>()
    let fatal: { error: unknown } | null = null
    const it = consumer.batches()
    try {
      while (this.running && fatal === null) {
        if (inFlight.size >= limit) {
          await Promise.race(inFlight.values())
          continue
        }
        const r = await it.next()
        if (r.done || !this.running || fatal !== null) break
        const b = r.value
        const k = key(b.topic, b.partition)
        // Taken now: a seek or revocation while an earlier batch of this partition runs makes this one stale.
        const version = this.versions.get(k) ?? 0
        const previous = inFlight.get(k)
        const task: Promise<void> = (async () => {
          if (previous) await previous
          if (this.isPaused(b.topic, b.partition) || (this.versions.get(k) ?? 0) !== version) return
          await this.runBatch(consumer, b.topic, b.partition, b.messages, k, version, failures)
        })()
          .catch((error: unknown) => {
            fatal ??= { error }
            // Ends a poll waiting for data, so the loop sees the error.
            consumer.stop()
          })
          .finally(() => {
            if (inFlight.get(k) === task) inFlight.delete(k)
          })
        inFlight.set(k, task)
        if (limit === 1) await task
      }
      await Promise.all(inFlight.values())
    } finally {
      await it.return(undefined).catch(() => {})
    }
    if (fatal !== null) await this.crash(toKafkaJSError((fatal as { error: unknown }).error) as Error)
  }

  /** One batch: the handler, then on failure a commit of what was resolved, a seek back and KafkaJS's backoff. */
  private async runBatch(
    consumer: NkafkaConsumer,
    topic: string,
    partition: number,
    messages: NkafkaMessage[],
    k: string,
    version: number,
    failures: Map<string, number>,
  ): Promise<void> {
    const outcome = await this.processBatch(consumer, topic, partition, messages, k, version)
    if (outcome === null) {
      failures.delete(k)
      await this.commitIfNecessary()
      return
    }
    await this.commitResolved().catch((e) => this.log.error('commit after a failed handler failed', { error: String(e) }))
    const next = this.resolved.get(k)?.offset ?? outcome.offset
    this.seekInternal(consumer, topic, partition, Math.max(next, outcome.offset))
    const err = outcome.error
    const retriable = (err as { retriable?: unknown })?.retriable !== false
    const count = failures.get(k) ?? 0
    if (!retriable || count >= this.retry.retries) {
      const wait = retryTime(this.retry, count)
      throw retriable ? new KafkaJSNumberOfRetriesExceeded(err as Error, { retryCount: count, retryTime: wait }) : err
    }
    failures.set(k, count + 1)
    const wait = retryTime(this.retry, count)
    this.log.error(`Error when calling ${this.runConfig.eachBatch ? 'eachBatch' : 'eachMessage'}, retrying in ${wait} ms`, {
      topic,
      partition,
      offset: String(outcome.offset),
      error: (err as Error)?.message ?? String(err),
      retryCount: count + 1,
    })
    await sleep(wait)
  }

  /** Runs the handler on one partition's batch; null when done, else the failing offset and error. */
  private async processBatch(
    consumer: NkafkaConsumer,
    topic: string,
    partition: number,
    nkMessages: NkafkaMessage[],
    k: string,
    version: number,
  ): Promise<{ offset: number; error: unknown } | null> {
    // Revoked or seeked away: what the handler did no longer counts. Stopping is not that:
    // a handler that finishes while stop() waits for it still has its offset committed.
    const moved = () => (this.versions.get(k) ?? 0) !== version
    const stale = () => moved() || !this.running
    const messages = nkMessages.map(toKafkaMessage)
    const first = nkMessages[0]?.offsetNumber ?? 0
    const last = nkMessages[nkMessages.length - 1]?.offsetNumber ?? first - 1
    const wantsEvents =
      this.runConfig.eachBatch !== undefined ||
      this.instrumentation.listens(CONSUMER_EVENTS.START_BATCH_PROCESS) ||
      this.instrumentation.listens(CONSUMER_EVENTS.END_BATCH_PROCESS)
    const high = wantsEvents ? await this.highWatermark(topic, partition, last) : last + 1
    const batch = makeBatch(topic, partition, high, messages, first)
    const info = {
      topic,
      partition,
      highWatermark: batch.highWatermark,
      offsetLag: batch.offsetLag(),
      offsetLagLow: batch.offsetLagLow(),
      batchSize: messages.length,
      firstOffset: batch.firstOffset(),
      lastOffset: batch.lastOffset(),
    }
    const started = Date.now()
    this.instrumentation.emit(CONSUMER_EVENTS.START_BATCH_PROCESS, info)
    const pause = () => {
      this.pause([{ topic, partitions: [partition] }])
      return () => this.resume([{ topic, partitions: [partition] }])
    }
    const heartbeat = async () => {}
    let position = first
    const { eachBatch, eachMessage } = this.runConfig
    if (eachBatch) {
      const resolveOffset = (offset: string) => {
        const o = Number(offset)
        if (!Number.isSafeInteger(o)) throw new KafkaJSNonRetriableError(`resolveOffset takes an offset string, got ${String(offset)}`)
        if (!moved()) this.resolve(topic, partition, o)
      }
      try {
        await eachBatch({
          batch,
          resolveOffset,
          heartbeat,
          pause,
          commitOffsetsIfNecessary: async (offsets) => {
            if (offsets) await this.commitOffsets(flatten(offsets.topics))
            else await this.commitIfNecessary()
          },
          uncommittedOffsets: () => ({ topics: this.uncommitted() }),
          isRunning: () => this.running,
          isStale: stale,
        })
        if (this.runConfig.eachBatchAutoResolve && !moved() && nkMessages.length > 0) this.resolve(topic, partition, last)
      } catch (error) {
        if (stale()) return null
        return { offset: this.resolved.get(k)?.offset ?? first, error }
      }
      position = this.resolved.get(k)?.offset ?? first
    } else if (eachMessage) {
      for (let i = 0; i < messages.length; i++) {
        if (stale()) break
        const message = messages[i] as KafkaMessage
        const offset = (nkMessages[i] as NkafkaMessage).offsetNumber
        try {
          await eachMessage({ topic, partition, message, heartbeat, pause })
        } catch (error) {
          if (stale()) return null
          return { offset, error }
        }
        if (moved()) break
        this.resolve(topic, partition, offset)
        position = offset + 1
        if (!this.running) break
        if (this.runConfig.autoCommitThreshold != null || this.runConfig.autoCommitInterval != null) await this.commitIfNecessary()
        if (this.isPaused(topic, partition)) break
      }
    }
    // Paused inside the handler: the rest of this batch is read again after resume.
    if (!stale() && this.isPaused(topic, partition) && position <= last) this.seekInternal(consumer, topic, partition, position)
    this.instrumentation.emit(CONSUMER_EVENTS.END_BATCH_PROCESS, { ...info, duration: Date.now() - started })
    return null
  }

  private async crash(error: Error): Promise<void> {
    this.running = false
    const original = (e: unknown): unknown => ((e as { cause?: unknown })?.cause ? original((e as { cause: unknown }).cause) : e)
    const retriable = error instanceof KafkaJSNumberOfRetriesExceeded || (original(error) as { retriable?: unknown })?.retriable === true
    let restart = retriable
    if (retriable && this.retry.restartOnFailure) {
      restart = await this.retry.restartOnFailure(error).catch((e: unknown) => {
        this.log.error('Caught error when invoking user-provided "restartOnFailure" callback. Defaulting to restarting.', {
          error: String(e),
        })
        return true
      })
    }
    this.log.error(`Crash: ${error.name}: ${error.message}`, {
      groupId: this.config.groupId,
      retryCount: (error as { retryCount?: number }).retryCount,
    })
    await this.closeConsumer()
    this.instrumentation.emit(CONSUMER_EVENTS.CRASH, { error, groupId: this.config.groupId, restart })
    if (restart) {
      const wait = (error as { retryTime?: number }).retryTime || this.retry.initialRetryTime
      this.log.error(`Restarting the consumer in ${wait}ms`, { groupId: this.config.groupId })
      this.restartTimer = setTimeout(() => {
        this.restartTimer = undefined
        if (!this.connected || this.running) return
        this.start().catch((e) => this.crash(toKafkaJSError(e) as Error))
      }, wait)
    }
  }

  /** Stops the loop, commits what was resolved and leaves the group; run() may be called again. */
  async stop(): Promise<void> {
    clearTimeout(this.restartTimer)
    this.restartTimer = undefined
    this.running = false
    // Ends a poll waiting for data, so the loop sees `running` within a second.
    this.consumer?.stop()
    const loop = this.loop
    this.loop = null
    await loop
    await this.closeConsumer()
    this.instrumentation.emit(CONSUMER_EVENTS.STOP)
  }

  async disconnect(): Promise<void> {
    await this.stop()
    await this.admin?.close()
    this.admin = null
    this.connected = false
    this.instrumentation.emit(CONSUMER_EVENTS.DISCONNECT)
  }

  private async closeConsumer(): Promise<void> {
    const consumer = this.consumer
    if (consumer === null) return
    try {
      // close() runs onRevoked first, which commits the resolved offsets.
      await kafkajsErrors(() => consumer.close())
    } finally {
      this.consumer = null
      this.resolved.clear()
      this.committedOffsets.clear()
      this.uncommittedCount = 0
    }
  }

  async commitOffsets(offsets: Array<{ topic: string; partition: number; offset: string; metadata?: string | null }>): Promise<void> {
    const consumer = this.requireRunning('commitOffsets')
    if (!Array.isArray(offsets)) throw new KafkaJSNonRetriableError('commitOffsets() takes [{ topic, partition, offset }]')
    const list = offsets.map((o) => ({
      topic: o.topic,
      partition: o.partition,
      offset: toOffset(o.offset, `offset of ${o.topic}/${o.partition}`),
      ...(o.metadata != null ? { metadata: o.metadata } : {}),
    }))
    await this.commitList(consumer, list)
  }

  seek({ topic, partition, offset }: { topic: string; partition: number; offset: string }): void {
    if (typeof topic !== 'string' || !Number.isInteger(partition))
      throw new KafkaJSNonRetriableError('seek() takes { topic, partition, offset }')
    const o = toOffset(offset, 'offset')
    const consumer = this.consumer
    if (consumer === null) throw new KafkaJSNonRetriableError('Consumer group was not initialized, consumer#run must be called first')
    const assigned = consumer.assignment().some((a) => a.topic === topic && a.partition === partition)
    if (!assigned) {
      this.pendingSeeks.set(key(topic, partition), { topic, partition, offset: o })
      return
    }
    this.seekInternal(consumer, topic, partition, o)
  }

  private seekInternal(consumer: NkafkaConsumer, topic: string, partition: number, offset: number): void {
    const k = key(topic, partition)
    this.versions.set(k, (this.versions.get(k) ?? 0) + 1)
    try {
      consumer.seek({ topic, partition, offset })
    } catch (e) {
      throw toKafkaJSError(e)
    }
  }

  pause(topics: Array<{ topic: string; partitions?: number[] }>): void {
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError('pause() takes [{ topic, partitions? }]')
    for (const { topic, partitions } of topics) {
      if (typeof topic !== 'string') throw new KafkaJSNonRetriableError('pause() takes [{ topic, partitions? }]')
      if (partitions === undefined) this.pausedTopics.add(topic)
      else for (const p of partitions) this.pausedPartitions.add(key(topic, p))
    }
    this.applyPauses()
  }

  resume(topics: Array<{ topic: string; partitions?: number[] }>): void {
    if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError('resume() takes [{ topic, partitions? }]')
    const consumer = this.consumer
    for (const { topic, partitions } of topics) {
      const owned = consumer?.assignment().filter((a) => a.topic === topic) ?? []
      if (partitions === undefined) {
        this.pausedTopics.delete(topic)
        for (const k of [...this.pausedPartitions]) if (k.startsWith(`${topic}\0`)) this.pausedPartitions.delete(k)
      } else for (const p of partitions) this.pausedPartitions.delete(key(topic, p))
      if (consumer === null) continue
      const targets = partitions === undefined ? owned : owned.filter((a) => partitions.includes(a.partition))
      if (targets.length > 0) consumer.resume(targets)
    }
  }

  paused(): Array<{ topic: string; partitions: number[] }> {
    const all = (this.consumer?.assignment() ?? []).filter((a) => this.isPaused(a.topic, a.partition))
    for (const k of this.pausedPartitions) {
      const [topic, p] = k.split('\0') as [string, string]
      if (!all.some((a) => a.topic === topic && a.partition === Number(p))) all.push({ topic, partition: Number(p) })
    }
    return Object.entries(partitionsByTopic(all)).map(([topic, ps]) => ({ topic, partitions: ps.sort((a, b) => a - b) }))
  }

  private isPaused(topic: string, partition: number): boolean {
    return this.pausedTopics.has(topic) || this.pausedPartitions.has(key(topic, partition))
  }

  private applyPauses(): void {
    const consumer = this.consumer
    if (consumer === null) return
    const targets = consumer.assignment().filter((a) => this.isPaused(a.topic, a.partition))
    if (targets.length > 0) consumer.pause(targets)
  }

  async describeGroup(): Promise<{
    groupId: string
    members: Array<{ clientHost: string; clientId: string; memberId: string; memberAssignment: Buffer; memberMetadata: Buffer }>
    protocol: string
    protocolType: string
    state: string
    errorCode: number
  }> {
    const admin = this.admin
    if (admin === null) throw new KafkaJSNonRetriableError('The consumer is disconnected: call connect() first')
    const [g] = await kafkajsErrors(() => admin.describeGroups([this.config.groupId]))
    if (!g) throw new KafkaJSError(`no description of group ${this.config.groupId}`)
    if (g.error) throw toKafkaJSError(g.error)
    return {
      groupId: g.groupId,
      errorCode: 0,
      protocol: g.partitionAssignor,
      protocolType: g.protocolType,
      state: g.state,
      members: g.members.map((m) => ({
        clientHost: m.host,
        clientId: m.clientId,
        memberId: m.memberId,
        memberAssignment: encodeMemberAssignment(m.assignment ?? []),
        memberMetadata: encodeMemberMetadata(m.subscribedTopics ?? []),
      })),
    }
  }

  private requireRunning(what: string): NkafkaConsumer {
    if (this.consumer === null)
      throw new KafkaJSNonRetriableError(`Consumer group was not initialized, consumer#run must be called before ${what}`)
    return this.consumer
  }

  private resolve(topic: string, partition: number, offset: number): void {
    const k = key(topic, partition)
    const cur = this.resolved.get(k)
    if (cur === undefined) this.resolved.set(k, { topic, partition, offset: offset + 1 })
    else if (cur.offset < offset + 1) cur.offset = offset + 1
    else return
    this.uncommittedCount++
  }

  private uncommitted(): TopicOffsets[] {
    return byTopic([...this.resolved].filter(([k, o]) => (this.committedOffsets.get(k) ?? -1) < o.offset).map(([, o]) => o))
  }

  /** KafkaJS's rule: with neither interval nor threshold, commit after every batch. */
  private async commitIfNecessary(): Promise<void> {
    const { autoCommit, autoCommitInterval, autoCommitThreshold } = this.runConfig
    if (!autoCommit) return
    const byInterval = autoCommitInterval != null && Date.now() - this.lastCommitAt >= autoCommitInterval
    const byThreshold = autoCommitThreshold != null && this.uncommittedCount >= autoCommitThreshold
    if ((autoCommitInterval == null && autoCommitThreshold == null) || byInterval || byThreshold) await this.commitResolved()
  }

  private commitResolved(only?: Array<{ topic: string; partition: number }>): Promise<void> {
    // The list is taken when this commit's turn comes, so a commit queued behind another
    // sends only what that one did not.
    return this.serially(async () => {
      const consumer = this.consumer
      if (!this.runConfig.autoCommit || consumer === null) return
      const list = flatten(this.uncommitted()).filter((o) => !only || only.some((p) => p.topic === o.topic && p.partition === o.partition))
      if (list.length > 0)
        await this.commitNow(
          consumer,
          list.map((o) => ({ ...o, offset: Number(o.offset) })),
        )
    })
  }

  private commitList(
    consumer: NkafkaConsumer,
    list: Array<{ topic: string; partition: number; offset: number; metadata?: string }>,
  ): Promise<void> {
    return this.serially(() => this.commitNow(consumer, list))
  }

  /**
   * One commit at a time: with partitionsConsumedConcurrently > 1 several batches finish
   * together, and each commit's bookkeeping (committedOffsets, the threshold count, the
   * event) must follow the one before it. A failed commit does not block the next.
   */
  private serially(commit: () => Promise<void>): Promise<void> {
    const next = this.commitChain.then(commit)
    this.commitChain = next.catch(() => {})
    return next
  }

  private async commitNow(
    consumer: NkafkaConsumer,
    list: Array<{ topic: string; partition: number; offset: number; metadata?: string }>,
  ): Promise<void> {
    await kafkajsErrors(() => consumer.commit(list))
    for (const o of list) {
      const k = key(o.topic, o.partition)
      if ((this.committedOffsets.get(k) ?? -1) < o.offset) this.committedOffsets.set(k, o.offset)
    }
    this.uncommittedCount = 0
    this.lastCommitAt = Date.now()
    const m = consumer.groupMetadata()
    this.instrumentation.emit(CONSUMER_EVENTS.COMMIT_OFFSETS, {
      groupId: this.config.groupId,
      memberId: m?.memberId ?? '',
      groupGenerationId: m?.generationId ?? -1,
      topics: byTopic(list),
    })
  }

  private async onAssigned(tps: Array<{ topic: string; partition: number }>): Promise<void> {
    const consumer = this.consumer
    if (consumer === null) return
    for (const tp of tps) {
      const s = this.pendingSeeks.get(key(tp.topic, tp.partition))
      if (s) {
        this.pendingSeeks.delete(key(tp.topic, tp.partition))
        this.seekInternal(consumer, s.topic, s.partition, s.offset)
      }
    }
    this.applyPauses()
    const m = consumer.groupMetadata()
    const memberAssignment = partitionsByTopic(consumer.assignment())
    this.instrumentation.emit(CONSUMER_EVENTS.GROUP_JOIN, {
      duration: Date.now() - this.joinStarted,
      groupId: this.config.groupId,
      // The Rust core runs the join; which member led it is not surfaced to JS.
      isLeader: null,
      leaderId: null,
      groupProtocol: this.assignors[0],
      memberId: m?.memberId ?? '',
      memberAssignment,
    })
  }

  private async onRevoked(tps: Array<{ topic: string; partition: number }>): Promise<void> {
    const m = this.consumer?.groupMetadata()
    this.instrumentation.emit(CONSUMER_EVENTS.REBALANCING, { groupId: this.config.groupId, memberId: m?.memberId ?? '' })
    this.joinStarted = Date.now()
    try {
      await this.commitResolved(tps)
    } catch (e) {
      this.log.error('committing the offsets of revoked partitions failed', { groupId: this.config.groupId, error: String(e) })
    }
    this.forget(tps)
  }

  private async onLost(tps: Array<{ topic: string; partition: number }>): Promise<void> {
    this.forget(tps)
  }

  private forget(tps: Array<{ topic: string; partition: number }>): void {
    for (const tp of tps) {
      const k = key(tp.topic, tp.partition)
      this.versions.set(k, (this.versions.get(k) ?? 0) + 1)
      this.resolved.delete(k)
      this.committedOffsets.delete(k)
    }
  }

  /** The partition's high watermark: from ListOffsets (at most once a second), at least last + 1. */
  private async highWatermark(topic: string, partition: number, last: number): Promise<number> {
    const k = key(topic, partition)
    const cached = this.watermarks.get(k)
    if ((cached === undefined || Date.now() - cached.at > WATERMARK_MAX_AGE_MS) && this.admin !== null) {
      try {
        const [r] = await this.admin.listOffsets([{ topic, partition, spec: 'latest' }])
        if (r && !r.error) this.watermarks.set(k, { at: Date.now(), high: Number(r.offset) })
      } catch (e) {
        this.log.debug('ListOffsets for the high watermark failed; using the batch end', { topic, partition, error: String(e) })
      }
    }
    return Math.max(this.watermarks.get(k)?.high ?? 0, last + 1)
  }
}

function toOffset(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v) : typeof v === 'bigint' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new KafkaJSNonRetriableError(`${what} must be a non-negative integer string, got ${String(v)}`)
  return n
}

function flatten(topics: TopicOffsets[]): Array<{ topic: string; partition: number; offset: string }> {
  return topics.flatMap((t) => t.partitions.map((p) => ({ topic: t.topic, partition: p.partition, offset: p.offset })))
}

function toKafkaMessage(m: NkafkaMessage): KafkaMessage {
  const headers: KafkaMessage['headers'] = {}
  for (const [k, v] of m.headers) {
    const cur = headers[k]
    if (cur === undefined) headers[k] = v
    else if (Array.isArray(cur)) cur.push(v)
    else headers[k] = [cur, v]
  }
  return {
    key: m.keyBytes,
    value: m.valueBytes,
    timestamp: String(m.timestamp),
    attributes: 0,
    offset: String(m.offsetNumber),
    headers,
  }
}

function makeBatch(topic: string, partition: number, high: number, messages: KafkaMessage[], first: number): Batch {
  const hw = BigInt(high)
  const lastOffset = () => (messages.length === 0 ? String(hw - 1n) : (messages[messages.length - 1] as KafkaMessage).offset)
  const firstOffset = () => (messages.length === 0 ? null : String(first))
  return {
    topic,
    partition,
    highWatermark: String(hw),
    messages,
    isEmpty: () => messages.length === 0,
    firstOffset,
    lastOffset,
    offsetLag: () => String(hw - 1n - BigInt(lastOffset())),
    offsetLagLow: () => String(hw - 1n - BigInt(firstOffset() ?? lastOffset())),
  }
}
