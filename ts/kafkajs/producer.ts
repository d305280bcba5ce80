/**
 * KafkaJS's producer over nkafka's Producer. KafkaJS chooses acks and compression per
 * send(); in nkafka they are producer settings, so one nkafka Producer is made per
 * (acks, compression) pair a send asks for, lazily; a transactional producer has exactly
 * one, and a transaction's sends must use its settings.
 */
import { Admin as NkafkaAdmin } from '../admin'
import type { ProducerConfig as NkafkaProducerConfig } from '../config'
import { Producer as NkafkaProducer, type RecordMetadata as NkafkaRecordMetadata, type ProducerMessage } from '../producer'
import { KafkaJSError, KafkaJSNonRetriableError, kafkajsErrors, toKafkaJSError } from './errors'
import { Instrumentation } from './events'
import type { Kafka, Logger } from './kafka'

export const CompressionTypes = { None: 0, GZIP: 1, Snappy: 2, LZ4: 3, ZSTD: 4 } as const
export type CompressionTypes = (typeof CompressionTypes)[keyof typeof CompressionTypes]
const CODECS = ['none', 'gzip', 'snappy', 'lz4', 'zstd'] as const

/**
 * KafkaJS exports codec registries for plugging in snappy/lz4/zstd packages; nkafka has
 * all codecs built in, so assigning to these changes nothing (docs/KAFKAJS.md).
 */
export const CompressionCodecs: Record<number, unknown> = {}

export interface PartitionMetadata {
  partitionErrorCode: number
  partitionId: number
  leader: number
  replicas: number[]
  isr: number[]
  offlineReplicas?: number[]
}

export interface Message {
  key?: Buffer | string | null
  value: Buffer | string | null
  partition?: number
  headers?: Record<string, Buffer | string | Array<Buffer | string> | undefined>
  timestamp?: string
}

export type ICustomPartitioner = () => (args: { topic: string; partitionMetadata: PartitionMetadata[]; message: Message }) => number

const DEFAULT_PARTITIONER: ICustomPartitioner = () => () => {
  throw new KafkaJSError('the built-in partitioners run in nkafka, not in JS')
}
const LEGACY_PARTITIONER: ICustomPartitioner = () => () => {
  throw new KafkaJSError('the built-in partitioners run in nkafka, not in JS')
}

/**
 * DefaultPartitioner (= JavaCompatiblePartitioner) is Java's murmur2, which is nkafka's own
 * partitioner, so it runs in Rust. LegacyPartitioner (KafkaJS v1's placement) is not
 * reproduced: it also maps to murmur2, with a warning, because keyed records may land on
 * other partitions than KafkaJS v1 put them (docs/KAFKAJS.md).
 */
export const Partitioners = {
  DefaultPartitioner: DEFAULT_PARTITIONER,
  JavaCompatiblePartitioner: DEFAULT_PARTITIONER,
  LegacyPartitioner: LEGACY_PARTITIONER,
}

export interface ProducerConfig {
  createPartitioner?: ICustomPartitioner
  retry?: import('./kafka').RetryOptions
  metadataMaxAge?: number
  allowAutoTopicCreation?: boolean
  idempotent?: boolean
  transactionalId?: string
  transactionTimeout?: number
  maxInFlightRequests?: number
}

export interface ProducerRecord {
  topic: string
  messages: Message[]
  acks?: number
  timeout?: number
  compression?: CompressionTypes
}

export interface ProducerBatch {
  acks?: number
  timeout?: number
  compression?: CompressionTypes
  topicMessages?: Array<{ topic: string; messages: Message[] }>
}

/** KafkaJS's result: one entry per partition a send wrote to. */
export interface RecordMetadata {
  topicName: string
  partition: number
  errorCode: number
  baseOffset: string
  logAppendTime: string
  logStartOffset: string
}

export interface Transaction {
  send(record: ProducerRecord): Promise<RecordMetadata[]>
  sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]>
  sendOffsets(offsets: {
    consumerGroupId: string
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string }> }>
  }): Promise<void>
  commit(): Promise<void>
  abort(): Promise<void>
  isActive(): boolean
}

export const PRODUCER_EVENTS = {
  CONNECT: 'producer.connect',
  DISCONNECT: 'producer.disconnect',
  REQUEST: 'producer.network.request',
  REQUEST_TIMEOUT: 'producer.network.request_timeout',
  REQUEST_QUEUE_SIZE: 'producer.network.request_queue_size',
} as const
const SILENT = new Set<string>([PRODUCER_EVENTS.REQUEST, PRODUCER_EVENTS.REQUEST_TIMEOUT, PRODUCER_EVENTS.REQUEST_QUEUE_SIZE])

const PRODUCER_KEYS = new Set([
  'createPartitioner',
  'retry',
  'metadataMaxAge',
  'allowAutoTopicCreation',
  'idempotent',
  'transactionalId',
  'transactionTimeout',
  'maxInFlightRequests',
])

export class Producer {
  readonly events = PRODUCER_EVENTS
  private readonly kafka: Kafka
  private readonly config: ProducerConfig
  private readonly log: Logger
  private readonly instrumentation: Instrumentation
  private readonly partitioner: ReturnType<ICustomPartitioner> | undefined
  private readonly retry: ReturnType<Kafka['retryOptions']>
  /** nkafka producers by `${acks}/${codec}`; created lazily after connect(). */
  private readonly producers = new Map<string, Promise<NkafkaProducer>>()
  private base: NkafkaProducerConfig | null = null
  private connecting: Promise<void> | null = null
  private metadataAdmin: NkafkaAdmin | null = null
  private readonly metadataCache = new Map<string, { at: number; partitions: PartitionMetadata[] }>()
  private transactionsReady = false
  private activeTransaction: Transaction | null = null

  constructor(kafka: Kafka, config: ProducerConfig) {
    if (config === null || typeof config !== 'object') throw new KafkaJSNonRetriableError('producer() takes a config object')
    for (const k of Object.keys(config)) {
      if (!PRODUCER_KEYS.has(k)) throw new KafkaJSNonRetriableError(`${k} is not a KafkaJS producer option`)
    }
    this.kafka = kafka
    this.config = config
    this.log = kafka.logger().namespace('Producer')
    this.instrumentation = new Instrumentation(PRODUCER_EVENTS, SILENT, (m, x) => this.log.debug(m, x))
    this.retry = kafka.retryOptions(config.retry, 'producer ')
    const cp = config.createPartitioner
    if (cp !== undefined && typeof cp !== 'function') throw new KafkaJSNonRetriableError('createPartitioner must be a function')
    if (cp === LEGACY_PARTITIONER) {
      this.log.warn(
        'LegacyPartitioner is mapped to the Java-compatible murmur2 partitioner: keyed messages may land on other partitions than KafkaJS v1 chose (docs/KAFKAJS.md)',
      )
    }
    this.partitioner = cp !== undefined && cp !== DEFAULT_PARTITIONER && cp !== LEGACY_PARTITIONER ? cp() : undefined
    if (this.partitioner !== undefined && typeof this.partitioner !== 'function') {
      throw new KafkaJSNonRetriableError('createPartitioner() must return a function')
    }
    // nkafka producers always ask for auto-creation in metadata requests: the broker's
    // auto.create.topics.enable decides. `false` is common in KafkaJS code, so it is a
    // documented no-op rather than an error that would block the migration.
    if (config.allowAutoTopicCreation === false) {
      this.log.debug('allowAutoTopicCreation: false is not honoured: the broker (auto.create.topics.enable) decides (docs/KAFKAJS.md)', {})
    }
  }

  on(eventName: string, listener: (event: import('./events').InstrumentationEvent<any>) => void): () => void {
    return this.instrumentation.on(eventName, listener)
  }

  logger(): Logger {
    return this.log
  }

  isIdempotent(): boolean {
    return this.config.idempotent === true || this.config.transactionalId !== undefined
  }

  async connect(): Promise<void> {
    if (this.connecting === null) {
      this.connecting = (async () => {
        const c = this.config
        const client = await this.kafka.clientConfig(this.retry)
        this.base = {
          ...client,
          ...(c.metadataMaxAge !== undefined ? { metadataMaxAgeMs: c.metadataMaxAge } : {}),
          ...(c.idempotent !== undefined ? { enableIdempotence: c.idempotent } : {}),
          ...(c.transactionalId !== undefined ? { transactionalId: c.transactionalId } : {}),
          ...(c.transactionTimeout !== undefined ? { transactionTimeoutMs: c.transactionTimeout } : {}),
          ...(c.maxInFlightRequests != null ? { maxInFlightRequestsPerConnection: c.maxInFlightRequests } : {}),
          ...(this.config.retry?.retries !== undefined ? { retries: this.retry.retries } : {}),
        }
        const p = await this.producerFor(-1, 0)
        await p.connect()
      })()
      this.connecting.catch(() => {
        this.connecting = null
      })
    }
    await kafkajsErrors(() => this.connecting as Promise<void>)
    this.instrumentation.emit(PRODUCER_EVENTS.CONNECT)
  }

  async disconnect(): Promise<void> {
    const all = [...this.producers.values()]
    this.producers.clear()
    this.connecting = null
    this.transactionsReady = false
    this.activeTransaction = null
    const errors: unknown[] = []
    for (const p of all) {
      try {
        await (await p).close()
      } catch (e) {
        errors.push(e)
      }
    }
    await this.metadataAdmin?.close()
    this.metadataAdmin = null
    this.instrumentation.emit(PRODUCER_EVENTS.DISCONNECT)
    if (errors.length > 0) throw toKafkaJSError(errors[0])
  }

  async send(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (this.config.transactionalId !== undefined) {
      throw new KafkaJSNonRetriableError('a transactional producer sends inside a transaction: use producer.transaction()')
    }
    return this.sendRecord(record)
  }

  async sendBatch(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (this.config.transactionalId !== undefined) {
      throw new KafkaJSNonRetriableError('a transactional producer sends inside a transaction: use producer.transaction()')
    }
    return this.sendBatchRecords(batch)
  }

  /** Begins a transaction (registering the transactionalId first if this is the first one). */
  async transaction(): Promise<Transaction> {
    if (this.config.transactionalId === undefined) {
      throw new KafkaJSNonRetriableError('Must provide transactional id for transactional producer')
    }
    if (this.activeTransaction?.isActive()) {
      throw new KafkaJSNonRetriableError(
        'There is already an ongoing transaction for this producer. Please end the transaction before beginning another.',
      )
    }
    const p = await this.connected(-1, 0)
    await kafkajsErrors(async () => {
      if (!this.transactionsReady) {
        await p.initTransactions()
        this.transactionsReady = true
      }
      p.beginTransaction()
    })
    let active = true
    const ensure = (what: string) => {
      if (!active) throw new KafkaJSNonRetriableError(`Cannot ${what}: the transaction is no longer active`)
    }
    const end = async (f: () => Promise<void>) => {
      ensure('end the transaction')
      await kafkajsErrors(f)
      active = false
    }
    const tx: Transaction = {
      send: async (record) => {
        ensure('send')
        this.checkTransactionalSettings(record)
        return this.sendRecord(record)
      },
      sendBatch: async (batch) => {
        ensure('send')
        this.checkTransactionalSettings(batch)
        return this.sendBatchRecords(batch)
      },
      sendOffsets: async ({ consumerGroupId, topics }) => {
        ensure('send offsets')
        if (typeof consumerGroupId !== 'string') throw new KafkaJSNonRetriableError('sendOffsets needs consumerGroupId')
        if (!Array.isArray(topics)) throw new KafkaJSNonRetriableError('sendOffsets needs topics: [{ topic, partitions }]')
        const offsets = topics.flatMap((t) =>
          t.partitions.map((pt) => ({
            topic: t.topic,
            partition: pt.partition,
            offset: toOffset(pt.offset, `offset of ${t.topic}/${pt.partition}`),
          })),
        )
        // KafkaJS sends only the group id (no member id or generation): the same here, so
        // this commit is not fenced by generation (KIP-447 needs the consumer's metadata).
        await kafkajsErrors(() => p.sendOffsetsToTransaction(offsets, { groupId: consumerGroupId, memberId: '', generationId: -1 }))
      },
      commit: () => end(() => p.commitTransaction()),
      abort: () => end(() => p.abortTransaction()),
      isActive: () => active,
    }
    this.activeTransaction = tx
    return tx
  }

  private checkTransactionalSettings(r: { acks?: number; compression?: number }): void {
    if ((r.acks !== undefined && r.acks !== -1) || (r.compression !== undefined && r.compression !== CompressionTypes.None)) {
      throw new KafkaJSNonRetriableError(
        'inside a transaction nkafka/kafkajs sends with acks -1 and no compression (one transactional producer); per-send acks/compression are not supported there',
      )
    }
  }

  private async sendBatchRecords(batch: ProducerBatch): Promise<RecordMetadata[]> {
    if (batch === null || typeof batch !== 'object' || !Array.isArray(batch.topicMessages)) {
      throw new KafkaJSNonRetriableError('sendBatch() takes { topicMessages: [{ topic, messages }] }')
    }
    const { acks, timeout, compression } = batch
    const results = await Promise.all(batch.topicMessages.map((tm) => this.sendRecord({ ...tm, acks, timeout, compression })))
    return results.flat()
  }

  private async sendRecord(record: ProducerRecord): Promise<RecordMetadata[]> {
    if (record === null || typeof record !== 'object') throw new KafkaJSNonRetriableError('send() takes { topic, messages }')
    const { topic, messages } = record
    if (typeof topic !== 'string' || topic.length === 0) throw new KafkaJSNonRetriableError(`Invalid topic ${String(topic)}`)
    if (!Array.isArray(messages)) throw new KafkaJSNonRetriableError(`Invalid messages array ${String(messages)} for topic "${topic}"`)
    const acks = record.acks ?? -1
    if (acks !== -1 && acks !== 0 && acks !== 1) throw new KafkaJSNonRetriableError(`acks must be -1, 0 or 1, got ${String(acks)}`)
    const compression = record.compression ?? CompressionTypes.None
    if (CODECS[compression] === undefined)
      throw new KafkaJSNonRetriableError(`unknown compression ${String(compression)}; use CompressionTypes`)
    if (record.timeout !== undefined) {
      this.log.debug('send() timeout has no per-send equivalent: requestTimeout and nkafka deliveryTimeoutMs bound sends', {
        timeout: record.timeout,
      })
    }
    const p = await this.connected(acks, compression)
    const out: ProducerMessage[] = new Array(messages.length)
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Message
      if (m === null || typeof m !== 'object') throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}"`)
      if (m.value === undefined)
        throw new KafkaJSNonRetriableError(`Invalid message without value for topic "${topic}": ${JSON.stringify(m)}`)
      const msg: ProducerMessage = { key: m.key, value: m.value }
      if (m.headers !== undefined) msg.headers = m.headers
      if (m.timestamp !== undefined && m.timestamp !== null) {
        const ts = Number(m.timestamp)
        if (!Number.isFinite(ts) || ts < 0)
          throw new KafkaJSNonRetriableError(`Invalid timestamp ${String(m.timestamp)} for topic "${topic}"`)
        msg.timestamp = ts
      }
      if (m.partition !== undefined && m.partition !== null) msg.partition = m.partition
      else if (this.partitioner !== undefined) msg.partition = await this.choosePartition(topic, m)
      out[i] = msg
    }
    const landed = await kafkajsErrors(() => p.send({ topic, messages: out }))
    return groupByPartition(topic, landed)
  }

  /** Runs a custom partitioner with the topic's partition metadata (cached for metadataMaxAge). */
  private async choosePartition(topic: string, message: Message): Promise<number> {
    const partitionMetadata = await this.partitionMetadata(topic)
    const p = (this.partitioner as ReturnType<ICustomPartitioner>)({ topic, partitionMetadata, message })
    if (!Number.isInteger(p) || p < 0 || p >= partitionMetadata.length) {
      throw new KafkaJSNonRetriableError(
        `the partitioner returned ${String(p)} for topic "${topic}" with ${partitionMetadata.length} partitions`,
      )
    }
    return p
  }

  private async partitionMetadata(topic: string): Promise<PartitionMetadata[]> {
    const cached = this.metadataCache.get(topic)
    const maxAge = this.config.metadataMaxAge ?? 300_000
    if (cached && Date.now() - cached.at < maxAge) return cached.partitions
    if (this.metadataAdmin === null) this.metadataAdmin = new NkafkaAdmin(this.base as NkafkaProducerConfig)
    const admin = this.metadataAdmin
    const [d] = await kafkajsErrors(() => admin.describeTopics([topic]))
    if (!d || d.error) throw toKafkaJSError(d?.error ?? new KafkaJSError(`no metadata for topic ${topic}`))
    const partitions = d.partitions.map((pt) => ({
      partitionErrorCode: 0,
      partitionId: pt.partition,
      leader: pt.leader,
      replicas: pt.replicas,
      isr: pt.isr,
      offlineReplicas: pt.offlineReplicas,
    }))
    this.metadataCache.set(topic, { at: Date.now(), partitions })
    return partitions
  }

  private async connected(acks: number, compression: number): Promise<NkafkaProducer> {
    if (this.connecting === null) throw new KafkaJSError('The producer is disconnected: call connect() first', { retriable: false })
    await kafkajsErrors(() => this.connecting as Promise<void>)
    return this.producerFor(acks, compression)
  }

  private producerFor(acks: number, compression: number): Promise<NkafkaProducer> {
    const key = `${acks}/${compression}`
    let p = this.producers.get(key)
    if (p === undefined) {
      const config: NkafkaProducerConfig = {
        ...(this.base as NkafkaProducerConfig),
        acks: acks as -1 | 0 | 1,
        compressionType: CODECS[compression] as NkafkaProducerConfig['compressionType'],
      }
      // KafkaJS's idempotent producer needs acks -1; the others follow nkafka's rule
      // (idempotence only with acks 'all').
      if (acks !== -1 && config.enableIdempotence === undefined) config.enableIdempotence = false
      p = kafkajsErrors(async () => new NkafkaProducer(config))
      this.producers.set(key, p)
      p.catch(() => this.producers.delete(key))
    }
    return p
  }
}

function toOffset(v: unknown, what: string): number {
  const n = typeof v === 'string' ? Number(v) : v
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new KafkaJSNonRetriableError(`${what} must be a non-negative integer string`)
  return n
}

/** Where each message landed, as KafkaJS reports it: per partition, with the first offset. */
function groupByPartition(topic: string, landed: NkafkaRecordMetadata[]): RecordMetadata[] {
  const byPartition = new Map<number, RecordMetadata & { first: bigint }>()
  for (const r of landed) {
    const cur = byPartition.get(r.partition)
    if (cur === undefined) {
      byPartition.set(r.partition, {
        topicName: topic,
        partition: r.partition,
        errorCode: 0,
        baseOffset: String(r.offset),
        logAppendTime: '-1',
        logStartOffset: '-1',
        first: r.offset,
      })
    } else if (r.offset >= 0n && r.offset < cur.first) {
      cur.first = r.offset
      cur.baseOffset = String(r.offset)
    }
  }
  return [...byPartition.values()].map(({ first: _first, ...rest }) => rest)
}
