import type { BindingReport } from '../native/binding'
import { KafkaError } from './errors'
import type { Header, RecordRows } from './message'

/** Whether a record is in the log (librdkafka's message status names). */
export type Persisted = 'persisted' | 'not_persisted' | 'possibly_persisted'

/**
 * One batch's outcome as it came from Rust, shared by the reports of its records; with
 * `rows`, its records are rows `firstRow..+count` of that index.
 * @internal
 */
export class ReportBatch {
  readonly topic: string
  readonly partition: number
  readonly baseOffset: number
  readonly logAppendTime: number
  readonly baseTimestamp: number
  readonly count: number
  readonly error: KafkaError | null
  readonly persisted: Persisted
  readonly rows: RecordRows | null
  readonly firstRow: number

  constructor(topic: string, r: BindingReport, rows: RecordRows | null) {
    this.topic = topic
    this.partition = r.partition
    this.baseOffset = r.baseOffset
    this.logAppendTime = r.logAppendTime
    this.baseTimestamp = r.baseTimestamp
    this.count = r.count
    this.error = r.error ? KafkaError.fromBinding(r.error) : null
    this.persisted = r.persisted as Persisted
    this.rows = rows
    this.firstRow = r.firstRow
  }
}

/**
 * The outcome of one record. Key, value and headers are rebuilt from the encoded batch
 * only when read: the producer keeps nothing from the `produce()` call.
 */
export class DeliveryReport {
  /** @internal */
  private readonly batch: ReportBatch
  /** @internal */
  private readonly index: number

  /** @internal */
  constructor(batch: ReportBatch, index: number) {
    this.batch = batch
    this.index = index
  }

  get topic(): string {
    return this.batch.topic
  }

  /** Partition, or -1 when the record never got one (e.g. unknown topic). */
  get partition(): number {
    return this.batch.partition
  }

  /** Offset in the partition; -1n when unknown (error, or acks=0). */
  get offset(): bigint {
    const base = this.batch.baseOffset
    return base < 0 ? -1n : BigInt(base) + BigInt(this.index)
  }

  /** Timestamp in ms: LogAppendTime when the topic uses it, else the record's CreateTime. */
  get timestamp(): number {
    if (this.batch.logAppendTime >= 0) return this.batch.logAppendTime
    const rows = this.batch.rows
    return rows ? rows.timestamp(this.batch.firstRow + this.index) : this.batch.baseTimestamp
  }

  /**
   * Whether the record is in the log: 'persisted'; 'not_persisted' (rejected, or never
   * sent); 'possibly_persisted' (a request carrying it got no answer).
   */
  get persisted(): Persisted {
    return this.batch.persisted
  }

  /** Why the record was not delivered, or null. */
  get error(): KafkaError | null {
    return this.batch.error
  }

  get key(): Buffer | null {
    return this.batch.rows?.key(this.batch.firstRow + this.index) ?? null
  }

  get value(): Buffer | null {
    return this.batch.rows?.value(this.batch.firstRow + this.index) ?? null
  }

  get headers(): Header[] {
    return this.batch.rows?.headers(this.batch.firstRow + this.index) ?? []
  }

  toJSON(): object {
    return {
      topic: this.topic,
      partition: this.partition,
      offset: this.offset.toString(),
      timestamp: this.timestamp,
      error: this.error ? { code: this.error.code, message: this.error.message } : null,
    }
  }
}
